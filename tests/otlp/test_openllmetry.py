"""OpenLLMetry's instrumentations (traceloop's opentelemetry-instrumentation-openai and -anthropic) exporting over
OTLP/HTTP to `creditgauge serve`: tracked usage equals what the fake upstream answered, OpenAI and Anthropic,
plain and streaming."""

from __future__ import annotations

from pathlib import Path

import anthropic
import openai
import pytest
from opentelemetry.instrumentation.anthropic import AnthropicInstrumentor
from opentelemetry.instrumentation.openai import OpenAIInstrumentor
from otlp_support import ANTHROPIC_KEY, OPENAI_KEY, expected_tokens, exporting_traces, receiver, row_tokens
from sqlalchemy import Engine

QUESTION = [{"role": "user", "content": "where is my order?"}]


def test_openllmetry_openai_plain_and_streaming(engine: Engine, database_url: str, tmp_path: Path) -> None:
    with receiver(engine, database_url, tmp_path) as cg:
        with exporting_traces(cg.url, "checkout") as provider:
            instrumentor = OpenAIInstrumentor()
            instrumentor.instrument(tracer_provider=provider)
            try:
                client = openai.OpenAI(base_url=f"{cg.upstream.url}/v1", api_key=OPENAI_KEY)
                client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION)
                for _ in client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION, max_tokens=30,
                                                        stream=True, stream_options={"include_usage": True}):
                    pass
            finally:
                instrumentor.uninstrument()
        (row,) = cg.usage()["rows"]
        measures = ("input_tokens", "cached_input_tokens", "output_tokens")
        assert (row["account"], row["requests"]) == ("openai-main", 2)
        assert row_tokens(row, *measures) == expected_tokens(cg.upstream.sent, *measures)


def _anthropic_calls(cg_url: str, upstream_url: str, *, streaming: bool) -> None:
    with exporting_traces(cg_url, "checkout") as provider:
        instrumentor = AnthropicInstrumentor()
        instrumentor.instrument(tracer_provider=provider)
        try:
            client = anthropic.Anthropic(base_url=upstream_url, api_key=ANTHROPIC_KEY)
            if streaming:
                with client.messages.stream(model="claude-sonnet-4-5", max_tokens=60, messages=QUESTION) as stream:
                    for _ in stream.text_stream:
                        pass
            else:
                client.messages.create(model="claude-sonnet-4-5", max_tokens=50, messages=QUESTION)
        finally:
            instrumentor.uninstrument()


@pytest.mark.parametrize("streaming", [
    False,
    pytest.param(True, marks=pytest.mark.xfail(strict=True, reason=(
        "opentelemetry-instrumentation-anthropic 0.62.4 adds message_start's output_tokens (1) to "
        "message_delta's, which is already the total: the span reports one output token too many"))),
])
def test_openllmetry_anthropic(engine: Engine, database_url: str, tmp_path: Path, streaming: bool) -> None:
    with receiver(engine, database_url, tmp_path) as cg:
        _anthropic_calls(cg.url, cg.upstream.url, streaming=streaming)
        (row,) = cg.usage()["rows"]
        measures = ("input_tokens", "cached_input_tokens", "cache_write_tokens")
        assert (row["account"], row["requests"]) == ("anthropic-main", 1)
        assert row_tokens(row, *measures) == expected_tokens(cg.upstream.sent, *measures)
        assert row["output_tokens"] == expected_tokens(cg.upstream.sent, "output_tokens")["output_tokens"]
