"""Moonshot / Kimi: the balance endpoint (provider-apis §6.3).

The response has no currency field: the host decides it. api.moonshot.cn answers in CNY, api.moonshot.ai in USD.
`currency` in the account config overrides the host; any other host (a proxy, a local fake) defaults to CNY.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from creditgauge.config import AccountConfig
from creditgauge.connectors.base import Connector, EndpointTask, require
from creditgauge.domain import BalanceSnapshot, Capability, Fact, Window, to_decimal, utcnow
from creditgauge.errors import AuthError
from creditgauge.http import provider_message

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
        code = require(body, "code", self, ENDPOINT)
        if code != 0:
            detail = provider_message(body) or f"scode {body.get('scode')!r}"
            raise self.contract_error(ENDPOINT, f"the API answered code {code}: {detail}")
        data = require(body, "data", self, ENDPOINT)
        available, voucher, cash = (
            self._amount(data, name) for name in ("available_balance", "voucher_balance", "cash_balance")
        )
        return BalanceSnapshot(
            as_of=utcnow(),
            amount=available,
            currency=self.currency_for(self.account),
            details={"voucher": str(voucher), "cash": str(cash)},
        )

    def _amount(self, data: Any, name: str) -> Decimal:
        # The amounts are JSON floats; the client parsed them as Decimal straight from the text, so 49.58894 stays
        # 49.58894 and never passes through a binary float.
        try:
            return to_decimal(require(data, name, self, ENDPOINT), what=name)
        except (TypeError, ValueError) as exc:
            raise self.contract_error(ENDPOINT, str(exc)) from None
