"""Usage shapes beyond one request, one answer, through the real proxy with the official SDKs: batch results
recorded one event per answer at batch prices (and once, however often the file is downloaded), a tool fee with
no known price leaving the call unpriced (never $0) until `[accounts.X.fees]` prices it, a background response
recorded when its usage appears (not at creation, not when its stream breaks off), and an Anthropic delta that
does not erase what message_start reported."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import anthropic
import genai_prices
import httpx
import openai
import pytest
from replay_support import SDK_BASE, Replay, replaying
from sqlalchemy import Engine

import creditgauge

KEY = "sk-shapes-0123456789abcdef"
IMAGE_FEE = Decimal("0.04")
JSON = "application/json"
SSE = "text/event-stream; charset=utf-8"


@pytest.fixture
def replay(engine: Engine, tmp_path: Path) -> Iterator[Replay]:
    with replaying(engine, tmp_path, {"anthropic-corpus": {"code_execution": "0.05"}}) as stack:
        yield stack


def openai_client(replay: Replay) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{replay.proxy_url}/openai-corpus{SDK_BASE['openai']}", api_key=KEY,
                         max_retries=0)


def jsonl(*lines: dict) -> bytes:
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def chat_line(n: int, prompt: int, completion: int) -> dict:
    """One line of an OpenAI batch output file (the shape of platform docs' "Batch API" guide)."""
    return {"id": f"batch_req_{n}", "custom_id": f"request-{n}", "error": None, "response": {
        "status_code": 200, "request_id": f"req_{n}", "body": {
            # created 2026-11-29: after the catalogue's batch prices start
            "id": f"chatcmpl-batch{n}", "object": "chat.completion", "created": 1796000000 + n,
            "model": "gpt-4o-mini-2024-07-18", "service_tier": "default",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
                      "prompt_tokens_details": {"cached_tokens": 0}}}}}


def test_openai_batch_output_is_one_event_per_answer_at_batch_prices_stored_once(replay: Replay) -> None:
    output = jsonl(chat_line(1, 1200, 80), chat_line(2, 900, 40))
    client = openai_client(replay)
    for _ in range(2):  # the same output file downloaded twice
        replay.upstream.queue.append((200, "application/octet-stream", output))
        assert client.files.content("file-batchoutput").content == output
    events = sorted(replay.events("openai-corpus"), key=lambda e: e["request_id"])
    assert [(e["request_id"], e["input_tokens"], e["output_tokens"]) for e in events] == \
        [("chatcmpl-batch1", 1200, 80), ("chatcmpl-batch2", 900, 40)]
    for event, line in zip(events, (chat_line(1, 1200, 80), chat_line(2, 900, 40)), strict=True):
        assert event["extra"]["processing"] == "batch" and event["endpoint"] == "batch.results"
        assert int(event["ts"].timestamp()) == line["response"]["body"]["created"]  # when the batch ran it
        usage = genai_prices.Usage(input_tokens=event["input_tokens"], output_tokens=event["output_tokens"])
        batch = genai_prices.calc_price(usage, "gpt-4o-mini", provider_id="openai", genai_request_timestamp=event["ts"],
                                        price_context={"processing": "batch"}).total_price
        standard = genai_prices.calc_price(usage, "gpt-4o-mini", provider_id="openai",
                                           genai_request_timestamp=event["ts"]).total_price
        assert event["cost"] == batch == standard / 2


def test_anthropic_batch_results_and_files_that_are_not_batch_results(replay: Replay) -> None:
    results = jsonl({"custom_id": "a", "result": {"type": "succeeded", "message": {
        "id": "msg_batch_a", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn",
        "usage": {"input_tokens": 11, "output_tokens": 36, "service_tier": "batch"}}}},
        {"custom_id": "b", "result": {"type": "errored", "error": {"type": "invalid_request"}}})
    replay.upstream.queue.append((200, "application/binary", results))
    answer = httpx.get(f"{replay.proxy_url}/anthropic-corpus/v1/messages/batches/msgbatch_1/results",
                       headers={"x-api-key": KEY})
    assert answer.content == results
    replay.upstream.queue.append((200, "application/octet-stream", b"plain training data, not batch results\n"))
    assert openai_client(replay).files.content("file-other").content.startswith(b"plain")
    (event,) = replay.events("anthropic-corpus")
    assert (event["request_id"], event["input_tokens"], event["output_tokens"]) == ("msg_batch_a", 11, 36)
    assert event["extra"]["processing"] == "batch"
    assert event["cost"] == (11 * Decimal("1.5") + 36 * Decimal("7.5")) / 1_000_000  # half of $3 / $15
    assert replay.events("openai-corpus") == []  # another file: nothing recorded, nothing unpriced


def responses_body(output: list[dict], status: str = "completed", usage: dict | None = None) -> dict:
    return {"id": "resp_shape1", "object": "response", "created_at": 1764900000, "status": status,
            "background": status != "completed", "model": "gpt-4.1-2025-04-14", "output": output,
            "service_tier": "default", "usage": usage}


