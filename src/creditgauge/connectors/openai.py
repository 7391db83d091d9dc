"""OpenAI's official organization API, read with an admin key: costs, the ten usage types, project and API key
names, and the monthly spend limit. Contract: provider-apis/README.md §1.1–1.5 and openai-openapi-subset.yaml."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from creditgauge.config import AccountConfig
from creditgauge.connectors.base import (
    Connector,
    EndpointTask,
    amount_field,
    count_field,
    decimal_field,
    optional_field,
    read_items,
    require,
    require_list,
)
from creditgauge.connectors.key_details import iso_time
from creditgauge.domain import (
    Capability,
    CostBucket,
    EntityName,
    Fact,
    LimitSnapshot,
    UsageBucket,
    Window,
    utcnow,
)
from creditgauge.errors import AuthError, ProviderError
from creditgauge.http import paginate
from creditgauge.providers.record import Provider, StarterAccount

log = logging.getLogger("creditgauge.connectors.openai")

ADMIN_KEYS_URL = "https://platform.openai.com/settings/organization/admin-keys"
COSTS_PAGE_LIMIT = 180  # daily buckets per page: the maximum the costs endpoint allows
USAGE_PAGE_LIMIT = 31  # the maximum for 1d buckets on every usage endpoint
LIST_PAGE_LIMIT = 100
NAME_LOOKUPS_AT_ONCE = 4


@dataclass(frozen=True, slots=True)
class UsageType:
    """One /organization/usage/{name} endpoint: the dimensions we group by and the measures it must carry."""

    name: str
    group_by: tuple[str, ...]
    required: tuple[str, ...]


_PER_MODEL = ("model", "project_id", "api_key_id")
USAGE_TYPES = (
    UsageType("completions", (*_PER_MODEL, "batch", "service_tier"),
              ("input_tokens", "output_tokens", "num_model_requests")),
    UsageType("embeddings", _PER_MODEL, ("input_tokens", "num_model_requests")),
    UsageType("moderations", _PER_MODEL, ("input_tokens", "num_model_requests")),
    UsageType("images", (*_PER_MODEL, "size", "source"), ("images", "num_model_requests")),
    UsageType("audio_speeches", _PER_MODEL, ("characters", "num_model_requests")),
    UsageType("audio_transcriptions", _PER_MODEL, ("seconds", "num_model_requests")),
    UsageType("vector_stores", ("project_id",), ("usage_bytes",)),
    UsageType("code_interpreter_sessions", ("project_id",), ("num_sessions",)),
    UsageType("file_search_calls", ("project_id", "api_key_id", "vector_store_id"), ("num_requests",)),
    UsageType("web_search_calls", (*_PER_MODEL, "context_level"), ("num_model_requests", "num_requests")),
)

# Result fields with a column of their own (DESIGN.md token convention: OpenAI's input_tokens already includes the
# cached and cache-write tokens). Every other count goes to `extra` under its own name.
_MEASURE_COLUMNS = {
    "input_tokens": "input_tokens",
    "input_cached_tokens": "cached_input_tokens",
    "input_cache_write_tokens": "cache_write_tokens",
    "output_tokens": "output_tokens",
    "images": "images",
    "characters": "characters",
    "seconds": "seconds",
}
_DIMENSION_COLUMNS = {"project_id": "project", "model": "model", "api_key_id": "api_key",
                      "service_tier": "service_tier"}
_RENAMED = {"sessions": "num_sessions"}  # code_interpreter_sessions, spec before 2025-02


def base_without_v1(url: str) -> str:
    """Paths here start with /v1; a base URL copied from an SDK setting often ends with it too."""
    return url.rstrip("/").removesuffix("/v1")


def model_of_line_item(line_item: str | None) -> str | None:
    """The model a cost line item names, for spend by model: the costs API has no model dimension.

    Line items seen live read "gpt-4o-2024-08-06, input" or a bare model id ("text-embedding-3-small") [COMM];
    others are prose ("Text tokens", "web search tool calls"). Only a first segment that looks like a model id
    (one word with a digit in it) is taken; anything else leaves the model unknown rather than guessed. The line
    item itself is stored unchanged either way."""
    if not line_item:
        return None
    head = line_item.split(",", 1)[0].strip()
    if not head or any(ch.isspace() for ch in head) or not any(ch.isdigit() for ch in head):
        return None
    return head


class OpenAIConnector(Connector):
    provider: ClassVar[str] = "openai"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.COSTS, Capability.USAGE, Capability.LIMITS})
    default_base_url: ClassVar[str] = "https://api.openai.com"
    key_kind: ClassVar[str] = "admin key (sk-admin-...)"
    key_help: ClassVar[str] = f"create one at {ADMIN_KEYS_URL} (project keys cannot read costs or usage)"
    notes: ClassVar[str] = (
        "Costs and usage are reported by OpenAI (verified; recent days are provisional and get revised). "
        "The monthly hard spend limit is read from OpenAI. There is no balance endpoint: the balance is "
        "estimated from the ledger (deposits, grants) minus reported spend."
    )

    @classmethod
    def base_url_for(cls, account: AccountConfig) -> str:
        return base_without_v1(super().base_url_for(account))

    def tasks(self) -> list[EndpointTask]:
        return [
            EndpointTask("costs", self.fetch_costs),
            *(EndpointTask(f"usage.{kind.name}", self._usage_fetcher(kind)) for kind in USAGE_TYPES),
            EndpointTask("names", self.fetch_names, windowed=False),
            EndpointTask("spend_limit", self.fetch_spend_limit, windowed=False),
        ]

    # ---- HTTP ----------------------------------------------------------------------------------------------------

    async def _get(self, path: str, params: Sequence[tuple[str, Any]] = ()) -> Any:
        """GET JSON; a refused key becomes one message that says which key is needed and where to make it."""
        try:
            return await self.client.get_json(path, list(params))
        except AuthError as exc:
            looks_admin = bool(self.key and self.key.startswith("sk-admin-"))
            which = "the key was refused" if looks_admin else "the configured key is not an admin key"
            hint = (f"{which}: the OpenAI connector needs an admin key (sk-admin-...); create one at "
                    f"{ADMIN_KEYS_URL} and put it in {self.key_location()}")
            raise exc.with_hint(hint, separator=". ") from None

    async def _report_pages(self, path: str, params: list[tuple[str, Any]]) -> AsyncIterator[dict[str, Any]]:
        """Pages of a costs/usage report, following `next_page` while `has_more` (a repeated cursor stops it)."""
        endpoint = f"GET {path}"

        async def fetch(cursor: str | None) -> dict[str, Any]:
            page = await self._get(path, [*params, ("page", cursor)] if cursor else params)
            if not isinstance(page, dict):
                raise self.contract_error(endpoint, f"expected a page object, got {type(page).__name__}")
            return page

        def next_cursor(page: dict[str, Any]) -> str | None:
            cursor = page.get("next_page") if require(page, "has_more", self, endpoint) else None
            return cursor if isinstance(cursor, str) else None

        async for page in paginate(fetch, next_cursor, what=f"{self.provider} {path}"):
            yield page

    async def _report(self, path: str, params: list[tuple[str, Any]],
                      read: Callable[[datetime, datetime, Any], Fact]) -> list[Fact]:
        """The facts of every result of every time bucket of a report, each bucket once even if a page repeats.
        A bucket without its times, or a result that cannot be read, is one ItemProblem; the rest is read."""
        endpoint = f"GET {path}"
        seen: set[tuple[int, str]] = set()

        def bucket_facts(bucket: Any) -> list[Fact]:
            start = count_field(bucket, "start_time", self, endpoint)
            end = count_field(bucket, "end_time", self, endpoint)
            assert start is not None and end is not None  # required
            # `results` is the API's name; spec versions before 2025-02 called it `result`.
            results = require_list(bucket, "result" if "results" not in bucket and "result" in bucket else "results",
                                   self, endpoint)
            # A bucket may go on over the next page with more results; a result already read (a page the
            # provider sent twice) is kept once.
            fresh = []
            for result in results:
                key = (start, json.dumps(result, sort_keys=True, default=str))
                if key in seen:
                    log.warning("%s %s: a result of bucket %s came twice; keeping the first", self.provider, path,
                                start)
                    continue
                seen.add(key)
                fresh.append(result)
            first, last = datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)
            return read_items(self, endpoint, fresh, lambda result: [read(first, last, result)])

        facts: list[Fact] = []
        async for page in self._report_pages(path, params):
            facts.extend(read_items(self, endpoint, require_list(page, "data", self, endpoint), bucket_facts))
        return facts

    @staticmethod
    def _window_params(window: Window, limit: int) -> list[tuple[str, Any]]:
        return [("start_time", int(window.start.timestamp())), ("end_time", int(window.end.timestamp())),
                ("bucket_width", "1d"), ("limit", limit)]

    # ---- costs ---------------------------------------------------------------------------------------------------

    async def fetch_costs(self, window: Window) -> list[Fact]:
        if window.start >= window.end:
            return []
        path = "/v1/organization/costs"
        params = [*self._window_params(window, COSTS_PAGE_LIMIT),
                  ("group_by[]", "project_id"), ("group_by[]", "line_item"),
                  ("group_by[]", "api_key_id")]  # spend per key: what finds a leaked key
        return await self._report(path, params, self._cost)

    def _cost(self, start: datetime, end: datetime, result: Any) -> CostBucket:
        endpoint = "GET /v1/organization/costs"
        amount = require(result, "amount", self, endpoint)
        currency = optional_field(amount, "currency") or "usd"  # the spec: lowercase ISO 4217, always USD so far
        return CostBucket(
            start=start, end=end,
            amount=amount_field(amount, "value", self, endpoint),  # a JSON number or, as seen live, a string
            currency=str(currency).upper(),
            project=result.get("project_id"),
            line_item=result.get("line_item"),  # free text that changes over time: stored as sent
            model=model_of_line_item(result.get("line_item")),
            api_key=result.get("api_key_id"),
            quantity=decimal_field(result, "quantity", self, endpoint, required=False),
            quantity_unit=result.get("quantity_unit"),
        )

    # ---- usage ---------------------------------------------------------------------------------------------------

    def _usage_fetcher(self, kind: UsageType) -> Callable[[Window], Awaitable[list[Fact]]]:
        async def fetch(window: Window) -> list[Fact]:
            return await self.fetch_usage(kind, window)

        return fetch

    async def fetch_usage(self, kind: UsageType, window: Window) -> list[Fact]:
        if window.start >= window.end:
            return []
        path = f"/v1/organization/usage/{kind.name}"
        params = [*self._window_params(window, USAGE_PAGE_LIMIT), *(("group_by[]", g) for g in kind.group_by)]
        return await self._report(path, params, lambda start, end, result: self._usage(kind, start, end, result,
                                                                                       f"GET {path}"))

    def _usage(self, kind: UsageType, start: datetime, end: datetime, result: Any, endpoint: str) -> UsageBucket:
        if not isinstance(result, dict):
            raise self.unreadable(endpoint, "result", f"expected a result object, got {type(result).__name__}")
        fields: dict[str, Any] = result
        counts = {_RENAMED.get(name, name): value for name, value in fields.items()
                  if isinstance(value, int) and not isinstance(value, bool) and name not in kind.group_by}
        for name in kind.required:
            if name not in counts:
                raise self.unreadable(endpoint, name, f"a {kind.name} result is missing the required count {name!r}")
        requests_field = "num_model_requests" if "num_model_requests" in counts else "num_requests"
        columns: dict[str, Any] = {column: counts.pop(name) for name, column in _MEASURE_COLUMNS.items()
                                   if name in counts}
        dims: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for name in kind.group_by:
            value = result.get(name)
            if name in _DIMENSION_COLUMNS:
                dims[_DIMENSION_COLUMNS[name]] = value
            elif value is not None:
                extra[f"dim_{name}"] = value  # part of the natural key, so groups without a column stay apart
        return UsageBucket(start=start, end=end, kind=kind.name, **dims, **columns,
                           requests=counts.pop(requests_field, 0), extra=extra | counts)

    # ---- names and the spend limit -------------------------------------------------------------------------------

    async def _list(self, path: str, params: list[tuple[str, Any]]) -> list[dict[str, Any]]:
        """Every item of an `after`/`limit` list endpoint."""
        endpoint = f"GET {path}"
        items: list[dict[str, Any]] = []

        async def fetch(after: str | None) -> dict[str, Any]:
            page: dict[str, Any] = await self._get(path, [*params, ("after", after)] if after else params)
            data = require(page, "data", self, endpoint)
            if not isinstance(data, list):
                raise self.contract_error(endpoint, "'data' is not a list")
            items.extend(item for item in data if isinstance(item, dict))
            return page

        def next_after(page: dict[str, Any]) -> str | None:
            if not page.get("has_more") or not items:
                return None
            return page.get("last_id") or items[-1].get("id")

        async for _ in paginate(fetch, next_after, what=f"{self.provider} {path}"):
            pass
        return items

    async def fetch_names(self, window: Window) -> list[Fact]:
        """Project names, and the names of each project's API keys (the ids costs and usage report)."""
        path = "/v1/organization/projects"
        projects = await self._list(path, [("limit", LIST_PAGE_LIMIT), ("include_archived", "true")])
        names: list[Fact] = []
        for project in projects:
            project_id = require(project, "id", self, f"GET {path}")
            if project.get("name"):
                names.append(EntityName("project", project_id, project["name"]))
        gate = asyncio.Semaphore(NAME_LOOKUPS_AT_ONCE)

        async def key_names(project_id: str) -> list[Fact]:
            keys_path = f"{path}/{project_id}/api_keys"
            async with gate:
                try:
                    keys = await self._list(keys_path, [("limit", LIST_PAGE_LIMIT), ("owner_project_access", "any")])
                except ProviderError as exc:
                    if exc.status != 404:
                        raise
                    return []  # a project that went away between the two calls
            return [EntityName("api_key", require(key, "id", self, f"GET {keys_path}"), key["name"],
                               _key_details(key, project_id))
                    for key in keys if key.get("name")]

        for found in await asyncio.gather(*(key_names(p["id"]) for p in projects)):
            names.extend(found)
        return names

    async def fetch_spend_limit(self, window: Window) -> list[Fact]:
        path = "/v1/organization/spend_limit"
        endpoint = f"GET {path}"
        try:
            body = await self._get(path)
        except ProviderError as exc:
            if exc.status == 404:
                return []  # no hard limit set: nothing to report, nothing wrong
            raise
        enforcement = body.get("enforcement")
        return [LimitSnapshot(
            as_of=utcnow().replace(microsecond=0),
            name="spend_limit",
            amount=amount_field(body, "threshold_amount", self, endpoint, cents=True),
            currency=str(require(body, "currency", self, endpoint)).upper(),
            details={"interval": body.get("interval"),
                     "enforcement": enforcement.get("status") if isinstance(enforcement, dict) else None},
        )]


