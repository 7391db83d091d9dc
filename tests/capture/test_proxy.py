"""The recording proxy with the official SDKs as clients (openai 3.x and anthropic 2.x, both on httpx2) against
the fake upstream: every recorded token equals what the upstream sent, answers pass through unchanged, errors too,
keys are never stored or logged. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from decimal import Decimal

import anthropic
import httpx
import httpx2
import openai
import pytest
from capture_support import ANTHROPIC_KEY, GEMINI_KEY, OPENAI_KEY, Stack
from sqlalchemy import select, text

from creditgauge.fakes.upstream import COST_PER_TOKEN, usage_for
from creditgauge.redact import fingerprint
from creditgauge.store import schema

MESSAGES = [{"role": "user", "content": "Where is my order?"}]


def openai_client(stack: Stack, account: str = "openai-main", **options) -> openai.OpenAI:
    return openai.OpenAI(base_url=stack.base(account) + "/v1", api_key=OPENAI_KEY, max_retries=0, **options)


def anthropic_client(stack: Stack) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=stack.base("anthropic-main"), api_key=ANTHROPIC_KEY, max_retries=0)


def only_event(stack: Stack) -> dict:
    events = stack.events()
    assert len(events) == 1, events
    return events[0]


def test_sdk_versions_are_the_pinned_ones() -> None:
    # The capture tests were written against these; both are built on httpx2, not httpx.
    assert openai.__version__.startswith("3.")
    assert anthropic.__version__.startswith("2.")
    assert isinstance(openai.OpenAI(api_key="x")._client, httpx2.Client)
    assert isinstance(anthropic.Anthropic(api_key="x")._client, httpx2.Client)


def test_chat_completion_recorded_with_the_upstream_tokens(stack: Stack) -> None:
    answer = openai_client(stack).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    event = only_event(stack)
    assert answer.usage is not None
    assert event["input_tokens"] == answer.usage.prompt_tokens
    assert event["cached_input_tokens"] == answer.usage.prompt_tokens_details.cached_tokens
    assert event["output_tokens"] == answer.usage.completion_tokens
    assert event["reasoning_tokens"] == answer.usage.completion_tokens_details.reasoning_tokens
    assert (event["account"], event["provider"], event["source"], event["endpoint"]) == \
        ("openai-main", "openai", "proxy", "chat.completions")
    assert event["model"] == "gpt-4o-mini" and event["request_id"] == answer.id
    assert event["key_fingerprint"] == fingerprint(OPENAI_KEY)
    assert event["status_code"] == 200 and event["incomplete"] is False
    assert event["price_source"] == "genai-prices" and event["prices_version"]
    # gpt-4o-mini: $0.15 input, $0.075 cached input, $0.60 output per million tokens
    tokens = usage_for({"messages": MESSAGES})
    expected = ((tokens.prompt - tokens.cached) * Decimal("0.15") + tokens.cached * Decimal("0.075")
                + tokens.completion * Decimal("0.6")) / 1_000_000
    assert event["cost"] == expected


def test_stream_with_include_usage_is_relayed_and_recorded(stack: Stack) -> None:
    chunks = list(openai_client(stack).chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Your order ships tomorrow."
    usage = chunks[-1].usage
    event = only_event(stack)
    assert usage is not None and event["input_tokens"] == usage.prompt_tokens
    assert event["output_tokens"] == usage.completion_tokens


def test_stream_without_include_usage_gets_it_injected(stack: Stack) -> None:
    list(openai_client(stack).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    sent = json.loads(stack.upstream.requests[-1].body)
    assert sent["stream_options"] == {"include_usage": True}
    assert sent["messages"] == MESSAGES
    event = only_event(stack)
    assert (event["input_tokens"], event["output_tokens"]) == (stack.upstream.sent[-1].prompt,
                                                               stack.upstream.sent[-1].completion)
    assert event["cost"] is not None


def test_injection_switched_off_forwards_the_body_untouched(stack: Stack) -> None:
    body = {"model": "gpt-4o-mini", "messages": MESSAGES, "stream": True}
    raw = json.dumps(body).encode()
    with httpx.Client() as client, client.stream(
            "POST", stack.base("openai-plain") + "/v1/chat/completions", content=raw,
            headers={"authorization": f"Bearer {OPENAI_KEY}", "content-type": "application/json"}) as answer:
        assert answer.status_code == 200
        answer.read()
    assert stack.upstream.requests[-1].body == raw
    event = only_event(stack)
    assert event["input_tokens"] == 0 and event["cost"] is None  # unknown usage is unpriced, never $0
    assert event["extra"]["usage_missing"] is True


def test_completions_embeddings_and_responses(stack: Stack) -> None:
    client = openai_client(stack)
    completion = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hi", max_tokens=5)
    embedding = client.embeddings.create(model="text-embedding-3-small", input="hello")
    response = client.responses.create(model="gpt-4.1", input="hi")
    streamed = list(client.responses.create(model="gpt-4.1", input="hi again", stream=True))
    final = streamed[-1].response.usage
    events = {e["request_id"]: e for e in stack.events()}
    assert events[completion.id]["output_tokens"] == completion.usage.completion_tokens == 5
    assert events[completion.id]["endpoint"] == "completions"
    embedded = next(e for e in events.values() if e["endpoint"] == "embeddings")
    assert embedded["input_tokens"] == embedding.usage.prompt_tokens and embedded["output_tokens"] == 0
    assert events[response.id]["input_tokens"] == response.usage.input_tokens
    assert events[response.id]["cached_input_tokens"] == response.usage.input_tokens_details.cached_tokens
    assert events[streamed[-1].response.id]["output_tokens"] == final.output_tokens
    assert all(e["cost"] is not None for e in events.values())


def test_anthropic_messages_plain_and_streaming(stack: Stack) -> None:
    client = anthropic_client(stack)
    message = client.messages.create(model="claude-sonnet-4-6", max_tokens=64, messages=MESSAGES)
    with client.messages.stream(model="claude-sonnet-4-6", max_tokens=32, messages=MESSAGES) as stream:
        assert "".join(stream.text_stream) == "Your order ships tomorrow."
        streamed = stream.get_final_message()
    events = {e["request_id"]: e for e in stack.events()}
    for answer in (message, streamed):
        event = events[answer.id]
        u = answer.usage
        assert event["input_tokens"] == u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens
        assert event["cached_input_tokens"] == u.cache_read_input_tokens
        assert event["cache_write_tokens"] == u.cache_creation_input_tokens
        assert event["output_tokens"] == u.output_tokens
        assert event["key_fingerprint"] == fingerprint(ANTHROPIC_KEY)
        assert event["price_source"] == "genai-prices"
    # Anthropic's SDK sends the key as a bearer token (anthropic 2.x); the proxy forwards it untouched.
    assert stack.upstream.requests[-1].headers["Authorization"] == f"Bearer {ANTHROPIC_KEY}"


def test_gemini_generate_content_json_and_sse_with_key_in_query(stack: Stack) -> None:
    url = stack.base("gemini-main") + "/v1beta/models/gemini-2.5-flash"
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    with httpx.Client() as client:
        plain = client.post(url + ":generateContent", json=body, headers={"x-goog-api-key": GEMINI_KEY}).json()
        streamed = client.post(url + ":streamGenerateContent", params={"alt": "sse", "key": GEMINI_KEY}, json=body)
    assert streamed.status_code == 200 and streamed.text.startswith("data: ")
    events = stack.events()
    assert len(events) == 2
    meta = plain["usageMetadata"]
    for event in events:
        assert event["input_tokens"] == meta["promptTokenCount"]
        assert event["output_tokens"] == meta["candidatesTokenCount"] + meta["thoughtsTokenCount"]
        assert event["key_fingerprint"] == fingerprint(GEMINI_KEY)
        assert event["model"] == "gemini-2.5-flash" and event["cost"] is not None


def test_provider_reported_cost_wins(stack: Stack) -> None:
    answer = openai_client(stack, "openrouter-main").chat.completions.create(
        model="openai/gpt-4o-mini", messages=MESSAGES)
    event = only_event(stack)
    assert event["price_source"] == "provider"
    assert event["cost"] == (answer.usage.prompt_tokens + answer.usage.completion_tokens) * COST_PER_TOKEN


def test_tags_header_is_recorded_and_not_forwarded(stack: Stack) -> None:
    client = openai_client(stack, default_headers={"X-Creditgauge-Tags": "team=search, feature=summaries,junk"})
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    event = only_event(stack)
    assert event["tags"] == {"team": "search", "feature": "summaries"}
    assert not any(name.lower() == "x-creditgauge-tags" for name in stack.upstream.requests[-1].headers)
    with stack.engine.connect() as connection:
        rows = connection.execute(select(schema.event_tags.c.key, schema.event_tags.c.value)
                                  .where(schema.event_tags.c.event_id == event["id"])).all()
    assert sorted(rows) == [("feature", "summaries"), ("team", "search")]


def test_errors_pass_through_unchanged_and_record_nothing(stack: Stack) -> None:
    bad = openai.OpenAI(base_url=stack.base("openai-main") + "/v1", api_key="sk-wrong-key-000000000000", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as auth:
        bad.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert auth.value.status_code == 401 and auth.value.body["code"] == "invalid_api_key"

    rate_headers = {"retry-after": "7", "x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "6m0s"}
    rate_body = {"error": {"message": "Rate limit reached for gpt-4o-mini", "type": "tokens", "param": None,
                           "code": "rate_limit_exceeded"}}
    stack.upstream.fail(429, rate_body, headers=rate_headers)
    with pytest.raises(openai.RateLimitError) as limited:
        openai_client(stack).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert limited.value.status_code == 429 and limited.value.body == rate_body["error"]
    for name, value in rate_headers.items():
        assert limited.value.response.headers[name] == value

    stack.upstream.fail(500, {"error": {"message": "The server had an error", "type": "server_error",
                                        "param": None, "code": None}})
    with pytest.raises(openai.InternalServerError):
        openai_client(stack).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    stack.upstream.fail(529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    with pytest.raises(anthropic.APIStatusError) as overloaded:
        anthropic_client(stack).messages.create(model="claude-sonnet-4-6", max_tokens=8, messages=MESSAGES)
    assert overloaded.value.status_code == 529
    assert stack.events() == []


def test_unknown_account_is_refused_not_relayed(stack: Stack) -> None:
    before = len(stack.upstream.requests)
    answer = httpx.post(stack.proxy_url + "/somebody-else/v1/chat/completions", json={"model": "x"})
    assert answer.status_code == 404
    assert "no account named 'somebody-else'" in answer.json()["error"]["message"]
    assert len(stack.upstream.requests) == before


def test_other_endpoints_pass_through_with_headers_and_body(stack: Stack) -> None:
    headers = {"authorization": f"Bearer {OPENAI_KEY}"}
    direct = httpx.get(stack.upstream.url + "/v1/models", headers=headers)
    proxied = httpx.get(stack.base("openai-main") + "/v1/models", headers=headers)
    assert proxied.status_code == direct.status_code == 200
    assert proxied.content == direct.content
    for name in ("x-ratelimit-limit-requests", "openai-version", "content-type"):
        assert proxied.headers[name] == direct.headers[name]
    assert stack.events() == []


def test_large_requests_pass_through_whole(stack: Stack) -> None:
    """Long prompts and images make bodies of megabytes: aiohttp's default limit (1 MiB) must not apply."""
    long_prompt = [{"role": "user", "content": "x" * (3 * 1024 * 1024)}]
    answer = openai_client(stack).chat.completions.create(model="gpt-4o-mini", messages=long_prompt)
    assert json.loads(stack.upstream.requests[-1].body)["messages"] == long_prompt
    assert only_event(stack)["input_tokens"] == answer.usage.prompt_tokens


