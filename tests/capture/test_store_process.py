"""The proxy's helper process for database writes: stores batches, reports database errors as StoreError (so the
writer retries and the journal keeps the events), and is replaced when it dies."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from creditgauge.capture.journal import Journal
from creditgauge.capture.store_process import ProcessStore
from creditgauge.capture.writer import Backoff, EventWriter
from creditgauge.domain import UsageEvent
from creditgauge.errors import StoreError
from creditgauge.store import schema
from creditgauge.store.engine import make_engine, open_engine


def events(start: int, count: int) -> list[UsageEvent]:
    return [UsageEvent(id=f"p-{i:05d}", account="a", provider="openai", ts=datetime(2026, 11, 20, tzinfo=UTC),
                       model="gpt-4o-mini", endpoint="chat.completions", source="proxy", input_tokens=i,
                       tags={"team": "x"}) for i in range(start, start + count)]


def count(url: str) -> int:
    engine = open_engine(url)
    with engine.connect() as connection:
        found = connection.execute(select(func.count()).select_from(schema.usage_events)).scalar()
    engine.dispose()
    return int(found or 0)


def test_batches_are_stored_by_the_child_and_a_dead_child_is_replaced(database_url: str) -> None:
    store = ProcessStore(database_url)
    try:
        assert store(None, events(0, 30)).stored == 30  # the child migrates the fresh database first
        assert store(None, events(20, 30)).stored == 20  # idempotent by id
        assert store._child is not None
        store._child.kill()
        store._child.wait()
        assert store(None, events(50, 5)).stored == 5  # a new child took over
    finally:
        store.close()
    assert count(database_url) == 55


def test_database_errors_come_back_as_store_errors_without_secrets(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = ProcessStore(f"postgresql://cg:secret-password-123@127.0.0.1:{port}/nowhere")
    try:
        with pytest.raises(StoreError) as error:
            store(None, events(0, 1))
        assert "secret-password-123" not in str(error.value)
        assert "127.0.0.1" in str(error.value)
    finally:
        store.close()


def test_writer_with_the_child_store(sqlite_url: str, tmp_path: Path) -> None:
    writer = EventWriter(make_engine(sqlite_url), Journal(tmp_path / "j"), flush_interval=0.01,
                         backoff=Backoff(base=0.01, maximum=0.05), store=ProcessStore(sqlite_url)).start()
    for event in events(0, 120):
        writer.submit(event)
    assert writer.flush(30)
    writer.close()
    assert count(sqlite_url) == 120
