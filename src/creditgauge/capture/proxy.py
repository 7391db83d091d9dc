"""The recording proxy: `/{account}/<path>` is passed to the account's API unchanged (the client's headers, key and
body; the upstream's status, headers and body), and the usage of each inference answer becomes a tracked event.

Only configured accounts are reachable (no open relay). Streams are relayed chunk by chunk as they arrive and read
on the way; the event is made durable (journal) before the stream's terminal event reaches the client, so a
client that saw the whole answer can rely on the event surviving a crash. A client that leaves mid-stream gets an
event with the usage known so far, marked incomplete. Nothing here waits on the database.

The upstream client is aiohttp's (measured in benchmarks/proxy_overhead.py against httpx, which was several times
slower at concurrency 32). Responses are not decompressed on the way (auto_decompress off): the client receives
the upstream's bytes; the copy read for usage is inflated here, which is why tracked calls advertise only the
encodings this module can inflate (gzip, deflate).

Bounded (issue 12): a JSON request body is read up to `max_request_bytes` (413 beyond; other uploads, such as
files, are streamed through unread), within `body_timeout`; a connection that sends no complete request within
`idle_timeout` is closed (slowloris); at most `max_connections` are open at once; an answer's usage is read from at
most MAX_INFLATED_BYTES inflated (capture.guarded), large bodies are parsed in a worker thread, never on the
event loop; and nothing an answer carries can turn the upstream's answer into an error: unreadable usage makes a
quarantined event. The path is forwarded as the bytes received (`%2F` stays `%2F`), never with dot segments that
could leave the account's base path; hop-by-hop headers, and those the `Connection` header names, stay behind.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

import aiohttp
from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from creditgauge.capture.endpoints import Call, classify, decodable_encodings
from creditgauge.capture.guarded import (
    MAX_INFLATED_BYTES,
    GuardedTracker,
    mark_unreadable,
    prepare_call,
    read_body_usage,
    record_safely,
)
from creditgauge.capture.observed import TAGS_HEADER, key_fingerprint, make_event, parse_tags
from creditgauge.capture.otlp_receiver import OTLP_PATHS
from creditgauge.capture.recorder import Recorder
from creditgauge.capture.upstreams import upstream_base
from creditgauge.capture.usage import Usage
from creditgauge.capture.websocket import is_websocket, relay_websocket
from creditgauge.config import AccountConfig, ProxyConfig
from creditgauge.domain import utcnow

log = logging.getLogger("creditgauge.capture.proxy")

# Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are never forwarded; length and host are
# recomputed for the next hop.
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te", "trailer",
    "trailers", "transfer-encoding", "upgrade", "host", "content-length",
})
_NOT_FORWARDED = (*HOP_BY_HOP, TAGS_HEADER)
# The defaults of the `[proxy]` settings, which say what each is.
_DEFAULTS = ProxyConfig()
MAX_REQUEST_BYTES = _DEFAULTS.max_request_mb * 1024 * 1024
OFF_LOOP_BYTES = 256 * 1024  # bodies larger than this are parsed in a worker thread
OFF_LOOP_ENCODED_BYTES = 16 * 1024  # a compressed body this large may inflate a thousandfold
IDLE_TIMEOUT = _DEFAULTS.idle_timeout_seconds
BODY_TIMEOUT = _DEFAULTS.body_timeout_seconds
MAX_CONNECTIONS = _DEFAULTS.max_connections


@dataclass(frozen=True, slots=True)
class Route:
    account: str
    provider: str
    base_url: str
    inject_stream_usage: bool


def routes_for(accounts: Mapping[str, AccountConfig]) -> dict[str, Route]:
    return {name: Route(name, account.provider, upstream_base(account), account.inject_stream_usage)
            for name, account in accounts.items()}


def _drop_connection_headers(headers: CIMultiDictProxy[str], out: CIMultiDict[str]) -> None:
    """Headers the `Connection` header names are hop-by-hop too (RFC 9110 §7.6.1)."""
    for value in headers.getall("connection", ()):
        for name in value.split(","):
            out.popall(name.strip(), None)


def _forward_headers(headers: CIMultiDictProxy[str], tracked: bool) -> CIMultiDict[str]:
    # Copied whole, then trimmed: a C-level copy and a dozen removals cost less than filtering header by header.
    out = CIMultiDict(headers)
    if "connection" in headers:
        _drop_connection_headers(headers, out)
    for name in _NOT_FORWARDED:
        out.popall(name, None)
    if tracked and "accept-encoding" in out:
        for value in out.popall("accept-encoding"):
            out.add("Accept-Encoding", decodable_encodings(value))
    return out


def _response_headers(headers: CIMultiDictProxy[str]) -> CIMultiDict[str]:
    out = CIMultiDict(headers)
    if "connection" in headers:
        _drop_connection_headers(headers, out)
    for name in HOP_BY_HOP:
        out.popall(name, None)
    return out


def _error(status: int, message: str, kind: str) -> web.Response:
    return web.json_response({"error": {"message": message, "type": kind, "param": None, "code": kind}},
                             status=status)


def _leaves_base(tail: str) -> bool:
    """A path with a `.` or `..` segment, in any spelling (`%2e%2e`, `%2F`-joined, backslashes): an upstream that
    normalises it could serve something outside the account's base path. (Called only for paths holding a `.`,
    `%` or backslash.)"""
    return any(segment in (".", "..") for segment in unquote(tail).replace("\\", "/").split("/"))


@lru_cache(maxsize=1024)
def _upstream_url(url: str) -> URL:
    """An upstream URL without a query, as the bytes given (no requoting): the same few recur, so they are kept
    (URLs with a query are not: Gemini's carries the key)."""
    return URL(url, encoded=True)


class BoundedServer(web.Server):
    """aiohttp's low-level server with a cap on open connections: one past the cap is closed at once."""

    def __init__(self, *args: Any, max_connections: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_connections = max_connections
        self.refused = 0
        self._last_warning = 0.0

    def connection_made(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        if len(self._connections) > self.max_connections:
            self.refused += 1
            transport.abort()
            now = time.monotonic()
            if now - self._last_warning > 10:
                self._last_warning = now
                log.warning("proxy: %d connections open, the limit; new ones are closed (%d so far)",
                            self.max_connections, self.refused)


class RecordingProxy:
    def __init__(self, routes: Mapping[str, Route], recorder: Recorder, *,
                 connect_timeout: float = _DEFAULTS.connect_timeout_seconds,
                 read_timeout: float = _DEFAULTS.read_timeout_seconds, max_request_bytes: int = MAX_REQUEST_BYTES,
                 max_inflated_bytes: int = MAX_INFLATED_BYTES, idle_timeout: float = IDLE_TIMEOUT,
                 body_timeout: float = BODY_TIMEOUT, max_connections: int = MAX_CONNECTIONS,
                 otlp: Callable[[web.BaseRequest], Awaitable[web.StreamResponse]] | None = None) -> None:
        self.routes = dict(routes)
        self.otlp = otlp
        self.recorder = recorder
        self.max_request_bytes = max_request_bytes
        self.max_inflated_bytes = max_inflated_bytes
        self.idle_timeout = idle_timeout
        self.body_timeout = body_timeout
        self.max_connections = max_connections
        self._timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout, sock_read=read_timeout)
        self._session: aiohttp.ClientSession | None = None
        # Bodies still arriving, with their deadlines, watched by one task (a timer per request cost about 20 µs
        # of the proxy's CPU, a fifth of what it spends on a request besides the relay).
        self._arriving: dict[aiohttp.StreamReader, float] = {}
        self._watchdog: asyncio.Task[None] | None = None

    def runner(self, **options: Any) -> ProxyRunner:
        """A runner for aiohttp's low-level server around `handle` (create it inside the serving loop)."""
        return ProxyRunner(self, **options)

    def server(self) -> web.Server:
        """Every path goes to `handle`, without the router's matching (about 4% of the proxy's CPU a request)."""
        loop = asyncio.get_running_loop()

        def make_request(message: Any, payload: Any, protocol: Any, writer: Any, task: Any) -> web.BaseRequest:
            return web.BaseRequest(message, payload, protocol, writer, task, loop,
                                   client_max_size=self.max_request_bytes)

        return BoundedServer(self.handle, request_factory=make_request, access_log=None,
                             keepalive_timeout=self.idle_timeout, max_connections=self.max_connections)

    async def open(self) -> None:
        self._watchdog = asyncio.create_task(self._expire_slow_bodies())
        connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, enable_cleanup_closed=True)
        self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False, timeout=self._timeout,
                                              cookie_jar=aiohttp.DummyCookieJar(), skip_auto_headers=("User-Agent",))

    async def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        if self._session is not None:
            await self._session.close()

    async def _expire_slow_bodies(self) -> None:
        """Every so often, fail the reads of bodies past their deadline (the handler then answers 408)."""
        interval = min(1.0, self.body_timeout / 4)
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            for body, deadline in list(self._arriving.items()):
                if now > deadline:
                    body.set_exception(TimeoutError())

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        raw_path, mark, raw_query = request.raw_path.partition("?")
        account, _, raw_tail = raw_path[1:].partition("/")
        route = self.routes.get(account) or self.routes.get(unquote(account))
        if route is None:
            if self.otlp is not None and raw_path in OTLP_PATHS:  # OTLP/HTTP exports, as `serve` takes them
                return await self.otlp(request)
            return _error(404, f"creditgauge proxy: no account named {unquote(account)[:100]!r} is configured; "
                               f"call /<account>/<path> with an account from the config", "unknown_account")
        raw_tail = "/" + raw_tail
        if ("." in raw_tail or "%" in raw_tail or "\\" in raw_tail) and _leaves_base(raw_tail):
            return _error(400, "creditgauge proxy: the path has a '.' or '..' segment; call the API's own path",
                          "invalid_path")
        tail = unquote(raw_tail) if "%" in raw_tail else raw_tail
        body: bytes | None
        if request.content.is_eof():  # the common case: the whole body came with the headers
            try:
                body = await request.read()
            except web.HTTPRequestEntityTooLarge:
                return self._too_large()
        else:
            read = await self._read_body(request, tail)
            if isinstance(read, web.StreamResponse):
                return read
            body = read
        call: Call | None = None
        if body is not None:
            inject = route.inject_stream_usage
            if len(body) > OFF_LOOP_BYTES:
                call, body = await asyncio.get_running_loop().run_in_executor(
                    None, prepare_call, request.method, tail, request.query, body, inject)
            else:
                call, body = prepare_call(request.method, tail, request.query, body, inject)
        url = URL(route.base_url + raw_tail + mark + raw_query, encoded=True) if mark else _upstream_url(
            route.base_url + raw_tail)
        started, ts = time.perf_counter(), utcnow()
        assert self._session is not None
        if is_websocket(request):  # Realtime: passed through, not recorded
            return await relay_websocket(request, self._session, url, _forward_headers(request.headers, False),
                                         route.account)
        try:
            upstream = await self._session.request(
                request.method, url, headers=_forward_headers(request.headers, call is not None),
                data=request.content if body is None else (body or None), allow_redirects=False)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("upstream for account %s unreachable: %s", route.account, type(exc).__name__)
            return _error(502, f"creditgauge proxy: the upstream of account {route.account!r} could not be "
                               f"reached ({type(exc).__name__})", "upstream_unreachable")
        async with upstream:
            if call is None or upstream.status >= 400:
                return await _relay(request, upstream, None)
            exchange = Exchange(self.recorder, route, call, request, started, ts, upstream.status)
            length = upstream.content_length
            if call.stream or upstream.content_type == "text/event-stream" or length is None \
                    or length > self.max_inflated_bytes:
                return await _relay(request, upstream, exchange, self.max_inflated_bytes)
            raw = await upstream.read()
            encoding = upstream.headers.get("content-encoding")
            if len(raw) > (OFF_LOOP_ENCODED_BYTES if encoding else OFF_LOOP_BYTES):
                usage, problem = await asyncio.get_running_loop().run_in_executor(
                    None, read_body_usage, call.flavor, raw, encoding, self.max_inflated_bytes)
            else:
                usage, problem = read_body_usage(call.flavor, raw, encoding, self.max_inflated_bytes)
            exchange.record(usage, problem=problem)
            return web.Response(body=raw, status=upstream.status, headers=_response_headers(upstream.headers))

    async def _read_body(self, request: web.BaseRequest, tail: str) -> bytes | web.StreamResponse | None:
        """The request body to inspect; None when it is an upload too large to read that is streamed through
        instead; or the error answer (413, 408) to send."""
        length = request.content_length
        if length is not None and length > self.max_request_bytes:
            if classify(request.method, tail, request.query, b"") is None:
                return None
            return self._too_large()
        self._arriving[request.content] = time.monotonic() + self.body_timeout  # watched against body_timeout
        try:
            return await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._too_large()
        except TimeoutError:
            return _error(408, f"creditgauge proxy: the request body did not arrive within {self.body_timeout:g} s",
                          "request_timeout")
        finally:
            self._arriving.pop(request.content, None)

    def _too_large(self) -> web.Response:
        return _error(413, f"creditgauge proxy: an inference request body may be at most {self.max_request_bytes} "
                           f"bytes", "request_too_large")


