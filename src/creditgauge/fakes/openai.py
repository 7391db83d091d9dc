"""FakeOpenAI: OpenAI's organization API (costs, ten usage types, projects, project API keys, spend limit) and the
legacy dashboard billing endpoints, served from a deterministic generated history, following provider-apis/ §1
field by field: admin-key auth and its error bodies, bucket `limit`s per endpoint and width, opaque page cursors,
`group_by` validation, both array encodings, amounts as JSON numbers (or decimal strings, as seen live).

Every figure comes from one list of rows per endpoint and day; costs are derived from the same usage rows, and any
grouping is a sum over those rows, so grouped and ungrouped totals agree to the last digit.

Opt-in story lines for the demo: a model launch (`ModelLaunch`: a new model takes a growing share of an older one's
traffic), a leaked key (`KeyLeak`: one day on which a key nobody otherwise uses spends a lot) and `tools=False` (an
organization that only calls models, whose whole bill a proxy can see).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import random
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Literal, overload

from aiohttp import web
from multidict import MultiMapping

from creditgauge.fakes.history import DailyUsage, activity, usage_for
from creditgauge.fakes.server import FakeProvider, json_response

DAY_SECONDS = 86_400
CENT = Decimal(100)
AMOUNT_STEP = Decimal("1E-8")  # the fake bills to 1e-8 USD, like the long decimals seen live
WIRE_DECIMALS = Decimal("1E-16")  # live values carry 16 decimals: 0.8958740000000000
MILLION = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """What a model is used for and its price in USD per million tokens."""

    kind: str  # completions | embeddings | moderations
    input: Decimal
    cached_input: Decimal = Decimal(0)
    output: Decimal = Decimal(0)


DEFAULT_MODELS: Mapping[str, ModelPrice] = {
    "gpt-4.1-2025-04-14": ModelPrice("completions", Decimal("2.00"), Decimal("0.50"), Decimal("8.00")),
    "gpt-4.1-mini-2025-04-14": ModelPrice("completions", Decimal("0.40"), Decimal("0.10"), Decimal("1.60")),
    "o4-mini-2025-04-16": ModelPrice("completions", Decimal("1.10"), Decimal("0.275"), Decimal("4.40")),
    "gpt-4o-mini-2024-07-18": ModelPrice("completions", Decimal("0.15"), Decimal("0.075"), Decimal("0.60")),
    "text-embedding-3-small": ModelPrice("embeddings", Decimal("0.02")),
    "omni-moderation-latest": ModelPrice("moderations", Decimal(0)),
}
DEFAULT_PROJECTS = ("checkout-assistant", "support-bot", "Default project", "old-experiments")
IMAGE_PRICES = {"1024x1024": Decimal("0.04"), "1024x1792": Decimal("0.08"), "1792x1792": Decimal("0.12")}
IMAGE_SOURCES = ("image.generation", "image.edit", "image.variation")
CONTEXT_LEVELS = ("low", "medium", "high")
SERVICE_TIERS = ("default", "default", "default", "flex", "priority")

# Legacy dashboard line-item names, by what a cost line is for (felipemeres/dashboard mock, provider-apis §1.6).
LEGACY_CATEGORIES = {
    "completions": "Chat models",
    "embeddings": "Embedding models",
    "images": "Image models",
    "audio_speeches": "Audio models",
    "audio_transcriptions": "Audio models",
}
LEGACY_OTHER = "Assistants and tools"
LEGACY_LINE_ITEMS = (*dict.fromkeys(LEGACY_CATEGORIES.values()), LEGACY_OTHER)
LEGACY_MAX_DAYS = 100


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One report endpoint as the spec defines it (provider-apis §1.2 and §1.3)."""

    name: str  # costs | completions | embeddings | ...
    result_object: str
    dimensions: tuple[str, ...]  # every result carries these, null unless grouped by them
    measures: tuple[str, ...]
    filters: Mapping[str, str] = field(default_factory=dict)  # query array parameter -> dimension
    widths: Mapping[str, tuple[int, int]] = field(  # bucket_width -> (default limit, max limit)
        default_factory=lambda: {"1m": (60, 1440), "1h": (24, 168), "1d": (7, 31)}
    )

    @property
    def path(self) -> str:
        return "/v1/organization/costs" if self.name == "costs" else f"/v1/organization/usage/{self.name}"


_PEOPLE = ("project_id", "user_id", "api_key_id")
_MODEL_FILTERS = {"project_ids": "project_id", "user_ids": "user_id", "api_key_ids": "api_key_id", "models": "model"}
_PER_MODEL = (*_PEOPLE, "model")
_COMPLETION_MEASURES = (
    "input_tokens", "input_cached_tokens", "input_cache_write_tokens", "input_uncached_tokens", "output_tokens",
    "input_text_tokens", "output_text_tokens", "input_cached_text_tokens", "input_audio_tokens",
    "input_cached_audio_tokens", "output_audio_tokens", "input_image_tokens", "input_cached_image_tokens",
    "output_image_tokens", "num_model_requests",
)