def _key_details(key: dict[str, Any], project_id: str) -> dict[str, Any]:
    """What the project key list says of a key beside its name: the redacted value as OpenAI shows it, the owner
    (a user's email or name, or a service account's name), the project, and when it was created and last used."""
    owner = _mapping(key.get("owner"))
    who = _mapping(owner.get(str(owner.get("type", ""))))
    return {"redacted": key.get("redacted_value"), "project": project_id,
            "owner": who.get("email") or who.get("name") or who.get("id"),
            "created_at": iso_time(key.get("created_at")), "last_used_at": iso_time(key.get("last_used_at"))}


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


PROVIDER = Provider(
    connector=OpenAIConnector,
    display_name="OpenAI",
    inference_origin="https://api.openai.com",
    starter=StarterAccount("OPENAI_ADMIN_KEY", "admin key (sk-admin-...): costs and usage",
                           hints=('monthly_limit = "200.00"   # your own limit, in the account currency',)),
    key_patterns=(r"sk-(?:admin-|proj-|svcacct-)?[A-Za-z0-9_\-]{8,}",),
    sdk_modules=("openai",),
    genai_names=("azure.ai.openai",),
)

__all__ = ["PROVIDER", "USAGE_TYPES", "OpenAIConnector", "UsageType", "base_without_v1"]
