"""The OTLP receiver as an aiohttp handler: `creditgauge proxy` takes `/v1/traces` and `/v1/metrics` too, so one
process can both proxy calls and receive the traces of applications that are not proxied."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web

from creditgauge.capture.otlp_receiver import MAX_BODY_BYTES, OtlpAnswer, OtlpReceiver, too_large_answer


def _response(answer: OtlpAnswer) -> web.Response:
    return web.Response(body=answer.body, status=answer.status, content_type=answer.media_type)


def aiohttp_handler(receiver: OtlpReceiver) -> Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]:
    async def export(request: web.BaseRequest) -> web.StreamResponse:
        content_type = request.headers.get("content-type")
        if request.method != "POST":
            return web.Response(status=405, headers={"allow": "POST"})
        if (request.content_length or 0) > MAX_BODY_BYTES:
            return _response(too_large_answer(content_type))
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _response(too_large_answer(content_type))
        if len(body) > MAX_BODY_BYTES:
            return _response(too_large_answer(content_type))
        answer = await asyncio.get_running_loop().run_in_executor(
            None, receiver.export, request.path, body, content_type, request.headers.get("content-encoding"))
        return _response(answer)

    return export
