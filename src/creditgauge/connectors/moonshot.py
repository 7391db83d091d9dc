"""Moonshot / Kimi: the balance endpoint (provider-apis §6.3).

The response has no currency field: the host decides it. api.moonshot.cn answers in CNY, api.moonshot.ai in USD.
`currency` in the account config overrides the host; any other host (a proxy, a local fake) defaults to CNY.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from creditgauge.config import AccountConfig
from creditgauge.connectors.base import (
    Connector,
    EndpointTask,
    amount_field,
    decimal_field,
    optional_field,
    require,
)
from creditgauge.domain import BalanceSnapshot, Capability, Fact, Window, utcnow
from creditgauge.errors import AuthError
from creditgauge.http import provider_message
from creditgauge.providers.record import Provider, StarterAccount

BALANCE_PATH = "/v1/users/me/balance"
ENDPOINT = f"GET {BALANCE_PATH}"
CURRENCY_BY_TLD = {"cn": "CNY", "ai": "USD"}


class MoonshotConnector(Connector):
    provider = "moonshot"
    capabilities = frozenset({Capability.BALANCE})
    default_base_url = "https://api.moonshot.cn"
    default_currency = "CNY"
    key_kind = "API key"
    key_help = "platform.moonshot.cn or platform.moonshot.ai; a .ai key needs base_url = \"https://api.moonshot.ai\""
    notes = (
        "Balance is verified (GET /v1/users/me/balance): available = cash + voucher; cash below zero is debt. "
        "CNY on api.moonshot.cn, USD on api.moonshot.ai (set `currency` to override). "
        "Moonshot has no spend or usage API: spend comes from tracking (proxy / SDK hook / ingest)."
    )

    @classmethod
    def currency_for(cls, account: AccountConfig) -> str:
        if account.currency:
            return account.currency.upper()
        host = urlsplit(cls.base_url_for(account)).hostname or ""
        return CURRENCY_BY_TLD.get(host.rsplit(".", 1)[-1].lower(), cls.default_currency)

    def tasks(self) -> list[EndpointTask]:
        return [EndpointTask("balance", self.fetch_balance, windowed=False)]

    async def fetch_balance(self, window: Window) -> Sequence[Fact]:
        try:
            body = await self.client.get_json(BALANCE_PATH)
        except AuthError as exc:
            raise exc.with_hint(f"put a Moonshot {self.key_kind} ({self.key_help}) in {self.key_location()}") from None
        return [self.parse_balance(body)]

    def parse_balance(self, body: Any) -> BalanceSnapshot:
        code = optional_field(body, "code")  # 0 on success; some answers carry only `status`
        if (code is not None and code != 0) or optional_field(body, "status") is False:
            detail = provider_message(body) or f"scode {optional_field(body, 'scode')!r}"
            raise self.contract_error(ENDPOINT, f"the API answered code {code}: {detail}")
        data = require(body, "data", self, ENDPOINT)
        # The amounts are JSON floats; the client parsed them as Decimal straight from the text, so 49.58894 stays
        # 49.58894 and never passes through a binary float.
        details = {name: str(value) for key, name in (("voucher_balance", "voucher"), ("cash_balance", "cash"))
                   if (value := decimal_field(data, key, self, ENDPOINT, required=False)) is not None}
        return BalanceSnapshot(as_of=utcnow(), amount=amount_field(data, "available_balance", self, ENDPOINT),
                               currency=self.currency_for(self.account), details=details)


PROVIDER = Provider(
    connector=MoonshotConnector,
    display_name="Moonshot AI",
    inference_origin="https://api.moonshot.ai",  # set base_url = "https://api.moonshot.cn" for the China platform
    catalog_id="moonshotai",
    starter=StarterAccount("MOONSHOT_API_KEY", "balance (CNY on .cn, USD on .ai)"),
    key_patterns=(r"sk-[A-Za-z0-9_\-]{8,}",),
    genai_names=("moonshotai",),
    api_hosts=("api.moonshot.cn",),
)
