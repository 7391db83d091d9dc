"""The OTLP receiver behind both faces (`creditgauge serve`'s `/v1/traces` and `/v1/metrics`, and `creditgauge
proxy`'s): decodes an export request, records its events through a journaled batch writer of its own, and makes
the OTLP answer.

GenAI model-call spans (and the `gen_ai.client.token.usage` metric) become tracked usage events, journaled and
stored by a batch writer like the proxy's: an answered batch survives a crash. The answer is the OTLP one: 200
with `partial_success` (`rejected_spans` / `rejected_data_points` and the first reasons) when some items were
refused, a `google.rpc.Status` with 400 for a body that is not an export request, 415 for another encoding, 503
when the journal cannot take the batch (the exporter retries). Call `export` off the event loop: it decodes and
journals.
"""

from __future__ import annotations

import atexit
import json
import logging
import threading
from dataclasses import dataclass

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from google.rpc.status_pb2 import Status  # type: ignore[import-untyped]  # googleapis-common-protos has no types
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
from sqlalchemy.engine import make_url

from creditgauge.capture.journal import Journal, JournalBusy
from creditgauge.capture.once import store_once
from creditgauge.capture.otlp import JSON, PROTOBUF, BadRequest, Decoded, SpanReader, decode, media_type
from creditgauge.capture.otlp_metrics import MetricReader
from creditgauge.capture.recorder import Recorder
from creditgauge.capture.store_process import ProcessStore
from creditgauge.capture.writer import EventWriter, StoreFunction
from creditgauge.config import Config
from creditgauge.errors import ConfigError
from creditgauge.limits import Checked
from creditgauge.pricing import Pricer
from creditgauge.redact import redact

MAX_BODY_BYTES = 16 * 1024 * 1024
TRACES, METRICS = "/v1/traces", "/v1/metrics"
OTLP_PATHS = (TRACES, METRICS)
JOURNAL_SLOTS = 64
# Spans a store transaction takes at most: exporters send hundreds a request, and a larger batch shares its commit,
# its counted-once query and its rollup upsert among more spans (measured: about a fifth less CPU a span than 500).
STORE_BATCH = 2048
GRPC_INVALID_ARGUMENT, GRPC_PERMISSION_DENIED, GRPC_RESOURCE_EXHAUSTED, GRPC_UNAVAILABLE = 3, 7, 8, 14
GRPC_UNAUTHENTICATED = 16
GRPC_CODES = {401: GRPC_UNAUTHENTICATED, 403: GRPC_PERMISSION_DENIED, 429: GRPC_RESOURCE_EXHAUSTED,
              503: GRPC_UNAVAILABLE}  # the HTTP statuses OTLP/HTTP names, as google.rpc codes
log = logging.getLogger("creditgauge.otlp")


@dataclass(frozen=True, slots=True)
class OtlpAnswer:
    status: int
    body: bytes
    media_type: str


def too_large_answer(content_type: str | None) -> OtlpAnswer:
    return refusal_answer(content_type, 413, f"the request body is over {MAX_BODY_BYTES:,} bytes: send smaller "
                                             "batches")


def refusal_answer(content_type: str | None, status: int, message: str) -> OtlpAnswer:
    """A request refused before it is read (too large, no token, throttled), as an OTLP Status in the request's
    encoding (JSON when it names none we take)."""
    try:
        kind = media_type(content_type)
    except BadRequest:
        kind = JSON
    return status_answer(kind, status, GRPC_CODES.get(status, GRPC_INVALID_ARGUMENT), message)


def open_recorder(config: Config, engine: Engine, *, migrate_first: bool = False,
                  store: StoreFunction | None = None) -> Recorder:
    """The receiver's pipeline: a journal slot of its own under the journal directory (a slot a dead process left
    is replayed by the next one to take it), a batch writer storing each call once (through `store` when given),
    the configured prices. `migrate_first`: bring the schema up to date on the first write (the proxy starts
    before its database)."""
    from creditgauge.capture.runtime import MigratingStore, database_identity, journal_root  # runtime imports us

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
    writer = EventWriter(engine, journal, batch_size=max(config.proxy.batch_size, STORE_BATCH),
                         queue_size=config.proxy.queue_size,
                         store=store or (MigratingStore(store_once) if migrate_first else store_once))
    return Recorder(Pricer.from_config(config), writer.start())


def shares_a_database(url: str) -> bool:
    """Whether another process opening `url` sees the same database (not so for an in-memory SQLite one)."""
    parsed = make_url(url)
    return not (parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"))


class OtlpReceiver:
    """Decodes export requests and records their events; one per server, its writer opened on first use.

    `store_in_child` (the default where the database can be opened from another process): the writer stores
    through a helper process (capture.store_process), so decoding the next requests and storing the last ones run
    on two cores instead of taking turns at one interpreter lock. The batch crosses the pipe with its `Checked`
    mark; the journal, the retries and the quarantine stay the writer's, here."""

    def __init__(self, config: Config, engine: Engine, *, migrate_first: bool = False,
                 store_in_child: bool | None = None) -> None:
        self.config, self.engine, self.migrate_first = config, engine, migrate_first
        url = config.resolved_database_url()
        self.store_in_child = shares_a_database(url) if store_in_child is None else store_in_child
        self.spans = SpanReader(config)
        self.metrics = MetricReader(config, engine)
        self._recorder: Recorder | None = None
        self._child: ProcessStore | None = None
        self._lock = threading.Lock()

    @property
    def recorder(self) -> Recorder:
        with self._lock:
            if self._recorder is None:
                if self.store_in_child:
                    self._child = ProcessStore(self.config.resolved_database_url())
                self._recorder = open_recorder(self.config, self.engine, migrate_first=self.migrate_first,
                                               store=self._child)
                atexit.register(self.close, 10.0)
            return self._recorder

    def close(self, timeout: float = 10.0) -> bool:
        with self._lock:
            recorder, self._recorder = self._recorder, None
            child, self._child = self._child, None
        drained = True if recorder is None else recorder.close(timeout)
        if child is not None:
            child.close()
        return drained

    def export(self, path: str, body: bytes, content_type: str | None, encoding: str | None) -> OtlpAnswer:
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
        if decoded.events:  # both readers check every event they make (limits.check_event)
            self.recorder.record_many(Checked(decoded.events))


def _encode(kind: str, message: Message) -> bytes:
    if kind == PROTOBUF:
        return message.SerializeToString()
    return json.dumps(MessageToDict(message)).encode()


def status_answer(kind: str, status: int, code: int, message: str) -> OtlpAnswer:
    return OtlpAnswer(status, _encode(kind, Status(code=code, message=message)), kind)


def success_answer(kind: str, path: str, decoded: Decoded) -> OtlpAnswer:
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
    return OtlpAnswer(200, _encode(kind, answer), kind)
