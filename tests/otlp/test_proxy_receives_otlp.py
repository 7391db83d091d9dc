"""`creditgauge proxy` receives OTLP too (one process): an application traced with the official instrumentation
exports to the proxy's /v1/traces, another is proxied; both are tracked, each call once."""

from __future__ import annotations

from pathlib import Path

import httpx
import openai
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
from otlp_support import OPENAI_KEY, exporting_traces, write_config
from sqlalchemy import Engine, select

from creditgauge.capture.journal import Journal
from creditgauge.capture.otlp_aiohttp import aiohttp_handler
from creditgauge.capture.otlp_receiver import MAX_BODY_BYTES, OtlpReceiver
from creditgauge.capture.proxy import RecordingProxy, routes_for
from creditgauge.capture.recorder import Recorder
from creditgauge.capture.writer import EventWriter
from creditgauge.config import load_config
from creditgauge.fakes.server import FakeServer
from creditgauge.fakes.upstream import FakeUpstream
from creditgauge.pricing import Pricer
from creditgauge.store import schema


def test_the_proxy_takes_traces_beside_proxied_calls(engine: Engine, database_url: str, tmp_path: Path) -> None:
    upstream = FakeUpstream(keys={OPENAI_KEY})
    upstream.start()
    config = load_config(write_config(tmp_path / "config.toml", database_url, upstream.url))
    recorder = Recorder(Pricer.from_config(config), EventWriter(engine, Journal(tmp_path / "journal")).start())
    receiver = OtlpReceiver(config, engine, migrate_first=True)
    server = FakeServer(RecordingProxy(routes_for(config.accounts), recorder, otlp=aiohttp_handler(receiver)).runner)
    proxy_url = server.start()
    try:
        proxied = openai.OpenAI(base_url=f"{proxy_url}/openai-main/v1", api_key=OPENAI_KEY)
        proxied.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "proxied"}])
        with exporting_traces(proxy_url, "traced-app") as provider:
            instrumentor = OpenAIInstrumentor()
            instrumentor.instrument(tracer_provider=provider)
            try:
                direct = openai.OpenAI(base_url=f"{upstream.url}/v1", api_key=OPENAI_KEY)
                direct.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "traced"}])
            finally:
                instrumentor.uninstrument()
        too_big = httpx.post(f"{proxy_url}/v1/traces", content=b"\0" * (MAX_BODY_BYTES + 1),
                             headers={"content-type": "application/x-protobuf"})
        assert too_big.status_code == 413
        assert recorder.writer.flush(10) and receiver.recorder.writer.flush(10)
        with engine.connect() as connection:
            rows = connection.execute(select(schema.usage_events.c.source, schema.usage_events.c.input_tokens)
                                      .order_by(schema.usage_events.c.source)).all()
        assert [(row.source, row.input_tokens) for row in rows] == [
            ("otlp", upstream.sent[1].prompt), ("proxy", upstream.sent[0].prompt)]
    finally:
        server.stop()
        recorder.close(5)
        receiver.close(5)
        upstream.stop()