USAGE = {"input_tokens": 500, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 40,
         "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 540}
IMAGE_CALL = {"id": "ig_1", "type": "image_generation_call", "status": "completed", "result": "aGVsbG8="}


def test_a_tool_fee_with_no_known_price_leaves_the_call_unpriced_until_configured(engine: Engine,
                                                                                    tmp_path: Path) -> None:
    body = json.dumps(responses_body([IMAGE_CALL], usage=USAGE)).encode()
    with replaying(engine, tmp_path, {}) as unconfigured:
        unconfigured.upstream.queue.append((200, JSON, body))
        openai_client(unconfigured).responses.create(model="gpt-4.1", input="draw a cat")
        (event,) = unconfigured.events("openai-corpus")
        assert event["extra"]["tool_calls"] == {"image_generation": 1}
        assert event["cost"] is None and event["input_tokens"] == 500  # shown and counted, never $0
    with replaying(engine, tmp_path / "priced", {"openai-corpus": {"image_generation": str(IMAGE_FEE)}}) as priced:
        priced.upstream.queue.append((200, JSON, body.replace(b"resp_shape1", b"resp_shape2")))
        openai_client(priced).responses.create(model="gpt-4.1", input="draw a cat")
        event = next(e for e in priced.events("openai-corpus") if e["request_id"] == "resp_shape2")
        tokens = (500 * Decimal(2) + 40 * Decimal(8)) / 1_000_000  # gpt-4.1: $2 in, $8 out per million
        assert event["cost"] == tokens + IMAGE_FEE
        assert event["extra"]["line_items"] == {"tokens": str(tokens), "image_generation": str(IMAGE_FEE)}


def sse(*events: dict) -> bytes:
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


def test_background_response_is_recorded_when_its_usage_appears(replay: Replay) -> None:
    """Created (queued), its stream cut before the end, then polled to completion: one event, from the poll."""
    client = openai_client(replay)
    queued = responses_body([], status="queued")
    replay.upstream.queue.append((200, JSON, json.dumps(queued).encode()))
    client.responses.create(model="gpt-4.1", input="hi", background=True)
    started = sse({"type": "response.created", "sequence_number": 0, "response": {**queued, "status": "in_progress"}})
    replay.upstream.queue.append((200, SSE, started))  # the stream ends before response.completed
    list(client.responses.retrieve("resp_shape1", stream=True, starting_after=0))
    assert replay.events("openai-corpus") == []
    for answer in (responses_body([], status="in_progress"), responses_body([], usage=USAGE),
                   responses_body([], usage=USAGE)):  # still running, done, and fetched again later
        replay.upstream.queue.append((200, JSON, json.dumps(answer).encode()))
        client.responses.retrieve("resp_shape1")
    replay.upstream.queue.append((200, SSE, b""))  # a stream resumed after its end: nothing more to read
    list(client.responses.retrieve("resp_shape1", stream=True, starting_after=9))
    (event,) = replay.events("openai-corpus")
    assert (event["input_tokens"], event["output_tokens"], event["incomplete"]) == (500, 40, False)
    assert event["endpoint"] == "responses.retrieve"  # recorded from the poll that brought the usage


def test_an_anthropic_delta_never_erases_what_message_start_reported(replay: Replay) -> None:
    start = {"type": "message_start", "message": {
        "id": "msg_shape", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6", "content": [],
        "usage": {"input_tokens": 20, "cache_read_input_tokens": 4000, "cache_creation_input_tokens": 0,
                  "output_tokens": 1}}}
    delta = {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
             "usage": {"input_tokens": 20, "cache_read_input_tokens": 0, "output_tokens": 12}}
    replay.upstream.queue.append((200, SSE, sse(start, delta, {"type": "message_stop"})))
    client = anthropic.Anthropic(base_url=f"{replay.proxy_url}/anthropic-corpus", api_key=KEY, max_retries=0)
    list(client.messages.create(model="claude-sonnet-4-6", max_tokens=50, stream=True,
                                messages=[{"role": "user", "content": "hi"}]))
    (event,) = replay.events("anthropic-corpus")
    assert (event["input_tokens"], event["cached_input_tokens"], event["output_tokens"]) == (4020, 4000, 12)


def test_the_sdk_hook_records_a_polled_background_response_once(replay: Replay) -> None:
    """track() without the proxy: the same rule, the client talking to the (replayed) provider directly."""
    client = creditgauge.track(openai.OpenAI(base_url=f"{replay.upstream.url}/v1", api_key=KEY, max_retries=0),
                               account="openai-corpus", provider="openai", recorder=replay.recorder)
    for answer in (responses_body([], status="queued"), responses_body([], usage=USAGE),
                   responses_body([], usage=USAGE)):
        replay.upstream.queue.append((200, JSON, json.dumps(answer).encode()))
    client.responses.create(model="gpt-4.1", input="hi", background=True)
    client.responses.retrieve("resp_shape1")
    client.responses.retrieve("resp_shape1")
    (event,) = replay.events("openai-corpus")
    assert (event["source"], event["input_tokens"], event["output_tokens"]) == ("sdk", 500, 40)
