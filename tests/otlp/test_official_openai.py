"""The official OpenTelemetry OpenAI instrumentation (opentelemetry-instrumentation-openai-v2) exporting over
OTLP/HTTP protobuf to `creditgauge serve`: every call the fake upstream answered is one tracked event with its
tokens, plain and streaming."""

from __future__ import annotations

from pathlib import Path

import openai
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from otlp_support import OPENAI_KEY, receiver
from sqlalchemy import Engine


def test_openai_v2_spans_are_tracked_usage(engine: Engine, database_url: str, tmp_path: Path) -> None:
    with receiver(engine, database_url, tmp_path) as cg:
        provider = TracerProvider(resource=Resource.create({"service.name": "support-bot",
                                                            "deployment.environment": "prod"}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{cg.url}/v1/traces")))
        instrumentor = OpenAIInstrumentor()
        instrumentor.instrument(tracer_provider=provider)
        try:
            client = openai.OpenAI(base_url=f"{cg.upstream.url}/v1", api_key=OPENAI_KEY)
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hello"}])
            stream = client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "a longer question, streamed"}],
                max_tokens=40, stream=True, stream_options={"include_usage": True})
            for _ in stream:
                pass
            assert provider.force_flush(10_000)
        finally:
            instrumentor.uninstrument()
            provider.shutdown()
        sent = cg.upstream.sent
        report = cg.usage()
        (row,) = report["rows"]
        assert row["account"] == "openai-main"
        assert row["input_tokens"] == sum(t.prompt for t in sent)
        assert row["output_tokens"] == sum(t.completion for t in sent)
        assert row["requests"] == 2
        events = cg.events()
        assert {event["source"] for event in events} == {"otlp"}
        assert all(event["tags"] == {"service.name": "support-bot", "deployment.environment": "prod"}
                   for event in events)
        assert all(event["cost"] is not None and event["request_id"].startswith("chatcmpl-") for event in events)
