"""OpenLIT's Anthropic spans put Anthropic's own `input_tokens` in `gen_ai.usage.input_tokens`, which leaves out the
cache reads and writes the conventions count in it (openlit 1.45.0, instrumentation/anthropic/utils.py: "Anthropic's
API reports input_tokens exclusive of cache read / creation tokens"). The attribute set below is what openlit 1.45.0
recorded for `anthropic.Anthropic().messages.create` against this project's fake upstream (ConsoleSpanExporter,
2026-12-06), prompt and completion content left out; the token counts are raised to a partly cached prompt, where
"input smaller than its cached parts" does not give the split away (the fake's default split always does)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from otlp_support import receiver, recorded_spans
from sqlalchemy import Engine

UNCACHED, CACHE_READ, CACHE_WRITE = 3000, 2000, 500


def openlit_span(provider: str = "anthropic", **overrides: Any) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "telemetry.sdk.name": "openlit", "gen_ai.operation.name": "chat", "gen_ai.provider.name": provider,
        "server.address": "api.anthropic.com", "server.port": 443, "gen_ai.request.model": "claude-sonnet-4-5",
        "gen_ai.response.model": "claude-sonnet-4-5", "deployment.environment": "default", "service.name": "olit",
        "gen_ai.request.stream": False, "gen_ai.sdk.version": "0.125.0", "gen_ai.request.max_tokens": 100,
        "gen_ai.response.id": "msg_000000000000000000000011", "gen_ai.response.finish_reasons": ("end_turn",),
        "gen_ai.usage.input_tokens": UNCACHED, "gen_ai.usage.output_tokens": 100,
        "gen_ai.client.token.usage": UNCACHED + 100, "gen_ai.usage.cost": 0,
        "gen_ai.usage.cache_read.input_tokens": CACHE_READ, "gen_ai.usage.cache_creation.input_tokens": CACHE_WRITE,
        "openlit.agent.version_hash": "b92f5992d91ba6d2"}
    attributes.update(overrides)
    return {name: value for name, value in attributes.items() if value is not None}


INCLUSIVE = UNCACHED + CACHE_READ + CACHE_WRITE
CASES = {
    # OpenLIT's Anthropic span: the cached parts are added to its input
    "openlit-anthropic": (openlit_span(), INCLUSIVE),
    # the same counts from an instrumentation whose input already counts the cache (no OpenLIT mark): as reported
    "conventions": (openlit_span(**{"telemetry.sdk.name": None, "gen_ai.usage.input_tokens": INCLUSIVE}),
                    INCLUSIVE),
    # OpenLIT for OpenAI, whose prompt tokens include the cached ones: as reported
    "openlit-openai": (openlit_span("openai", **{
        "server.address": "api.openai.com", "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini", "gen_ai.response.id": "chatcmpl-1",
        "gen_ai.usage.cache_creation.input_tokens": None}), UNCACHED),
}


@pytest.mark.parametrize("case", list(CASES))
def test_input_counts_the_cache_whoever_reported_it(engine: Engine, database_url: str, tmp_path: Path,
                                                     case: str) -> None:
    span, expected_input = CASES[case]
    with receiver(engine, database_url, tmp_path) as cg:
        answer = httpx.post(f"{cg.url}/v1/traces", content=recorded_spans(span).SerializeToString(),
                            headers={"content-type": "application/x-protobuf"}, timeout=10)
        assert answer.status_code == 200, answer.text
        [event] = cg.events()
    assert event["input_tokens"] == expected_input
    assert event["cached_input_tokens"] == CACHE_READ
    assert event["cost"] is not None
