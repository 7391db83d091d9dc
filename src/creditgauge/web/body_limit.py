"""Request bodies have a size limit: past it the answer is 413 and the rest of the body is never read.

A declared Content-Length over the limit is refused before anything is read; a body sent without one (chunked) is
counted as it arrives and refused as soon as it passes the limit. Each path may have its own limit (ingest takes
batches; forms and API changes are small)."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import HTTPException
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from creditgauge.web.responses import error_json

SMALL_BODY_BYTES = 1024 * 1024  # forms, ledger entries, sync requests


def too_large(limit: int) -> str:
    return f"the request body is over {limit:,} bytes: send less per request (smaller batches)"


class BodyLimit:
    """ASGI middleware: `limits` per exact path, `default` elsewhere."""

    def __init__(self, app: ASGIApp, *, default: int = SMALL_BODY_BYTES, limits: Mapping[str, int] | None = None,
                 ) -> None:
        self.app = app
        self.default = default
        self.limits = dict(limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.get(scope["path"], self.default)
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await error_json(413, too_large(limit))(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:  # raised inside the route, so the app's error handlers answer it
                    raise HTTPException(status_code=413, detail=too_large(limit))
            return message

        await self.app(scope, limited_receive, send)
