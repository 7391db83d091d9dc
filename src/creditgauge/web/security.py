"""Who may talk to the dashboard, and how a page can change anything.

- Loopback only by default. Binding anywhere else needs a token; with a token, every page and API call must carry
  it (``Authorization: Bearer <token>``, or the session cookie the login form sets): 401 otherwise.
- Without a token the server trusts only requests addressed to a loopback name, so a web page cannot reach it by
  pointing a domain of its own at 127.0.0.1 (DNS rebinding).
- Changes are POST only. A cross-site POST is refused three ways: an Origin that is not this server is 403; API
  POSTs must be JSON, which a browser sends cross-site only after a CORS preflight this server never grants (415
  otherwise); form POSTs must echo the CSRF cookie (SameSite=Strict) in a hidden field.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from fastapi import Form, HTTPException, Request
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from creditgauge.errors import ConfigError
from creditgauge.web.responses import error_json

SESSION_COOKIE = "creditgauge_session"
CSRF_COOKIE = "creditgauge_csrf"
MIN_TOKEN_LENGTH = 16
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC_WITH_TOKEN = ("/login", "/static/")  # the login form and its stylesheet hold no data
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),  # no-referrer would make browsers send Origin: null
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'"),
]


def is_loopback(host: str) -> bool:
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to serve beyond this machine without a token worth the name."""
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise ConfigError(
            f"the dashboard token is {len(token)} characters; use at least {MIN_TOKEN_LENGTH} "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(24))')"
        )
    if token is None and not is_loopback(host):
        raise ConfigError(
            f"--host {host} exposes the dashboard beyond this machine; pass --token or set CREDITGAUGE_TOKEN "
            "(or serve on 127.0.0.1)"
        )


def session_value(token: str) -> str:
    """What the session cookie holds: derived from the token, so the token itself is never stored in a browser."""
    return hmac.new(token.encode(), b"creditgauge-session", hashlib.sha256).hexdigest()


def _host_name(host_header: str) -> str:
    return urlsplit(f"//{host_header}").hostname or ""


class AccessGuard:
    """ASGI middleware applying the rules above to every HTTP request."""

    def __init__(self, app: ASGIApp, *, token: str | None,
                 login_page: Callable[[Scope, str], Awaitable[Any]]) -> None:
        self.app = app
        self.token = token
        self.login_page = login_page

    def _authorized(self, headers: Headers, cookies: dict[str, str]) -> bool:
        assert self.token is not None
        scheme, _, credential = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(credential.strip().encode(), self.token.encode()):
            return True
        return hmac.compare_digest(cookies.get(SESSION_COOKIE, "").encode(), session_value(self.token).encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        headers, path, method = request.headers, scope["path"], scope["method"]
        csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
        scope.setdefault("state", {})["csrf"] = csrf
        refusal = self._refusal(request, headers, path, method)
        if refusal is not None:
            status, message = refusal
            if status == 401 and not path.startswith(("/api/", "/metrics")):
                response = await self.login_page(scope, message)
            else:
                response = error_json(status, message)
            await response(scope, receive, self._sender(send, request, csrf))
            return
        await self.app(scope, receive, self._sender(send, request, csrf))

    def _refusal(self, request: Request, headers: Headers, path: str, method: str) -> tuple[int, str] | None:
        host = headers.get("host", "")
        if self.token is None and not is_loopback(_host_name(host)):
            return 403, f"host {host!r} is not this machine; this dashboard has no token, so it answers only loopback"
        if self.token is not None and not path.startswith(PUBLIC_WITH_TOKEN) \
                and not self._authorized(headers, request.cookies):
            return 401, "this dashboard needs its token: send Authorization: Bearer <token> or sign in at /login"
        if method in SAFE_METHODS:
            return None
        origin = headers.get("origin")
        if origin and origin != "null" and urlsplit(origin).netloc != host:
            return 403, f"cross-site request from {origin} refused"
        if origin == "null":
            return 403, "cross-site request from an opaque origin refused"
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if path.startswith("/api/") and content_type != "application/json":
            return 415, "API changes take a JSON body: send Content-Type: application/json"
        return None

    @staticmethod
    def _sender(send: Send, request: Request, csrf: str) -> Send:
        needs_cookie = CSRF_COOKIE not in request.cookies

        async def sender(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS:
                    headers.append(name.decode(), value.decode())
                if needs_cookie:
                    headers.append("set-cookie", f"{CSRF_COOKIE}={csrf}; Path=/; HttpOnly; SameSite=Strict")
            await send(message)

        return sender


def verify_csrf(request: Request, csrf_token: str = Form("")) -> None:
    """Dependency of every form POST: the hidden field must equal the CSRF cookie."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), csrf_token.encode()):
        raise HTTPException(status_code=403, detail="the form's CSRF token does not match; reload the page and retry")
