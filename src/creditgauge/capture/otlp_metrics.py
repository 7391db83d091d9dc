"""The `gen_ai.client.token.usage` histogram read into tracked usage, one event per time bucket and series, for
applications that export metrics and no spans.

A series is the data points of one service, provider, model and operation; its input and output points of one
bucket become one event (requests: the input points' count, one measurement per call). Delta points are taken as
they are. Cumulative points (the Python SDK's default) are turned into deltas against the series' previous point
seen by this server; a series already running when the server started is counted from its second point on (its
first only sets the baseline: counting it whole could count again what an earlier run stored).

Never on top of spans: a service that sends GenAI spans has its metrics ignored, since the spans already count
each call exactly (known from the spans this server received, or the spans stored under its `service.name` tag);
buckets stored before its spans arrived are taken out when they are (capture.once). Each bucket's
event keeps the bucket's end in `extra.bucket_end` for that.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality
from sqlalchemy import Engine, select

from creditgauge.capture.genai_attributes import (
    MODEL_CALL_OPERATIONS,
    SERVICE_NAME,
    TOKEN_TYPE,
    TOKEN_TYPES,
    TOKEN_USAGE_METRIC,
    operation_name,
)
from creditgauge.capture.once import BUCKET_END
from creditgauge.capture.otlp import SOURCE, AccountResolver, Decoded, Tagging, attribute_values, nanos_to_time
from creditgauge.config import Config
from creditgauge.domain import UsageEvent
from creditgauge.limits import InvalidValue, check_count, event_problem
from creditgauge.store import schema

CUMULATIVE = AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
# A cumulative series that started before this process did may have been counted in part by an earlier run.
PROCESS_STARTED = time.time_ns()


@dataclass(frozen=True, slots=True)
class Series:
    service: str
    account: str
    provider: str
    model: str | None
    operation: str
    tags: tuple[tuple[str, str], ...]


@dataclass
class Bucket:
    start: int
    end: int
    input_tokens: int = 0
    output_tokens: int = 0
    input_calls: int = 0
    output_calls: int = 0


class MetricReader:
    def __init__(self, config: Config, engine: Engine) -> None:
        self.engine = engine
        self.accounts = AccountResolver(config)
        self.tagging = Tagging.from_config(config)
        self._span_services: set[str] = set()
        self._previous: dict[tuple[Series, str, int], tuple[int, int, int]] = {}  # -> (time, sum, count)
        self._lock = threading.Lock()

    def spans_seen(self, service: str) -> None:
        with self._lock:
            self._span_services.add(service)

    def read(self, request: ExportMetricsServiceRequest) -> Decoded:
        decoded = Decoded()
        buckets: dict[tuple[Series, int], Bucket] = {}
        index = 0
        for resource_metrics in request.resource_metrics:
            resource = attribute_values(resource_metrics.resource.attributes)
            service = str(resource.get(SERVICE_NAME) or "")
            sends_spans = bool(service) and self._sends_spans(service)
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    if metric.name != TOKEN_USAGE_METRIC or metric.WhichOneof("data") != "histogram":
                        continue
                    cumulative = metric.histogram.aggregation_temporality == CUMULATIVE
                    for point in metric.histogram.data_points:
                        try:
                            if not sends_spans:
                                self._add(buckets, service, resource, point, cumulative)
                        except InvalidValue as exc:
                            decoded.reject(f"data point {index}", str(exc))
                        except (TypeError, ValueError, OverflowError) as exc:  # a value no rule foresaw
                            decoded.reject(f"data point {index}", f"unreadable ({type(exc).__name__})")
                        index += 1
        for (series, _end), bucket in buckets.items():
            event = self._event(series, bucket)
            problem = event_problem(event)
            if problem:
                decoded.reject(f"bucket of {series.provider}/{series.model}", problem)
            elif event.input_tokens or event.output_tokens:
                decoded.events.append(event)
        return decoded

    def _add(self, buckets: dict[tuple[Series, int], Bucket], service: str, resource: Mapping[str, Any],
             point: Any, cumulative: bool) -> None:
        attributes = attribute_values(point.attributes)
        measure = TOKEN_TYPES.get(str(attributes.get(TOKEN_TYPE, "")).lower())
        if measure is None:
            return  # a token type creditgauge does not count separately
        account, provider, model = self.accounts.origin(attributes, resource, "data point")
        series = Series(service, account, provider, model, operation_name(attributes) or "chat",
                        tuple(sorted(self.tagging.tags(resource, attributes).items())))
        total = check_count(point.sum, f"{TOKEN_USAGE_METRIC}.sum")
        count = check_count(point.count, f"{TOKEN_USAGE_METRIC}.count")
        start = point.start_time_unix_nano
        if cumulative:
            delta = self._delta(series, measure, point.start_time_unix_nano, point.time_unix_nano, total, count)
            if delta is None:
                return
            start, total, count = delta
        # input and output points of one export share their time, not always their start (a bucket starts with
        # its earlier one)
        bucket = buckets.setdefault((series, point.time_unix_nano), Bucket(start, point.time_unix_nano))
        bucket.start = min(bucket.start, start)
        if measure == "input_tokens":
            bucket.input_tokens += total
            bucket.input_calls += count
        else:
            bucket.output_tokens += total
            bucket.output_calls += count

    def _delta(self, series: Series, measure: str, start: int, time: int, total: int,
               count: int) -> tuple[int, int, int] | None:
        """(bucket start, tokens, calls) since the series' previous point; None when nothing new is counted."""
        key = (series, measure, start)
        with self._lock:
            previous = self._previous.get(key)
            if previous is not None and time <= previous[0]:
                return None  # the same point again (a retried batch) or an older one
            self._previous[key] = (time, total, count)
        if previous is None:
            return (start, total, count) if start >= PROCESS_STARTED else None
        return previous[0], total - previous[1], count - previous[2]

    def _event(self, series: Series, bucket: Bucket) -> UsageEvent:
        key = f"{series}\0{bucket.end}"
        return UsageEvent(
            id="otlpm-" + hashlib.sha256(key.encode()).hexdigest()[:40], account=series.account,
            provider=series.provider, ts=nanos_to_time(bucket.start or bucket.end), model=series.model,
            endpoint=TOKEN_USAGE_METRIC, source=SOURCE, input_tokens=bucket.input_tokens,
            output_tokens=bucket.output_tokens, requests=bucket.input_calls or bucket.output_calls,
            tags=dict(series.tags), extra={BUCKET_END: nanos_to_time(bucket.end).isoformat()},
        )

    def _sends_spans(self, service: str) -> bool:
        with self._lock:
            if service in self._span_services:
                return True
        tags, events = schema.event_tags, schema.usage_events
        query = (select(tags.c.event_id).join(events, events.c.id == tags.c.event_id)
                 .where(tags.c.key == SERVICE_NAME, tags.c.value == service, events.c.source == SOURCE,
                        events.c.endpoint.in_(sorted(MODEL_CALL_OPERATIONS))).limit(1))
        with self.engine.connect() as connection:
            found = connection.execute(query).first() is not None
        if found:
            self.spans_seen(service)
        return found
