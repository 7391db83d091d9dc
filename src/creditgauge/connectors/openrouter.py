"""OpenRouter (provider-apis §6.1): credit balance, the key's own limit and usage, and daily spend and tokens per
model. Amounts are US dollars as JSON numbers. `/credits` and `/activity` need a management key; `/key` works
with any key, so an ordinary key still yields its limit while the other two tasks say what key they need."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from creditgauge.connectors.base import Connector, EndpointTask, require
from creditgauge.domain import (
    BalanceSnapshot,
    Capability,
    CostBucket,
    Fact,
    LimitSnapshot,
    UsageBucket,
    Window,
    day_start,
    to_decimal,
    utcnow,
)
from creditgauge.errors import AuthError
from creditgauge.http import Params

ACTIVITY_DAYS = 30  # /activity serves the last 30 completed UTC days
KEY_FIGURES = ("usage", "usage_daily", "usage_weekly", "usage_monthly",
               "byok_usage", "byok_usage_daily", "byok_usage_weekly", "byok_usage_monthly")
ONE_DAY = timedelta(days=1)


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

    def _dollars(self, obj: Any, key: str, path: str) -> Decimal:
        try:
            return to_decimal(require(obj, key, self, path), what=key)
        except (TypeError, ValueError) as error:
            raise self.contract_error(path, str(error)) from None

    def _optional_dollars(self, obj: Any, key: str, path: str) -> Decimal | None:
        return None if require(obj, key, self, path) is None else self._dollars(obj, key, path)

    def _count(self, obj: Any, key: str, path: str) -> int:
        value = require(obj, key, self, path)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.contract_error(path, f"{key!r} should be an integer, got {value!r}")
        return value

    async def fetch_credits(self, window: Window) -> list[Fact]:
        path = "/credits"
        data = require(await self._get(path), "data", self, path)
        credits, used = self._dollars(data, "total_credits", path), self._dollars(data, "total_usage", path)
        return [BalanceSnapshot(as_of=utcnow(), amount=credits - used, currency="USD",
                                details={"total_credits": credits, "total_usage": used})]

    async def fetch_key(self, window: Window) -> list[Fact]:
        path = "/key"
        data = require(await self._get(path), "data", self, path)
        details: dict[str, Any] = {key: self._dollars(data, key, path) for key in KEY_FIGURES}
        details["limit_remaining"] = self._optional_dollars(data, "limit_remaining", path)
        details["limit_reset"] = require(data, "limit_reset", self, path)
        details["is_free_tier"] = require(data, "is_free_tier", self, path)
        details["include_byok_in_limit"] = data.get("include_byok_in_limit")
        limit = self._optional_dollars(data, "limit", path)
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
            body = await self._get("/activity", {"date": day.isoformat()})
            for item in require(body, "data", self, "/activity"):
                facts.extend(self._activity_facts(item))
            day += ONE_DAY
        return facts

    def _activity_facts(self, item: Any) -> tuple[CostBucket, UsageBucket]:
        path = "/activity"
        raw_day = require(item, "date", self, path)
        try:
            start = day_start(date.fromisoformat(raw_day))
        except (TypeError, ValueError):
            raise self.contract_error(path, f"date {raw_day!r} is not YYYY-MM-DD") from None
        model = str(require(item, "model", self, path))
        # One model may be served by several providers and endpoints: each is its own row.
        dims = {"dim_provider": str(require(item, "provider_name", self, path)),
                "dim_endpoint": str(require(item, "endpoint_id", self, path))}
        end: datetime = start + ONE_DAY
        cost = CostBucket(start=start, end=end, amount=self._dollars(item, "usage", path), currency="USD",
                          model=model, extra={**dims, "byok_usage_inference": self._dollars(
                              item, "byok_usage_inference", path)})
        usage = UsageBucket(start=start, end=end, kind="activity", model=model,
                            input_tokens=self._count(item, "prompt_tokens", path),
                            output_tokens=self._count(item, "completion_tokens", path),
                            reasoning_tokens=self._count(item, "reasoning_tokens", path),
                            requests=self._count(item, "requests", path), extra=dims)
        return cost, usage
