"""OpenAI's legacy dashboard billing endpoints (unofficial, provider-apis/README.md §1.6): the subscription's limits,
daily costs per line item, and the prepaid credit balance, which needs a browser session key. OpenAI does not
document any of them and gateways emulate them, so every figure is stored as unofficial."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from creditgauge.config import AccountConfig
from creditgauge.connectors.base import Connector, EndpointTask, require
from creditgauge.connectors.openai import base_without_v1
from creditgauge.domain import (
    BalanceSnapshot,
    Capability,
    CostBucket,
    Fact,
    LimitSnapshot,
    Window,
    day_start,
    to_decimal,
    utcnow,
)
from creditgauge.errors import AuthError
from creditgauge.http import ApiClient
from creditgauge.redact import register_secret

MAX_DAYS_PER_REQUEST = 100  # billing/usage refuses longer ranges (one-api asks for at most 100 days)
SUBSCRIPTION_LIMITS = (("hard_limit_usd", "hard_limit"), ("soft_limit_usd", "soft_limit"),
                       ("system_hard_limit_usd", "system_hard_limit"))  # dollars; `hard_limit` etc. are not


class OpenAILegacyConnector(Connector):
    provider: ClassVar[str] = "openai-legacy"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.COSTS, Capability.BALANCE, Capability.LIMITS}
    )
    default_base_url: ClassVar[str] = "https://api.openai.com"
    official: ClassVar[bool] = False
    key_kind: ClassVar[str] = "API key (sk-...), plus a browser session key (sess-...) for the credit balance"
    key_help: ClassVar[str] = (
        "set session_key_env to a variable holding the session key copied from a logged-in platform.openai.com tab"
    )
    notes: ClassVar[str] = (
        "Unofficial: OpenAI's old dashboard billing endpoints, undocumented and emulated by gateways; every figure "
        "is labelled unofficial. Daily costs per line item, hard/soft limits, and the prepaid credit balance "
        "(credit_grants answers only a browser session key). Prefer the 'openai' provider with an admin key."
    )

    def __init__(self, account: AccountConfig, key: str | None, client: ApiClient) -> None:
        super().__init__(account, key, client)
        env = account.session_key_env
        self.session_key = (os.environ.get(env, "").strip() or None) if env else None
        register_secret(self.session_key)

    @classmethod
    def base_url_for(cls, account: AccountConfig) -> str:
        # The contract's form is {base}/dashboard/billing/...; servers that add /v1 (one-api) also serve this one.
        return base_without_v1(super().base_url_for(account))

    def tasks(self) -> list[EndpointTask]:
        return [
            EndpointTask("billing_usage", self.fetch_costs, official=False),
            EndpointTask("subscription", self.fetch_limits, windowed=False, official=False),
            EndpointTask("credit_grants", self.fetch_balance, windowed=False, official=False),
        ]

    async def _get(self, path: str, params: Sequence[tuple[str, Any]] = (), *, advice: str,
                   headers: dict[str, str] | None = None) -> Any:
        try:
            return await self.client.get_json(path, list(params), headers=headers)
        except AuthError as exc:
            raise exc.with_hint(advice, separator=". ") from None

    # ---- daily costs ---------------------------------------------------------------------------------------------

    async def fetch_costs(self, window: Window) -> list[Fact]:
        path = "/dashboard/billing/usage"
        facts: list[Fact] = []
        for chunk in window.chunks(timedelta(days=MAX_DAYS_PER_REQUEST)):
            params = [("start_date", chunk.start.date().isoformat()), ("end_date", chunk.end.date().isoformat())]
            body = await self._get(path, params, advice=(
                "OpenAI may refuse this unofficial endpoint to ordinary keys; for official costs use the 'openai' "
                "provider with an admin key (sk-admin-...)"))
            facts.extend(self._daily_costs(body, f"GET {path}"))
        return facts

    def _daily_costs(self, body: Any, endpoint: str) -> list[CostBucket]:
        days = require(body, "daily_costs", self, endpoint)
        if not isinstance(days, list):
            raise self.contract_error(endpoint, "'daily_costs' is not a list")
        facts = []
        for entry in days:
            start = day_start(self._moment(require(entry, "timestamp", self, endpoint), endpoint))
            items = require(entry, "line_items", self, endpoint)
            for item in items if isinstance(items, list) else []:
                cents = self._number(require(item, "cost", self, endpoint), "cost", endpoint)
                if cents:
                    facts.append(CostBucket(start=start, end=start + timedelta(days=1), amount=cents / 100,
                                            currency="USD", line_item=str(require(item, "name", self, endpoint))))
        return facts

    # ---- limits and balance --------------------------------------------------------------------------------------

    async def fetch_limits(self, window: Window) -> list[Fact]:
        path = "/dashboard/billing/subscription"
        endpoint = f"GET {path}"
        body = await self._get(path, advice=(
            "OpenAI may refuse this unofficial endpoint to ordinary keys; the 'openai' provider with an admin key "
            "reads the official spend limit instead"))
        require(body, "hard_limit_usd", self, endpoint)
        plan = body.get("plan")
        details = {"plan": plan.get("title") if isinstance(plan, dict) else None,
                   "has_payment_method": body.get("has_payment_method")}
        as_of = utcnow().replace(microsecond=0)
        return [
            LimitSnapshot(as_of=as_of, name=name, amount=self._number(body[field], field, endpoint), currency="USD",
                          official=False, details=details)
            for field, name in SUBSCRIPTION_LIMITS
            if body.get(field) is not None
        ]

    async def fetch_balance(self, window: Window) -> list[Fact]:
        path = "/dashboard/billing/credit_grants"
        endpoint = f"GET {path}"
        env = self.account.session_key_env
        if env and self.session_key is None:
            raise AuthError(
                f"{self.provider} {endpoint}: account {self.account.name!r} sets session_key_env = {env!r} but "
                f"${env} is empty; export the browser session key (sess-...) in it",
                provider=self.provider, endpoint=endpoint,
            )
        if self.session_key:
            advice = ("the browser session key was refused (they expire): copy a fresh sess-... key from a "
                      f"logged-in platform.openai.com tab into ${env}")
            headers = {"authorization": f"Bearer {self.session_key}"}
        else:
            advice = ("credit_grants answers only a browser session key (sess-...), never a secret key: copy it "
                      "from a logged-in platform.openai.com tab (developer tools, the Authorization header of a "
                      f"billing request), export it, and set session_key_env for account {self.account.name!r}")
            headers = None
        body = await self._get(path, advice=advice, headers=headers)
        available = self._number(require(body, "total_available", self, endpoint), "total_available", endpoint)
        grants = body.get("grants")
        listed = grants.get("data") if isinstance(grants, dict) else None
        details = {
            "total_granted": self._number(require(body, "total_granted", self, endpoint), "total_granted", endpoint),
            "total_used": self._number(require(body, "total_used", self, endpoint), "total_used", endpoint),
            "grants": [self._grant(grant, endpoint) for grant in listed or [] if isinstance(grant, dict)],
        }
        return [BalanceSnapshot(as_of=utcnow().replace(microsecond=0), amount=available, currency="USD",
                                official=False, details=details)]

    def _grant(self, grant: dict[str, Any], endpoint: str) -> dict[str, Any]:
        def when(name: str) -> str | None:
            value = grant.get(name)
            return None if value is None else self._moment(value, endpoint).isoformat()

        return {
            "id": grant.get("id"),
            "grant_amount": self._number(require(grant, "grant_amount", self, endpoint), "grant_amount", endpoint),
            "used_amount": self._number(require(grant, "used_amount", self, endpoint), "used_amount", endpoint),
            "effective_at": when("effective_at"),
            "expires_at": when("expires_at"),
        }

    # ---- parsing -------------------------------------------------------------------------------------------------

    def _number(self, value: Any, what: str, endpoint: str) -> Decimal:
        try:
            return to_decimal(value, what=what)
        except (TypeError, ValueError) as exc:
            raise self.contract_error(endpoint, str(exc)) from None

    def _moment(self, value: Any, endpoint: str) -> datetime:
        """Unix seconds, which these endpoints send as floats (`1785542400.0`)."""
        seconds = self._number(value, "timestamp", endpoint)
        try:
            return datetime.fromtimestamp(int(seconds), UTC)
        except (OverflowError, OSError, ValueError):
            raise self.contract_error(endpoint, f"timestamp {value!r} is out of range") from None


__all__ = ["OpenAILegacyConnector"]