class ProxyRunner(web.ServerRunner):
    """Serves the proxy and owns its upstream session: opened at setup, closed after the last request."""

    def __init__(self, proxy: RecordingProxy, **options: Any) -> None:
        super().__init__(proxy.server(), **options)
        self.proxy = proxy

    async def setup(self) -> None:
        await self.proxy.open()
        await super().setup()

    async def cleanup(self) -> None:
        try:
            await super().cleanup()
        finally:
            await self.proxy.close()


class Exchange:
    """One tracked call in flight: records its event exactly once."""

    __slots__ = ("call", "recorded", "recorder", "request", "route", "started", "status", "ts")

    def __init__(self, recorder: Recorder, route: Route, call: Call, request: web.BaseRequest, started: float,
                 ts: datetime, status: int) -> None:
        self.recorder, self.route, self.call, self.request = recorder, route, call, request
        self.started, self.ts, self.status = started, ts, status
        self.recorded = False

    def record(self, usage: Usage | None, *, incomplete: bool = False, problem: str | None = None) -> None:
        if self.recorded:
            return
        self.recorded = True
        headers = self.request.headers
        event = make_event(
            account=self.route.account, provider=self.route.provider, call=self.call,
            usage=None if problem else usage, source="proxy", ts=self.ts, status=self.status, incomplete=incomplete,
            latency_ms=int((time.perf_counter() - self.started) * 1000),
            key_fp=key_fingerprint(headers, self.request.query), tags=parse_tags(headers.get(TAGS_HEADER)))
        if problem:
            mark_unreadable(event, problem)
        record_safely(self.recorder, event, usage)


