"""The official OpenTelemetry OpenAI instrumentation (opentelemetry-instrumentation-openai-v2) exporting over
OTLP/HTTP protobuf to `creditgauge serve`: every call the fake upstream answered is one tracked event with its
tokens, plain and streaming, gzip or not."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
from otlp_support import OPENAI_KEY, expected_tokens, exporting_traces, receiver, row_tokens
from sqlalchemy import Engine


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
def test_openai_v2_spans_are_tracked_usage(engine: Engine, database_url: str, tmp_path: Path,
                                           compression: Compression) -> None:
    with receiver(engine, database_url, tmp_path) as cg:
        with exporting_traces(cg.url, "support-bot", compression=compression) as provider:
            instrumentor = OpenAIInstrumentor()
            instrumentor.instrument(tracer_provider=provider)
            try:
                client = openai.OpenAI(base_url=f"{cg.upstream.url}/v1", api_key=OPENAI_KEY)
                client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
                stream = client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": "a longer question, streamed"}],
                    max_tokens=40, stream=True, stream_options={"include_usage": True})
                for _ in stream:
                    pass
            finally:
                instrumentor.uninstrument()
        (row,) = cg.usage()["rows"]
        assert row["account"] == "openai-main"
        measures = ("input_tokens", "output_tokens")  # what this instrumentation reports
        assert row_tokens(row, *measures) == expected_tokens(cg.upstream.sent, *measures)
        assert row["requests"] == 2
        events = cg.events()
        assert {event["source"] for event in events} == {"otlp"}
        assert all(event["tags"] == {"service.name": "support-bot", "deployment.environment": "prod"}
                   for event in events)
        assert all(event["cost"] is not None and event["request_id"].startswith("chatcmpl-") for event in events)
