"""`track()` against the hostile upstream (issue 12): the user's own SDK call always returns what the provider sent
(no OverflowError or RecursionError from creditgauge inside it), the unreadable usage is quarantined, and
`flush()` says so instead of answering True."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from hostile_upstream import CASE_HEADER, MODEL_CASES, USAGE_CASES
from sqlalchemy import Engine, select

from creditgauge.capture.recorder import Recorder
from creditgauge.fakes.server import FakeServer
from creditgauge.store import schema
from creditgauge.store.quarantine import count_quarantined, recent_quarantined
from creditgauge.track import track
from support import quick_recorder

KEY = "sk-proj-trackhostile0123456789abcdef"
MESSAGES = [{"role": "user", "content": "hi"}]
SDK_READABLE = [case for case in [*USAGE_CASES, *MODEL_CASES] if case != "ok" and not case.startswith("cost")]


@pytest.fixture
def upstream_url() -> Iterator[str]:
    from hostile_upstream import hostile_app

    server = FakeServer(hostile_app())
    yield server.start()
    server.stop()


@pytest.fixture
def recorder(sqlite_engine: Engine, tmp_path: Path) -> Iterator[Recorder]:
    rec = quick_recorder(sqlite_engine, tmp_path / "journal")
    yield rec
    rec.close(5)


def client_for(upstream_url: str, recorder: Recorder, case: str) -> openai.OpenAI:
    client = openai.OpenAI(base_url=upstream_url + "/v1", api_key=KEY, max_retries=0,
                           default_headers={CASE_HEADER: case})
    return track(client, account="openai-app", provider="openai", recorder=recorder)


def stored_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return len(connection.execute(select(schema.usage_events.c.id)).all())


def test_poison_usage_never_fails_the_users_call(upstream_url: str, recorder: Recorder,
                                                 sqlite_engine: Engine) -> None:
    for case in SDK_READABLE:
        answer = client_for(upstream_url, recorder, case).chat.completions.create(model="gpt-4o-mini",
                                                                                  messages=MESSAGES)
        assert answer.choices[0].message.content == "hello", case
    client_for(upstream_url, recorder, "ok").chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    report = recorder.writer.flush(10)
    assert not report and report.pending == 0 and report.quarantined == len(SDK_READABLE)
    assert stored_count(sqlite_engine) == 1 and count_quarantined(sqlite_engine) == len(SDK_READABLE)
    assert recorder.writer._thread.is_alive()  # the writer thread is still there for what comes next


def test_a_stream_with_infinite_usage_is_read_to_the_end(upstream_url: str, recorder: Recorder,
                                                         sqlite_engine: Engine) -> None:
    stream = client_for(upstream_url, recorder, "sse-infinity").chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True)
    assert "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices) == "hi"
    assert recorder.writer.flush(10).quarantined == 1
    assert recent_quarantined(sqlite_engine)[0]["reason"] == "usage unreadable (OverflowError)"


def test_json_deeper_than_the_stack_reaches_the_application_unchanged(upstream_url: str, recorder: Recorder,
                                                                      sqlite_engine: Engine) -> None:
    raw = client_for(upstream_url, recorder, "deep-json").chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=MESSAGES)
    assert raw.http_response.status_code == 200 and raw.http_response.content.endswith(b"]]]}")
    assert recorder.writer.flush(10).quarantined == 1
    assert recent_quarantined(sqlite_engine)[0]["reason"] == "usage unreadable (RecursionError)"
