"""Read the usage object of one inference response, whatever the API flavour, into the project's token convention:
input counts every input token (cache reads and writes included), output includes reasoning.

Contracts: provider-apis README §1.7 (OpenAI chat/completions/embeddings/Responses), §2.6 (Anthropic messages),
§4 (Groq `x_groq.usage`), §5.1 (Gemini usageMetadata), §6.1 (OpenRouter `usage.cost`). Parsers are tolerant:
missing optional fields count 0, unknown fields are ignored, a body without usage yields None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from creditgauge.domain import to_decimal

INEXACT_COST = "unreadable_cost"  # in Usage.extra: a reported cost that was not an exact decimal number


@dataclass(slots=True)
class Usage:
    input_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    model: str | None = None
    request_id: str | None = None
    provider_cost: Decimal | None = None  # what the provider says the request cost (OpenRouter), in USD
    service_tier: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _int(value: Any) -> int:
    if isinstance(value, bool) or value is None:
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal | float) and value == int(value):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():  # proto3 JSON sends int64 as a string
        return int(value)
    return 0


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def openai_usage(body: dict[str, Any]) -> Usage | None:
    """Chat completions, completions and embeddings (OpenAI and every OpenAI-compatible provider).
    Groq streams put the whole-request usage in `x_groq.usage`, read first (§4)."""
    raw = _dict(_dict(body.get("x_groq")).get("usage")) or _dict(body.get("usage"))
    if not raw:
        return None
    prompt = _dict(raw.get("prompt_tokens_details"))
    completion = _dict(raw.get("completion_tokens_details"))
    # DeepSeek reports its cache hits as prompt_cache_hit_tokens instead of cached_tokens.
    cached = _int(prompt.get("cached_tokens")) or _int(raw.get("prompt_cache_hit_tokens"))
    usage = Usage(
        input_tokens=_int(raw.get("prompt_tokens")),
        cached_input_tokens=cached,
        cache_write_tokens=_int(prompt.get("cache_write_tokens")),
        output_tokens=_int(raw.get("completion_tokens")),
        reasoning_tokens=_int(completion.get("reasoning_tokens")),
        model=_str(body.get("model")),
        request_id=_str(body.get("id")),
        service_tier=_str(body.get("service_tier")),
    )
    cost = raw.get("cost")
    if cost is not None and not isinstance(cost, bool):
        try:
            usage.provider_cost = to_decimal(cost, what="usage.cost")
        except (TypeError, ValueError):
            usage.extra[INEXACT_COST] = str(cost)
    return usage


def responses_usage(response: dict[str, Any]) -> Usage | None:
    """A Responses API response object (the JSON body, or `response` of a response.completed event)."""
    raw = _dict(response.get("usage"))
    if not raw:
        return None
    details_in = _dict(raw.get("input_tokens_details"))
    details_out = _dict(raw.get("output_tokens_details"))
    return Usage(
        input_tokens=_int(raw.get("input_tokens")),
        cached_input_tokens=_int(details_in.get("cached_tokens")),
        cache_write_tokens=_int(details_in.get("cache_write_tokens")),
        output_tokens=_int(raw.get("output_tokens")),
        reasoning_tokens=_int(details_out.get("reasoning_tokens")),
        model=_str(response.get("model")),
        request_id=_str(response.get("id")),
        service_tier=_str(response.get("service_tier")),
    )


def anthropic_usage(raw: dict[str, Any], *, model: str | None = None, request_id: str | None = None,
                    service_tier: str | None = None) -> Usage:
    """A Messages `usage` object. Anthropic's input_tokens excludes cache reads and writes; ours includes them."""
    reads = _int(raw.get("cache_read_input_tokens"))
    writes = _int(raw.get("cache_creation_input_tokens"))
    split = _dict(raw.get("cache_creation"))
    details = _dict(raw.get("output_tokens_details"))
    usage = Usage(
        input_tokens=_int(raw.get("input_tokens")) + reads + writes,
        cached_input_tokens=reads,
        cache_write_tokens=writes,
        output_tokens=_int(raw.get("output_tokens")),
        reasoning_tokens=_int(details.get("thinking_tokens")),
        model=model,
        request_id=request_id,
        service_tier=_str(raw.get("service_tier")) or service_tier,
    )
    # 1-hour cache writes are priced higher than 5-minute ones; without the split every write counts as 5m (§2.6).
    if split.get("ephemeral_1h_input_tokens"):
        usage.extra["cache_write_1h_tokens"] = _int(split.get("ephemeral_1h_input_tokens"))
    searches = _int(_dict(raw.get("server_tool_use")).get("web_search_requests"))
    if searches:
        usage.extra["web_search_requests"] = searches
    return usage


def anthropic_message_usage(message: dict[str, Any]) -> Usage | None:
    raw = _dict(message.get("usage"))
    if not raw:
        return None
    return anthropic_usage(raw, model=_str(message.get("model")), request_id=_str(message.get("id")))


def gemini_usage(body: dict[str, Any]) -> Usage | None:
    """generateContent usageMetadata: promptTokenCount includes cached tokens; thoughts are billed as output (§5.1)."""
    raw = _dict(body.get("usageMetadata"))
    if not raw:
        return None
    thoughts = _int(raw.get("thoughtsTokenCount"))
    return Usage(
        input_tokens=_int(raw.get("promptTokenCount")) + _int(raw.get("toolUsePromptTokenCount")),
        cached_input_tokens=_int(raw.get("cachedContentTokenCount")),
        output_tokens=_int(raw.get("candidatesTokenCount")) + thoughts,
        reasoning_tokens=thoughts,
        model=_str(body.get("modelVersion")),
        request_id=_str(body.get("responseId")),
    )


def usage_from_body(flavor: str, body: Any) -> Usage | None:
    """Usage from a whole JSON response body of the given API flavour (see capture.endpoints)."""
    if isinstance(body, list):  # Gemini's non-SSE stream is a JSON array of responses; usage is cumulative
        found = [u for u in (usage_from_body(flavor, item) for item in body) if u is not None]
        return found[-1] if found else None
    if not isinstance(body, dict):
        return None
    if flavor == "responses":
        return responses_usage(body)
    if flavor == "anthropic":
        return anthropic_message_usage(body)
    if flavor == "gemini":
        return gemini_usage(body)
    return openai_usage(body)
