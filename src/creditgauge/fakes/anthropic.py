"""Fake Anthropic Admin API (provider-apis §2): usage and cost reports, the Claude Code report, workspaces and API
keys, with the documented auth, version header, limits, opaque cursors and error bodies.

The history is generated from a seed with a weekly rhythm and kept in plain attributes (`usage`, `costs`,
`claude_code`, keyed by UTC day, in wire shape except that cost `amount`s are Decimal cents) so a test can revise
it between syncs. `rewrite(path, body)` may alter any successful body before it is sent (contract tests)."""

from __future__ import annotations

import base64
import binascii
import copy
import itertools
import random
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from aiohttp import web

from creditgauge.fakes.server import BadRequest, FakeProvider, Handler, json_response

API_VERSION = "2023-06-01"
DEFAULT_ADMIN_KEY = "sk-ant-admin01-fake-admin-key-000000000000"
ONE_DAY = timedelta(days=1)
WEEKDAY_PERCENT = (100, 108, 112, 104, 92, 30, 18)  # Monday..Sunday: people work on weekdays

# model -> display name and US dollars per million tokens: uncached input, output, cache read, 5m write, 1h write
MODELS: dict[str, tuple[str, tuple[Decimal, ...]]] = {
    "claude-sonnet-4-5-20250929": ("Claude Sonnet 4.5", tuple(map(Decimal, ("3", "15", "0.30", "3.75", "6")))),
    "claude-haiku-4-5-20251001": ("Claude Haiku 4.5", tuple(map(Decimal, ("1", "5", "0.10", "1.25", "2")))),
    "claude-opus-4-1-20250805": ("Claude Opus 4.1", tuple(map(Decimal, ("15", "75", "1.50", "18.75", "30")))),
}
# usage report field -> cost report token_type, description suffix, index into the prices above
TOKEN_TYPES = (
    ("uncached_input_tokens", "uncached_input_tokens", "Input Tokens", 0),
    ("output_tokens", "output_tokens", "Output Tokens", 1),
    ("cache_read_input_tokens", "cache_read_input_tokens", "Input Tokens, Cache Read", 2),
    ("ephemeral_5m_input_tokens", "cache_creation.ephemeral_5m_input_tokens", "Input Tokens, 5m Cache Write", 3),
    ("ephemeral_1h_input_tokens", "cache_creation.ephemeral_1h_input_tokens", "Input Tokens, 1h Cache Write", 4),
)
WORKSPACES = (  # id, name, archived
    ("wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ", "batch-jobs", False),
    ("wrkspc_01Hq5Tn3YbP8cKe2WmVx7RdA", "research", False),
    ("wrkspc_01Fz9Lk2QwE4rTy6UiOp1AsD", "old-prototype", True),
)
API_KEYS = (  # id, name, workspace, status
    ("apikey_01Rj2N8SVvo6BePZj99NhmiT", "prod-backend", None, "active"),
    ("apikey_01QbM8sNn3W5vTZcXg7yHk2D", "batch", "wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ", "active"),
    ("apikey_01Lm4Xc7Vb2Nn9Qw3Er5Ty8UiO", "notebooks", "wrkspc_01Hq5Tn3YbP8cKe2WmVx7RdA", "active"),
    ("apikey_01Zx8Cv5Bn2Mm4Lk7Jh9Gf3DsA", "staging", None, "inactive"),
    ("apikey_01Po0Iu9Yt8Re7Wq6As5Df4GhJ", "hackathon", "wrkspc_01Fz9Lk2QwE4rTy6UiOp1AsD", "archived"),
)
# api key, workspace, model, service tier, daily base of uncached input tokens
STREAMS = (
    ("apikey_01Rj2N8SVvo6BePZj99NhmiT", None, "claude-sonnet-4-5-20250929", "standard", 400_000),
    ("apikey_01Rj2N8SVvo6BePZj99NhmiT", None, "claude-haiku-4-5-20251001", "standard", 90_000),
    ("apikey_01QbM8sNn3W5vTZcXg7yHk2D", "wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ", "claude-haiku-4-5-20251001", "batch",
     1_500_000),
    ("apikey_01Lm4Xc7Vb2Nn9Qw3Er5Ty8UiO", "wrkspc_01Hq5Tn3YbP8cKe2WmVx7RdA", "claude-opus-4-1-20250805", "standard",
     60_000),
    (None, None, "claude-sonnet-4-5-20250929", "standard", 2_000),  # Console/Workbench usage has no key
)
CLAUDE_CODE_ACTORS = (
    {"type": "user_actor", "email_address": "dana@example.com"},
    {"type": "user_actor", "email_address": "lee@example.com"},
    {"type": "api_actor", "api_key_name": "ci-bot"},
)
USAGE_DIMS = ("api_key_id", "workspace_id", "model", "service_tier", "context_window")
COST_DIMS = ("workspace_id", "description", "cost_type", "context_window", "model", "service_tier", "token_type")
DESCRIPTION_DIMS = frozenset(COST_DIMS) - {"workspace_id"}  # grouping by description returns all of these



