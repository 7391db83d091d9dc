"""One call counted once: calls that pass the recording proxy and are also traced are one event each, whether the
span carries the response id or, without one, the same provider, model, tokens and time (within a second)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import openai
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
from otlp_support import OPENAI_KEY, Receiver, chat_span, exporting_traces, receiver, recorded_spans
from sqlalchemy import Engine

from creditgauge.capture.journal import Journal
from creditgauge.capture.once import already_recorded
from creditgauge.capture.proxy import RecordingProxy, routes_for
from creditgauge.capture.recorder import Recorder
from creditgauge.capture.writer import EventWriter
from creditgauge.config import load_config
from creditgauge.domain import UsageEvent
from creditgauge.fakes.server import FakeServer
from creditgauge.pricing import Pricer
from creditgauge.store.events import store_events


@contextmanager
def recording_proxy(cg: Receiver, tmp_path: Path) -> Iterator[tuple[str, Recorder]]:
    config = load_config(cg.config_path)
    writer = EventWriter(cg.engine, Journal(tmp_path / "proxy-journal"), flush_interval=0.01).start()
    recorder = Recorder(Pricer.from_config(config), writer)
    server = FakeServer(RecordingProxy(routes_for(config.accounts), recorder).runner)
    try:
        yield server.start(), recorder
    finally:
        server.stop()
        recorder.close(timeout=5)


def test_proxied_and_traced_calls_count_once(engine: Engine, database_url: str, tmp_path: Path) -> None:
    with receiver(engine, database_url, tmp_path) as cg, recording_proxy(cg, tmp_path) as (proxy_url, recorder):
        with exporting_traces(cg.url, "support-bot") as provider:
            instrumentor = OpenAIInstrumentor()
            instrumentor.instrument(tracer_provider=provider)
            try:
                client = openai.OpenAI(base_url=f"{proxy_url}/openai-main/v1", api_key=OPENAI_KEY)
                client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
                for _ in client.chat.completions.create(model="gpt-4o-mini", stream=True,
                                                        messages=[{"role": "user", "content": "and streamed"}]):
                    pass
            finally:
                instrumentor.uninstrument()
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
