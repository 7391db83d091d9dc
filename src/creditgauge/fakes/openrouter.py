"""Fake OpenRouter API (provider-apis §6.1): `/credits`, `/activity` and the key list `/keys` for management keys,
`/key` for any key, error bodies with an integer `code`.

The history is generated from a seed with a weekly rhythm: `activity` maps each UTC day to its rows in wire shape
(US dollars as Decimal); tests may revise it between syncs. `rewrite(path, body)` may alter any successful body
before it is sent (contract tests). `listed_keys` is the key list in wire shape (OpenAPI `GET /keys`): each key this
fake accepts as an ordinary key, a disabled one (listed only with `include_disabled=true`) and an expired one; the
keys themselves appear only as OpenRouter's label ("sk-or-v1-0e6...1c96") and hash."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from aiohttp import web

from creditgauge.fakes.server import BadRequest, FakeProvider, Handler, json_response

DEFAULT_MANAGEMENT_KEY = "sk-or-v1-fake-management-key-000000000000000000"
DEFAULT_API_KEY = "sk-or-v1-fake-inference-key-0000000000000000000"
ACTIVITY_DAYS = 30
KEYS_PAGE_SIZE = 100  # OpenRouter documents `offset` but no page size; this fake pages by 100
CREATOR = "user_2dHFtVWx2n56w6HkM0000000000"
WORKSPACE = "0df9e665-d932-5740-b2c7-b52af166bc11"  # the default workspace
RESEARCH = "5b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
ONE_DAY = timedelta(days=1)
WEEKDAY_PERCENT = (100, 104, 110, 107, 95, 45, 35)  # Monday..Sunday
ENDPOINTS = (  # model, permaslug, provider, endpoint id, $ per M prompt / completion tokens, daily prompt tokens
    ("anthropic/claude-sonnet-4.5", "anthropic/claude-4.5-sonnet-20250929", "Anthropic",
     "8f0c3a52-1d9e-4b7a-a6c4-2e5f1d3b7c90", Decimal(3), Decimal(15), 1_100_000),
    ("openai/gpt-4.1-mini", "openai/gpt-4.1-mini-2025-04-14", "OpenAI",
     "550e8400-e29b-41d4-a716-446655440000", Decimal("0.4"), Decimal("1.6"), 300_000),
    ("meta-llama/llama-3.3-70b-instruct", "meta-llama/llama-3.3-70b-instruct", "DeepInfra",
     "0b6f1c8e-3a2d-4f5e-9c7b-1d2e3f4a5b6c", Decimal("0.23"), Decimal("0.40"), 500_000),
    ("meta-llama/llama-3.3-70b-instruct", "meta-llama/llama-3.3-70b-instruct", "Together",
     "7c9d2e1f-4b3a-4c5d-8e6f-2a1b3c4d5e6f", Decimal("0.88"), Decimal("0.88"), 150_000),
    ("deepseek/deepseek-r1", "deepseek/deepseek-r1-0528", "DeepSeek",
     "3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7", Decimal("0.55"), Decimal("2.19"), 200_000),
)



def _sum(values: Iterable[Decimal]) -> Decimal:
    return sum(values, Decimal(0))


class FakeOpenRouter(FakeProvider):
    name = "openrouter"

    def __init__(self, *, days: int = 45, seed: int = 1, end: date | None = None,
                 management_keys: Iterable[str] = (DEFAULT_MANAGEMENT_KEY,),
                 api_keys: Iterable[str] = (DEFAULT_API_KEY,), latency: float = 0.0) -> None:
        super().__init__(latency=latency)
        self.management_keys, self.api_keys = set(management_keys), set(api_keys)
        self.end = end or (datetime.now(UTC).date() + ONE_DAY)  # exclusive: today is included, still growing
        self.today = self.end - ONE_DAY
        rng = random.Random(seed)
        self.activity: dict[date, list[dict[str, Any]]] = {}
        day = self.end - timedelta(days=days)
        while day < self.end:
            self.activity[day] = self._activity_day(rng, day)
            day += ONE_DAY
        self.usage_before_history = Decimal("12.3456789")
        self.total_credits = (self.total_usage() + 50).to_integral_value()  # whole dollars bought, some left
        self.key_limit: Decimal | None = Decimal(500)  # ordinary keys; None = unlimited
        self.limit_reset: str | None = "monthly"
        # Live variants: /activity dates as date-times ("2026-08-23 00:00:00", what the live API sends while the
        # spec shows a bare date) and /key in its older shape (no daily/weekly/monthly or byok figures, no reset).
        self.datetime_dates = False
        self.older_key_shape = False
        created = datetime(self.end.year, self.end.month, self.end.day, 10, 30, tzinfo=UTC) - timedelta(days=120)
        self.listed_keys = [self.listed_key(secret, "my-app" if not n else f"my-app-{n + 1}",
                                            created=created + timedelta(days=9 * n))
                            for n, secret in enumerate(sorted(self.api_keys))]
        self.listed_keys += [
            self.listed_key("sk-or-v1-fake-retired-key-00000000000000000001", "old-laptop",
                            created=created - timedelta(days=60), disabled=True),
            self.listed_key("sk-or-v1-fake-trial-key-000000000000000000002", "trial-week",
                            created=created, expires=created + timedelta(days=7)),
            self.listed_key("sk-or-v1-fake-research-key-0000000000000000003", "research-notebook",
                            created=created + timedelta(days=30), workspace=RESEARCH),
        ]
        self.workspaces = [self.workspace(WORKSPACE, "Default Workspace", "default", created - timedelta(days=200)),
                           self.workspace(RESEARCH, "research", "research", created)]

    # -- generated history ---------------------------------------------------------------------------------------
    @staticmethod
    def _activity_day(rng: random.Random, day: date) -> list[dict[str, Any]]:
        rows = []
        for model, slug, provider, endpoint, prompt_price, completion_price, base in ENDPOINTS:
            prompt = base * WEEKDAY_PERCENT[day.weekday()] * rng.randint(60, 140) // 10_000
            if rng.randint(0, 9) == 0 or not prompt:
                continue  # some days an endpoint is not used at all
            completion = prompt * rng.randint(3, 12) // 100
            reasoning = completion * rng.randint(20, 60) // 100 if "r1" in model else 0
            rows.append({
                "date": day.isoformat(), "model": model, "model_permaslug": slug, "endpoint_id": endpoint,
                "provider_name": provider,
                "usage": (prompt * prompt_price + completion * completion_price) / 1_000_000,
                "byok_usage_inference": Decimal(0), "requests": max(1, prompt // rng.randint(4_000, 9_000)),
                "prompt_tokens": prompt, "completion_tokens": completion, "reasoning_tokens": reasoning,
            })
        return rows

    @staticmethod
    def workspace(workspace_id: str, name: str, slug: str, created: datetime) -> dict[str, Any]:
        """A workspace as `/workspaces` lists it (the spec's required fields)."""
        stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"id": workspace_id, "name": name, "slug": slug, "description": None, "default_guardrail_id": None,
                "default_text_model": None, "default_image_model": None, "default_provider_sort": None,
                "is_observability_io_logging_enabled": False, "is_observability_broadcast_enabled": False,
                "is_data_discount_logging_enabled": False, "io_logging_sampling_rate": 1,
                "io_logging_api_key_ids": None, "created_at": stamp, "updated_at": stamp, "created_by": CREATOR}

    @staticmethod
    def listed_key(secret: str, name: str, *, created: datetime, disabled: bool = False,
                   expires: datetime | None = None, workspace: str = WORKSPACE) -> dict[str, Any]:
        """A key as `/keys` lists it: the secret only as its label and hash, running totals of its usage."""
        usage = Decimal(int(hashlib.sha256(name.encode()).hexdigest()[:6], 16) % 5_000) / 100
        return {
            "hash": hashlib.sha256(secret.encode()).hexdigest(), "name": name,
            "label": f"{secret[:12]}...{secret[-4:]}", "disabled": disabled, "limit": None, "limit_remaining": None,
            "limit_reset": None, "include_byok_in_limit": False, "usage": usage, "usage_daily": Decimal(0),
            "usage_weekly": Decimal(0), "usage_monthly": Decimal(0), "byok_usage": Decimal(0),
            "byok_usage_daily": Decimal(0), "byok_usage_weekly": Decimal(0), "byok_usage_monthly": Decimal(0),
            "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "updated_at": (created + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "creator_user_id": CREATOR, "workspace_id": workspace,
            "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ") if expires else None,
        }

    def spent(self, first: date, end: date) -> Decimal:
        """US dollars of activity on the days [first, end)."""
        return _sum(row["usage"] for day, rows in self.activity.items() if first <= day < end for row in rows)

    def total_usage(self) -> Decimal:
        return self.usage_before_history + self.spent(date.min, date.max)

    def served_days(self) -> list[date]:
        """The days /activity answers for: the last 30 completed UTC days."""
        return [self.today - timedelta(days=n) for n in range(ACTIVITY_DAYS, 0, -1)]

    # -- HTTP ----------------------------------------------------------------------------------------------------
    def routes(self, app: web.Application) -> None:
        app.router.add_get("/api/v1/credits", self._guarded(self._credits, management=True))
        app.router.add_get("/api/v1/activity", self._guarded(self._activity, management=True))
        app.router.add_get("/api/v1/key", self._guarded(self._key, management=False))
        app.router.add_get("/api/v1/keys", self._guarded(self._keys, management=True))
        app.router.add_get("/api/v1/workspaces", self._guarded(self._workspaces, management=True))
        app.router.add_route("*", "/{tail:.*}", self._not_found)

    def error(self, status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
        return json_response(self.error_body(status, message), status, headers)

    @staticmethod
    def error_body(status: int, message: str) -> dict[str, Any]:
        return {"error": {"code": status, "message": message}}  # `code` is the HTTP status, an integer

    def rate_limit(self, *, times: int = 1, retry_after: int = 1, path: str = "") -> None:
        """Answer the next `times` matching requests with 429 and a retry-after header."""
        self.fail(429, self.error_body(429, "Rate limit exceeded"), times=times, path=path,
                  headers={"retry-after": str(retry_after)})

    @staticmethod
    def _key_of(request: web.Request) -> str:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        return key if scheme.lower() == "bearer" else ""

    def authorize(self, request: web.Request) -> web.Response | None:
        key = self._key_of(request)
        if not key:
            return self.error(401, "No auth credentials found")
        if key not in self.management_keys | self.api_keys:
            return self.error(401, "User not found.")
        return None

    def _guarded(self, handler: Callable[[web.Request], Awaitable[Any]], *, management: bool) -> Handler:
        async def serve(request: web.Request) -> web.Response:
            if management and self._key_of(request) not in self.management_keys:
                return self.error(403, "Only management keys can perform this operation")
            try:
                body = await handler(request)
            except BadRequest as problem:
                return self.error(400, str(problem))
            return self.respond(request, body)
        return serve

    async def _not_found(self, request: web.Request) -> web.Response:
        return self.error(404, "Not Found")

    async def _credits(self, request: web.Request) -> dict[str, Any]:
        return {"data": {"total_credits": self.total_credits, "total_usage": self.total_usage()}}

    async def _activity(self, request: web.Request) -> dict[str, Any]:
        served = self.served_days()
        if "date" in request.query:
            try:
                asked = date.fromisoformat(request.query["date"])
            except ValueError:
                raise BadRequest("date must be YYYY-MM-DD") from None
            if asked not in served:
                raise BadRequest("date must be within the last 30 completed UTC days")
            served = [asked]
        rows = [row for day in served for row in self.activity.get(day, [])]
        if self.datetime_dates:
            rows = [row | {"date": f"{row['date']} 00:00:00"} for row in rows]
        return {"data": rows}

    @staticmethod
    def _offset(request: web.Request) -> int:
        try:
            offset = int(request.query.get("offset", "0"))
        except ValueError:
            raise BadRequest("offset must be a whole number") from None
        if offset < 0:
            raise BadRequest("offset must not be negative")
        return offset

    async def _keys(self, request: web.Request) -> dict[str, Any]:
        """The keys of one workspace (the default one unless `workspace_id` names another)."""
        offset, workspace = self._offset(request), request.query.get("workspace_id", WORKSPACE)
        listed = [key for key in self.listed_keys if key["workspace_id"] == workspace
                  and (request.query.get("include_disabled") == "true" or not key["disabled"])]
        return {"data": listed[offset:offset + KEYS_PAGE_SIZE]}

    async def _workspaces(self, request: web.Request) -> dict[str, Any]:
        offset, limit = self._offset(request), request.query.get("limit", "50")
        if not limit.isdigit() or not 1 <= int(limit) <= 100:
            raise BadRequest("limit must be a whole number from 1 to 100")
        return {"data": self.workspaces[offset:offset + int(limit)], "total_count": len(self.workspaces)}

    async def _key(self, request: web.Request) -> dict[str, Any]:
        key = self._key_of(request)
        management = key in self.management_keys
        monday = self.today - timedelta(days=self.today.weekday())  # OpenRouter weeks run Monday to Sunday
        usage = {"usage": self.total_usage(), "usage_daily": self.spent(self.today, self.end),
                 "usage_weekly": self.spent(monday, self.end),
                 "usage_monthly": self.spent(self.today.replace(day=1), self.end)}
        limit = None if management else self.key_limit
        remaining = None
        if limit is not None:
            remaining = max(limit - (usage["usage_monthly"] if self.limit_reset else usage["usage"]), Decimal(0))
        if self.older_key_shape:
            return {"data": {"label": f"{key[:12]}...{key[-3:]}", "usage": usage["usage"], "limit": limit,
                             "limit_remaining": remaining, "is_free_tier": False,
                             "rate_limit": {"requests": 10, "interval": "10s"}}}
        return {"data": {
            "label": f"{key[:12]}...{key[-3:]}", "limit": limit, "limit_remaining": remaining,
            "limit_reset": self.limit_reset if limit is not None else None, "include_byok_in_limit": False,
            **usage, "byok_usage": Decimal(0), "byok_usage_daily": Decimal(0), "byok_usage_weekly": Decimal(0),
            "byok_usage_monthly": Decimal(0), "is_free_tier": False, "is_management_key": management,
            "is_provisioning_key": management, "creator_user_id": CREATOR,
            "expires_at": None,
            "rate_limit": {"requests": -1, "interval": "10s", "note": "This field is deprecated and safe to ignore."},
        }}
