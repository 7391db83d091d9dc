"""A fake one-api / new-api relay (the OpenAI-compatible gateways): the legacy billing routes they serve, as their
source serves them (songquanpeng/one-api and QuantumNous/new-api, `controller/billing.go`, `router/dashboard.go`).

- `/dashboard/billing/subscription`: `hard_limit_usd` = `soft_limit_usd` = `system_hard_limit_usd` = the quota
  (remaining + used) in US dollars, 100000000 for an unlimited token, `access_until` Unix seconds (0 = never).
- `/dashboard/billing/usage`: only `{"object": "list", "total_usage": <used, US cents>}`, whatever dates are asked.
- `/dashboard/billing/credit_grants`: no such route. Under /v1 both answer 404; elsewhere they serve their web
  page (HTTP 200, text/html) unless run without it: `missing_route` picks which.
- Errors of its own come as HTTP 200 with an OpenAI-style `{"error": {...}}` body (`answer_error`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from aiohttp import web

from creditgauge.fakes.server import FakeProvider, json_response

UNLIMITED = Decimal(100_000_000)
WEB_PAGE = ('<!doctype html><html lang="zh"><head><title>New API</title></head>'
            '<body><div id="root"></div></body></html>')


class FakeRelay(FakeProvider):
    name = "relay"

    def __init__(self, *, remaining_usd: Decimal = Decimal("83.6"), used_usd: Decimal = Decimal("216"),
                 unlimited: bool = False, missing_route: Literal["404", "html"] = "404") -> None:
        super().__init__()
        self.remaining_usd, self.used_usd, self.unlimited = remaining_usd, used_usd, unlimited
        self.missing_route = missing_route
        self.answer_error: str | None = None  # the relay's own failure message, sent with HTTP 200

    def routes(self, app: web.Application) -> None:
        for prefix in ("", "/v1"):
            app.router.add_get(f"{prefix}/dashboard/billing/subscription", self._subscription)
            app.router.add_get(f"{prefix}/dashboard/billing/usage", self._usage)
        app.router.add_route("*", "/{tail:.*}", self._no_route)

    def _answer(self, request: web.Request, body: dict[str, Any]) -> web.Response:
        if self.answer_error is not None:
            return json_response({"error": {"message": self.answer_error, "type": "new_api_error"}})
        return self.respond(request, body)

    async def _subscription(self, request: web.Request) -> web.Response:
        quota = UNLIMITED if self.unlimited else self.remaining_usd + self.used_usd
        return self._answer(request, {"object": "billing_subscription", "has_payment_method": True,
                                      "soft_limit_usd": quota, "hard_limit_usd": quota,
                                      "system_hard_limit_usd": quota, "access_until": 0})

    async def _usage(self, request: web.Request) -> web.Response:
        return self._answer(request, {"object": "list", "total_usage": self.used_usd * 100})

    async def _no_route(self, request: web.Request) -> web.Response:
        if request.path.startswith(("/v1", "/api")) or self.missing_route == "404":
            message = f"Invalid URL ({request.method} {request.path})"
            return json_response({"error": {"message": message, "type": "invalid_request_error", "param": "",
                                            "code": ""}}, status=404)
        return web.Response(text=WEB_PAGE, content_type="text/html")


__all__ = ["FakeRelay"]
