"""The OTLP/HTTP receiver on `creditgauge serve`: `POST /v1/traces` and `POST /v1/metrics`, as an OpenTelemetry
exporter or Collector sends them (see capture.otlp_receiver). Same access rule as the ingest API (loopback, or the
server's token); 413 past the body limit (BodyLimit); the body is decoded off the event loop. Not in the OpenAPI
document: the protocol is OTLP's, not the JSON API's.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from creditgauge.capture.otlp_receiver import MAX_BODY_BYTES, METRICS, OTLP_PATHS, TRACES, OtlpReceiver, refusal_answer

BODY_LIMITS = {TRACES: MAX_BODY_BYTES, METRICS: MAX_BODY_BYTES}
router = APIRouter()


def receiver_of(request: Request) -> OtlpReceiver:
    state = request.app.state
    receiver = getattr(state, "otlp", None)
    if receiver is None:
        ctx = state.ctx
        receiver = state.otlp = OtlpReceiver(ctx.config, ctx.engine)
    return receiver


def refusal(request: Request, status: int, message: str) -> Response | None:
    """The access guard's refusal of an OTLP path as an OTLP Status (an exporter reads that, never a login page);
    None for any other path."""
    if request.url.path not in OTLP_PATHS:
        return None
    answer = refusal_answer(request.headers.get("content-type"), status, message)
    return Response(answer.body, status_code=answer.status, media_type=answer.media_type)


async def _export(request: Request) -> Response:
    receiver = receiver_of(request)
    body = await request.body()  # at most MAX_BODY_BYTES (BodyLimit)
    answer = await run_in_threadpool(receiver.export, request.url.path, body, request.headers.get("content-type"),
                                     request.headers.get("content-encoding"))
    return Response(answer.body, status_code=answer.status, media_type=answer.media_type)


router.add_api_route(TRACES, _export, methods=["POST"], include_in_schema=False,
                     summary="OTLP/HTTP traces: GenAI model-call spans stored as tracked usage")
router.add_api_route(METRICS, _export, methods=["POST"], include_in_schema=False,
                     summary="OTLP/HTTP metrics: gen_ai.client.token.usage stored as tracked usage")