ENDPOINTS: dict[str, Endpoint] = {
    ep.name: ep
    for ep in (
        Endpoint("costs", "organization.costs.result", ("line_item", "project_id", "api_key_id"),
                 ("amount", "quantity"), {"project_ids": "project_id", "api_key_ids": "api_key_id"},
                 {"1d": (7, 180)}),
        Endpoint("completions", "organization.usage.completions.result",
                 (*_PER_MODEL, "batch", "service_tier"), _COMPLETION_MEASURES, _MODEL_FILTERS),
        Endpoint("embeddings", "organization.usage.embeddings.result", _PER_MODEL,
                 ("input_tokens", "num_model_requests"), _MODEL_FILTERS),
        Endpoint("moderations", "organization.usage.moderations.result", _PER_MODEL,
                 ("input_tokens", "num_model_requests"), _MODEL_FILTERS),
        Endpoint("images", "organization.usage.images.result", (*_PER_MODEL, "size", "source"),
                 ("images", "num_model_requests"), {**_MODEL_FILTERS, "sources": "source", "sizes": "size"}),
        Endpoint("audio_speeches", "organization.usage.audio_speeches.result", _PER_MODEL,
                 ("characters", "num_model_requests"), _MODEL_FILTERS),
        Endpoint("audio_transcriptions", "organization.usage.audio_transcriptions.result", _PER_MODEL,
                 ("seconds", "num_model_requests"), _MODEL_FILTERS),
        Endpoint("vector_stores", "organization.usage.vector_stores.result", ("project_id",),
                 ("usage_bytes",), {"project_ids": "project_id"}),
        Endpoint("code_interpreter_sessions", "organization.usage.code_interpreter_sessions.result",
                 ("project_id",), ("num_sessions",), {"project_ids": "project_id"}),
        Endpoint("file_search_calls", "organization.usage.file_searches.result", (*_PEOPLE, "vector_store_id"),
                 ("num_requests",), {"project_ids": "project_id", "user_ids": "user_id",
                                     "api_key_ids": "api_key_id", "vector_store_ids": "vector_store_id"}),
        Endpoint("web_search_calls", "organization.usage.web_searches.result", (*_PER_MODEL, "context_level"),
                 ("num_model_requests", "num_requests"), {**_MODEL_FILTERS, "context_levels": "context_level"}),
    )
}
USAGE_TYPES = tuple(name for name in ENDPOINTS if name != "costs")


@dataclass(frozen=True, slots=True)
class Row:
    """The finest grain of the fake's data: one day, one combination of every dimension, its measures."""

    day: date
    dims: Mapping[str, Any]
    measures: Mapping[str, Any]
    unit: str | None = None  # costs: the quantity_unit of the line item


@dataclass(frozen=True, slots=True)
class ModelLaunch:
    """`model` appears on `day` and takes a growing share of `replaces`' tokens: `share` of them once `ramp_days`
    have passed, as a team moving to a newer model does over a couple of weeks."""

    model: str
    price: ModelPrice
    day: date
    replaces: str
    share: Decimal = Decimal("0.7")
    ramp_days: int = 14

    def share_on(self, day: date) -> Decimal:
        if day < self.day:
            return Decimal(0)
        return self.share * min((day - self.day).days + 1, self.ramp_days) / self.ramp_days


@dataclass(frozen=True, slots=True)
class KeyLeak:
    """On `day`, a key of `project` named `key_name` that is otherwise never used spends these tokens on `model`:
    a leaked key. The key is listed with the project's keys; it appears in the reports on that day only."""

    day: date
    project: str
    model: str
    input_tokens: int
    output_tokens: int
    requests: int
    key_name: str = "prototype-2024"


@dataclass(frozen=True, slots=True)
class Project:
    id: str
    name: str
    created_at: int
    archived: bool
    keys: tuple[ApiKey, ...]  # the keys its traffic uses
    idle_keys: tuple[ApiKey, ...] = ()  # listed, but used only by a KeyLeak

    @property
    def user_id(self) -> str:
        return "user-" + self.id.removeprefix("proj_")[:12]


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    name: str
    owner: str  # user | service_account


def _opaque(prefix: str, *parts: str, size: int = 16) -> str:
    digest = hashlib.sha256(":".join(parts).encode()).digest()
    return prefix + base64.b32encode(digest).decode().rstrip("=")[:size].lower().capitalize()


def _money(value: Decimal) -> Decimal:
    return value.quantize(AMOUNT_STEP, rounding=ROUND_HALF_EVEN)


