"""Realtime over WebSocket (OpenAI's /v1/realtime, Gemini's Live API) is passed through, not recorded: the proxy
opens the same WebSocket upstream and relays every message both ways as it comes. Its usage (text, audio and
cached tokens in each `response.done`) is not tracked: `providers` and the README say so."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

import aiohttp
from aiohttp import WSMsgType, web
from yarl import URL

log = logging.getLogger("creditgauge.capture.proxy")

# The handshake belongs to each hop: aiohttp writes its own towards the upstream and answers the client itself.
_HANDSHAKE = ("sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions", "sec-websocket-protocol",
              "sec-websocket-accept")


def is_websocket(request: web.BaseRequest) -> bool:
    return request.headers.get("upgrade", "").strip().lower() == "websocket"


def _protocols(request: web.BaseRequest) -> tuple[str, ...]:
    header = request.headers.get("sec-websocket-protocol", "")
    return tuple(part.strip() for part in header.split(",") if part.strip())


async def relay_websocket(request: web.BaseRequest, session: aiohttp.ClientSession, url: str | URL,
                          headers: Mapping[str, str], account: str) -> web.StreamResponse:
    """Connect to `url` as a WebSocket with the client's headers and subprotocols, then relay until either side
    closes. An upstream that refuses the handshake answers the client with its status."""
    forwarded = {name: value for name, value in headers.items() if name.lower() not in _HANDSHAKE}
    protocols = _protocols(request)
    try:
        upstream = await session.ws_connect(url, headers=forwarded, protocols=protocols, autoping=False)
    except aiohttp.WSServerHandshakeError as exc:
        return web.json_response({"error": {"message": f"the upstream of account {account!r} refused the "
                                            f"WebSocket ({exc.status})", "type": "upstream_refused"}},
                                 status=exc.status if exc.status >= 400 else 502)
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("upstream WebSocket for account %s unreachable: %s", account, type(exc).__name__)
        return web.json_response({"error": {"message": f"the upstream of account {account!r} could not be "
                                            f"reached ({type(exc).__name__})", "type": "upstream_unreachable"}},
                                 status=502)
    client = web.WebSocketResponse(protocols=(upstream.protocol,) if upstream.protocol else (), autoping=False)
    await client.prepare(request)
    async with upstream:
        pumps = [asyncio.ensure_future(_pump(client, upstream)), asyncio.ensure_future(_pump(upstream, client))]
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for pump in pumps:
            pump.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)
        await client.close(code=upstream.close_code or aiohttp.WSCloseCode.OK)
    return client


async def _pump(source: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
                sink: web.WebSocketResponse | aiohttp.ClientWebSocketResponse) -> None:
    async for message in source:
        if message.type == WSMsgType.TEXT:
            await sink.send_str(message.data)
        elif message.type == WSMsgType.BINARY:
            await sink.send_bytes(message.data)
        elif message.type == WSMsgType.PING:
            await sink.ping(message.data)
        elif message.type == WSMsgType.PONG:
            await sink.pong(message.data)
    await sink.close(code=source.close_code or aiohttp.WSCloseCode.OK)
