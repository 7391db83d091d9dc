"""OpenRouter (provider-apis §6.1): credit balance, the key's own limit and usage, and daily spend and tokens per
model. Amounts are US dollars as JSON numbers. `/credits` and `/activity` need a management key; `/key` works
with any key, so an ordinary key still yields its limit while the other two tasks say what key they need."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from creditgauge.connectors.base import (
    Connector,
    EndpointTask,
    amount_field,
    count_field,
    day_field,
    decimal_field,
    optional_field,
    read_items,
    require,
    require_list,
)
from creditgauge.domain import (
    BalanceSnapshot,
    Capability,
    CostBucket,
    Fact,
    LimitSnapshot,
    UsageBucket,
    Window,
    utcnow,
)
from creditgauge.errors import AuthError
from creditgauge.http import Params
from creditgauge.providers.record import Provider, StarterAccount

ACTIVITY_PATH = "/activity"
ACTIVITY_DAYS = 30  # /activity serves the last 30 completed UTC days
KEY_FIGURES = ("usage", "usage_daily", "usage_weekly", "usage_monthly",
               "byok_usage", "byok_usage_daily", "byok_usage_weekly", "byok_usage_monthly")
ONE_DAY = timedelta(days=1)
DIMENSIONS = (("provider_name", "dim_provider"), ("endpoint_id", "dim_endpoint"))  # wire name, stored name


class OpenRouterConnector(Connector):
    provider = "openrouter"
    capabilities = frozenset({Capability.BALANCE, Capability.LIMITS, Capability.USAGE, Capability.COSTS})
    default_base_url = "https://openrouter.ai/api/v1"
    key_kind = "management key"
    key_help = "openrouter.ai > Settings > Management Keys (formerly Provisioning Keys)"
    notes = ("balance and daily spend per model verified with a management key (spend only for the last 30 "
             "completed UTC days); any key reads its own limit and usage")

    def tasks(self) -> list[EndpointTask]:
        return [
            EndpointTask("credits", self.fetch_credits, windowed=False),
            EndpointTask("key", self.fetch_key, windowed=False),
            # Not windowed: a window reaching past the 30 days /activity serves must not erase the older days
            # stored by earlier syncs. Rows are upserted per day and model, so a revision still replaces.
            EndpointTask("activity", self.fetch_activity, windowed=False),
        ]

    async def _get(self, path: str, params: Params = None) -> Any:
        try:
            return await self.client.get_json(path, params)
        except AuthError as error:
            if error.status == 403:
                hint = (f"{path} needs an OpenRouter management key ({self.key_help}); "
                        "an ordinary key only reads its own limit and usage (/key)")
            else:
                hint = (f"OpenRouter refused the key: check it is current (the verified balance and daily spend "
                        f"need a management key: {self.key_help})")
            raise AuthError(f"{error}. {hint}", provider=error.provider, endpoint=error.endpoint,
                            status=error.status) from None

    async def fetch_credits(self, window: Window) -> list[Fact]:
        path = "/credits"
        data = require(await self._get(path), "data", self, path)
        credits, used = amount_field(data, "total_credits", self, path), amount_field(data, "total_usage", self, path)
        return [BalanceSnapshot(as_of=utcnow(), amount=credits - used, currency="USD",
                                details={"total_credits": credits, "total_usage": used})]

    async def fetch_key(self, window: Window) -> list[Fact]:
        """Older answers lack the daily/weekly/monthly figures, the byok ones and `limit_reset`: each is optional,
        and one that is absent is left out of the details (unknown), never stored as 0."""
        path = "/key"
        data = require(await self._get(path), "data", self, path)
        details: dict[str, Any] = {key: value for key in KEY_FIGURES
                                   if (value := decimal_field(data, key, self, path, required=False)) is not None}
        details["limit_remaining"] = decimal_field(data, "limit_remaining", self, path, required=False)
        for key in ("limit_reset", "is_free_tier", "include_byok_in_limit"):
            details[key] = optional_field(data, key)
        limit = decimal_field(data, "limit", self, path, required=False)
        if limit is None:
            return []  # an unlimited key: there is no limit to record
        return [LimitSnapshot(as_of=utcnow(), name="key_limit", amount=limit, currency="USD", details=details)]

    async def fetch_activity(self, window: Window) -> list[Fact]:
        """One call per UTC day of the window that /activity still serves: completed days, 30 at most."""
        today = utcnow().date()
        day = max(window.start.date(), today - timedelta(days=ACTIVITY_DAYS))
        last = min(window.end.date(), today)
        facts: list[Fact] = []
        while day < last:
            body = await self._get(ACTIVITY_PATH, {"date": day.isoformat()})
            facts.extend(self.parse_activity(body))
            day += ONE_DAY
        return facts

    def parse_activity(self, body: Any) -> list[Fact]:
        return read_items(self, ACTIVITY_PATH, require_list(body, "data", self, ACTIVITY_PATH), self._activity_facts)

    def _activity_facts(self, item: Any) -> tuple[CostBucket, UsageBucket]:
        """The day comes as "2026-08-23" (the spec) or "2026-08-23 00:00:00" (the live API)."""
        path = ACTIVITY_PATH
        start = day_field(item, "date", self, path)
        # Some answers name the model only by its permaslug.
        model = str(require(item, "model" if optional_field(item, "model") is not None else "model_permaslug", self,
                            path))
        # One model may be served by several providers and endpoints: each is its own row.
        dims = {name: str(value) for key, name in DIMENSIONS if (value := optional_field(item, key)) is not None}
        end: datetime = start + ONE_DAY
        extra: dict[str, Any] = dict(dims)
        byok = decimal_field(item, "byok_usage_inference", self, path, required=False)
        if byok is not None:
            extra["byok_usage_inference"] = byok
        cost = CostBucket(start=start, end=end, amount=amount_field(item, "usage", self, path), currency="USD",
                          model=model, extra=extra)
        usage = UsageBucket(start=start, end=end, kind="activity", model=model,
                            input_tokens=self._count(item, "prompt_tokens"),
                            output_tokens=self._count(item, "completion_tokens"),
                            reasoning_tokens=self._count(item, "reasoning_tokens", required=False),
                            requests=self._count(item, "requests"), extra=dims)
        return cost, usage

    def _count(self, item: Any, key: str, *, required: bool = True) -> int:
        return count_field(item, key, self, ACTIVITY_PATH, required=required) or 0


PROVIDER = Provider(
    connector=OpenRouterConnector,
    display_name="OpenRouter",
    inference_origin="https://openrouter.ai",  # paths start with /api/v1
    starter=StarterAccount("OPENROUTER_API_KEY", "credits need a management key; /key works with any"),
    key_patterns=(r"sk-or-v1-[A-Za-z0-9_\-]{8,}",),
)
