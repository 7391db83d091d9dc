"""The gen_ai.client.token.usage histogram as a coarser source: the official OpenAI instrumentation's metrics,
exported over OTLP/HTTP, become tracked usage per bucket (cumulative points turned into deltas), and a service
that also sends spans is counted from its spans alone."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import openai
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
