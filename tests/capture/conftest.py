"""A capture stack for tests: the fake inference upstream, the recording proxy in a background thread, a real
writer and journal on the test's database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from capture_support import ANTHROPIC_KEY, GEMINI_KEY, OPENAI_KEY, Stack, stack_config
from sqlalchemy import Engine

from creditgauge.capture.journal import Journal
from creditgauge.capture.proxy import RecordingProxy, routes_for
from creditgauge.capture.recorder import Recorder
from creditgauge.capture.writer import Backoff, EventWriter
from creditgauge.fakes.server import FakeServer
from creditgauge.fakes.upstream import FakeUpstream
from creditgauge.pricing import Pricer


@pytest.fixture
def stack(engine: Engine, tmp_path: Path) -> Iterator[Stack]:
    upstream = FakeUpstream(keys={OPENAI_KEY, ANTHROPIC_KEY, GEMINI_KEY}, chunk_delay=0.0)
    cost_upstream = FakeUpstream(report_cost=True)
    upstream.start()
    cost_upstream.start()
    config = stack_config(upstream.url, cost_upstream.url)
    writer = EventWriter(engine, Journal(tmp_path / "journal"), batch_size=50, flush_interval=0.01,
                         backoff=Backoff(base=0.01, maximum=0.05)).start()
    recorder = Recorder(Pricer.from_config(config), writer)
    server = FakeServer(RecordingProxy(routes_for(config.accounts), recorder).runner)
    proxy_url = server.start()
    try:
        yield Stack(upstream, cost_upstream, proxy_url, recorder, engine, config)
    finally:
        server.stop()
        recorder.close(timeout=5)
        upstream.stop()
        cost_upstream.stop()
