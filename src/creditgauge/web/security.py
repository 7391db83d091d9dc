"""Who may talk to the dashboard, and how a page can change anything.

- Loopback only by default. Binding anywhere else needs a token; with a token, every page and API call must carry
  it (``Authorization: Bearer <token>``, or the session cookie the login form sets): 401 otherwise. The session
  cookie is signed with the token and carries its expiry (`SESSION_MAX_AGE`), checked by the server as well as
  by the browser. Wrong tokens (bearer or sign-in form) are rate-limited per client (web.throttle): 429 with
  Retry-After.
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
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from fastapi import Form, HTTPException, Request
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from creditgauge import clock
from creditgauge.errors import ConfigError
from creditgauge.web import otlp
from creditgauge.web.responses import error_json, wants_json
from creditgauge.web.throttle import FailureBudget

SESSION_COOKIE = "creditgauge_session"
SESSION_MAX_AGE = timedelta(hours=12)
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


def _session_signature(token: str, expires: int) -> str:
    return hmac.new(token.encode(), f"creditgauge-session:{expires}".encode(), hashlib.sha256).hexdigest()


def session_value(token: str) -> str:
    """What the session cookie holds: its expiry (Unix seconds) and a signature derived from the token, so the
    token itself is never stored in a browser and a cookie cannot be made to last longer."""
    expires = int(clock.now().timestamp() + SESSION_MAX_AGE.total_seconds())
    return f"{expires}.{_session_signature(token, expires)}"


def valid_session(token: str, cookie: str) -> bool:
    expires, _, signature = cookie.partition(".")
    if not expires.isdigit() or int(expires) <= clock.now().timestamp():
        return False
    return hmac.compare_digest(signature.encode(), _session_signature(token, int(expires)).encode())


def _bodiless(headers: Headers) -> bool:
    """A POST with no body and no Content-Type (`curl -X POST .../remove`): nothing a cross-site form could send,
    as browsers always name a form's type (and send Origin, checked above)."""
    return "content-type" not in headers and "transfer-encoding" not in headers \
        and headers.get("content-length", "0") == "0"


def _host_name(host_header: str) -> str:
    return urlsplit(f"//{host_header}").hostname or ""


class AccessGuard:
    """ASGI middleware applying the rules above to every HTTP request."""

    def __init__(self, app: ASGIApp, *, token: str | None,
                 login_page: Callable[[Scope, str, int], Awaitable[Any]], budget: FailureBudget | None = None) -> None:
        self.app = app
        self.token = token
        self.login_page = login_page
        self.budget = budget or FailureBudget()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        path, method = scope["path"], scope["method"]
        csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
        scope.setdefault("state", {})["csrf"] = csrf
        client = scope["client"][0] if scope.get("client") else ""
        refusal = self._refusal(request, client)
        if refusal is not None:
            status, message = refusal
            response: Any = otlp.refusal(request, status, message)  # an exporter reads an OTLP Status
            if response is None and status in (401, 429) and not wants_json(request):
                response = await self.login_page(scope, message, status)
            elif response is None:
                response = error_json(status, message)
            if status == 429:
                response.headers["retry-after"] = str(self.budget.retry_after(client, clock.now()))
            await response(scope, receive, self._sender(send, request, csrf))
            return
        sender = self._sender(send, request, csrf)
        if self.token is not None and (method, path) == ("POST", "/login"):
            sender = self._counting_refusals(sender, client)
        await self.app(scope, receive, sender)

    def _refusal(self, request: Request, client: str) -> tuple[int, str] | None:
        headers, path, method = request.headers, request.scope["path"], request.method
        host = headers.get("host", "")
        if self.token is None and not is_loopback(_host_name(host)):
            return 403, f"host {host!r} is not this machine; this dashboard has no token, so it answers only loopback"
        if self.token is not None:
            refusal = self._credential_refusal(request, client)
            if refusal is not None:
                return refusal
        if method in SAFE_METHODS:
            return None
        origin = headers.get("origin")
        if origin and origin != "null" and urlsplit(origin).netloc != host:
            return 403, f"cross-site request from {origin} refused"
        if origin == "null":
            return 403, "cross-site request from an opaque origin refused"
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if path.startswith("/api/") and content_type != "application/json" and not _bodiless(headers):
            return 415, "API changes take a JSON body: send Content-Type: application/json"
        return None

    def _credential_refusal(self, request: Request, client: str) -> tuple[int, str] | None:
        """401 without a valid credential, 429 while this client's wrong tokens are over budget. A valid session
        cookie passes even then: it is a signature no one can guess, and the browser holding it signed in."""
        assert self.token is not None
        path, now = request.scope["path"], clock.now()
        is_login = (request.method, path) == ("POST", "/login")
        if path.startswith(PUBLIC_WITH_TOKEN) and not is_login:
            return None
        if valid_session(self.token, request.cookies.get(SESSION_COOKIE, "")):
            return None
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        bearer = credential.strip() if scheme.lower() == "bearer" else None
        if (bearer is not None or is_login) and self.budget.retry_after(client, now) is not None:
            return 429, "too many wrong tokens from this client: wait for Retry-After seconds, then try again"
        if is_login:
            return None  # the form's answer says whether the token was right (see _counting_refusals)
        if bearer is not None and hmac.compare_digest(bearer.encode(), self.token.encode()):
            return None
        if bearer is not None:
            self.budget.failed(client, now)
        return 401, "this dashboard needs its token: send Authorization: Bearer <token> or sign in at /login"

    def _counting_refusals(self, send: Send, client: str) -> Send:
        """The sign-in form answers 401 to a wrong token: count it against the client's budget."""

        async def sender(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                self.budget.failed(client, clock.now())
            await send(message)

        return sender

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
