"""DeepSeek: the balance endpoint (provider-apis §6.2). One verified balance per currency the account holds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from creditgauge.connectors.base import Connector, EndpointTask, require
from creditgauge.domain import BalanceSnapshot, Capability, Fact, Window, to_decimal, utcnow
from creditgauge.errors import AuthError

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

    def parse_balance(self, body: Any) -> list[BalanceSnapshot]:
        is_available = require(body, "is_available", self, ENDPOINT)
        entries = require(body, "balance_infos", self, ENDPOINT)
        if not isinstance(entries, list):
            raise self.contract_error(ENDPOINT, "balance_infos is not a list")
        as_of = utcnow()
        snapshots: dict[str, BalanceSnapshot] = {}
        for entry in entries:
            currency = str(require(entry, "currency", self, ENDPOINT)).upper()
            if currency in snapshots:
                # Two entries for one currency cannot both be the balance; adding them would be a guess.
                raise self.contract_error(ENDPOINT, f"balance_infos lists currency {currency} twice")
            total, granted, topped_up = (
                self._amount(entry, name) for name in ("total_balance", "granted_balance", "topped_up_balance")
            )
            snapshots[currency] = BalanceSnapshot(
                as_of=as_of,
                amount=total,
                currency=currency,
                details={"granted": str(granted), "topped_up": str(topped_up), "is_available": bool(is_available)},
            )
        return list(snapshots.values())

    def _amount(self, entry: dict[str, Any], name: str) -> Any:
        try:
            return to_decimal(require(entry, name, self, ENDPOINT), what=name)
        except (TypeError, ValueError) as exc:
            raise self.contract_error(ENDPOINT, str(exc)) from None
