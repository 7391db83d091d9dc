"""One call counted once: calls that pass the recording proxy and are also traced are one event each, whether the
span carries the response id or, without one, the same provider, model, tokens and time (within a second)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import openai
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
from otlp_support import OPENAI_KEY, Receiver, chat_span, exporting_traces, receiver, recorded_spans
from sqlalchemy import Engine

from creditgauge.capture.journal import Journal
from creditgauge.capture.once import already_recorded
from creditgauge.capture.proxy import RecordingProxy, routes_for
from creditgauge.capture.recorder import Recorder
from creditgauge.capture.store_process import ProcessStore
from creditgauge.capture.writer import EventWriter
from creditgauge.config import load_config
from creditgauge.domain import UsageEvent
from creditgauge.fakes.server import FakeServer
from creditgauge.pricing import Pricer
from creditgauge.store.events import store_events


@contextmanager
def recording_proxy(cg: Receiver, database_url: str, tmp_path: Path, *,
                    flush_interval: float = 0.01) -> Iterator[tuple[str, Recorder]]:
    """The real recording proxy in front of the fake upstream, storing as `creditgauge proxy` does (from its helper
    process); its writer commits every `flush_interval` seconds (or on flush())."""
    config = load_config(cg.config_path)
    store = ProcessStore(database_url)
    writer = EventWriter(cg.engine, Journal(tmp_path / "proxy-journal"), flush_interval=flush_interval,
                         store=store).start()
    recorder = Recorder(Pricer.from_config(config), writer)
    server = FakeServer(RecordingProxy(routes_for(config.accounts), recorder).runner)
    try:
        yield server.start(), recorder
    finally:
        server.stop()
        recorder.close(timeout=5)
        store.close()


def chat_traced_through(proxy_url: str, provider: Any) -> None:
    """Two chat completions (plain, streamed) through the proxy, traced by the official openai-v2 instrumentation."""
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        client = openai.OpenAI(base_url=f"{proxy_url}/openai-main/v1", api_key=OPENAI_KEY)
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        for _ in client.chat.completions.create(model="gpt-4o-mini", stream=True,
                                                stream_options={"include_usage": True},
                                                messages=[{"role": "user", "content": "and streamed"}]):
            pass
    finally:
        instrumentor.uninstrument()


def test_proxied_and_traced_calls_count_once(engine: Engine, database_url: str, tmp_path: Path) -> None:
    with receiver(engine, database_url, tmp_path) as cg, \
            recording_proxy(cg, database_url, tmp_path) as (proxy_url, recorder):
        with exporting_traces(cg.url, "support-bot") as provider:
            chat_traced_through(proxy_url, provider)
            assert recorder.writer.flush(10)  # the proxy's record lands first, as it does in practice
        # a span without a response id for a third proxied call: matched by provider, model, tokens and time
        httpx.post(f"{proxy_url}/openai-main/v1/chat/completions", headers={"authorization": f"Bearer {OPENAI_KEY}"},
                   json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "no id"}]}, timeout=10)
        assert recorder.writer.flush(10)
        tokens = cg.upstream.sent[-1]
        request = recorded_spans(chat_span(**{"gen_ai.response.model": "gpt-4o-mini",
                                              "gen_ai.usage.input_tokens": tokens.prompt,
                                              "gen_ai.usage.output_tokens": tokens.completion}))
        assert httpx.post(f"{cg.url}/v1/traces", content=request.SerializeToString(),
                          headers={"content-type": "application/x-protobuf"}).status_code == 200
        events = cg.events()
        assert cg.app.state.otlp.recorder.writer.stats.submitted == 3  # the three spans came, and were matched
        assert [event["source"] for event in events] == ["proxy"] * 3
        (row,) = cg.usage()["rows"]
        assert row["requests"] == 3
        assert row["input_tokens"] == sum(t.prompt for t in cg.upstream.sent)


def test_a_call_traced_before_the_proxy_records_it_counts_once(engine: Engine, database_url: str,
                                                                 tmp_path: Path) -> None:
    # The proxy's writer holds its records for a minute (until flushed): the spans are stored first.
    with receiver(engine, database_url, tmp_path) as cg, \
            recording_proxy(cg, database_url, tmp_path, flush_interval=60) as (proxy_url, recorder):
        with exporting_traces(cg.url, "support-bot") as provider:
            chat_traced_through(proxy_url, provider)
            assert provider.force_flush(10_000)
        assert [event["source"] for event in cg.events()] == ["otlp", "otlp"]  # the spans landed first
        assert recorder.writer.stats.submitted == 2 and recorder.writer.flush(10)  # then the proxy's records
        events = cg.events()
        assert [event["source"] for event in events] == ["otlp", "otlp"]
        assert len({event["request_id"] for event in events}) == 2  # each kept under its response id
        (row,) = cg.usage()["rows"]
        assert row["requests"] == 2
        assert row["input_tokens"] == sum(t.prompt for t in cg.upstream.sent)
        assert row["output_tokens"] == sum(t.completion for t in cg.upstream.sent)


def _event(event_id: str, source: str, ts: datetime, **fields: object) -> UsageEvent:
    base: dict[str, object] = {"provider": "openai", "model": "gpt-4o", "input_tokens": 10, "output_tokens": 5}
    base.update(fields)
    return UsageEvent(id=event_id, account="openai-main", ts=ts, endpoint="chat", source=source,
                      **base)  # type: ignore[arg-type]


def test_the_matching_rule(engine: Engine) -> None:
    from creditgauge.store.engine import migrate

    migrate(engine)
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    store_events(engine, [_event("p1", "proxy", now, request_id="resp-1"),
                          _event("p2", "proxy", now + timedelta(seconds=30))])
    spans = [
        _event("s-same-id", "otlp", now + timedelta(seconds=3), latency_ms=3000, request_id="resp-1"),
        _event("s-other-id", "otlp", now, request_id="resp-2"),
        _event("s-no-id", "otlp", now + timedelta(seconds=30, milliseconds=800)),
        _event("s-no-id-late", "otlp", now + timedelta(seconds=32)),  # more than a second after
        _event("s-no-id-other-tokens", "otlp", now + timedelta(seconds=30), output_tokens=6),
        _event("s-no-id-other-provider", "otlp", now + timedelta(seconds=30), provider="xai"),
    ]
    assert already_recorded(engine, spans) == {"s-same-id", "s-no-id"}


def test_the_matching_rule_the_other_way(engine: Engine) -> None:
    """Spans stored first: the proxy's later events of the same calls are the duplicates, by the same rule."""
    from creditgauge.store.engine import migrate

    migrate(engine)
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    store_events(engine, [_event("s1", "otlp", now + timedelta(seconds=2), latency_ms=3000, request_id="resp-1"),
                          _event("s2", "otlp", now + timedelta(seconds=30), latency_ms=500)])
    proxied = [
        _event("p-same-id", "proxy", now, request_id="resp-1"),
        _event("p-other-id", "proxy", now, request_id="resp-2"),
        _event("p-during-the-id-less-span", "proxy", now + timedelta(seconds=29, milliseconds=700),
               request_id="resp-3"),
        _event("p-before-it", "proxy", now + timedelta(seconds=28)),  # more than a second before its start
        _event("p-other-tokens", "proxy", now + timedelta(seconds=30), output_tokens=6),
        _event("p-other-provider", "proxy", now + timedelta(seconds=30), provider="xai"),
    ]
    assert already_recorded(engine, proxied) == {"p-same-id", "p-during-the-id-less-span"}
