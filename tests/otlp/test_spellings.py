"""Every token spelling the instrumentations send, read into creditgauge's measures (input includes cache reads
and writes, output includes reasoning), with the provider and operation rules."""

from __future__ import annotations

import pytest

from creditgauge.capture.genai_attributes import TOKEN_SPELLINGS, operation_name, provider_name
from creditgauge.capture.otlp import anthropic_usage, usage_counts
from creditgauge.limits import InvalidValue

ZERO = {"input_tokens": 0, "cached_input_tokens": 0, "cache_write_tokens": 0, "output_tokens": 0,
        "reasoning_tokens": 0}


@pytest.mark.parametrize(("measure", "spelling"), [
    (measure, spelling) for measure, spellings in TOKEN_SPELLINGS.items() for spelling in spellings])
def test_each_spelling_is_read_as_its_measure(measure: str, spelling: str) -> None:
    base = {"gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 500}
    if measure in ("input_tokens", "output_tokens"):
        base = {"gen_ai.usage.output_tokens" if measure == "input_tokens" else "gen_ai.usage.input_tokens": 1000}
    counts = usage_counts({**base, spelling: 40})
    assert counts is not None and counts[measure] == 40


@pytest.mark.parametrize(("attributes", "expected"), [
    # the conventions: input already includes the cached parts, output the reasoning
    ({"gen_ai.usage.input_tokens": 100, "gen_ai.usage.cache_read.input_tokens": 60,
      "gen_ai.usage.cache_creation.input_tokens": 10, "gen_ai.usage.output_tokens": 50,
      "gen_ai.usage.reasoning.output_tokens": 20},
     {"input_tokens": 100, "cached_input_tokens": 60, "cache_write_tokens": 10, "output_tokens": 50,
      "reasoning_tokens": 20}),
    # Anthropic's own split (input without the cache): the cached parts are added
    ({"gen_ai.usage.input_tokens": 5, "gen_ai.usage.cache_read_input_tokens": 60,
      "gen_ai.usage.cache_creation_input_tokens": 10, "gen_ai.usage.output_tokens": 50},
     {"input_tokens": 75, "cached_input_tokens": 60, "cache_write_tokens": 10, "output_tokens": 50}),
    # reasoning reported apart from the visible output: added to it
    ({"gen_ai.usage.prompt_tokens": 9, "gen_ai.usage.completion_tokens": 3, "gen_ai.usage.reasoning_tokens": 7},
     {"input_tokens": 9, "output_tokens": 10, "reasoning_tokens": 7}),
    # the current spelling wins over an older one on the same span
    ({"gen_ai.usage.input_tokens": 11, "gen_ai.usage.prompt_tokens": 99, "gen_ai.usage.output_tokens": 2},
     {"input_tokens": 11, "output_tokens": 2}),
    # protobuf doubles holding whole numbers are counts too
    ({"gen_ai.usage.input_tokens": 12.0, "gen_ai.usage.output_tokens": 3},
     {"input_tokens": 12, "output_tokens": 3}),
])
def test_counts_follow_the_token_convention(attributes: dict[str, object], expected: dict[str, int]) -> None:
    assert usage_counts(attributes) == {**ZERO, **expected}


def test_a_span_without_usage_is_no_event_and_bad_counts_are_refused() -> None:
    assert usage_counts({"gen_ai.request.model": "gpt-4o"}) is None
    for bad in (-1, "12", 1.5, True, 10**13):
        with pytest.raises(InvalidValue, match=r"gen_ai\.usage\.input_tokens"):
            usage_counts({"gen_ai.usage.input_tokens": bad})


@pytest.mark.parametrize(("attributes", "provider"), [
    ({"gen_ai.provider.name": "openai"}, "openai"),
    ({"gen_ai.system": "Anthropic"}, "anthropic"),
    ({"gen_ai.provider.name": "x_ai"}, "xai"),
    ({"gen_ai.provider.name": "gcp.gemini"}, "gemini"),
    ({"gen_ai.system": "openai", "server.address": "openrouter.ai"}, "openrouter"),  # the host bills
    ({"server.address": "api.groq.com"}, "groq"),
    ({"gen_ai.provider.name": "acme-llm"}, "acme-llm"),
    # the Vercel AI SDK's `<provider>.<api>`, in gen_ai.system and ai.model.provider (its embedding spans)
    ({"gen_ai.system": "openai.responses"}, "openai"),
    ({"ai.model.provider": "anthropic.messages"}, "anthropic"),
    ({"gen_ai.system": "google.generative-ai"}, "gemini"),
    ({"gen_ai.system": "aws.bedrock"}, "aws.bedrock"),  # no provider of that first part: kept as sent
    ({}, None),
])
def test_the_provider_is_read_from_the_host_then_the_name(attributes: dict[str, object], provider: str) -> None:
    assert provider_name(attributes) == provider


def test_the_operation_comes_from_the_conventions_or_openllmetry_or_the_vercel_ai_sdk() -> None:
    assert operation_name({"gen_ai.operation.name": "chat"}) == "chat"
    assert operation_name({"llm.request.type": "completion"}) == "completion"
    assert operation_name({"ai.operationId": "ai.streamText.doStream"}) == "chat"
    assert operation_name({"ai.operationId": "ai.embedMany.doEmbed"}) == "embeddings"
    # the AI SDK's spans around its provider calls repeat their usage: not model calls
    assert operation_name({"ai.operationId": "ai.generateText"}) is None
    assert operation_name({"ai.operationId": "ai.toolCall"}) is None
    assert operation_name({}) is None


def test_anthropic_usage_from_the_ai_sdk_provider_metadata() -> None:
    """AI SDK 5's Anthropic span: input is Anthropic's uncached count, the cache parts only in the metadata."""
    metadata = ('{"anthropic":{"usage":{"input_tokens":10,"output_tokens":400,"cache_creation_input_tokens":3,'
                '"cache_read_input_tokens":12},"cacheCreationInputTokens":3}}')
    span = {"gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 400,
            "ai.response.providerMetadata": metadata}
    assert usage_counts(span, provider_usage=anthropic_usage(span)) == {
        **ZERO, "input_tokens": 25, "cached_input_tokens": 12, "cache_write_tokens": 3, "output_tokens": 400}
    # AI SDK 6 reports the whole input and the parts itself: taken as it says
    whole = {**span, "gen_ai.usage.input_tokens": 25, "ai.usage.inputTokenDetails.cacheReadTokens": 12,
             "ai.usage.inputTokenDetails.cacheWriteTokens": 3}
    assert usage_counts(whole, provider_usage=anthropic_usage(whole))["input_tokens"] == 25  # type: ignore[index]
    for unusable in ("not json", '{"anthropic": []}', '["anthropic"]', '{"anthropic":{"usage":7}}',
                     '{"anthropic":' + " " * 70_000 + "{}}", 12):
        assert anthropic_usage({"ai.response.providerMetadata": unusable}) is None
    with pytest.raises(InvalidValue, match="cache_read_input_tokens"):
        usage_counts(span, provider_usage={"input_tokens": 10, "cache_read_input_tokens": -1})
