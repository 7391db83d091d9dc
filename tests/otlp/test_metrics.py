"""The gen_ai.client.token.usage histogram as a coarser source: the official OpenAI instrumentation's metrics,
exported over OTLP/HTTP, become tracked usage per bucket (cumulative points turned into deltas), and a service
that also sends spans is counted from its spans alone."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import openai
import pytest
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from otlp_support import OPENAI_KEY, exporting_traces, receiver
from sqlalchemy import Engine


@contextmanager
def exporting_metrics(url: str, service: str) -> Iterator[MeterProvider]:
    reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=f"{url}/v1/metrics"),
                                           export_interval_millis=3_600_000)
    provider = MeterProvider(metric_readers=[reader], resource=Resource.create({"service.name": service}))
    try:
        yield provider
    finally:
        provider.shutdown()


@contextmanager
def instrumented(tracer_provider: Any, meter_provider: MeterProvider) -> Iterator[None]:
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        yield
    finally:
        instrumentor.uninstrument()


def _ask(client: openai.OpenAI, question: str) -> None:
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": question}])


def test_token_usage_metrics_alone_are_tracked_usage(engine: Engine, database_url: str, tmp_path: Path) -> None:
    with receiver(engine, database_url, tmp_path) as cg:
        with exporting_metrics(cg.url, "batch-jobs") as meters, instrumented(TracerProvider(), meters):
            client = openai.OpenAI(base_url=f"{cg.upstream.url}/v1", api_key=OPENAI_KEY)
            _ask(client, "first")
            _ask(client, "second question")
            assert meters.force_flush(10_000)
            _ask(client, "a third, after the first export")
            assert meters.force_flush(10_000)
            assert meters.force_flush(10_000)  # the same cumulative totals again: nothing new
        (row,) = cg.usage()["rows"]
        sent = cg.upstream.sent
        assert (row["account"], row["requests"]) == ("openai-main", 3)
        assert row["input_tokens"] == sum(t.prompt for t in sent)
        assert row["output_tokens"] == sum(t.completion for t in sent)
        events = cg.events()
        assert {event["endpoint"] for event in events} == {"gen_ai.client.token.usage"}
        assert all(event["cost"] is not None for event in events)


def test_metrics_never_add_to_the_spans_of_the_same_service(engine: Engine, database_url: str,
                                                             tmp_path: Path) -> None:
    with receiver(engine, database_url, tmp_path) as cg:
        with exporting_metrics(cg.url, "support-bot") as meters:
            with exporting_traces(cg.url, "support-bot") as tracer, instrumented(tracer, meters):
                client = openai.OpenAI(base_url=f"{cg.upstream.url}/v1", api_key=OPENAI_KEY)
                _ask(client, "traced and measured")
                _ask(client, "twice")
            assert meters.force_flush(10_000)
        (row,) = cg.usage()["rows"]
        assert row["requests"] == 2
        assert row["input_tokens"] == sum(t.prompt for t in cg.upstream.sent)
        assert {event["endpoint"] for event in cg.events()} == {"chat"}


def test_metrics_stored_before_the_spans_of_their_service_are_taken_out_when_the_spans_arrive(
        engine: Engine, database_url: str, tmp_path: Path) -> None:
    """A short program exports at exit, and its meter may flush before its tracer (Traceloop.init's does): the
    buckets are stored first, then the spans replace them; another service's buckets stay."""
    with receiver(engine, database_url, tmp_path) as cg:
        with exporting_metrics(cg.url, "reports") as other_meters, instrumented(TracerProvider(), other_meters):
            _ask(openai.OpenAI(base_url=f"{cg.upstream.url}/v1", api_key=OPENAI_KEY), "metrics only")
            assert other_meters.force_flush(10_000)
        with (exporting_metrics(cg.url, "nightly-job") as meters,
              exporting_traces(cg.url, "nightly-job") as tracer, instrumented(tracer, meters)):
            client = openai.OpenAI(base_url=f"{cg.upstream.url}/v1", api_key=OPENAI_KEY)
            _ask(client, "traced and measured")
            _ask(client, "twice")
            assert meters.force_flush(10_000)
            cg.flush()
            assert {(event["tags"]["service.name"], event["requests"]) for event in cg.events()} == {
                ("reports", 1), ("nightly-job", 2)}  # buckets only, so far
        by_endpoint = {row["endpoint"]: row for row in cg.usage("endpoint")["rows"]}
        reports, traced = cg.upstream.sent[0], cg.upstream.sent[1:]
        assert sorted(by_endpoint) == ["chat", "gen_ai.client.token.usage"]
        assert by_endpoint["chat"]["requests"] == 2
        assert by_endpoint["chat"]["input_tokens"] == sum(t.prompt for t in traced)
        assert by_endpoint["gen_ai.client.token.usage"]["requests"] == 1
        assert by_endpoint["gen_ai.client.token.usage"]["input_tokens"] == reports.prompt
        assert {(event["endpoint"], event["tags"]["service.name"]) for event in cg.events()} == {
            ("gen_ai.client.token.usage", "reports"), ("chat", "nightly-job")}


def test_a_bad_data_point_is_rejected_alone(engine: Engine, database_url: str, tmp_path: Path) -> None:
    import httpx
    from opentelemetry.exporter.otlp.proto.common._internal.metrics_encoder import encode_metrics
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    reader = InMemoryMetricReader()
    meters = MeterProvider(metric_readers=[reader], resource=Resource.create({"service.name": "batch-jobs"}))
    histogram = meters.get_meter("test").create_histogram("gen_ai.client.token.usage", unit="{token}")
    good = {"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini", "gen_ai.operation.name": "chat"}
    histogram.record(120, {**good, "gen_ai.token.type": "input"})
    histogram.record(30, {**good, "gen_ai.token.type": "output"})
    histogram.record(5, {**good, "gen_ai.request.model": "gpt-4.1", "gen_ai.token.type": "input"})
    histogram.record(9, {"gen_ai.request.model": "mystery", "gen_ai.token.type": "input"})  # no provider
    request = encode_metrics(reader.get_metrics_data())
    meters.shutdown()
    for point in request.resource_metrics[0].scope_metrics[0].metrics[0].histogram.data_points:
        if any(item.value.string_value == "gpt-4.1" for item in point.attributes):
            point.sum = -5  # what the SDK refuses to record, a hostile exporter can still send
    body = request.SerializeToString()
    with receiver(engine, database_url, tmp_path) as cg:
        answer = httpx.post(f"{cg.url}/v1/metrics", content=body,
                            headers={"content-type": "application/x-protobuf"}, timeout=10)
        partial = ExportMetricsServiceResponse.FromString(answer.content).partial_success
        assert (answer.status_code, partial.rejected_data_points) == (200, 2)
        assert "-5 is outside 0.." in partial.error_message and "names no provider" in partial.error_message
        (event,) = cg.events()
        assert (event["model"], event["input_tokens"], event["output_tokens"], event["requests"]) == (
            "gpt-4o-mini", 120, 30, 1)


def test_a_series_running_before_the_server_started_counts_from_its_second_point(
        engine: Engine, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from creditgauge.capture import otlp_metrics

    with receiver(engine, database_url, tmp_path) as cg:
        with exporting_metrics(cg.url, "long-runner") as meters, instrumented(TracerProvider(), meters):
            client = openai.OpenAI(base_url=f"{cg.upstream.url}/v1", api_key=OPENAI_KEY)
            _ask(client, "before the restart")
            # the server "restarts" now: what the series counted so far may be stored by the earlier run
            monkeypatch.setattr(otlp_metrics, "PROCESS_STARTED", time.time_ns())
            assert meters.force_flush(10_000)
            _ask(client, "after it")
            assert meters.force_flush(10_000)
        (row,) = cg.usage()["rows"]
        after = cg.upstream.sent[1]
        assert (row["requests"], row["input_tokens"], row["output_tokens"]) == (1, after.prompt, after.completion)
