"""Fake Moonshot / Kimi balance API (provider-apis §6.3): `GET /v1/users/me/balance`, floats in a
{code, data, scode, status} wrapper. `region` says which platform it stands for: "cn" amounts are CNY, "ai" USD
(the wire carries no currency, so the account config must say it for a local URL: use `fake.currency`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from aiohttp import web

from creditgauge.fakes.server import FakeProvider, json_response

Region = Literal["cn", "ai"]
CURRENCY = {"cn": "CNY", "ai": "USD"}


class FakeMoonshot(FakeProvider):
    name = "moonshot"

    def __init__(self, *, region: Region = "cn", voucher: str = "46.58893", cash: str = "3.00001",
                 **options: Any) -> None:
        super().__init__(**options)
        self.region = region
        self.voucher = Decimal(voucher)
        self.cash = Decimal(cash)

    @property
    def currency(self) -> str:
        return CURRENCY[self.region]

    @property
    def host(self) -> str:
        """The real host this fake stands in for."""
        return f"api.moonshot.{self.region}"

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/v1/users/me/balance", self._balance)

    def authorize(self, request: web.Request) -> web.Response | None:
        if self.keys is None:
            return None
        if request.headers.get("Authorization", "").removeprefix("Bearer ").strip() in self.keys:
            return None
        return json_response({"error": {"message": "Invalid Authentication",
                                        "type": "invalid_authentication_error"}}, status=401)

    def balance_body(self) -> dict[str, Any]:
        # available = cash + voucher; while cash is negative (debt) the documented available equals the voucher.
        available = self.voucher + max(self.cash, Decimal(0))
        return {
            "code": 0,
            "data": {"available_balance": available, "voucher_balance": self.voucher, "cash_balance": self.cash},
            "scode": "0x0",
            "status": True,
        }

    async def _balance(self, request: web.Request) -> web.Response:
        return json_response(self.balance_body())