def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _cents_text(cents: Decimal) -> str:
    return format(cents.normalize(), "f")


def _add(total: dict[str, Any], item: dict[str, Any]) -> None:
    """Sum the counts and amounts of `item` into `total` (nested objects included); labels are left alone."""
    for key, value in item.items():
        if isinstance(value, dict):
            _add(total[key], value)
        elif isinstance(value, int | Decimal) and not isinstance(value, bool):
            total[key] += value


def _grouped(rows: Iterable[dict[str, Any]], dims: tuple[str, ...], kept: set[str]) -> list[dict[str, Any]]:
    """The report's view of `rows`: dimensions not grouped by are null and rows sharing the rest are summed."""
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        item = copy.deepcopy(row)
        item.update({dim: None for dim in dims if dim not in kept})
        key = tuple(item[dim] for dim in dims)
        if key in merged:
            _add(merged[key], item)
        else:
            merged[key] = item
    return [merged[key] for key in sorted(merged, key=lambda k: tuple("" if v is None else str(v) for v in k))]


def _cursor(text: str) -> str:
    return "page_" + base64.b64encode(text.encode()).decode()


def _uncursor(page: str, parse: Callable[[str], Any]) -> Any:
    try:
        return parse(base64.b64decode(page.removeprefix("page_"), validate=True).decode())
    except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
        raise BadRequest(f"page: invalid page token {page!r}") from None


def _limit(query: Any, default: int, maximum: int) -> int:
    try:
        limit = int(query.get("limit", default))
    except ValueError:
        raise BadRequest("limit: Input should be a valid integer") from None
    if not 1 <= limit <= maximum:
        raise BadRequest(f"limit: Input should be between 1 and {maximum}")
    return limit


