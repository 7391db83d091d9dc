"""The OTLP/HTTP receiver: `POST /v1/traces` and `POST /v1/metrics`, as an OpenTelemetry exporter or Collector
sends them (protobuf or JSON, plain or gzip).

GenAI model-call spans (and the `gen_ai.client.token.usage` metric) become tracked usage events, journaled and
stored by a batch writer of their own like the proxy's: an answered batch survives a crash. The answer is the OTLP
one: 200 with `partial_success` (`rejected_spans` / `rejected_data_points` and the first reasons) when some items
were refused, a `google.rpc.Status` with 400 for a body that is not an export request, 415 for another encoding,
413 past the body limit (BodyLimit), 503 when the journal cannot take the batch (the exporter retries). Same
access rule as the ingest API (loopback, or the server's token). Decoding runs off the event loop.
"""

from __future__ import annotations

import atexit
import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsPartialSuccess,
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from sqlalchemy import Engine
from starlette.responses import Response

from creditgauge.capture.journal import Journal, JournalBusy
from creditgauge.capture.once import store_once
from creditgauge.capture.otlp import JSON, PROTOBUF, BadRequest, Decoded, SpanReader, decode, media_type
from creditgauge.capture.otlp_metrics import MetricReader
from creditgauge.capture.recorder import Recorder
from creditgauge.capture.runtime import database_identity, journal_root
from creditgauge.capture.writer import EventWriter
from creditgauge.config import Config
from creditgauge.errors import ConfigError
from creditgauge.pricing import Pricer
from creditgauge.redact import redact

MAX_BODY_BYTES = 16 * 1024 * 1024
TRACES, METRICS = "/v1/traces", "/v1/metrics"
BODY_LIMITS = {TRACES: MAX_BODY_BYTES, METRICS: MAX_BODY_BYTES}
JOURNAL_SLOTS = 64
GRPC_INVALID_ARGUMENT, GRPC_UNAVAILABLE = 3, 14
log = logging.getLogger("creditgauge.otlp")
router = APIRouter()


def open_recorder(config: Config, engine: Engine) -> Recorder:
    """The receiver's pipeline: a journal slot of its own under the journal directory (a slot a dead process left
    is replayed by the next one to take it), a batch writer storing each call once, the configured prices."""
    identity = database_identity(config.resolved_database_url())
    for slot in range(JOURNAL_SLOTS):
        try:
            journal = Journal(journal_root(config) / "otlp" / str(slot), database=identity)
            break
        except JournalBusy:
            continue
    else:
        raise ConfigError(f"{JOURNAL_SLOTS} processes already receive OTLP with this journal directory; "
                          "set proxy.journal_dir to another directory for this one")
    writer = EventWriter(engine, journal, batch_size=config.proxy.batch_size, queue_size=config.proxy.queue_size,
                         store=store_once)
    return Recorder(Pricer.from_config(config), writer.start())


class OtlpReceiver:
    """Decodes export requests and records their events; one per server, its writer opened on first use."""

    def __init__(self, config: Config, engine: Engine) -> None:
        self.config, self.engine = config, engine
        self.spans = SpanReader(config)
        self.metrics = MetricReader(config, engine)
        self._recorder: Recorder | None = None
        self._lock = threading.Lock()

    @property
    def recorder(self) -> Recorder:
        with self._lock:
            if self._recorder is None:
                self._recorder = open_recorder(self.config, self.engine)
                atexit.register(self._recorder.close, 10.0)
            return self._recorder

    def close(self, timeout: float = 10.0) -> bool:
        with self._lock:
            recorder, self._recorder = self._recorder, None
        return True if recorder is None else recorder.close(timeout)

    def export(self, path: str, body: bytes, content_type: str | None, encoding: str | None) -> Response:
        """One export request in, its OTLP answer out; never raises."""
        kind = JSON
        try:
            kind = media_type(content_type)
            if path == TRACES:
                decoded = self.spans.read(decode(body, kind, encoding, ExportTraceServiceRequest),
                                          self.metrics.spans_seen)
            else:
                decoded = self.metrics.read(decode(body, kind, encoding, ExportMetricsServiceRequest))
            self._record(decoded)
        except BadRequest as exc:
            return status_answer(kind, exc.status, GRPC_INVALID_ARGUMENT, str(exc))
        except Exception as exc:  # the journal or writer failed (a full disk): nothing was accepted, try again
            log.error("an OTLP batch could not be journaled: %s", redact(f"{type(exc).__name__}: {exc}"))
            return status_answer(kind, 503, GRPC_UNAVAILABLE, "creditgauge could not take the batch now (the "
                                                              "server log says why): send it again")
        return success_answer(kind, path, decoded)

    def _record(self, decoded: Decoded) -> None:
        recorder = self.recorder
        for event in decoded.events:
            recorder.record(event)


def _encode(kind: str, message: Message) -> bytes:
    if kind == PROTOBUF:
        return message.SerializeToString()
    return json.dumps(MessageToDict(message)).encode()


def status_answer(kind: str, status: int, code: int, message: str) -> Response:
    return Response(_encode(kind, Status(code=code, message=message)), status_code=status, media_type=kind)


def success_answer(kind: str, path: str, decoded: Decoded) -> Response:
    answer: Message
    if path == TRACES:
        answer = ExportTraceServiceResponse()
        if decoded.rejected:
            answer.partial_success.CopyFrom(ExportTracePartialSuccess(
                rejected_spans=decoded.rejected, error_message=decoded.message("spans")))
    else:
        answer = ExportMetricsServiceResponse()
        if decoded.rejected:
            answer.partial_success.CopyFrom(ExportMetricsPartialSuccess(
                rejected_data_points=decoded.rejected, error_message=decoded.message("data points")))
    return Response(_encode(kind, answer), media_type=kind)


def receiver_of(request: Request) -> OtlpReceiver:
    state = request.app.state
    receiver = getattr(state, "otlp", None)
    if receiver is None:
        ctx = state.ctx
        receiver = state.otlp = OtlpReceiver(ctx.config, ctx.engine)
    return receiver


async def _export(request: Request) -> Response:
    receiver = receiver_of(request)
    body = await request.body()  # at most MAX_BODY_BYTES (BodyLimit)
    export: Callable[..., Any] = receiver.export
    return await run_in_threadpool(export, request.url.path, body, request.headers.get("content-type"),
                                   request.headers.get("content-encoding"))


router.add_api_route(TRACES, _export, methods=["POST"], include_in_schema=False,
                     summary="OTLP/HTTP traces: GenAI model-call spans stored as tracked usage")
router.add_api_route(METRICS, _export, methods=["POST"], include_in_schema=False,
                     summary="OTLP/HTTP metrics: gen_ai.client.token.usage stored as tracked usage")