def _unix(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def _day_of(ts: int) -> date:
    return datetime.fromtimestamp(ts, UTC).date()


def error_body(message: str, *, type_: str = "invalid_request_error", param: str | None = None,
               code: str | None = None) -> dict[str, Any]:
    """The one error shape of every OpenAI endpoint: all four keys present (provider-apis §1.1)."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def error(status: int, message: str, **kwargs: Any) -> web.Response:
    return json_response(error_body(message, **kwargs), status)


class BadRequest(Exception):
    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.param, self.code = param, code

    def response(self) -> web.Response:
        return error(400, str(self), param=self.param, code=self.code)


def _masked(key: str) -> str:
    prefix = next((p for p in ("sk-admin-", "sk-proj-", "sess-", "sk-") if key.startswith(p)), "")
    return f"{prefix}****{key[-4:]}"


def _check_story(models: Mapping[str, ModelPrice], projects: Sequence[str], launch: ModelLaunch | None,
                 leak: KeyLeak | None) -> None:
    if launch is not None and (launch.replaces not in models or launch.model in models):
        raise ValueError(f"ModelLaunch: {launch.replaces!r} must be one of the models and {launch.model!r} new")
    if leak is not None and leak.project not in projects:
        raise ValueError(f"KeyLeak: project {leak.project!r} is not one of {', '.join(projects)}")
    if leak is not None and leak.model not in models and (launch is None or leak.model != launch.model):
        raise ValueError(f"KeyLeak: model {leak.model!r} is not one of the models")


def _array(query: MultiMapping[str], name: str) -> list[str]:
    """Both array encodings: `name[]=a&name[]=b` (the SDKs) and `name=a&name=b` (requests)."""
    return [*query.getall(f"{name}[]", []), *query.getall(name, [])]


@overload
def _integer(query: Mapping[str, str], name: str, *, required: Literal[True]) -> int: ...
@overload
def _integer(query: Mapping[str, str], name: str, *, required: bool = False) -> int | None: ...
def _integer(query: Mapping[str, str], name: str, *, required: bool = False) -> int | None:
    raw = query.get(name)
    if raw is None:
        if required:
            raise BadRequest(f"Missing required parameter: '{name}'.", name, "missing_required_parameter")
        return None
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f"Invalid type for '{name}': expected an integer, but got a string instead.",
                         name, "invalid_type") from None


def _boolean(query: Mapping[str, str], name: str) -> bool | None:
    raw = query.get(name)
    if raw is None:
        return None
    if raw.lower() not in ("true", "false"):
        raise BadRequest(f"Invalid value for '{name}': expected a boolean.", name, "invalid_value")
    return raw.lower() == "true"


class FakeOpenAI(FakeProvider):
    """The fake OpenAI account. `end` is the last day of history (today by default); `days` how many days it has."""

    name = "openai"

    def __init__(
        self,
        *,
        days: int = 120,
        seed: int = 7,
        scale: int = 3_000_000,
        end: date | None = None,
        projects: Sequence[str] = DEFAULT_PROJECTS,
        archived_projects: Sequence[str] = ("old-experiments",),
        models: Mapping[str, ModelPrice] = DEFAULT_MODELS,
        amounts_as_strings: bool = False,
        page_cap: int | None = None,
        spend_limit_cents: int | None = 50_000,
        hard_limit_usd: Decimal = Decimal("150.0"),
        soft_limit_usd: Decimal = Decimal("100.0"),
        grants: Sequence[tuple[Decimal, Decimal]] = ((Decimal("100.0"), Decimal("61.523417")),),
        latency: float = 0.0,
        keys: set[str] | None = None,
        tools: bool = True,
        launch: ModelLaunch | None = None,
        leak: KeyLeak | None = None,
    ) -> None:
        super().__init__(latency=latency, keys=keys)
        self.seed = seed
        self.scale = scale  # tokens of a busy project and model on a busy day, roughly
        self.end = end or datetime.now(UTC).date()
        self.first = self.end - timedelta(days=days - 1)
        self.models = dict(models)
        self.tools = tools  # False: no images, audio, storage or tool calls, only model tokens
        self.launch, self.leak = launch, leak
        _check_story(self.models, projects, launch, leak)
        if launch is not None:
            self.models[launch.model] = launch.price
        self.amounts_as_strings = amounts_as_strings
        self.page_cap = page_cap  # serve at most this many buckets per page whatever `limit` asks (servers may)
        self.spend_limit_cents = spend_limit_cents
        self.hard_limit_usd, self.soft_limit_usd = hard_limit_usd, soft_limit_usd
        self.grants = tuple(grants)
        self.projects = tuple(self._project(name, name in archived_projects) for name in projects)
        self._factors: dict[date, Decimal] = {}
        self._cache: dict[date, dict[str, list[Row]]] = {}

    # ---- the generated account ---------------------------------------------------------------------------------

    def _project(self, name: str, archived: bool) -> Project:
        pid = _opaque("proj_", str(self.seed), name)
        keys = (
            ApiKey(_opaque("key_", pid, "server"), f"{name}-server", "service_account"),
            ApiKey(_opaque("key_", pid, "laptop"), f"{name}-laptop", "user"),
        )
        idle = ((ApiKey(_opaque("key_", pid, "leaked"), self.leak.key_name, "user"),)
                if self.leak is not None and self.leak.project == name else ())
        created = _unix(self.first) - DAY_SECONDS * 30
        return Project(pid, name, created, archived, keys, idle)

    @property
    def leaked_key(self) -> ApiKey | None:
        """The key of the KeyLeak, as the API lists it (None without one)."""
        return next((key for project in self.projects for key in project.idle_keys), None)

    def revise(self, day: date, factor: Decimal | str) -> None:
        """Make the provider revise one day: every count (and so every amount) of that day is scaled by `factor`."""
        self._factors[day] = Decimal(factor)
        self._cache.pop(day, None)

    def rows(self, endpoint: str, day: date) -> list[Row]:
        if not self.first <= day <= self.end:
            return []
        if day not in self._cache:
            self._cache[day] = self._build_day(day)
        return self._cache[day].get(endpoint, [])

    def _days(self, start: date | None, end: date | None) -> Iterable[date]:
        day = max(start or self.first, self.first)
        last = min((end or self.end + timedelta(days=1)) - timedelta(days=1), self.end)
        while day <= last:
            yield day
            day += timedelta(days=1)

    def cost_total(self, start: date | None = None, end: date | None = None, **dims: str) -> Decimal:
        """The exact sum of every cost in [start, end) (optionally of one project_id, line_item, api_key_id)."""
        return sum(
            (r.measures["amount"] for day in self._days(start, end) for r in self.rows("costs", day)
             if all(r.dims.get(k) == v for k, v in dims.items())),
            Decimal(0),
        )

    def usage_total(self, endpoint: str, measure: str, start: date | None = None, end: date | None = None) -> int:
        return sum(r.measures[measure] for day in self._days(start, end) for r in self.rows(endpoint, day))

    def _build_day(self, day: date) -> dict[str, list[Row]]:
        factor = self._factors.get(day, Decimal(1))
        out: dict[str, list[Row]] = {name: [] for name in ENDPOINTS}
        for project in self.projects:
            for usage in self._model_usage(day, project):
                price = self.models[usage.model]
                self._model_rows(out, project, price, usage.scaled(factor) if factor != 1 else usage)
            if self.tools:
                self._tool_rows(out, day, project, factor)
            leak = self.leak
            if leak is not None and leak.day == day and project.idle_keys:
                usage = DailyUsage(day, project.name, leak.model, leak.input_tokens, 0, 0, leak.output_tokens, 0,
                                   leak.requests)
                self._model_rows(out, project, self.models[leak.model], usage.scaled(factor),
                                 key=project.idle_keys[0])
        out["costs"] = [cost for name in USAGE_TYPES for row in out[name] for cost in self._costs_of(name, row)]
        return out

    def _model_usage(self, day: date, project: Project) -> list[DailyUsage]:
        """The project's use of each model that day; after a launch, the new model takes its share of the old."""
        launch = self.launch
        rows = []
        for model in self.models:
            if launch is not None and model == launch.model:
                continue  # it has no traffic of its own: it takes the replaced model's
            usage = usage_for(day, project.name, model, seed=self.seed, scale=self.scale)
            if usage is None:
                continue
            if launch is not None and model == launch.replaces and (share := launch.share_on(day)):
                rows.append(replace(usage.scaled(share), model=launch.model))
                usage = usage.scaled(1 - share)
            rows.append(usage)
        return rows

    def _pick(self, *parts: Any) -> random.Random:
        return random.Random(":".join(str(p) for p in (self.seed, *parts)))

    def _model_rows(self, out: dict[str, list[Row]], project: Project, price: ModelPrice, u: DailyUsage,
                    key: ApiKey | None = None) -> None:
        rng = self._pick(u.day, project.id, u.model, "dims")
        chosen = rng.choice(project.keys)
        key = key or chosen
        people = {"project_id": project.id, "user_id": project.user_id, "api_key_id": key.id, "model": u.model}
        if price.kind != "completions":
            out[price.kind].append(Row(u.day, people, {"input_tokens": u.input_tokens,
                                                       "num_model_requests": u.requests}))
            return
        uncached = u.input_tokens - u.cached_input_tokens - u.cache_write_tokens
        batch = rng.random() < 0.2
        dims = {**people, "batch": batch, "service_tier": "batch" if batch else rng.choice(SERVICE_TIERS)}
        measures = dict.fromkeys(_COMPLETION_MEASURES, 0) | {
            "input_tokens": u.input_tokens, "input_cached_tokens": u.cached_input_tokens,
            "input_cache_write_tokens": u.cache_write_tokens, "input_uncached_tokens": uncached,
            "output_tokens": u.output_tokens, "input_text_tokens": uncached, "output_text_tokens": u.output_tokens,
            "input_cached_text_tokens": u.cached_input_tokens, "num_model_requests": u.requests,
        }
        out["completions"].append(Row(u.day, dims, measures))

    def _tool_rows(self, out: dict[str, list[Row]], day: date, project: Project, factor: Decimal) -> None:
        """Images, audio, storage and tool calls: a few seeded counts per project and day, following the week."""
        rng = self._pick(day, project.id, "tools")
        busy = activity(day, self.seed)
        key = project.keys[0]
        people = {"project_id": project.id, "user_id": project.user_id, "api_key_id": key.id}

        def count(base: float) -> int:
            raw = Decimal(int(base * busy * rng.uniform(0.5, 1.5)))
            return int((raw * factor).to_integral_value(rounding=ROUND_HALF_EVEN))

        def add(endpoint: str, dims: Mapping[str, Any], measures: Mapping[str, int]) -> None:
            if all(value > 0 for value in measures.values()):
                out[endpoint].append(Row(day, dims, measures))

        for size, source in sorted({(rng.choice(list(IMAGE_PRICES)), rng.choice(IMAGE_SOURCES)) for _ in range(2)}):
            images = count(3)
            add("images", {**people, "model": "gpt-image-1", "size": size, "source": source},
                {"images": images, "num_model_requests": max(1, images // 2)})
        characters = count(40_000)
        add("audio_speeches", {**people, "model": "gpt-4o-mini-tts"},
            {"characters": characters, "num_model_requests": max(1, characters // 900)})
        seconds = count(3_000)
        add("audio_transcriptions", {**people, "model": "whisper-1"},
            {"seconds": seconds, "num_model_requests": max(1, seconds // 120)})
        # Storage does not follow the week: it is what is kept, billed per MiB-day.
        mebibytes = int((Decimal(self._pick(project.id, "storage").randint(50, 4000)) * factor).to_integral_value())
        add("vector_stores", {"project_id": project.id}, {"usage_bytes": mebibytes * 2**20})
        add("code_interpreter_sessions", {"project_id": project.id}, {"num_sessions": count(6)})
        add("file_search_calls", {**people, "vector_store_id": _opaque("vs_", project.id)},
            {"num_requests": count(150)})
        calls = count(60)
        add("web_search_calls", {**people, "model": "gpt-4.1-mini-2025-04-14",
                                 "context_level": rng.choice(CONTEXT_LEVELS)},
            {"num_model_requests": max(1, calls // 2), "num_requests": calls})

    def _costs_of(self, endpoint: str, row: Row) -> list[Row]:
        """The cost lines one usage row produces: (line_item, quantity, unit, unit price)."""
        m = row.measures
        model: str = row.dims.get("model", "")  # "" for the endpoints without a model dimension
        lines: list[tuple[str, int | Decimal, str | None, Decimal]] = []
        if endpoint == "completions":
            price = self.models[model]
            lines = [
                (f"{model}, input", m["input_tokens"] - m["input_cached_tokens"], "tokens", price.input / MILLION),
                (f"{model}, cached input", m["input_cached_tokens"], "tokens", price.cached_input / MILLION),
                (f"{model}, output", m["output_tokens"], "tokens", price.output / MILLION),
            ]
        elif endpoint == "embeddings":
            lines = [(model, m["input_tokens"], "tokens", self.models[model].input / MILLION)]
        elif endpoint == "images":
            lines = [(f"{model}, image output", m["images"], "images", IMAGE_PRICES[row.dims["size"]])]
        elif endpoint == "audio_speeches":
            lines = [(f"{model}, characters", m["characters"], "characters", Decimal("0.000015"))]
        elif endpoint == "audio_transcriptions":
            lines = [(model, m["seconds"], "duration_seconds", Decimal("0.0001"))]
        elif endpoint == "vector_stores":
            gib_hours = Decimal(m["usage_bytes"]) / 2**30 * 24  # exact: usage is whole MiB
            lines = [("vector store storage", gib_hours, "gibibyte_hours", Decimal("0.004"))]
        elif endpoint == "code_interpreter_sessions":
            lines = [("code interpreter sessions", m["num_sessions"], None, Decimal("0.03"))]
        elif endpoint == "file_search_calls":
            lines = [("file search tool calls", m["num_requests"], None, Decimal("0.0025"))]
        elif endpoint == "web_search_calls":
            lines = [("web search tool calls", m["num_requests"], None, Decimal("0.01"))]
        dims = {"project_id": row.dims["project_id"], "api_key_id": row.dims.get("api_key_id"),
                "category": LEGACY_CATEGORIES.get(endpoint, LEGACY_OTHER)}
        return [
            Row(row.day, {**dims, "line_item": item}, {"amount": _money(qty * unit_price), "quantity": qty}, unit)
            for item, qty, unit, unit_price in lines
            if qty and unit_price
        ]

    # ---- HTTP --------------------------------------------------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        for endpoint in ENDPOINTS.values():
            app.router.add_get(endpoint.path, self._report_handler(endpoint))
        app.router.add_get("/v1/organization/projects", self._projects)
        app.router.add_get("/v1/organization/projects/{project_id}/api_keys", self._api_keys)
        app.router.add_get("/v1/organization/spend_limit", self._spend_limit)
        for prefix in ("", "/v1"):  # the legacy endpoints answer with and without /v1 (provider-apis §1.6)
            app.router.add_get(f"{prefix}/dashboard/billing/subscription", self._subscription)
            app.router.add_get(f"{prefix}/dashboard/billing/usage", self._billing_usage)
            app.router.add_get(f"{prefix}/dashboard/billing/credit_grants", self._credit_grants)

    def authorize(self, request: web.Request) -> web.Response | None:
        header = request.headers.get("authorization", "")
        key = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        if not key:
            return error(401, "You didn't provide an API key. You need to provide your API key in an Authorization "
                              "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")
        if self.keys is not None and key not in self.keys:
            return error(401, f"Incorrect API key provided: {_masked(key)}. You can find your API key at "
                              "https://platform.openai.com/account/api-keys.", code="invalid_api_key")
        if request.path.startswith("/v1/organization/") and not key.startswith("sk-admin-"):
            scope = "api.usage.read" if "/costs" in request.path or "/usage/" in request.path else \
                "api.management.read"
            return error(403, "You have insufficient permissions for this operation. Missing scopes: "
                              f"{scope}. Check that you have the correct role in your organization (Reader, Writer, "
                              "Owner) and project (Member, Owner), and if you're using a restricted API key, that "
                              "it has the necessary scopes.")
        if request.path.endswith("/credit_grants") and not key.startswith("sess-"):
            kind = "secret" if key.startswith("sk-") else "unknown"
            return error(403, f"Your request to GET {request.path} must be made with a session key (that is, it can "
                              f"only be made from the browser). You made it with the following key type: {kind}.",
                         type_="server_error")
        return None

    def rate_limit(self, *, times: int = 1, retry_after: int = 1, path: str = "") -> None:
        """Answer the next `times` matching requests with OpenAI's 429 body and a Retry-After header."""
        body = error_body("Rate limit reached for requests in organization org-fake on requests per min (RPM): "
                          f"Limit 60, Used 60, Requested 1. Please try again in {retry_after}s.",
                          type_="requests", code="rate_limit_exceeded")
        self.fail(429, body, times=times, path=path, headers={"retry-after": str(retry_after)})

    def _report_handler(self, endpoint: Endpoint) -> Callable[[web.Request], Any]:
        async def handler(request: web.Request) -> web.Response:
            try:
                return json_response(self._report(endpoint, request.query))
            except BadRequest as exc:
                return exc.response()

        return handler

    def _report(self, ep: Endpoint, query: MultiMapping[str]) -> dict[str, Any]:
        start_time = _integer(query, "start_time", required=True)
        end_time = _integer(query, "end_time")
        width_name = query.get("bucket_width", "1d")
        if width_name not in ep.widths:
            raise BadRequest(f"Invalid value for 'bucket_width': {width_name!r}. Supported values are: "
                             f"{', '.join(ep.widths)}.", "bucket_width", "invalid_value")
        default_limit, max_limit = ep.widths[width_name]
        limit = _integer(query, "limit")
        limit = default_limit if limit is None else limit
        if not 1 <= limit <= max_limit:
            raise BadRequest(f"Invalid value for 'limit': {limit}. Limit can range between 1 and {max_limit} "
                             f"for bucket_width {width_name}.", "limit", "invalid_value")
        group_by = _array(query, "group_by")
        allowed = ep.dimensions
        for value in group_by:
            if value not in allowed:
                raise BadRequest(f"Invalid value for 'group_by': {value!r}. Supported values are: "
                                 f"{', '.join(allowed)}.", "group_by", "invalid_value")
        filters = {dim: set(_array(query, name)) for name, dim in ep.filters.items() if _array(query, name)}
        batch = _boolean(query, "batch") if ep.name == "completions" else None
        width = {"1m": 60, "1h": 3600, "1d": DAY_SECONDS}[width_name]
        start = start_time - start_time % width
        end = end_time if end_time is not None else _unix(self.end + timedelta(days=1))
        if end <= start:
            raise BadRequest("'end_time' must be after 'start_time'.", "end_time", "invalid_value")
        total = -(-(end - start) // width)
        first = self._page_index(query.get("page"), start, width, total)
        size = min(limit, self.page_cap or limit)
        indexes = range(first, min(first + size, total))
        data = []
        for index in indexes:
            bucket_start = start + index * width
            rows = [r for r in self._rows_between(ep.name, bucket_start, bucket_start + width)
                    if all(r.dims.get(d) in wanted for d, wanted in filters.items())
                    and (batch is None or r.dims.get("batch") == batch)]
            data.append({"object": "bucket", "start_time": bucket_start, "end_time": bucket_start + width,
                         "results": self._aggregate(ep, rows, group_by)})
        has_more = indexes.stop < total
        return {"object": "page", "data": data, "has_more": has_more,
                "next_page": self._cursor(start + indexes.stop * width, start) if has_more else None}

    @staticmethod
    def _cursor(next_start: int, query_start: int) -> str:
        return "page_" + base64.b64encode(struct.pack(">qq", next_start, query_start)).decode()

    @staticmethod
    def _page_index(page: str | None, start: int, width: int, total: int) -> int:
        if page is None:
            return 0
        try:
            next_start, query_start = struct.unpack(">qq", base64.b64decode(page.removeprefix("page_"),
                                                                            validate=True))
        except (binascii.Error, struct.error, ValueError):
            raise BadRequest(f"Invalid page cursor: {page[:40]!r}.", "page", "invalid_value") from None
        index, rest = divmod(int(next_start) - start, width)
        if query_start != start or rest or not 0 <= index < total:
            raise BadRequest("The page cursor does not belong to this query.", "page", "invalid_value")
        return index

    def _rows_between(self, endpoint: str, start: int, end: int) -> list[Row]:
        """Rows of the days whose middle falls in [start, end): a day's data is stamped at 12:00 UTC, so hourly and
        minute buckets hold it whole in one bucket and every width sums to the same totals."""
        day, last = _day_of(start - DAY_SECONDS // 2), _day_of(end)
        rows: list[Row] = []
        while day <= last:
            if start <= _unix(day) + DAY_SECONDS // 2 < end:
                rows.extend(self.rows(endpoint, day))
            day += timedelta(days=1)
        return rows

    def _aggregate(self, ep: Endpoint, rows: list[Row], group_by: list[str]) -> list[dict[str, Any]]:
        groups: dict[tuple[Any, ...], list[Row]] = {}
        for row in rows:
            groups.setdefault(tuple(row.dims.get(d) for d in group_by), []).append(row)
        return [self._result(ep, dict(zip(group_by, key, strict=True)), members)
                for key, members in sorted(groups.items(), key=lambda item: repr(item[0]))]

    def _result(self, ep: Endpoint, grouped: Mapping[str, Any], rows: list[Row]) -> dict[str, Any]:
        dims = {d: grouped.get(d) for d in ep.dimensions}
        if ep.name != "costs":
            return {"object": ep.result_object, **{m: sum(r.measures[m] for r in rows) for m in ep.measures}, **dims}
        amount = sum((r.measures["amount"] for r in rows), Decimal(0)).quantize(WIRE_DECIMALS)
        by_line = "line_item" in grouped
        return {
            "object": ep.result_object,
            "amount": {"value": str(amount) if self.amounts_as_strings else amount, "currency": "usd"},
            "line_item": dims["line_item"], "project_id": dims["project_id"], "api_key_id": dims["api_key_id"],
            "quantity": sum((r.measures["quantity"] for r in rows), Decimal(0)) if by_line else None,
            "quantity_unit": rows[0].unit if by_line else None,
        }

    # ---- projects, keys, spend limit ----------------------------------------------------------------------------

    @staticmethod
    def _list_page(items: list[dict[str, Any]], query: Mapping[str, str]) -> dict[str, Any]:
        limit = _integer(query, "limit")
        limit = 20 if limit is None else limit
        if not 1 <= limit <= 100:
            raise BadRequest(f"Invalid value for 'limit': {limit}. Limit can range between 1 and 100.",
                             "limit", "invalid_value")
        after = query.get("after")
        ids = [item["id"] for item in items]
        if after is not None and after not in ids:
            raise BadRequest(f"Invalid value for 'after': no object with id {after!r}.", "after", "invalid_value")
        first = ids.index(after) + 1 if after is not None else 0
        page = items[first : first + limit]
        return {"object": "list", "data": page, "first_id": page[0]["id"] if page else None,
                "last_id": page[-1]["id"] if page else None, "has_more": first + limit < len(items)}

    def _project_body(self, project: Project) -> dict[str, Any]:
        archived_at = _unix(self.end) - DAY_SECONDS * 10 if project.archived else None
        return {"id": project.id, "object": "organization.project", "name": project.name,
                "created_at": project.created_at, "archived_at": archived_at,
                "status": "archived" if project.archived else "active", "external_key_id": None,
                "residency": "GLOBAL"}

    async def _projects(self, request: web.Request) -> web.Response:
        try:
            archived = _boolean(request.query, "include_archived") or False
            items = [self._project_body(p) for p in self.projects if archived or not p.archived]
            return json_response(self._list_page(items, request.query))
        except BadRequest as exc:
            return exc.response()

    def _key_body(self, project: Project, key: ApiKey) -> dict[str, Any]:
        owner_id = _opaque("svc_acct_", key.id, size=12) if key.owner == "service_account" else project.user_id
        owner = {"id": owner_id, "name": key.name, "created_at": project.created_at, "role": "member"}
        if key.owner == "user":
            owner["email"] = f"{project.user_id}@example.com"
        last_used = self.leak.day if self.leak is not None and key in project.idle_keys else self.end
        return {"object": "organization.project.api_key", "redacted_value": f"sk-proj-****{key.id[-4:]}",
                "name": key.name, "created_at": project.created_at, "last_used_at": _unix(last_used),
                "id": key.id, "owner_project_access": "active",
                "owner": {"type": key.owner, key.owner: owner}}

    async def _api_keys(self, request: web.Request) -> web.Response:
        project = next((p for p in self.projects if p.id == request.match_info["project_id"]), None)
        if project is None:
            return error(404, f"No such project: {request.match_info['project_id']}", code="not_found")
        access = request.query.get("owner_project_access")
        if access not in (None, "active", "inactive", "any"):
            return BadRequest(f"Invalid value for 'owner_project_access': {access!r}.",
                              "owner_project_access", "invalid_value").response()
        try:
            items = [self._key_body(project, key) for key in (*project.keys, *project.idle_keys)
                     if access != "inactive"]
            return json_response(self._list_page(items, request.query))
        except BadRequest as exc:
            return exc.response()

    async def _spend_limit(self, request: web.Request) -> web.Response:
        if self.spend_limit_cents is None:
            return error(404, "No hard spend limit is set for this organization.", code="not_found")
        return json_response({"object": "organization.spend_limit", "threshold_amount": self.spend_limit_cents,
                              "currency": "USD", "interval": "month", "enforcement": {"status": "enforcing"}})

    # ---- legacy dashboard billing (provider-apis §1.6) -----------------------------------------------------------

    async def _subscription(self, request: web.Request) -> web.Response:
        internal = Decimal(50_000) / 3  # `hard_limit`/`soft_limit` are an internal unit, about 1/16667 USD
        return json_response({
            "object": "billing_subscription", "has_payment_method": True, "canceled": False, "canceled_at": None,
            "delinquent": None, "access_until": _unix(self.end + timedelta(days=365)),
            "soft_limit": int(self.soft_limit_usd * internal), "hard_limit": int(self.hard_limit_usd * internal),
            "system_hard_limit": int(self.hard_limit_usd * internal), "soft_limit_usd": self.soft_limit_usd,
            "hard_limit_usd": self.hard_limit_usd, "system_hard_limit_usd": self.hard_limit_usd,
            "plan": {"title": "Pay-as-you-go", "id": "payg"}, "account_name": "Fake Org", "po_number": None,
            "billing_email": None, "tax_ids": None, "billing_address": None, "business_address": None,
        })

    def legacy_daily_costs(self, day: date) -> dict[str, Decimal]:
        """Cents per legacy line item on one day, every category listed (zeros too), as the dashboard did."""
        cents = dict.fromkeys(LEGACY_LINE_ITEMS, Decimal(0))
        for row in self.rows("costs", day):
            cents[row.dims["category"]] += row.measures["amount"] * CENT
        return cents

    async def _billing_usage(self, request: web.Request) -> web.Response:
        try:
            start, end = (self._date(request.query, name) for name in ("start_date", "end_date"))
        except BadRequest as exc:
            return exc.response()
        if end <= start:
            return error(400, "end_date must be after start_date.", param="end_date")
        if (end - start).days > LEGACY_MAX_DAYS:
            return error(400, f"Usage data is only available for up to {LEGACY_MAX_DAYS} days per request.",
                         param="end_date")
        daily = []
        total = Decimal(0)
        for offset in range((end - start).days):
            day = start + timedelta(days=offset)
            cents = self.legacy_daily_costs(day)
            total += sum(cents.values(), Decimal(0))
            daily.append({"timestamp": Decimal(f"{_unix(day)}.0"),
                          "line_items": [{"name": name, "cost": cost} for name, cost in cents.items()]})
        return json_response({"object": "list", "daily_costs": daily, "total_usage": total})

    @staticmethod
    def _date(query: Mapping[str, str], name: str) -> date:
        raw = query.get(name)
        if raw is None:
            raise BadRequest(f"Missing query parameter '{name}' (YYYY-MM-DD).", name)
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise BadRequest(f"Invalid '{name}': {raw!r} is not a YYYY-MM-DD date.", name) from None

    async def _credit_grants(self, request: web.Request) -> web.Response:
        effective = Decimal(f"{_unix(self.first)}.0")
        expires = Decimal(f"{_unix(self.end + timedelta(days=365))}.0")
        data = [
            {"object": "credit_grant", "id": _opaque("", str(self.seed), "grant", str(n), size=32).lower(),
             "grant_amount": granted, "used_amount": used, "effective_at": effective, "expires_at": expires}
            for n, (granted, used) in enumerate(self.grants)
        ]
        granted = sum((g for g, _ in self.grants), Decimal(0))
        used = sum((u for _, u in self.grants), Decimal(0))
        return json_response({"object": "credit_summary", "total_granted": granted, "total_used": used,
                              "total_available": granted - used, "grants": {"object": "list", "data": data}})


__all__ = ["DEFAULT_MODELS", "DEFAULT_PROJECTS", "ENDPOINTS", "USAGE_TYPES", "FakeOpenAI", "KeyLeak", "ModelLaunch",
           "ModelPrice"]
