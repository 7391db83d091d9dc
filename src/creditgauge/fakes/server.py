"""Shared machinery of the fakes: an aiohttp app in a background thread, with a request log, injectable faults
and added latency. Each provider fake builds its routes on a `FakeProvider`."""

from __future__ import annotations

import asyncio
import copy
import json
import re
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


_NUMBER = re.compile(r'"@num@([-0-9.eE+]+)@"')


def dumps(body: Any) -> str:
    """JSON with Decimals written as JSON numbers, digit for digit (so fakes can send exact high-precision values)."""

    def default(value: Any) -> Any:
        if isinstance(value, Decimal):
            return f"@num@{value}@"
        raise TypeError(f"cannot serialise {type(value).__name__}")

    return _NUMBER.sub(r"\1", json.dumps(body, default=default, separators=(",", ":")))


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(text=dumps(body), status=status, content_type="application/json", headers=headers)


class BadRequest(Exception):
    """A request the real API refuses with 400; each fake renders it in its provider's error shape."""


@dataclass
class Fault:
    """A canned response served instead of the real one, `times` times, for requests whose path contains `path`."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    path: str = ""
    raw: str | None = None  # send this text as-is (malformed JSON tests)


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes


class FakeProvider:
    """Base of every fake: subclasses add routes in `routes()` and may check auth in `authorize()`."""

    name = "fake"

    def __init__(self, *, latency: float = 0.0, keys: set[str] | None = None) -> None:
        self.latency = latency
        self.keys = keys  # None: any key accepted
        self.requests: list[RecordedRequest] = []
        self.faults: deque[Fault] = deque()
        # A test's hook to alter an answer (an extra field, a missing one) before it is sent.
        self.rewrite: Callable[[str, Any], Any] | None = None
        self._server: FakeServer | None = None

    # -- to override ---------------------------------------------------------------------------------------------
    def routes(self, app: web.Application) -> None:
        raise NotImplementedError  # each fake declares its endpoints

    def authorize(self, request: web.Request) -> web.Response | None:
        """Return an error response when the request's credentials are refused; None to serve it."""
        return None

    def respond(self, request: web.Request, body: Any, headers: dict[str, str] | None = None) -> web.Response:
        """A JSON answer, through `rewrite` first (on a copy: a rewrite must not corrupt the fake's history)."""
        if self.rewrite is not None:
            body = self.rewrite(request.path, copy.deepcopy(body))
        return json_response(body, headers=headers)

    # -- machinery -----------------------------------------------------------------------------------------------
    def fail(self, status: int, body: Any = None, *, times: int = 1, path: str = "",
             headers: dict[str, str] | None = None, raw: str | None = None) -> None:
        self.faults.append(Fault(status, body, headers or {}, times, path, raw))

    def _take_fault(self, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.path in path and fault.times > 0:
                fault.times -= 1
                if fault.times == 0:
                    self.faults.remove(fault)
                return fault
        return None

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        body = await request.read()
        self.requests.append(RecordedRequest(request.method, request.path, list(request.query.items()),
                                             dict(request.headers), body))
        if self.latency:
            await asyncio.sleep(self.latency)
        fault = self._take_fault(request.path)
        if fault is not None:
            if fault.raw is not None:
                return web.Response(text=fault.raw, status=fault.status, headers=fault.headers,
                                    content_type="application/json")
            return json_response(fault.body, fault.status, fault.headers)
        refused = self.authorize(request)
        if refused is not None:
            return refused
        return await handler(request)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        self.routes(app)
        return app

    def start(self, port: int = 0) -> str:
        self._server = FakeServer(self.app(), port=port)
        return self._server.start()

    def stop(self) -> None:
        if self._server:
            self._server.stop()
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return self._server.url

    def __enter__(self) -> FakeProvider:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def count(self, path_part: str = "") -> int:
        return sum(1 for r in self.requests if path_part in r.path)


class FakeServer:
    """Serve an aiohttp application on 127.0.0.1 from a daemon thread with its own event loop. `app` may also be
    a function that makes a runner in that loop (the recording proxy's low-level server)."""

    def __init__(self, app: web.Application | Callable[[], web.BaseRunner], *, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self.app, self.host, self.port = app, host, port
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="fake-server")
        self._runner: web.BaseRunner | None = None

    def start(self) -> str:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        return self.url

    async def _start(self) -> None:
        self._runner = (web.AppRunner(self.app, access_log=None) if isinstance(self.app, web.Application)
                        else self.app())
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://{self.host}:{port}"

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=30)
            self._runner = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
