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
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from creditgauge.capture.endpoints import (
    Call,
    classify,
    decodable_encodings,
    inject_include_usage,
    needs_usage_injection,
)
from creditgauge.capture.observed import TAGS_HEADER, key_fingerprint, make_event, parse_tags
from creditgauge.capture.recorder import Recorder
from creditgauge.capture.stream import StreamTracker, body_usage
from creditgauge.capture.upstreams import upstream_base
from creditgauge.capture.usage import Usage
from creditgauge.capture.websocket import is_websocket, relay_websocket
from creditgauge.config import AccountConfig
from creditgauge.domain import utcnow

log = logging.getLogger("creditgauge.capture.proxy")

# Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are never forwarded; length and host are
# recomputed for the next hop.
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te", "trailer",
    "trailers", "transfer-encoding", "upgrade", "host", "content-length",
})
_NOT_FORWARDED = (*HOP_BY_HOP, TAGS_HEADER)
MAX_REQUEST_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Route:
    account: str
    provider: str
    base_url: str
    inject_stream_usage: bool


def routes_for(accounts: Mapping[str, AccountConfig]) -> dict[str, Route]:
    return {name: Route(name, account.provider, upstream_base(account), account.inject_stream_usage)
            for name, account in accounts.items()}


def _forward_headers(headers: CIMultiDictProxy[str], tracked: bool) -> CIMultiDict[str]:
    # Copied whole, then trimmed: a C-level copy and a dozen removals cost less than filtering header by header.
    out = CIMultiDict(headers)
    for name in _NOT_FORWARDED:
        out.popall(name, None)
    if tracked and "accept-encoding" in out:
        for value in out.popall("accept-encoding"):
            out.add("Accept-Encoding", decodable_encodings(value))
    return out


def _response_headers(headers: CIMultiDictProxy[str]) -> CIMultiDict[str]:
    out = CIMultiDict(headers)
    for name in HOP_BY_HOP:
        out.popall(name, None)
    return out


def _error(status: int, message: str, kind: str) -> web.Response:
    return web.json_response({"error": {"message": message, "type": kind, "param": None, "code": kind}},
                             status=status)


class RecordingProxy:
    def __init__(self, routes: Mapping[str, Route], recorder: Recorder, *, connect_timeout: float = 30.0,
                 read_timeout: float = 600.0) -> None:
        self.routes = dict(routes)
        self.recorder = recorder
        self._timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout, sock_read=read_timeout)
        self._session: aiohttp.ClientSession | None = None

    def runner(self, **options: Any) -> ProxyRunner:
        """A runner for aiohttp's low-level server around `handle` (create it inside the serving loop)."""
        return ProxyRunner(self, **options)

    def server(self) -> web.Server:
        """Every path goes to `handle`, without the router's matching (about 4% of the proxy's CPU a request)."""
        loop = asyncio.get_running_loop()

        def make_request(message: Any, payload: Any, protocol: Any, writer: Any, task: Any) -> web.BaseRequest:
            return web.BaseRequest(message, payload, protocol, writer, task, loop, client_max_size=MAX_REQUEST_BYTES)

        return web.Server(self.handle, request_factory=make_request, access_log=None)

    async def open(self) -> None:
        connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, enable_cleanup_closed=True)
        self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False, timeout=self._timeout,
                                              cookie_jar=aiohttp.DummyCookieJar(), skip_auto_headers=("User-Agent",))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        account, _, tail = request.path[1:].partition("/")
        route = self.routes.get(account)
        if route is None:
            return _error(404, f"creditgauge proxy: no account named {account!r} is configured; call "
                               f"/<account>/<path> with an account from the config", "unknown_account")
        tail = "/" + tail
        body = await request.read()
        call = classify(request.method, tail, request.query, body)
        if call is not None and route.inject_stream_usage and needs_usage_injection(call):
            body = inject_include_usage(body)
        url = route.base_url + tail + (f"?{request.query_string}" if request.query_string else "")
        started, ts = time.perf_counter(), utcnow()
        assert self._session is not None
        if is_websocket(request):  # Realtime: passed through, not recorded
            return await relay_websocket(request, self._session, url, _forward_headers(request.headers, False),
                                         route.account)
        try:
            upstream = await self._session.request(
                request.method, url, headers=_forward_headers(request.headers, call is not None),
                data=body or None, allow_redirects=False)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("upstream for account %s unreachable: %s", route.account, type(exc).__name__)
            return _error(502, f"creditgauge proxy: the upstream of account {route.account!r} could not be "
                               f"reached ({type(exc).__name__})", "upstream_unreachable")
        exchange = Exchange(self.recorder, route, call, request, started, ts, upstream.status)
        async with upstream:
            if call is None or upstream.status >= 400:
                return await _relay(request, upstream, None)
            if call.stream or upstream.content_type == "text/event-stream":
                return await _relay(request, upstream, exchange)
            raw = await upstream.read()
            exchange.record(body_usage(call.flavor, raw, upstream.headers.get("content-encoding")))
            return web.Response(body=raw, status=upstream.status, headers=_response_headers(upstream.headers))


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

    def record(self, usage: Usage | None, *, incomplete: bool = False) -> None:
        if self.recorded:
            return
        self.recorded = True
        headers = self.request.headers
        event = make_event(
            account=self.route.account, provider=self.route.provider, call=self.call, usage=usage,
            source="proxy", ts=self.ts, status=self.status, incomplete=incomplete,
            latency_ms=int((time.perf_counter() - self.started) * 1000),
            key_fp=key_fingerprint(headers, self.request.query), tags=parse_tags(headers.get(TAGS_HEADER)))
        self.recorder.record(event, usage=usage)


async def _relay(request: web.BaseRequest, upstream: aiohttp.ClientResponse,
                 exchange: Exchange | None) -> web.StreamResponse:
    """Copy the upstream's answer to the client chunk by chunk; when tracked, read its usage on the way."""
    response = web.StreamResponse(status=upstream.status, reason=upstream.reason,
                                  headers=_response_headers(upstream.headers))
    if upstream.content_length is not None and exchange is None:
        response.content_length = upstream.content_length
    tracker: StreamTracker | None = None
    if exchange is not None:
        encoding = upstream.headers.get("content-encoding")
        tracker = StreamTracker(exchange.call.flavor, content_encoding=encoding,
                                sse=upstream.content_type == "text/event-stream")
    try:
        await response.prepare(request)
        async for chunk in upstream.content.iter_any():
            if tracker is not None and exchange is not None:
                tracker.feed(chunk)
                if tracker.done:  # durable before the client sees the end of the answer
                    exchange.record(tracker.usage)
            await response.write(chunk)
        if tracker is not None and exchange is not None:
            tracker.close()
            exchange.record(tracker.usage)
        await response.write_eof()
    except ConnectionResetError:
        # The client went away mid-answer: keep the usage seen so far, marked incomplete. The upstream
        # connection is released (closed) by the caller, which stops the generation there too.
        if exchange is not None:
            exchange.record(tracker.usage if tracker else None, incomplete=True)
    except (asyncio.CancelledError, aiohttp.ClientPayloadError):
        # Shutdown, or the upstream broke off: same record; the client sees its stream cut short.
        if exchange is not None:
            exchange.record(tracker.usage if tracker else None, incomplete=True)
        raise
    return response
