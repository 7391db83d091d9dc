"""A provider gone bad: any fake of `creditgauge.fakes` with hostile answers on chosen paths (values no real bucket
holds, JSON nested beyond the parser, endless or looping cursors, answers dripping a byte at a time, Retry-After for
ever, pages of hundreds of megabytes, gzip bombs). The rest of the fake answers as the contract says."""

from __future__ import annotations

import asyncio
import itertools
import json
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from creditgauge.fakes.server import FakeProvider, dumps

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Hostile = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]
CHUNK = 64 * 1024


def hostile(fake_class: type[FakeProvider]) -> type[FakeProvider]:
    """A subclass of the fake whose `answers[path_part]` replace its answers on matching paths."""

    class HostileFake(fake_class):  # type: ignore[valid-type,misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.answers: dict[str, Hostile] = {}

        def app(self) -> web.Application:
            app = super().app()
            app.middlewares.append(self._hostile)  # inside the fake's own (request log, faults, auth)
            return app

        @web.middleware
        async def _hostile(self, request: web.Request, handler: Handler) -> web.StreamResponse:
            for part, answer in self.answers.items():
                if part in request.path:
                    return await answer(request, handler)
            return await handler(request)

    HostileFake.__name__ = f"Hostile{fake_class.__name__}"
    return HostileFake


def altered(change: Callable[[Any], None]) -> Hostile:
    """The fake's own answer, changed in place by `change` (floats such as inf are written as JSON's Infinity)."""

    async def answer(request: web.Request, handler: Handler) -> web.StreamResponse:
        original = await handler(request)
        assert isinstance(original, web.Response) and original.body is not None
        body = json.loads(bytes(original.body))  # type: ignore[arg-type]
        change(body)
        return web.Response(text=dumps(body), status=original.status, content_type="application/json")

    return answer


def replaced(body: Any) -> Hostile:
    async def answer(request: web.Request, handler: Handler) -> web.StreamResponse:
        return web.Response(text=dumps(body), content_type="application/json")

    return answer


def raw(text: str, **headers: str) -> Hostile:
    async def answer(request: web.Request, handler: Handler) -> web.StreamResponse:
        return web.Response(text=text, content_type="application/json", headers=headers)

    return answer


def deep_json(depth: int = 200_000) -> Hostile:
    """Valid JSON nested far deeper than Python's parser can recurse."""
    return raw('{"data":' + "[" * depth + "]" * depth + ',"has_more":false}')


def endless_cursor() -> Hostile:
    """Every page says there is more, with a cursor never seen before."""
    counter = itertools.count()

    async def answer(request: web.Request, handler: Handler) -> web.StreamResponse:
        return web.Response(text=dumps({"object": "page", "data": [], "has_more": True,
                                        "next_page": f"page_{next(counter)}"}), content_type="application/json")

    return answer


def looping_cursor() -> Hostile:
    """Pages a, b, a, b, ...: the same cursors handed out again."""

    async def answer(request: web.Request, handler: Handler) -> web.StreamResponse:
        following = "b" if request.query.get("page") == "a" else "a"
        return web.Response(text=dumps({"object": "page", "data": [], "has_more": True, "next_page": following}),
                            content_type="application/json")

    return answer


def drip(interval: float) -> Hostile:
    """Headers at once, then one byte of a never-ending body every `interval` seconds (each read is quick)."""

    async def answer(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = web.StreamResponse(headers={"content-type": "application/json"})
        await response.prepare(request)
        try:
            await response.write(b'{"data": [')
            while True:
                await asyncio.sleep(interval)
                await response.write(b" ")
        except (ConnectionError, RuntimeError):  # the client gave up: what the bound is for
            return response

    return answer


def retry_after_storm(seconds: str) -> Hostile:
    """429 with Retry-After on every request, for ever."""

    async def answer(request: web.Request, handler: Handler) -> web.StreamResponse:
        body = {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}
        return web.Response(text=dumps(body), status=429, content_type="application/json",
                            headers={"retry-after": seconds})

    return answer


def huge_page(total_bytes: int) -> Hostile:
    """A page of `total_bytes`, streamed in chunks without a Content-Length (so only reading tells its size)."""
    item = b'{"object":"bucket","start_time":0,"end_time":86400,"results":[]},'
    chunk = item * (CHUNK // len(item))

    async def answer(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = web.StreamResponse(headers={"content-type": "application/json"})
        await response.prepare(request)
        sent = 0
        try:
            await response.write(b'{"object":"page","has_more":false,"data":[')
            while sent < total_bytes:
                await response.write(chunk)
                sent += len(chunk)
            await response.write(b'{"object":"bucket","start_time":0,"end_time":86400,"results":[]}]}')
            await response.write_eof()
        except (ConnectionError, RuntimeError):
            pass
        return response

    return answer


def gzip_bomb(decoded_bytes: int) -> Hostile:
    """A small gzip body that inflates to `decoded_bytes` of JSON whitespace."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # gzip framing
    spaces = b" " * CHUNK
    body = packer.compress(b"{") + b"".join(packer.compress(spaces) for _ in range(decoded_bytes // CHUNK))
    body += packer.compress(b"}") + packer.flush()

    async def answer(request: web.Request, handler: Handler) -> web.StreamResponse:
        return web.Response(body=body, headers={"content-type": "application/json", "content-encoding": "gzip"})

    return answer
