"""A capture stack whose upstream replays recorded answers: the real proxy, recorder, writer and journal on the
test's database, one account per provider pointing at a ReplayUpstream."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from creditgauge.capture.journal import Journal
from creditgauge.capture.proxy import RecordingProxy, routes_for
from creditgauge.capture.recorder import Recorder
from creditgauge.capture.writer import Backoff, EventWriter
from creditgauge.config import parse_config
from creditgauge.fakes.server import FakeServer
from creditgauge.fakes.upstream import ReplayUpstream
from creditgauge.pricing import Pricer
from creditgauge.store import schema

# Where each provider's API paths start, as its SDK is configured against the proxy.
SDK_BASE = {"openai": "/v1", "groq": "/openai/v1", "openrouter": "/api/v1", "deepseek": "", "anthropic": "",
            "gemini": ""}


@dataclass
class Replay:
    upstream: ReplayUpstream
    proxy_url: str
    recorder: Recorder
    engine: Engine

    def events(self, account: str) -> list[dict[str, Any]]:
        assert self.recorder.writer.flush(10), "events not committed in time"
        table = schema.usage_events
        with self.engine.connect() as connection:
            rows = connection.execute(select(table).where(table.c.account == account)).mappings()
            return [dict(row) for row in rows]


@contextlib.contextmanager
def replaying(engine: Engine, tmp_path: Path, fees: Mapping[str, Mapping[str, str]]) -> Iterator[Replay]:
    """Accounts `<provider>-corpus` for every provider; `fees` sets `[accounts.X.fees]` per account."""
    upstream = ReplayUpstream()
    upstream.start()
    accounts: dict[str, dict[str, Any]] = {
        f"{provider}-corpus": {"provider": provider, "base_url": upstream.url} for provider in SDK_BASE}
    for account, prices in fees.items():
        accounts[account]["fees"] = dict(prices)
    config = parse_config({"accounts": accounts}, None)
    writer = EventWriter(engine, Journal(tmp_path / "journal"), batch_size=50, flush_interval=0.01,
                         backoff=Backoff(base=0.01, maximum=0.05)).start()
    recorder = Recorder(Pricer.from_config(config), writer)
    server = FakeServer(RecordingProxy(routes_for(config.accounts), recorder).runner)
    try:
        yield Replay(upstream, server.start(), recorder, engine)
    finally:
        server.stop()
        recorder.close(timeout=5)
        upstream.stop()