def _instant(query: Any, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(query[name])
    except KeyError:
        raise BadRequest(f"{name}: Field required") from None
    except ValueError:
        raise BadRequest(f"{name}: Input should be a valid datetime") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class FakeAnthropic(FakeProvider):
    name = "anthropic"

    def __init__(self, *, days: int = 60, seed: int = 1, end: date | None = None,
                 admin_keys: Iterable[str] = (DEFAULT_ADMIN_KEY,), page_size_cap: int | None = None,
                 latency: float = 0.0) -> None:
        super().__init__(latency=latency)
        self.admin_keys = set(admin_keys)
        self.page_size_cap = page_size_cap  # serve fewer items than `limit` asks, to exercise cursors
        self.end = end or (datetime.now(UTC).date() + ONE_DAY)  # exclusive: today is included, still growing
        self.first = self.end - timedelta(days=days)
        self.workspaces = [
            {"id": wid, "type": "workspace", "name": name, "created_at": "2025-11-03T09:12:44.118000Z",
             "archived_at": "2026-03-01T00:00:00Z" if archived else None, "display_color": "#6C5BB9",
             "data_residency": {"workspace_geo": "us", "allowed_inference_geos": "unrestricted",
                                "default_inference_geo": "global"}}
            for wid, name, archived in WORKSPACES
        ]
        self.api_keys = [
            {"id": kid, "type": "api_key", "name": name, "workspace_id": workspace,
             "created_at": "2025-06-12T17:40:02.551000Z",
             "created_by": {"id": "user_01WCz1FkmYMm4gnmykNKUu3Q", "type": "user"},
             "partial_key_hint": "sk-ant-api03-R2D...igAA", "status": status}
            for kid, name, workspace, status in API_KEYS
        ]
        self.usage: dict[date, list[dict[str, Any]]] = {}
        self.costs: dict[date, list[dict[str, Any]]] = {}
        self.claude_code: dict[date, list[dict[str, Any]]] = {}
        rng = random.Random(seed)
        day = self.first
        while day < self.end:
            self.usage[day] = self._usage_day(rng, day)
            self.costs[day] = self._cost_day(rng, self.usage[day])
            self.claude_code[day] = self._claude_code_day(rng, day)
            day += ONE_DAY
        self._request_ids = itertools.count(1)

    # -- generated history ---------------------------------------------------------------------------------------
    @staticmethod
    def _scale(rng: random.Random, day: date, base: int) -> int:
        return base * WEEKDAY_PERCENT[day.weekday()] * rng.randint(70, 130) // 10_000

    def _usage_day(self, rng: random.Random, day: date) -> list[dict[str, Any]]:
        rows = []
        for api_key, workspace, model, tier, base in STREAMS:
            uncached = self._scale(rng, day, base)
            rows.append({
                "uncached_input_tokens": uncached,
                "cache_creation": {"ephemeral_1h_input_tokens": uncached * rng.randint(0, 4) // 100,
                                   "ephemeral_5m_input_tokens": uncached * rng.randint(0, 25) // 100},
                "cache_read_input_tokens": uncached * rng.randint(0, 700) // 100,
                "output_tokens": uncached * rng.randint(5, 45) // 100,
                "server_tool_use": {"web_search_requests": rng.randint(0, 20) if "sonnet" in model else 0},
                "api_key_id": api_key, "workspace_id": workspace, "model": model, "service_tier": tier,
                "context_window": "0-200k",
            })
        return rows

    @staticmethod
    def _cost_day(rng: random.Random, usage: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Costs in cents from the day's tokens (batch is half price), plus web search and code execution."""
        rows: list[dict[str, Any]] = []
        for item in usage:
            display, prices = MODELS[item["model"]]
            counts = {**item, **item["cache_creation"]}
            for field, token_type, suffix, index in TOKEN_TYPES:
                cents = Decimal(counts[field]) * prices[index] / 10_000
                if item["service_tier"] == "batch":
                    cents /= 2
                if not cents:
                    continue  # the report has no rows for token types that were not used
                rows.append({"currency": "USD", "amount": cents, "workspace_id": item["workspace_id"],
                             "description": f"{display} Usage - {suffix}", "cost_type": "tokens",
                             "context_window": item["context_window"], "model": item["model"],
                             "service_tier": item["service_tier"], "token_type": token_type})
            searches = item["server_tool_use"]["web_search_requests"]  # $10 per thousand: a cent each
            if searches:
                rows.append({"currency": "USD", "amount": Decimal(searches), "workspace_id": item["workspace_id"],
                             "description": "Web Search Usage", "cost_type": "web_search", "context_window": None,
                             "model": None, "service_tier": None, "token_type": None})
        rows.append({"currency": "USD", "amount": Decimal(rng.randint(0, 40)) / 10, "workspace_id": None,
                     "description": "Code Execution Usage", "cost_type": "code_execution", "context_window": None,
                     "model": None, "service_tier": None, "token_type": None})
        return _grouped(rows, COST_DIMS, set(COST_DIMS))

    def _claude_code_day(self, rng: random.Random, day: date) -> list[dict[str, Any]]:
        records = []
        for actor in CLAUDE_CODE_ACTORS:
            if rng.randint(0, 99) >= WEEKDAY_PERCENT[day.weekday()] * 8 // 10:
                continue
            breakdown = []
            for model in sorted(MODELS)[: rng.randint(1, 2)]:
                tokens = {"input": self._scale(rng, day, 40_000), "output": self._scale(rng, day, 12_000),
                          "cache_read": self._scale(rng, day, 800_000), "cache_creation": self._scale(rng, day, 50_000)}
                prices = MODELS[model][1]
                cents = sum((Decimal(tokens[name]) * prices[index] for name, index in
                             (("input", 0), ("output", 1), ("cache_read", 2), ("cache_creation", 3))),
                            Decimal(0)) / 10_000
                breakdown.append({"model": model, "tokens": tokens,
                                  "estimated_cost": {"currency": "USD", "amount": int(cents.to_integral_value())}})
            records.append({
                "date": _stamp(_midnight(day)), "actor": actor,
                "organization_id": "3f2a1b9c-7d4e-4a10-9b8c-2e6f5a4d3c21", "customer_type": "api",
                "terminal_type": "non-interactive" if actor["type"] == "api_actor" else "vscode",
                "subscription_type": None,
                "core_metrics": {"num_sessions": rng.randint(1, 12),
                                 "lines_of_code": {"added": rng.randint(0, 900), "removed": rng.randint(0, 300)},
                                 "commits_by_claude_code": rng.randint(0, 6),
                                 "pull_requests_by_claude_code": rng.randint(0, 2)},
                "tool_actions": {"edit_tool": {"accepted": rng.randint(0, 40), "rejected": rng.randint(0, 5)}},
                "model_breakdown": breakdown,
            })
        return records

    def cost_total(self, first: date, end: date) -> Decimal:
        """US dollars the cost report holds for the days [first, end)."""
        cents = sum((row["amount"] for day, rows in self.costs.items() if first <= day < end for row in rows),
                    Decimal(0))
        return cents / 100

    # -- HTTP ----------------------------------------------------------------------------------------------------
    def routes(self, app: web.Application) -> None:
        for path, handler in (
            ("/v1/organizations/usage_report/messages", self._usage_report),
            ("/v1/organizations/cost_report", self._cost_report),
            ("/v1/organizations/usage_report/claude_code", self._claude_code_report),
            ("/v1/organizations/workspaces", self._workspaces),
            ("/v1/organizations/api_keys", self._api_keys),
        ):
            app.router.add_get(path, self._guarded(handler))
        app.router.add_route("*", "/{tail:.*}", self._not_found)

    def error(self, status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
        return json_response(self.error_body(kind, message), status, headers)

    def error_body(self, kind: str, message: str) -> dict[str, Any]:
        return {"type": "error", "error": {"type": kind, "message": message},
                "request_id": f"req_fake{next(self._request_ids):020d}"}

    def rate_limit(self, *, times: int = 1, retry_after: int = 1, path: str = "") -> None:
        """Answer the next `times` matching requests with the documented 429 and a retry-after header."""
        body = self.error_body("rate_limit_error", "This request would exceed the rate limit for your organization. "
                                                   "For details, refer to: https://docs.claude.com/en/api/rate-limits.")
        self.fail(429, body, times=times, path=path, headers={"retry-after": str(retry_after)})

    def authorize(self, request: web.Request) -> web.Response | None:
        key = request.headers.get("x-api-key")
        if not key:
            return self.error(401, "authentication_error", "x-api-key header is required")
        if key not in self.admin_keys:  # workspace (sk-ant-api03-) keys are refused here like unknown ones
            return self.error(401, "authentication_error", "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            return self.error(400, "invalid_request_error", "anthropic-version: header is required")
        return None

    def _guarded(self, handler: Callable[[web.Request], Awaitable[Any]]) -> Handler:
        async def serve(request: web.Request) -> web.Response:
            try:
                body = await handler(request)
            except BadRequest as problem:
                return self.error(400, "invalid_request_error", str(problem))
            return self.respond(request, body, headers={"request-id": f"req_fake{next(self._request_ids):020d}"})
        return serve

    async def _not_found(self, request: web.Request) -> web.Response:
        return self.error(404, "not_found_error", f"Not found: {request.path}")

    def _page_size(self, limit: int) -> int:
        return min(limit, self.page_size_cap or limit)

    async def _report(self, request: web.Request, history: dict[date, list[dict[str, Any]]],
                      dims: tuple[str, ...], kept: Callable[[set[str]], set[str]]) -> dict[str, Any]:
        query = request.query
        if query.get("bucket_width", "1d") != "1d":
            raise BadRequest("bucket_width: this fake serves 1d buckets only")
        groups = set(query.getall("group_by[]", [])) | set(query.getall("group_by", []))  # both encodings
        if groups - set(dims):
            raise BadRequest(f"group_by: unsupported value(s) {sorted(groups - set(dims))}")
        limit = self._page_size(_limit(query, 7, 31))
        start = _instant(query, "starting_at")
        end = _instant(query, "ending_at") if "ending_at" in query else _midnight(self.end)
        cursor = _uncursor(query["page"], datetime.fromisoformat) if "page" in query else None
        day = cursor or _midnight(start.date())
        data: list[dict[str, Any]] = []
        while day < end and len(data) < limit:
            rows = history.get(day.date(), [])
            data.append({"starting_at": _stamp(day), "ending_at": _stamp(day + ONE_DAY),
                         "results": _grouped(rows, dims, kept(groups))})
            day += ONE_DAY
        more = day < end
        return {"data": data, "has_more": more, "next_page": _cursor(_stamp(day)) if more else None}

    async def _usage_report(self, request: web.Request) -> dict[str, Any]:
        return await self._report(request, self.usage, USAGE_DIMS, lambda groups: groups)

    async def _cost_report(self, request: web.Request) -> dict[str, Any]:
        body = await self._report(request, self.costs, COST_DIMS,
                                  lambda groups: (groups - {"description"}) | (DESCRIPTION_DIMS if "description"
                                                                              in groups else set()))
        for bucket in body["data"]:
            for item in bucket["results"]:
                item["amount"] = _cents_text(item["amount"])  # the wire carries a decimal string of cents
        return body

    async def _claude_code_report(self, request: web.Request) -> dict[str, Any]:
        query = request.query
        try:
            day = date.fromisoformat(query["starting_at"])
        except KeyError:
            raise BadRequest("starting_at: Field required") from None
        except ValueError:
            raise BadRequest("starting_at: Input should be a valid date (YYYY-MM-DD)") from None
        size = self._page_size(_limit(query, 20, 1000))
        offset = _uncursor(query["page"], lambda text: int(text.rpartition(":")[2])) if "page" in query else 0
        records = self.claude_code.get(day, [])
        more = offset + size < len(records)
        return {"data": records[offset:offset + size], "has_more": more,
                "next_page": _cursor(f"{day}:{offset + size}") if more else None}

    def _listing(self, request: web.Request, items: list[dict[str, Any]]) -> dict[str, Any]:
        query = request.query
        size = self._page_size(_limit(query, 20, 1000))
        ids = [item["id"] for item in items]
        start = ids.index(query["after_id"]) + 1 if query.get("after_id") in ids else 0
        page = items[start:start + size]
        return {"data": page, "has_more": start + size < len(items),
                "first_id": page[0]["id"] if page else None, "last_id": page[-1]["id"] if page else None}

    async def _workspaces(self, request: web.Request) -> dict[str, Any]:
        archived = request.query.get("include_archived", "false") == "true"
        return self._listing(request, [w for w in self.workspaces if archived or w["archived_at"] is None])

    async def _api_keys(self, request: web.Request) -> dict[str, Any]:
        status = request.query.get("status")
        return self._listing(request, [k for k in self.api_keys if status in (None, k["status"])])