async def _relay(request: web.BaseRequest, upstream: aiohttp.ClientResponse, exchange: Exchange | None,
                 max_inflated_bytes: int = MAX_INFLATED_BYTES) -> web.StreamResponse:
    """Copy the upstream's answer to the client chunk by chunk; when tracked, read its usage on the way."""
    response = web.StreamResponse(status=upstream.status, reason=upstream.reason,
                                  headers=_response_headers(upstream.headers))
    if upstream.content_length is not None and exchange is None:
        response.content_length = upstream.content_length
    tracker: GuardedTracker | None = None
    if exchange is not None:
        tracker = GuardedTracker(exchange.call.flavor, content_encoding=upstream.headers.get("content-encoding"),
                                 sse=upstream.content_type == "text/event-stream", limit=max_inflated_bytes)
    try:
        await response.prepare(request)
        async for chunk in upstream.content.iter_any():
            if tracker is not None and exchange is not None:
                tracker.feed(chunk)
                if tracker.done:  # durable before the client sees the end of the answer
                    exchange.record(tracker.usage, problem=tracker.problem)
            await response.write(chunk)
        if tracker is not None and exchange is not None:
            if tracker.buffered > OFF_LOOP_BYTES:  # a whole JSON answer: parsed off the event loop
                await asyncio.get_running_loop().run_in_executor(None, tracker.close)
            else:
                tracker.close()
            exchange.record(tracker.usage, problem=tracker.problem)
        await response.write_eof()
    except ConnectionResetError:
        # The client went away mid-answer: keep the usage seen so far, marked incomplete. The upstream
        # connection is released (closed) by the caller, which stops the generation there too.
        if exchange is not None:
            exchange.record(tracker.usage if tracker else None, incomplete=True,
                            problem=tracker.problem if tracker else None)
    except (asyncio.CancelledError, aiohttp.ClientPayloadError):
        # Shutdown, or the upstream broke off: same record; the client sees its stream cut short.
        if exchange is not None:
            exchange.record(tracker.usage if tracker else None, incomplete=True,
                            problem=tracker.problem if tracker else None)
        raise
    return response
