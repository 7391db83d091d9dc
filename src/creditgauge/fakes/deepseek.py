"""Fake DeepSeek balance API (provider-apis §6.2): `GET /user/balance` with a Bearer key, amounts as decimal strings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aiohttp import web

from creditgauge.fakes.server import FakeProvider, json_response

# The documented example (examples/deepseek_user_balance.json): one entry per currency the account holds.
DEFAULT_BALANCES: tuple[dict[str, str], ...] = (
    {"currency": "CNY", "total_balance": "110.00", "granted_balance": "10.00", "topped_up_balance": "100.00"},
    {"currency": "USD", "total_balance": "4.37", "granted_balance": "0.00", "topped_up_balance": "4.37"},
)


def balance_info(currency: str, granted: str, topped_up: str) -> dict[str, str]:
    """One balance_infos entry; total = granted + topped_up as the contract states, kept as a decimal string."""
    total = Decimal(granted) + Decimal(topped_up)
    return {"currency": currency, "total_balance": str(total), "granted_balance": granted,
            "topped_up_balance": topped_up}


class FakeDeepSeek(FakeProvider):
    name = "deepseek"

    def __init__(self, *, balances: list[dict[str, str]] | None = None, is_available: bool = True,
                 **options: Any) -> None:
        super().__init__(**options)
        self.balances = [dict(entry) for entry in (DEFAULT_BALANCES if balances is None else balances)]
        self.is_available = is_available

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/user/balance", self._balance)

    def authorize(self, request: web.Request) -> web.Response | None:
        if self.keys is None:
            return None
        key = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if key in self.keys:
            return None
        # DeepSeek's OpenAI-style 401 echoes the key's last four characters [COMM: observed bodies].
        return json_response({"error": {
            "message": f"Authentication Fails, Your api key: ****{key[-4:]} is invalid",
            "type": "authentication_error", "param": None, "code": "invalid_request_error",
        }}, status=401)

    def balance_body(self) -> dict[str, Any]:
        return {"is_available": self.is_available, "balance_infos": [dict(entry) for entry in self.balances]}

    async def _balance(self, request: web.Request) -> web.Response:
        return json_response(self.balance_body())
