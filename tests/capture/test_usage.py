"""Usage extraction from the contract examples (tests/capture/contracts, copies of provider-apis/examples), as JSON
bodies and as streams fed in arbitrary pieces, in the project's token convention."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from pathlib import Path

import pytest

from creditgauge.capture.stream import StreamTracker, body_usage
from creditgauge.capture.usage import usage_from_body

CONTRACTS = Path(__file__).parent / "contracts"


def example(name: str) -> bytes:
    return (CONTRACTS / name).read_bytes()


def sse(*events: dict | str) -> bytes:
    return b"".join(f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n".encode() for e in events)


def test_openai_chat_completion_counts_cached_tokens_inside_input() -> None:
    usage = body_usage("chat", example("openai_chat_completion.json"))
    assert usage is not None
    assert (usage.input_tokens, usage.cached_input_tokens, usage.output_tokens, usage.reasoning_tokens) == \
        (1534, 1280, 212, 0)
    assert usage.model == "gpt-4.1-2025-04-14"
    assert usage.request_id == "chatcmpl-C4kP2mXq9Lr7Tb1Vn8Zw"
    assert usage.service_tier == "default"
    assert usage.provider_cost is None


def test_responses_api_usage() -> None:
    event = json.loads(example("openai_responses_completed_event.json"))
    usage = usage_from_body("responses", event["response"])
    assert usage is not None
    assert (usage.input_tokens, usage.cached_input_tokens, usage.cache_write_tokens, usage.output_tokens) == \
        (5120, 4096, 0, 388)


def test_anthropic_input_includes_cache_reads_and_writes() -> None:
    usage = body_usage("anthropic", example("anthropic_message.json"))
    assert usage is not None
    assert usage.input_tokens == 212 + 1800 + 12400
    assert (usage.cached_input_tokens, usage.cache_write_tokens, usage.output_tokens) == (12400, 1800, 96)
    assert usage.model == "claude-sonnet-4-5-20250929"
    assert usage.extra == {}  # no 1h writes, no web searches in the example


def test_anthropic_one_hour_cache_writes_and_web_searches_are_kept_for_pricing() -> None:
    body = json.loads(example("anthropic_message.json"))
    body["usage"]["cache_creation"] = {"ephemeral_5m_input_tokens": 800, "ephemeral_1h_input_tokens": 1000}
    body["usage"]["server_tool_use"] = {"web_search_requests": 3, "web_fetch_requests": 0}
    usage = usage_from_body("anthropic", body)
    assert usage is not None
    assert usage.extra == {"cache_write_1h_tokens": 1000}
    assert usage.tool_calls == {"web_search": 3}


def test_gemini_thoughts_are_output_and_prompt_includes_cache() -> None:
    usage = body_usage("gemini", example("gemini_generate_content.json"))
    assert usage is not None
    assert (usage.input_tokens, usage.cached_input_tokens) == (14210, 12288)
    assert (usage.output_tokens, usage.reasoning_tokens) == (212 + 996, 996)
    assert usage.model == "gemini-2.5-flash"


def test_openrouter_reported_cost_is_exact() -> None:
    usage = body_usage("chat", example("openrouter_chat_usage.json"))
    assert usage is not None
    assert usage.provider_cost == Decimal("0.007782")
    assert isinstance(usage.provider_cost, Decimal)


def test_groq_usage_in_body_and_in_x_groq() -> None:
    usage = body_usage("chat", example("groq_chat_completion.json"))
    assert usage is not None and (usage.input_tokens, usage.cached_input_tokens) == (1534, 1024)
    final = json.loads(example("groq_stream_final_chunk.json"))
    tracker = StreamTracker("chat")
    tracker.feed(sse(final, "[DONE]"))
    assert tracker.usage is not None
    assert (tracker.usage.input_tokens, tracker.usage.output_tokens, tracker.usage.reasoning_tokens) == \
        (980, 640, 402)
    assert tracker.done


def test_deepseek_cache_hits_count_as_cached_input() -> None:
    body = {"id": "x", "model": "deepseek-chat", "usage": {
        "prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110,
        "prompt_cache_hit_tokens": 64, "prompt_cache_miss_tokens": 36}}
    usage = usage_from_body("chat", body)
    assert usage is not None and usage.cached_input_tokens == 64


def test_embeddings_usage() -> None:
    usage = usage_from_body("embeddings", {"object": "list", "data": [], "model": "text-embedding-3-small",
                                           "usage": {"prompt_tokens": 8, "total_tokens": 8}})
    assert usage is not None and (usage.input_tokens, usage.output_tokens) == (8, 0)


@pytest.mark.parametrize("size", [1, 7, 64, 100_000])
def test_openai_stream_usage_chunk_whatever_the_chunking(size: int) -> None:
    data = example("openai_chat_completion_stream_include_usage.sse")
    tracker = StreamTracker("chat")
    for offset in range(0, len(data), size):
        tracker.feed(data[offset:offset + size])
    tracker.close()
    assert tracker.done
    assert tracker.usage is not None
    assert (tracker.usage.input_tokens, tracker.usage.output_tokens) == (19, 2)
    assert tracker.usage.model == "gpt-4.1-mini-2025-04-14"


@pytest.mark.parametrize("size", [1, 13, 100_000])
def test_anthropic_stream_takes_the_last_cumulative_message_delta(size: int) -> None:
    data = example("anthropic_messages_stream.sse").replace(b"\n", b"\r\n")  # CRLF framing is legal SSE too
    tracker = StreamTracker("anthropic")
    for offset in range(0, len(data), size):
        tracker.feed(data[offset:offset + size])
    assert tracker.done
    assert tracker.usage is not None
    assert tracker.usage.input_tokens == 212 + 1800 + 12400
    assert tracker.usage.output_tokens == 96  # the cumulative figure, not 1 + 96
    assert tracker.usage.request_id == "msg_01XFDUDYJgAACzvnptvVoYEL"


def test_anthropic_stream_cut_after_message_start_keeps_the_input_side() -> None:
    data = example("anthropic_messages_stream.sse")
    tracker = StreamTracker("anthropic")
    tracker.feed(data[: data.index(b"event: content_block_delta")])
    assert not tracker.done
    assert tracker.usage is not None
    assert (tracker.usage.input_tokens, tracker.usage.output_tokens) == (14412, 1)


def test_responses_stream_reads_the_completed_event() -> None:
    completed = json.loads(example("openai_responses_completed_event.json"))
    data = (b"event: response.created\n" + sse({"type": "response.created", "response": {"usage": None}})
            + b"event: response.completed\n" + sse(completed))
    tracker = StreamTracker("responses")
    tracker.feed(data)
    assert tracker.done
    assert tracker.usage is not None and tracker.usage.input_tokens == 5120


def test_gemini_sse_takes_the_last_running_usage() -> None:
    body = json.loads(example("gemini_generate_content.json"))
    early = {**body, "usageMetadata": {"promptTokenCount": 14210, "candidatesTokenCount": 3}}
    tracker = StreamTracker("gemini")
    tracker.feed(sse(early, body))
    tracker.close()
    assert tracker.usage is not None and tracker.usage.output_tokens == 212 + 996


def test_gemini_json_array_stream() -> None:
    body = json.loads(example("gemini_generate_content.json"))
    data = json.dumps([{**body, "usageMetadata": {"promptTokenCount": 1}}, body]).encode()
    tracker = StreamTracker("gemini", sse=False)
    tracker.feed(data[:10])
    tracker.feed(data[10:])
    tracker.close()
    assert tracker.usage is not None and tracker.usage.input_tokens == 14210


def test_gzip_compressed_stream_is_read() -> None:
    data = gzip.compress(example("openai_chat_completion_stream_include_usage.sse"))
    tracker = StreamTracker("chat", content_encoding="gzip")
    for offset in range(0, len(data), 50):
        tracker.feed(data[offset:offset + 50])
    tracker.close()
    assert tracker.usage is not None and tracker.usage.input_tokens == 19
    assert body_usage("chat", gzip.compress(example("openai_chat_completion.json")), "gzip") is not None


def test_unknown_encoding_is_not_read() -> None:
    tracker = StreamTracker("chat", content_encoding="br")
    tracker.feed(example("openai_chat_completion_stream_include_usage.sse"))
    assert not tracker.readable and tracker.usage is None
    assert body_usage("chat", example("openai_chat_completion.json"), "br") is None


def test_malformed_event_is_skipped_and_unknown_fields_accepted() -> None:
    chunk = json.loads(example("openai_chat_completion_stream_usage_chunk.json"))
    chunk["usage"]["brand_new_counter"] = 5
    chunk["new_top_level"] = {"x": 1}
    tracker = StreamTracker("chat")
    tracker.feed(b'data: {"usage": {not json\n\n' + sse(chunk, "[DONE]"))
    assert tracker.usage is not None and tracker.usage.reasoning_tokens == 1216


def test_bodies_without_usage() -> None:
    assert body_usage("chat", b'{"id": "x", "choices": []}') is None
    assert body_usage("chat", b"not json at all") is None
    assert body_usage("anthropic", b"[1, 2]") is None
    tracker = StreamTracker("chat")
    tracker.feed(sse({"choices": [], "usage": None}, "[DONE]"))
    assert tracker.usage is None and tracker.done


@pytest.mark.parametrize("cost", ["0.00014", "0.000029999999999999997", "0.1234567890123456789012", "12"])
def test_a_reported_cost_is_read_exactly_whatever_its_digits(cost: str) -> None:
    """Bodies are parsed fast first; a fractional cost is then read again with exact Decimals, never via float."""
    body = json.loads(example("openrouter_chat_usage.json"))
    text = json.dumps(body).replace('"cost": 0.007782', f'"cost": {cost}').encode()
    assert f'"cost": {cost}'.encode() in text
    usage = body_usage("chat", text)
    assert usage is not None and usage.provider_cost == Decimal(cost) and "unreadable_cost" not in usage.extra


def test_bodies_in_other_unicode_encodings_and_unreadable_costs() -> None:
    """UTF-16 JSON is valid JSON (RFC 8259 allows reading it) though rare; a cost that is not a number stays
    unreadable and unpriced by the provider."""
    utf16 = example("openai_chat_completion.json").decode().encode("utf-16")
    assert body_usage("chat", utf16) == body_usage("chat", example("openai_chat_completion.json"))
    usage = body_usage("chat", b'{"model": "m", "usage": {"prompt_tokens": 3, "cost": "about a cent"}}')
    assert usage is not None and usage.provider_cost is None and usage.extra == {"unreadable_cost": "about a cent"}


# -- usage shapes of today ---------------------------------------------------------------------------------------

ITERATIONS = [
    {"type": "compaction", "input_tokens": 100, "cache_read_input_tokens": 55096, "cache_creation_input_tokens": 0,
     "output_tokens": 83},
    {"type": "message", "input_tokens": 181, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0,
     "output_tokens": 8, "cache_creation": {"ephemeral_1h_input_tokens": 0}},
]


def test_anthropic_iterations_are_summed_whatever_the_top_level_says() -> None:
    body = {"id": "msg_1", "model": "claude-sonnet-4-6", "usage": {
        "input_tokens": 181, "cache_read_input_tokens": 0, "output_tokens": 8, "iterations": ITERATIONS}}
    usage = usage_from_body("anthropic", body)
    assert usage is not None
    assert (usage.input_tokens, usage.cached_input_tokens, usage.output_tokens) == (55_377, 55_096, 91)


def test_anthropic_iterations_sent_with_message_start_survive_a_delta_without_them() -> None:
    start = {"type": "message_start", "message": {"id": "msg_2", "model": "claude-sonnet-4-6", "usage": {
        "input_tokens": 181, "output_tokens": 1, "iterations": ITERATIONS}}}
    delta = {"type": "message_delta", "delta": {}, "usage": {"output_tokens": 8, "cache_read_input_tokens": 0}}
    tracker = StreamTracker("anthropic")
    tracker.feed(sse(start, delta, {"type": "message_stop"}))
    assert tracker.done and tracker.usage is not None
    assert (tracker.usage.input_tokens, tracker.usage.cached_input_tokens, tracker.usage.output_tokens) == \
        (55_377, 55_096, 91)


def test_responses_tool_calls_count_code_interpreter_per_container() -> None:
    output = [{"type": "web_search_call", "id": "ws_1"}, {"type": "web_search_call", "id": "ws_2"},
              {"type": "code_interpreter_call", "id": "ci_1", "container_id": "cntr_a"},
              {"type": "code_interpreter_call", "id": "ci_2", "container_id": "cntr_a"},
              {"type": "file_search_call", "id": "fs_1"}, {"type": "image_generation_call", "id": "ig_1"},
              {"type": "message", "id": "msg_1"}, "not an item"]
    usage = usage_from_body("responses", {"id": "resp_1", "status": "completed", "output": output,
                                          "usage": {"input_tokens": 1, "output_tokens": 1}})
    assert usage is not None
    assert usage.tool_calls == {"web_search": 2, "code_interpreter": 1, "file_search": 1, "image_generation": 1}


def test_a_background_response_still_running_is_pending_not_missing() -> None:
    usage = usage_from_body("responses", {"id": "resp_2", "status": "queued", "background": True, "usage": None})
    assert usage is not None and usage.pending and usage.request_id == "resp_2"
    assert usage_from_body("responses", {"id": "resp_3", "status": "failed", "usage": None}) is None
    created = {"type": "response.created", "response": {"id": "resp_4", "status": "queued", "background": True}}
    tracker = StreamTracker("responses")
    tracker.feed(b"event: response.created\n" + sse(created))
    tracker.close()  # the stream broke off before response.completed
    assert tracker.usage is not None and tracker.usage.pending and not tracker.done


def test_batch_results_read_each_answer_and_skip_what_is_not_one() -> None:
    line = {"id": "batch_req_1", "custom_id": "a", "response": {"status_code": 200, "body": {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1796000000, "model": "gpt-4o-mini",
        "usage": {"prompt_tokens": 10, "completion_tokens": 2}}}}
    failed = {"id": "batch_req_2", "custom_id": "b", "response": None, "error": {"code": "server_error"}}
    data = json.dumps(line).encode() + b"\n{not json\n" + json.dumps(failed).encode() + b"\n"
    usage = body_usage("batch", data)
    assert usage is not None and len(usage.parts) == 1
    part = usage.parts[0]
    assert (part.request_id, part.input_tokens, part.output_tokens, part.processing) == ("chatcmpl-1", 10, 2, "batch")
    assert part.at is not None and int(part.at.timestamp()) == 1796000000
    assert body_usage("batch", b"just a text file\n") is None