def test_concurrent_requests_each_recorded_once_with_their_own_tokens(stack: Stack) -> None:
    async def run() -> list:
        client = openai.AsyncOpenAI(base_url=stack.base("openai-main") + "/v1", api_key=OPENAI_KEY, max_retries=0)

        async def one(index: int):
            messages = [{"role": "user", "content": "x" * (index * 13)}]
            if index % 2:
                stream = await client.chat.completions.create(model="gpt-4o-mini", messages=messages,
                                                              max_tokens=index + 1, stream=True)
                chunks = [chunk async for chunk in stream]
                return chunks[-1].id, chunks[-1].usage
            answer = await client.chat.completions.create(model="gpt-4o-mini", messages=messages,
                                                          max_tokens=index + 1)
            return answer.id, answer.usage

        try:
            return await asyncio.gather(*(one(i) for i in range(40)))
        finally:
            await client.close()

    answers = asyncio.run(run())
    events = {e["request_id"]: e for e in stack.events()}
    assert len(events) == 40
    for request_id, usage in answers:
        assert (events[request_id]["input_tokens"], events[request_id]["output_tokens"]) == \
            (usage.prompt_tokens, usage.completion_tokens)


def test_client_disconnect_mid_stream_records_partial_usage_as_incomplete(stack: Stack) -> None:
    stack.upstream.chunk_delay = 0.2
    body = {"model": "claude-sonnet-4-6", "max_tokens": 64, "messages": MESSAGES, "stream": True}
    with httpx.Client() as client, client.stream(
            "POST", stack.base("anthropic-main") + "/v1/messages", json=body,
            headers={"x-api-key": ANTHROPIC_KEY, "anthropic-version": "2023-06-01"}) as answer:
        first = next(answer.iter_raw())
        assert b"message_start" in first
    deadline = time.monotonic() + 10
    while not (events := stack.events()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(events) == 1
    event = events[0]
    sent = stack.upstream.sent[-1]
    assert event["incomplete"] is True
    assert event["input_tokens"] == sent.prompt  # message_start already carried the input side
    assert event["output_tokens"] == 1  # what message_start said so far, nothing invented
    assert event["cost"] is not None


def test_keys_are_nowhere_in_database_journal_or_logs(stack: Stack, caplog: pytest.LogCaptureFixture,
                                                      tmp_path) -> None:
    caplog.set_level(logging.DEBUG)
    openai_client(stack).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    list(openai_client(stack).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    anthropic_client(stack).messages.create(model="claude-sonnet-4-6", max_tokens=8, messages=MESSAGES)
    httpx.post(stack.base("gemini-main") + "/v1beta/models/gemini-2.5-flash:generateContent",
               params={"key": GEMINI_KEY}, json={"contents": []})
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=stack.base("openai-main") + "/v1", api_key="sk-proj-leakcheck0000000000000",
                      max_retries=0).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert len(stack.events()) == 4
    dumped = []
    with stack.engine.connect() as connection:
        for table in schema.metadata.sorted_tables:
            dumped += [repr(tuple(row)) for row in connection.execute(text(f"SELECT * FROM {table.name}"))]
    journal = b"".join(p.read_bytes() for p in tmp_path.rglob("segment-*"))
    # Our logs and the proxy server's (the test clients' own debug logs print their URLs, not our business).
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(("creditgauge", "aiohttp")))
    haystacks = ["\n".join(dumped), journal.decode(), logged]
    for key in (OPENAI_KEY, ANTHROPIC_KEY, GEMINI_KEY, "sk-proj-leakcheck0000000000000"):
        for haystack in haystacks:
            assert key not in haystack
