"""OpenAI's legacy dashboard billing endpoints (unofficial, provider-apis/README.md §1.6): the subscription's limits,
daily costs per line item, and the prepaid credit balance, which needs a browser session key. OpenAI does not
document any of them and gateways emulate them, so every figure is stored as unofficial."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import urlsplit

from creditgauge.config import AccountConfig
from creditgauge.connectors.base import (
    Connector,
    EndpointTask,
    NotOffered,
    amount_field,
    day_field,
    decimal_field,
    instant_field,
    optional_field,
    read_items,
    require,
    require_list,
)
from creditgauge.connectors.openai import base_without_v1
from creditgauge.domain import (
    BalanceKind,
    BalanceSnapshot,
    Capability,
    CostBucket,
    EndpointUnavailable,
    Fact,
    LimitSnapshot,
    Window,
    utcnow,
)
from creditgauge.errors import AuthError, ProviderError
from creditgauge.http import ApiClient, parse_json, provider_message
from creditgauge.providers.record import Provider, ProviderOptions, StarterAccount
from creditgauge.redact import redact, register_secret

USAGE_PATH = "/dashboard/billing/usage"
USAGE_ENDPOINT = f"GET {USAGE_PATH}"
UNLIMITED_USD = Decimal(100_000_000)  # what one-api and new-api send as the limit of an unlimited token
MAX_DAYS_PER_REQUEST = 100  # billing/usage refuses longer ranges (one-api asks for at most 100 days)
SUBSCRIPTION_LIMITS = (("hard_limit_usd", "hard_limit"), ("soft_limit_usd", "soft_limit"),
                       ("system_hard_limit_usd", "system_hard_limit"))  # dollars; `hard_limit` etc. are not


class OpenAILegacyOptions(ProviderOptions):
    session_key_env: str | None = None  # the variable holding a browser session key (sess-...) for credit_grants


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
        "(credit_grants answers only a browser session key). Relays (one-api, new-api) serve the same routes: "
        "their hard limit minus their usage is shown as a limit-only balance, and the routes they lack are shown "
        "as not available. Prefer the 'openai' provider with an admin key."
    )

    def __init__(self, account: AccountConfig, key: str | None, client: ApiClient) -> None:
        super().__init__(account, key, client)
        env = self.session_key_env = account.provider_options(OpenAILegacyOptions).session_key_env
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
            # Relays (one-api, new-api) have no credit_grants route; with a session key configured the user
            # wants OpenAI's own balance, so there a missing route stays an error.
            EndpointTask("credit_grants", self.fetch_balance, windowed=False, official=False,
                         optional=not self.session_key_env),
        ]

    async def _get(self, path: str, params: Sequence[tuple[str, Any]] = (), *, advice: str,
                   headers: dict[str, str] | None = None) -> Any:
        endpoint = f"GET {path}"
        try:
            response = await self.client.request("GET", path, params=list(params), headers=headers)
        except AuthError as exc:
            raise exc.with_hint(advice, separator=". ") from None
        if "text/html" in response.headers.get("content-type", ""):
            # new-api serves its web app for every path it does not route.
            raise NotOffered(f"{self.provider} {endpoint}: the server answered a web page, not this API: it does "
                             "not offer this endpoint (check base_url)", provider=self.provider, endpoint=endpoint,
                             status=response.status_code)
        try:
            body = parse_json(response.text)
        except ValueError:
            raise self.contract_error(endpoint, "the response is not valid JSON") from None
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            # one-api and new-api report their own failures as HTTP 200 with an OpenAI-style error object.
            raise ProviderError(redact(f"{self.provider} {endpoint}: the server answered an error: "
                                       f"{provider_message(body)}"),
                                provider=self.provider, endpoint=endpoint, status=response.status_code)
        return body

    @property
    def server(self) -> str:
        return urlsplit(self.base_url_for(self.account)).hostname or "the server"

    # ---- daily costs ---------------------------------------------------------------------------------------------

    async def fetch_costs(self, window: Window) -> list[Fact]:
        facts: list[Fact] = []
        for chunk in window.chunks(timedelta(days=MAX_DAYS_PER_REQUEST)):
            body = await self._usage(chunk.start.date(), chunk.end.date())
            if not isinstance(body.get("daily_costs"), list):
                # A relay's answer: one total over its whole history, whatever the dates asked. It becomes the
                # "used" side of the relay's balance (subscription task), never invented days.
                return [EndpointUnavailable(USAGE_ENDPOINT, (
                    f"daily costs are not available for this account: {self.server} reports only a total "
                    "(total_usage), which the balance uses"))]
            facts.extend(self.parse_daily_costs(body))
        return facts

    async def _usage(self, first: date, last_exclusive: date) -> dict[str, Any]:
        params = [("start_date", first.isoformat()), ("end_date", last_exclusive.isoformat())]
        body = await self._get(USAGE_PATH, params, advice=(
            "OpenAI may refuse this unofficial endpoint to ordinary keys; for official costs use the 'openai' "
            "provider with an admin key (sk-admin-...)"))
        if not isinstance(body, dict) or ("daily_costs" not in body and "total_usage" not in body):
            raise self.contract_error(USAGE_ENDPOINT, "expected an object with daily_costs or total_usage")
        return body

    def parse_daily_costs(self, body: Any) -> list[Fact]:
        days = require_list(body, "daily_costs", self, USAGE_ENDPOINT)
        return read_items(self, USAGE_ENDPOINT, days, self._day_costs)

    def _day_costs(self, entry: Any) -> list[Fact]:
        start = day_field(entry, "timestamp", self, USAGE_ENDPOINT)

        def line(item: Any) -> list[CostBucket]:
            amount = amount_field(item, "cost", self, USAGE_ENDPOINT, cents=True)
            if not amount:
                return []  # the dashboard lists every category, zeros included
            return [CostBucket(start=start, end=start + timedelta(days=1), amount=amount, currency="USD",
                               line_item=str(require(item, "name", self, USAGE_ENDPOINT)))]

        return read_items(self, USAGE_ENDPOINT, require_list(entry, "line_items", self, USAGE_ENDPOINT), line)

    # ---- limits and balance --------------------------------------------------------------------------------------

    async def fetch_limits(self, window: Window) -> list[Fact]:
        """The *_usd limits, and what remains under the hard limit: the hard limit minus the usage the same server
        reports for this month (a relay reports its whole history: then it is what is left of the relay's quota).
        That remainder is a limit, not money held, so it is stored as a limit_only balance labelled with the
        server it came from."""
        path = "/dashboard/billing/subscription"
        endpoint = f"GET {path}"
        body = await self._get(path, advice=(
            "OpenAI may refuse this unofficial endpoint to ordinary keys; the 'openai' provider with an admin key "
            "reads the official spend limit instead"))
        hard_limit = amount_field(body, "hard_limit_usd", self, endpoint)
        plan = optional_field(body, "plan")
        details = {"plan": plan.get("title") if isinstance(plan, dict) else None,
                   "has_payment_method": optional_field(body, "has_payment_method")}
        as_of = utcnow().replace(microsecond=0)
        facts: list[Fact] = [
            LimitSnapshot(as_of=as_of, name=name, amount=amount, currency="USD", official=False, details=details)
            for field, name in SUBSCRIPTION_LIMITS
            if (amount := decimal_field(body, field, self, endpoint, required=False)) is not None
        ]
        if hard_limit >= UNLIMITED_USD:
            return facts  # one-api / new-api send 100000000 for an unlimited token: nothing remains to count
        today = window.end.date() - timedelta(days=1)  # the sync's today, also when it is not the clock's
        usage = await self._usage(today.replace(day=1), window.end.date())
        used = amount_field(usage, "total_usage", self, USAGE_ENDPOINT, cents=True)
        facts.append(BalanceSnapshot(as_of=as_of, amount=hard_limit - used, currency="USD", official=False, details={
            "kind": BalanceKind.LIMIT_ONLY.value, "label": f"hard limit minus usage, as reported by {self.server}",
            "hard_limit_usd": hard_limit, "total_usage": used}))
        return facts

    async def fetch_balance(self, window: Window) -> list[Fact]:
        path = "/dashboard/billing/credit_grants"
        endpoint = f"GET {path}"
        env = self.session_key_env
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
        return [self.parse_credit_grants(await self._get(path, advice=advice, headers=headers))]

    def parse_credit_grants(self, body: Any) -> BalanceSnapshot:
        endpoint = "GET /dashboard/billing/credit_grants"
        grants = optional_field(body, "grants")
        listed = optional_field(grants, "data")
        details = {
            "total_granted": decimal_field(body, "total_granted", self, endpoint, required=False),
            "total_used": decimal_field(body, "total_used", self, endpoint, required=False),
            "grants": [self._grant(grant, endpoint) for grant in listed or [] if isinstance(grant, dict)],
        }
        return BalanceSnapshot(as_of=utcnow().replace(microsecond=0), official=False, details=details,
                               amount=amount_field(body, "total_available", self, endpoint), currency="USD")

    def _grant(self, grant: dict[str, Any], endpoint: str) -> dict[str, Any]:
        def when(name: str) -> str | None:
            return None if grant.get(name) is None else instant_field(grant, name, self, endpoint).isoformat()

        return {
            "id": grant.get("id"),
            "grant_amount": amount_field(grant, "grant_amount", self, endpoint),
            "used_amount": amount_field(grant, "used_amount", self, endpoint),
            "effective_at": when("effective_at"),
            "expires_at": when("expires_at"),
        }


PROVIDER = Provider(
    connector=OpenAILegacyConnector,
    display_name="OpenAI",
    options=OpenAILegacyOptions,
    inference_origin="https://api.openai.com",
    catalog_id="openai",
    starter=StarterAccount("OPENAI_API_KEY",
                           "unofficial billing endpoints; the official reports need OPENAI_ADMIN_KEY"),
    key_patterns=(r"sk-[A-Za-z0-9_\-]{8,}", r"sess-[A-Za-z0-9]{8,}"),
)

__all__ = ["PROVIDER", "OpenAILegacyConnector"]
