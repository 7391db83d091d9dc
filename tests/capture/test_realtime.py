"""Realtime over WebSocket through the proxy: passed through both ways (text, binary, the subprotocol and the key
header reach the upstream), nothing recorded, and an upstream refusing the handshake answers with its status."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import Engine, func, select

from creditgauge.capture.journal import Journal
from creditgauge.capture.proxy import RecordingProxy, routes_for
from creditgauge.capture.recorder import Recorder
from creditgauge.capture.writer import EventWriter
from creditgauge.config import parse_config
from creditgauge.fakes.server import FakeServer
from creditgauge.pricing import Pricer
from creditgauge.store import schema

KEY = "sk-proj-realtime0123456789abcdef"


class RealtimeUpstream:
    """A stand-in for /v1/realtime: greets with session.created, then echoes each message back."""

    def __init__(self) -> None:
        self.seen_headers: list[dict[str, str]] = []

    async def realtime(self, request: web.Request) -> web.StreamResponse:
        self.seen_headers.append(dict(request.headers))
        if request.headers.get("authorization") != f"Bearer {KEY}":
            return web.json_response({"error": {"message": "bad key"}}, status=401)
        ws = web.WebSocketResponse(protocols=("realtime",))
        await ws.prepare(request)
        await ws.send_str('{"type":"session.created"}')
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                await ws.send_str(f"echo {message.data}")
            elif message.type == aiohttp.WSMsgType.BINARY:
                await ws.send_bytes(message.data[::-1])
        return ws


@pytest.fixture
def proxy(engine: Engine, tmp_path: Path) -> Iterator[tuple[str, RealtimeUpstream, Recorder]]:
    upstream = RealtimeUpstream()
    app = web.Application()
    app.router.add_get("/v1/realtime", upstream.realtime)
    upstream_server = FakeServer(app)
    config = parse_config({"accounts": {"openai-main": {"provider": "openai", "base_url": upstream_server.start()}}},
                          None)
    recorder = Recorder(Pricer.from_config(config), EventWriter(engine, Journal(tmp_path / "journal")).start())
    server = FakeServer(RecordingProxy(routes_for(config.accounts), recorder).runner)
    try:
        yield server.start(), upstream, recorder
    finally:
        server.stop()
        recorder.close(timeout=5)
        upstream_server.stop()


async def _session(url: str, key: str) -> list[object]:
    async with aiohttp.ClientSession() as session, session.ws_connect(
            url, headers={"authorization": f"Bearer {key}"}, protocols=("realtime",)) as ws:
        received: list[object] = [(await ws.receive()).data, ws.protocol]
        await ws.send_str('{"type":"response.create"}')
        received.append((await ws.receive()).data)
        await ws.send_bytes(b"\x01\x02\x03")
        received.append((await ws.receive()).data)
        return received


def test_realtime_is_relayed_both_ways_and_not_recorded(proxy: tuple[str, RealtimeUpstream, Recorder],
                                                        engine: Engine) -> None:
    url, upstream, recorder = proxy
    received = asyncio.run(_session(f"{url}/openai-main/v1/realtime?model=gpt-realtime", KEY))
    assert received == ['{"type":"session.created"}', "realtime", 'echo {"type":"response.create"}', b"\x03\x02\x01"]
    assert upstream.seen_headers[-1]["Sec-WebSocket-Protocol"] == "realtime"
    assert recorder.writer.flush(10)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(schema.usage_events)).scalar_one() == 0


def test_a_refused_handshake_answers_with_the_upstream_status(proxy: tuple[str, RealtimeUpstream, Recorder]) -> None:
    url, _, _ = proxy
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        asyncio.run(_session(f"{url}/openai-main/v1/realtime?model=gpt-realtime", "sk-wrong"))
    assert refused.value.status == 401
