"""pydantic-ai's own OpenTelemetry instrumentation (what Logfire shows) exporting over OTLP/HTTP to
`creditgauge serve`: each model call is one event with every token measure it reports, OpenAI and Anthropic, plain
and streaming; the agent run span, which repeats its calls' usage as `gen_ai.aggregated_usage.*`, is not counted."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from otlp_support import ANTHROPIC_KEY, OPENAI_KEY, expected_tokens, exporting_traces, receiver, row_tokens
from pydantic_ai import Agent, InstrumentationSettings
from pydantic_ai.models.anthropic import AnthropicModel
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.anthropic import AnthropicProvider
from pydantic_ai.providers.openai import OpenAIProvider
from sqlalchemy import Engine


@pytest.fixture
def uninstrument_agents() -> Iterator[None]:
    yield
    Agent.instrument_all(False)


async def _stream(agent: Agent) -> None:
    async with agent.run_stream("and the refund, streamed?") as run:
        async for _ in run.stream_text():
            pass


def _agents(upstream_url: str) -> dict[str, Agent]:
    return {
        "openai": Agent(OpenAIChatModel("gpt-4o-mini", provider=OpenAIProvider(base_url=f"{upstream_url}/v1",
                                                                               api_key=OPENAI_KEY))),
        "anthropic": Agent(AnthropicModel("claude-sonnet-4-5", provider=AnthropicProvider(base_url=upstream_url,
                                                                                          api_key=ANTHROPIC_KEY))),
    }


# What each provider's answer reports (OpenAI reports no cache writes, Anthropic no reasoning tokens).
MEASURES = {
    "openai": ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_tokens"),
    "anthropic": ("input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens"),
}


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.usefixtures("uninstrument_agents")
def test_pydantic_ai_calls_are_tracked_once(engine: Engine, database_url: str, tmp_path: Path,
                                            provider: str) -> None:
    with receiver(engine, database_url, tmp_path) as cg:
        with exporting_traces(cg.url, "agents") as tracer_provider:
            Agent.instrument_all(InstrumentationSettings(tracer_provider=tracer_provider, version=5))
            agent = _agents(cg.upstream.url)[provider]
            agent.run_sync("where is my order?")
            asyncio.run(_stream(agent))
        (row,) = cg.usage()["rows"]
        assert (row["account"], row["requests"]) == (f"{provider}-main", 2)  # the two calls, not the agent runs
        measures = MEASURES[provider]
        assert row_tokens(row, *measures) == expected_tokens(cg.upstream.sent, *measures)
        assert {event["endpoint"] for event in cg.events()} == {"chat"}
