"""The SDK hook: `creditgauge.track(client, account=..., tags=...)` on the official openai (3.x) and anthropic (2.x)
clients, sync and async, streaming included, against the fake upstream. Events equal what the upstream sent."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import anthropic
import openai
import pytest
from sqlalchemy import Engine, select, text

import creditgauge
from creditgauge.capture.recorder import Recorder
from creditgauge.errors import ConfigError
from creditgauge.fakes.upstream import FakeUpstream
from creditgauge.redact import fingerprint
from creditgauge.store import schema
from creditgauge.track import track
from support import quick_recorder

OPENAI_KEY = "sk-proj-trackkey0123456789abcdef"
ANTHROPIC_KEY = "sk-ant-api03-trackkey0123456789"
MESSAGES = [{"role": "user", "content": "How long until my order arrives?"}]


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    fake = FakeUpstream(keys={OPENAI_KEY, ANTHROPIC_KEY})
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def recorder(engine: Engine, tmp_path: Path) -> Iterator[Recorder]:
    rec = quick_recorder(engine, tmp_path / "journal")
    yield rec
    rec.close(5)


def events(recorder: Recorder) -> list[dict]:
    assert recorder.writer.flush(10)
    with recorder.writer.engine.connect() as connection:
        rows = connection.execute(select(schema.usage_events).order_by(schema.usage_events.c.ts)).mappings()
        return [dict(row) for row in rows]


def test_sync_openai_plain_and_streaming(upstream: FakeUpstream, recorder: Recorder) -> None:
    client = track(openai.OpenAI(base_url=upstream.url + "/v1", api_key=OPENAI_KEY), account="openai-app",
                   tags={"team": "search"}, recorder=recorder)
    answer = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    assert json.loads(upstream.requests[-1].body)["stream_options"] == {"include_usage": True}
    assert client.models.list().data  # not an inference call: nothing recorded
    recorded = events(recorder)
    assert len(recorded) == 2
    for event, usage, rid in ((recorded[0], answer.usage, answer.id), (recorded[1], chunks[-1].usage, chunks[-1].id)):
        assert usage is not None
        assert (event["input_tokens"], event["output_tokens"]) == (usage.prompt_tokens, usage.completion_tokens)
        assert event["cached_input_tokens"] == usage.prompt_tokens_details.cached_tokens
        assert event["request_id"] == rid
        assert (event["source"], event["account"], event["provider"]) == ("sdk", "openai-app", "openai")
        assert event["tags"] == {"team": "search"} and event["key_fingerprint"] == fingerprint(OPENAI_KEY)
        assert event["cost"] is not None and event["incomplete"] is False


def test_async_openai_and_anthropic(upstream: FakeUpstream, recorder: Recorder) -> None:
    async def run() -> tuple:
        oa = track(openai.AsyncOpenAI(base_url=upstream.url + "/v1", api_key=OPENAI_KEY), account="oa",
                   recorder=recorder)
        an = track(anthropic.AsyncAnthropic(base_url=upstream.url, api_key=ANTHROPIC_KEY), account="an",
                   recorder=recorder)
        stream = await oa.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
        last = [chunk async for chunk in stream][-1]
        message = await an.messages.create(model="claude-sonnet-4-6", max_tokens=40, messages=MESSAGES)
        async with an.messages.stream(model="claude-sonnet-4-6", max_tokens=30, messages=MESSAGES) as s:
            streamed = await s.get_final_message()
        await oa.close()
        await an.close()
        return last, message, streamed

    last, message, streamed = asyncio.run(run())
    by_id = {e["request_id"]: e for e in events(recorder)}
    assert by_id[last.id]["output_tokens"] == last.usage.completion_tokens
    for answer in (message, streamed):
        u = answer.usage
        event = by_id[answer.id]
        assert event["input_tokens"] == u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens
        assert event["output_tokens"] == u.output_tokens
        assert (event["provider"], event["source"]) == ("anthropic", "sdk")


def test_sync_anthropic_stream_stopped_early_is_recorded_incomplete(upstream: FakeUpstream,
                                                                    recorder: Recorder) -> None:
    client = track(anthropic.Anthropic(base_url=upstream.url, api_key=ANTHROPIC_KEY), account="an",
                   recorder=recorder)
    stream = client.messages.create(model="claude-sonnet-4-6", max_tokens=30, messages=MESSAGES, stream=True)
    first = next(iter(stream))
    assert first.type == "message_start"
    stream.close()
    [event] = events(recorder)
    assert event["incomplete"] is True
    assert event["input_tokens"] == upstream.sent[-1].prompt and event["output_tokens"] == 1


def test_errors_are_not_recorded_and_the_sdk_still_raises(upstream: FakeUpstream, recorder: Recorder) -> None:
    client = track(openai.OpenAI(base_url=upstream.url + "/v1", api_key="sk-proj-wrong-key-00000000", max_retries=0),
                   account="oa", recorder=recorder)
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    upstream.fail(429, {"error": {"message": "slow down", "type": "requests", "param": None,
                                  "code": "rate_limit_exceeded"}}, headers={"retry-after": "1"})
    ok = track(openai.OpenAI(base_url=upstream.url + "/v1", api_key=OPENAI_KEY, max_retries=0), account="oa",
               recorder=recorder)
    with pytest.raises(openai.RateLimitError):
        ok.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert events(recorder) == []


def test_injection_can_be_switched_off(upstream: FakeUpstream, recorder: Recorder) -> None:
    client = track(openai.OpenAI(base_url=upstream.url + "/v1", api_key=OPENAI_KEY), account="oa",
                   inject_stream_usage=False, recorder=recorder)
    list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    assert "stream_options" not in json.loads(upstream.requests[-1].body)
    [event] = events(recorder)
    assert event["cost"] is None and event["extra"]["usage_missing"] is True


def test_tracking_twice_records_each_call_once(upstream: FakeUpstream, recorder: Recorder) -> None:
    tracked = track(openai.OpenAI(base_url=upstream.url + "/v1", api_key=OPENAI_KEY), account="oa",
                    recorder=recorder)
    again = track(tracked, account="oa", tags={"team": "other"}, recorder=recorder)
    assert again is tracked  # a tracked client is returned as it is
    again.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    [event] = events(recorder)
    assert event["tags"] is None or event["tags"] == {}


def test_the_users_http_client_still_sends(upstream: FakeUpstream, recorder: Recorder) -> None:
    import httpx2

    sent: list[str] = []
    own = httpx2.Client(headers={"x-team-proxy": "on"}, event_hooks={"request": [lambda r: sent.append(r.url.path)]})
    client = track(openai.OpenAI(base_url=upstream.url + "/v1", api_key=OPENAI_KEY, http_client=own), account="oa",
                   recorder=recorder)
    with client:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert sent == ["/v1/chat/completions"]  # through the user's client: its hooks ran
    assert upstream.requests[-1].headers.get("x-team-proxy") == "on"  # and its default headers were sent
    assert own.is_closed  # closing the tracked copy closes the client it shares, as with_options copies do
    assert len(events(recorder)) == 1


def test_not_a_client() -> None:
    with pytest.raises(ConfigError, match="not an openai or anthropic client"):
        track(object(), account="x")


def test_default_recorder_from_the_config_and_no_key_anywhere(upstream: FakeUpstream, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    database = tmp_path / "tracked.db"
    config = tmp_path / "config.toml"
    config.write_text(f'database_url = "sqlite:///{database}"\n[proxy]\njournal_dir = "{tmp_path / "j"}"\n'
                      f'[accounts.groq-app]\nprovider = "groq"\nbase_url = "{upstream.url}"\n', encoding="utf-8")
    monkeypatch.setenv("CREDITGAUGE_CONFIG", str(config))
    # sys.modules: the package attribute `creditgauge.track` is the function, the module holds the recorder
    monkeypatch.setattr(sys.modules["creditgauge.track"], "_recorder", None)
    client = creditgauge.track(openai.OpenAI(base_url=upstream.url + "/v1", api_key=OPENAI_KEY),
                               account="groq-app")
    client.chat.completions.create(model="llama-3.3-70b-versatile", messages=MESSAGES)
    from creditgauge.track import default_recorder

    recorder = default_recorder()
    assert recorder.writer.flush(10)
    with recorder.writer.engine.connect() as connection:
        rows = [tuple(r) for r in connection.execute(text("SELECT * FROM usage_events"))]
    recorder.close(5)
    assert len(rows) == 1 and "groq" in rows[0]  # the account's provider from the config, priced as Groq
    journal = b"".join(p.read_bytes() for p in (tmp_path / "j").rglob("segment-*")).decode()
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("creditgauge"))
    for haystack in (repr(rows), journal, logged, database.read_bytes().decode("latin-1")):
        assert OPENAI_KEY not in haystack
