"""DeepSeek: the balance endpoint (provider-apis §6.2). One verified balance per currency the account holds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from creditgauge.connectors.base import (
    Connector,
    EndpointTask,
    amount_field,
    decimal_field,
    optional_field,
    read_items,
    require,
    require_list,
)
from creditgauge.domain import BalanceSnapshot, Capability, Fact, Window, utcnow
from creditgauge.errors import AuthError
from creditgauge.providers.record import Provider, StarterAccount

BALANCE_PATH = "/user/balance"
ENDPOINT = f"GET {BALANCE_PATH}"


class DeepSeekConnector(Connector):
    provider = "deepseek"
    capabilities = frozenset({Capability.BALANCE})
    default_base_url = "https://api.deepseek.com"
    default_currency = "CNY"
    key_kind = "API key"
    key_help = "https://platform.deepseek.com/api_keys"
    notes = (
        "Balance is verified (GET /user/balance), one per currency: CNY and USD are kept apart, never added. "
        "DeepSeek has no spend or usage API: spend comes from tracking (proxy / SDK hook / ingest)."
    )

    def tasks(self) -> list[EndpointTask]:
        return [EndpointTask("balance", self.fetch_balance, windowed=False)]

    async def fetch_balance(self, window: Window) -> Sequence[Fact]:
        try:
            body = await self.client.get_json(BALANCE_PATH)
        except AuthError as exc:
            raise exc.with_hint(f"put a DeepSeek {self.key_kind} ({self.key_help}) in {self.key_location()}") from None
        return self.parse_balance(body)

    def parse_balance(self, body: Any) -> list[Fact]:
        is_available = optional_field(body, "is_available")  # absent from some answers: then not known
        entries = require_list(body, "balance_infos", self, ENDPOINT)
        as_of = utcnow()
        currencies = [str(optional_field(entry, "currency")).upper() for entry in entries]
        for currency in set(currencies):
            if currencies.count(currency) > 1:
                # Two entries for one currency cannot both be the balance; adding them would be a guess.
                raise self.contract_error(ENDPOINT, f"balance_infos lists currency {currency} twice")

        def snapshot(entry: Any) -> list[BalanceSnapshot]:
            currency = str(require(entry, "currency", self, ENDPOINT)).upper()
            details: dict[str, Any] = {
                name: str(value) for key, name in (("granted_balance", "granted"), ("topped_up_balance", "topped_up"))
                if (value := decimal_field(entry, key, self, ENDPOINT, required=False)) is not None}
            if is_available is not None:
                details["is_available"] = bool(is_available)
            return [BalanceSnapshot(as_of=as_of, amount=amount_field(entry, "total_balance", self, ENDPOINT),
                                    currency=currency, details=details)]

        return read_items(self, ENDPOINT, entries, snapshot)


PROVIDER = Provider(
    connector=DeepSeekConnector,
    display_name="DeepSeek",
    inference_origin="https://api.deepseek.com",
    starter=StarterAccount("DEEPSEEK_API_KEY", "balance per currency"),
    key_patterns=(r"sk-[A-Za-z0-9_\-]{8,}",),
)
