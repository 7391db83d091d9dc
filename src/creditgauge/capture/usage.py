"""Read the usage object of one inference response, whatever the API flavour, into the project's token convention:
input counts every input token (cache reads and writes included), output includes reasoning.

Contracts: provider-apis README §1.7 (OpenAI chat/completions/embeddings/Responses), §2.6 (Anthropic messages),
§4 (Groq `x_groq.usage`), §5.1 (Gemini usageMetadata), §6.1 (OpenRouter `usage.cost`). Parsers are tolerant:
missing optional fields count 0, unknown fields are ignored, a body without usage yields None.

Beyond tokens, a call may be billed per tool call (`tool_calls`, priced by pricing.py as their own line items):
OpenAI Responses output items (`web_search_call`, `file_search_call`, `code_interpreter_call` per container,
`image_generation_call`) and Anthropic server tools (`server_tool_use.web_search_requests`, code execution).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
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
    processing: str | None = None  # "batch" when the provider ran it as a batch job (batch prices apply)
    tool_calls: dict[str, int] = field(default_factory=dict)  # billed tool calls by fee name (see TOOL_ITEMS)
    pending: bool = False  # a background Responses answer still running: its usage comes with a later poll
    at: datetime | None = None  # when the provider ran it, where that differs from when the proxy saw it (batch)
    parts: list[Usage] = field(default_factory=list)  # one answer carrying many billed calls (batch results)
    extra: dict[str, Any] = field(default_factory=dict)


# Responses output item type -> the fee it is billed under. Code interpreter bills per container, not per call.
TOOL_ITEMS = {
    "web_search_call": "web_search",
    "file_search_call": "file_search",
    "code_interpreter_call": "code_interpreter",
    "image_generation_call": "image_generation",
}
_PENDING = ("queued", "in_progress")


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
    """A Responses API response object (the JSON body, a streamed response.completed event's `response`, or a
    retrieval with GET /v1/responses/{id}). A background response still queued or running has no usage yet: it
    is `pending` (recorded later, by the poll or the resumed stream that sees it finish)."""
    raw = _dict(response.get("usage"))
    if not raw:
        if response.get("status") in _PENDING and _str(response.get("id")):
            return Usage(model=_str(response.get("model")), request_id=_str(response.get("id")), pending=True)
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
        tool_calls=responses_tool_calls(response.get("output")),
    )


def responses_tool_calls(output: Any) -> dict[str, int]:
    """Billed tool calls among a response's output items; code interpreter counts distinct containers."""
    calls: dict[str, int] = {}
    containers: set[str] = set()
    for item in output if isinstance(output, list) else ():
        fee = TOOL_ITEMS.get(_dict(item).get("type"))  # type: ignore[arg-type]
        if fee == "code_interpreter":
            containers.add(_str(item.get("container_id")) or f"call:{item.get('id')}")
        elif fee:
            calls[fee] = calls.get(fee, 0) + 1
    if containers:
        calls["code_interpreter"] = len(containers)
    return calls


_ANTHROPIC_COUNTS = ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "output_tokens")
# Anthropic server tools billed on top of tokens (web fetch is not: it costs its tokens only).
CODE_EXECUTION_TOOLS = frozenset({"code_execution", "bash_code_execution", "text_editor_code_execution"})


def anthropic_billed(raw: dict[str, Any]) -> dict[str, Any]:
    """The usage to bill. With `iterations` (server-side compaction, advisor and fallback hops, tool loops) the top
    level covers only the final sampling iteration: the billed usage is the sum over every iteration."""
    iterations = [item for item in raw.get("iterations") or () if isinstance(item, dict)]
    if not iterations:
        return raw
    billed = dict(raw)
    for name in _ANTHROPIC_COUNTS:
        billed[name] = sum(_int(item.get(name)) for item in iterations)
    billed["cache_creation"] = {
        "ephemeral_1h_input_tokens": sum(_int(_dict(item.get("cache_creation")).get("ephemeral_1h_input_tokens"))
                                         for item in iterations)}
    return billed


def anthropic_usage(raw: dict[str, Any], *, model: str | None = None, request_id: str | None = None,
                    service_tier: str | None = None) -> Usage:
    """A Messages `usage` object. Anthropic's input_tokens excludes cache reads and writes; ours includes them."""
    billed = anthropic_billed(raw)
    reads = _int(billed.get("cache_read_input_tokens"))
    writes = _int(billed.get("cache_creation_input_tokens"))
    split = _dict(billed.get("cache_creation"))
    details = _dict(raw.get("output_tokens_details"))
    tier = _str(raw.get("service_tier")) or service_tier
    usage = Usage(
        input_tokens=_int(billed.get("input_tokens")) + reads + writes,
        cached_input_tokens=reads,
        cache_write_tokens=writes,
        output_tokens=_int(billed.get("output_tokens")),
        reasoning_tokens=_int(details.get("thinking_tokens")),
        model=model,
        request_id=request_id,
        service_tier=tier,
        processing="batch" if tier == "batch" else None,
    )
    # 1-hour cache writes are priced higher than 5-minute ones; without the split every write counts as 5m (§2.6).
    speed = _str(raw.get("speed"))
    if speed and speed != "standard":  # fast mode has its own prices
        usage.extra["speed"] = speed
    if split.get("ephemeral_1h_input_tokens"):
        usage.extra["cache_write_1h_tokens"] = _int(split.get("ephemeral_1h_input_tokens"))
    searches = _int(_dict(raw.get("server_tool_use")).get("web_search_requests"))
    if searches:
        usage.tool_calls["web_search"] = searches
    return usage


def anthropic_message_usage(message: dict[str, Any]) -> Usage | None:
    raw = _dict(message.get("usage"))
    if not raw:
        return None
    usage = anthropic_usage(raw, model=_str(message.get("model")), request_id=_str(message.get("id")))
    if anthropic_code_execution(message.get("content")) and _dict(message.get("container")):
        usage.tool_calls["code_execution"] = 1  # one container for the request
    return usage


def anthropic_code_execution(content: Any) -> bool:
    """Whether a message's content ran Anthropic's code execution tool (billed by container)."""
    return any(_dict(block).get("type") == "server_tool_use" and block.get("name") in CODE_EXECUTION_TOOLS
               for block in (content if isinstance(content, list) else ()))


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


def batch_results_usage(lines: list[Any]) -> Usage | None:
    """The results of a batch job, one JSON object a line: OpenAI's output file (`response.body` of each line,
    GET /v1/files/{id}/content) or Anthropic's batch results (`result.message`). Each answer is one part, billed
    at batch prices. A file of any other shape yields None (nothing to record)."""
    parts = []
    for line in lines:
        record = _dict(line)
        body = _dict(_dict(record.get("response")).get("body"))
        message = _dict(_dict(record.get("result")).get("message"))
        if body:
            flavor = "responses" if body.get("object") == "response" else "chat"
            part = usage_from_body(flavor, body)
            created = body.get("created") or body.get("created_at")
        elif message:
            part, created = anthropic_message_usage(message), None
        else:
            continue
        if part is None or part.request_id is None:
            continue
        part.processing = "batch"
        if isinstance(created, int) and not isinstance(created, bool):
            part.at = datetime.fromtimestamp(created, UTC)
        parts.append(part)
    return Usage(parts=parts) if parts else None


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
