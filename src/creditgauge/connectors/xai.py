"""xAI Management API billing (provider-apis §3): prepaid balance, daily spend, invoices and spending limits, and
the team's API keys by name.

Money is integer US cents as strings everywhere except the `/usage` analytics, which are US dollars. Daily costs
come from `/usage` alone; the month-to-date invoice preview is stored as an Invoice with status "preview" (not as
a cost), so the same spend is never counted twice. Only GET endpoints and the read-only POST `/usage` are called:
the spending-limit and top-up POSTs change the account and are never used.

The key list: `GET /auth/teams/{teamId}/api-keys?pageSize=&paginationToken=` answers `{apiKeys: [{apiKeyId, name,
redactedApiKey, userId, createTime, modifyTime, disabled, expireTime, ...}], paginationToken}`; an admin's management
key sees every key of the team, a member's only their own. [DOC] docs.x.ai/developers/rest-api-reference/management/auth
(Markdown form read 2026-12-06 from the stored copy, id 61100941966), whose own example sends `disabled` as the string
"false"; [COMM] devlooped/xAI `src/xAI.Tests/management.http` (PR 54, 2026-01-12) calls the same path. The list
gives no last-used time and no spend per key."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from creditgauge.config import AccountConfig
from creditgauge.connectors.base import (
    Connector,
    EndpointTask,
    amount_field,
    count_field,
    day_field,
    decimal_value,
    instant_field,
    optional_field,
    read_items,
    require,
    require_list,
)
from creditgauge.connectors.key_details import iso_time, key_status
from creditgauge.domain import (
    BalanceSnapshot,
    Capability,
    CostBucket,
    EndpointUnavailable,
    EntityName,
    Fact,
    Invoice,
    LimitSnapshot,
    Window,
    utcnow,
)
from creditgauge.errors import AuthError, ProviderError
from creditgauge.http import Params, RetryPolicy, paginate
from creditgauge.providers.record import Provider, ProviderOptions, StarterAccount

log = logging.getLogger("creditgauge.connectors.xai")

MANAGEMENT_BASE_URL = "https://management-api.x.ai"
USAGE_TIMEZONE = "Etc/GMT"  # the analytics take local times plus a zone; ours are UTC days
LIMIT_NAMES = {"effectiveHardSl": "hard_limit", "effectiveSl": "soft_limit"}
LIMIT_FIELDS = ("hardSlOverride", "hardSlAuto", "effectiveHardSl", "softSl", "effectiveSl")
ONE_DAY = timedelta(days=1)
KEYS_PAGE_SIZE = 100
VALIDATION_PATH = "/auth/management-keys/validation"


def _wall_clock(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _month_start(year: int, month: int) -> datetime:
    return datetime(year, month, 1, tzinfo=UTC)


def model_of(description: str) -> str | None:
    """The model named by a usage line ("Chat grok-4-0709" -> "grok-4-0709"): xAI puts it last."""
    last = description.rsplit(" ", 1)[-1]
    return last if last.startswith("grok") else None


class XAIOptions(ProviderOptions):
    management_base_url: str | None = None  # billing lives on the management host, not the inference API
    team_id: str = "default"  # console.x.ai/team/<team id>


class XAIConnector(Connector):
    provider = "xai"
    capabilities = frozenset({Capability.BALANCE, Capability.COSTS, Capability.INVOICES, Capability.LIMITS})
    default_base_url = "https://api.x.ai"  # the inference API (for the proxy); billing is on the management host
    key_kind = "management key"
    key_help = "console.x.ai > Settings > Management Keys (with billing read access)"
    notes = ("prepaid balance, daily spend, invoices and spending limits verified (Management API); the prepaid "
             "ledger posts each cycle's spend at its close, so mid-cycle it overstates the live balance; the "
             "team's API keys listed by name (no spend per key)")

    @classmethod
    def build(cls, account: AccountConfig, key: str | None, *, timeout: float = 30.0,
              retry: RetryPolicy | None = None, **client_options: Any) -> Connector:
        # The client talks to the management host, while the account's base_url stays the inference API.
        options = account.provider_options(XAIOptions)
        billing = account.model_copy(update={"base_url": options.management_base_url or MANAGEMENT_BASE_URL})
        connector = super().build(billing, key, timeout=timeout, retry=retry, **client_options)
        connector.account = account
        return connector

    @property
    def team_path(self) -> str:
        return f"/v1/billing/teams/{quote(self.team_id, safe='')}"

    @property
    def team_id(self) -> str:
        return self.account.provider_options(XAIOptions).team_id

    def tasks(self) -> list[EndpointTask]:
        return [
            EndpointTask("prepaid_balance", self.fetch_balance, windowed=False),
            EndpointTask("usage", self.fetch_usage),
            EndpointTask("invoice_preview", self.fetch_invoice_preview, windowed=False),
            EndpointTask("invoices", self.fetch_invoices, windowed=False),
            EndpointTask("spending_limits", self.fetch_spending_limits, windowed=False),
            EndpointTask("api_keys", self.fetch_api_keys, windowed=False),
        ]

    # -- requests ------------------------------------------------------------------------------------------------
    async def _call(self, method: str, path: str, *, params: Params = None, body: Any = None) -> Any:
        return await self._request(method, self.team_path + path, params=params, body=body)

    async def _request(self, method: str, path: str, *, params: Params = None, body: Any = None) -> Any:
        try:
            return await self.client.request_json(method, path, params=params, json_body=body)
        except AuthError as error:
            raise error.with_hint(f"xAI's Management API needs a management key ({self.key_help}); inference API "
                                  "keys are refused", separator=". ") from None
        except ProviderError as error:
            if error.status != 404:
                raise
            raise ProviderError(
                f"{error}. The team id {self.team_id!r} is probably wrong: copy it from the console URL "
                f"(console.x.ai/team/<team id>) or read teamId from GET {MANAGEMENT_BASE_URL}/auth/management-keys/"
                f"validation, then set team_id in [accounts.{self.account.name}]",
                provider=error.provider, endpoint=error.endpoint, status=error.status,
            ) from None

    # -- field readers -------------------------------------------------------------------------------------------
    def _cents(self, obj: Any, key: str, path: str) -> Decimal:
        """A cent amount, sent bare ("744") or wrapped ({"val": "744"}), in US dollars."""
        value = require(obj, key, self, path)
        return amount_field(value if isinstance(value, dict) else obj, "val" if isinstance(value, dict) else key,
                            self, path, cents=True)

    def _cycle_start(self, cycle: Any, path: str) -> datetime:
        year, month = count_field(cycle, "year", self, path), count_field(cycle, "month", self, path)
        try:
            return _month_start(year or 0, month or 0)
        except ValueError:
            raise self.unreadable(path, "billingCycle", f"billingCycle {cycle!r} is not a month") from None

    # -- tasks ---------------------------------------------------------------------------------------------------
    async def fetch_balance(self, window: Window) -> list[Fact]:
        path = "/prepaid/balance"
        body = await self._call("GET", path)
        ledger = self._cents(body, "total", path)
        # SPEND rows are posted per billing cycle, so say which cycle's spend the ledger includes last.
        posted = [(change["spendBpKeyYear"], change["spendBpKeyMonth"])
                  for change in optional_field(body, "changes") or []
                  if isinstance(change, dict) and change.get("changeOrigin") == "SPEND"
                  and isinstance(change.get("spendBpKeyYear"), int) and isinstance(change.get("spendBpKeyMonth"), int)]
        details: dict[str, Any] = {"source": "prepaid ledger"}
        if posted:
            details["spend_posted_through"] = "{:04d}-{:02d}".format(*max(posted))
        # The ledger counts money you hold as negative: "-3126" is $31.26 of credit.
        return [BalanceSnapshot(as_of=utcnow(), amount=-ledger, currency="USD", details=details)]

    async def fetch_usage(self, window: Window) -> list[Fact]:
        if window.start >= window.end:
            return []
        path = "/usage"
        body = await self._call("POST", path, body={"analyticsRequest": {
            "timeRange": {"startTime": _wall_clock(window.start), "endTime": _wall_clock(window.end),
                          "timezone": USAGE_TIMEZONE},
            "timeUnit": "TIME_UNIT_DAY",
            "values": [{"name": "usd", "aggregation": "AGGREGATION_SUM"}],
            "groupBy": ["description"],
            "filters": [],
        }})
        partial = require(body, "limitReached", self, path) is True
        if partial:
            log.warning("xai %s: the analytics hit their cardinality cap (limitReached); the daily spend of "
                        "account %s is partial and marked so", path, self.account.name)

        def series_facts(series: Any) -> list[Fact]:
            group = optional_field(series, "group")
            description = str(group[0]) if isinstance(group, list) and group else None
            return read_items(self, path, require_list(series, "dataPoints", self, path),
                              lambda point: self._usage_point(point, description, partial, path))

        return read_items(self, path, require_list(body, "timeSeries", self, path), series_facts)

    def _usage_point(self, point: Any, description: str | None, partial: bool, path: str) -> list[CostBucket]:
        values = require_list(point, "values", self, path)
        if not values:
            raise self.unreadable(path, "values", "a data point's 'values' should hold the usd sum, got []")
        amount = decimal_value(values[0], "values[0]", self, path)  # US dollars here, unlike the rest
        if not amount:
            return []  # the series are dense: days without spend come as zeros
        start = day_field(point, "timestamp", self, path)
        return [CostBucket(start=start, end=start + ONE_DAY, amount=amount, currency="USD", line_item=description,
                           model=model_of(description) if description else None,
                           extra={"limit_reached": True} if partial else {})]

    async def fetch_invoice_preview(self, window: Window) -> list[Fact]:
        path = "/postpaid/invoice/preview"
        body = await self._call("GET", path)
        core = require(body, "coreInvoice", self, path)
        start = self._cycle_start(require(body, "billingCycle", self, path), path)
        details: dict[str, Any] = {"billing_cycle": start.strftime("%Y-%m")}
        for key, name in (("amountBeforeVat", "amount_before_vat"), ("vatCost", "vat")):
            if key in core:
                details[name] = self._cents(core, key, path)
        if "prepaidCreditsUsed" in core:  # its sign is undocumented: keep the magnitude
            details["prepaid_credits_used"] = abs(self._cents(core, "prepaidCreditsUsed", path))
        if "effectiveSpendingLimit" in body:
            details["effective_spending_limit"] = self._cents(body, "effectiveSpendingLimit", path)
        return [Invoice(invoice_id=f"preview-{details['billing_cycle']}", period_start=start,
                        amount=self._cents(core, "amountAfterVat", path), currency="USD", status="preview",
                        details=details)]

    async def fetch_invoices(self, window: Window) -> list[Fact]:
        path = "/invoices"
        params = {"since.year": window.start.year, "since.month": window.start.month}
        body = await self._call("GET", path, params=params)
        return read_items(self, path, require_list(body, "invoices", self, path), lambda item: [self._invoice(item,
                                                                                                              path)])

    def _invoice(self, item: Any, path: str) -> Invoice:
        invoice_id = str(require(item, "invoiceId", self, path))
        details: dict[str, Any] = {"invoice_number": item.get("invoiceNumber")}
        if isinstance(item.get("monthly"), dict):
            start = self._cycle_start(require(item["monthly"], "billingCycle", self, path), path)
            details.update(kind="monthly", billing_cycle=start.strftime("%Y-%m"))
        elif item.get("createTime"):
            # Top-up invoices buy prepaid credit (a deposit, not spend); they carry `prepaid`, not `monthly`.
            start = instant_field(item, "createTime", self, path)
            details["kind"] = "prepaid" if "prepaid" in item else "other"
        else:
            raise self.unreadable(path, "createTime",
                                  f"invoice {invoice_id} has neither monthly.billingCycle nor createTime")
        for key in ("subtotal", "tax"):
            if key in item:
                details[key] = self._cents(item, key, path)
        return Invoice(invoice_id=invoice_id, period_start=start, amount=self._cents(item, "total", path),
                       currency="USD", status=str(require(item, "invoiceStatus", self, path)).lower(),
                       details=details)

    async def fetch_spending_limits(self, window: Window) -> list[Fact]:
        path = "/postpaid/spending-limits"
        limits = require(await self._call("GET", path), "spendingLimits", self, path)
        details = {key: self._cents(limits, key, path) for key in LIMIT_FIELDS if key in limits}
        now = utcnow()
        return [
            LimitSnapshot(as_of=now, name=name, amount=amount, currency="USD", details=details)
            for key, name in LIMIT_NAMES.items()
            # Prepaid-only teams report zeros, which mean "no postpaid limit", not "a limit of $0".
            if key in limits and (amount := self._cents(limits, key, path))
        ]

    async def fetch_api_keys(self, window: Window) -> list[Fact]:
        path = f"/auth/teams/{quote(self.team_id, safe='')}/api-keys"
        items: list[Any] = []

        async def fetch(token: str | None) -> dict[str, Any]:
            params = {"pageSize": KEYS_PAGE_SIZE} | ({"paginationToken": token} if token else {})
            page: dict[str, Any] = await self._request("GET", path, params=params)
            # proto3 JSON leaves an empty list out: a team without keys answers {}.
            items.extend(require_list(page, "apiKeys", self, path) if optional_field(page, "apiKeys") is not None
                         else [])
            return page

        def next_token(page: dict[str, Any]) -> str | None:
            token = optional_field(page, "paginationToken")
            return token if isinstance(token, str) and token else None

        try:
            async for _ in paginate(fetch, next_token, what=f"xai {path}"):
                pass
        except AuthError as error:
            if error.status != 403 or not await self._management_key_works():
                raise
            return [EndpointUnavailable(path, "not available for this account: this management key may not list "
                                              "the team's API keys (its permissions lack them)")]
        return read_items(self, path, items, lambda item: [self._key_name(item, path)])

    async def _management_key_works(self) -> bool:
        """Whether the key is a valid management key at all (it may lack one permission only)."""
        try:
            await self.client.get_json(VALIDATION_PATH)
        except AuthError:
            return False
        return True

    def _key_name(self, item: Any, path: str) -> EntityName:
        """One listed key: its name (the redacted value when it has none), the redacted value as xAI shows it, the
        user who created it, when, and whether it is disabled or expired."""
        key_id = str(require(item, "apiKeyId", self, path))
        redacted = optional_field(item, "redactedApiKey")
        return EntityName("api_key", key_id, str(optional_field(item, "name") or redacted or key_id), {
            "redacted": redacted, "owner": optional_field(item, "userId"),
            "created_at": iso_time(optional_field(item, "createTime")), "last_used_at": None,
            "status": key_status(optional_field(item, "disabled"), optional_field(item, "expireTime")),
        })


PROVIDER = Provider(
    connector=XAIConnector,
    display_name="xAI",
    options=XAIOptions,
    inference_origin="https://api.x.ai",
    catalog_id="x-ai",
    starter=StarterAccount("XAI_MANAGEMENT_KEY", "management key: balance, invoices, limits"),
    key_patterns=(r"xai-[A-Za-z0-9_\-]{8,}",),
    genai_names=("x_ai",),
)
