"""The proxy's helper process for database writes: stores batches, reports database errors as StoreError (so the
writer retries and the journal keeps the events), and is replaced when it dies."""

from __future__ import annotations

import socket
import time
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from creditgauge.capture.journal import Journal
from creditgauge.capture.store_process import ProcessStore
from creditgauge.capture.writer import Backoff, EventWriter
from creditgauge.domain import UsageEvent
from creditgauge.errors import StoreError
from creditgauge.store import schema
from creditgauge.store.engine import make_engine, migrate, open_engine
from creditgauge.store.events import StoreOutcome, store_checked


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


class AnswersLater:
    """A store that answers up to two batches late, as the helper process does, storing for real; the batch sent
    `fail_at` (counting from 1) is answered once by an outage."""

    depth = 2

    def __init__(self, engine: Engine, fail_at: int) -> None:
        self.engine, self.fail_at = engine, fail_at
        self.sent: list[list[str]] = []
        self._answers: deque[StoreOutcome | StoreError] = deque()

    def send(self, batch: Sequence[UsageEvent]) -> None:
        self.sent.append([item.id for item in batch])
        assert len(self._answers) < self.depth, "the writer sent past the store's depth"
        if len(self.sent) == self.fail_at:
            self._answers.append(StoreError("database is starting up"))
        else:
            self._answers.append(store_checked(self.engine, batch))

    def receive(self) -> StoreOutcome:
        answer = self._answers.popleft()
        if isinstance(answer, StoreError):
            raise answer
        return answer


def test_a_failed_batch_among_those_in_flight_is_retried_alone_and_the_journal_checkpoints_in_order(
        sqlite_url: str, tmp_path: Path) -> None:
    engine = make_engine(sqlite_url)
    migrate(engine)
    store = AnswersLater(engine, fail_at=2)
    writer = EventWriter(engine, Journal(tmp_path / "j"), batch_size=10, flush_interval=0.01,
                         backoff=Backoff(base=0.001, maximum=0.002), store=store)
    writer.submit_many(events(0, 40))  # queued before the thread starts: four batches, two in flight at a time
    writer.start()
    assert writer.flush(30)
    writer.close()
    second = [f"p-{i:05d}" for i in range(10, 20)]
    assert store.sent.count(second) == 2  # sent, answered by the outage, sent again alone
    assert store.sent.index(second, 2) > store.sent.index([f"p-{i:05d}" for i in range(20, 30)])
    assert writer.stats.failures == 1
    assert count(sqlite_url) == 40
    reopened = Journal(tmp_path / "j")
    assert list(reopened.pending(reopened.position())) == []  # every batch checkpointed
    reopened.close()


def test_the_child_dying_with_two_batches_in_flight_loses_nothing(sqlite_url: str, tmp_path: Path) -> None:
    store = ProcessStore(sqlite_url)
    writer = EventWriter(make_engine(sqlite_url), Journal(tmp_path / "j"), batch_size=25, flush_interval=0.01,
                         backoff=Backoff(base=0.01, maximum=0.05), store=store).start()
    for round_number in range(8):
        writer.submit_many(events(round_number * 250, 250))
        time.sleep(0.02)
        child = store._child  # a look inside: kill the helper while the writer has batches sent to it
        if child is not None:
            child.kill()
    report = writer.flush(60)
    writer.close()
    assert report, report
    assert writer.stats.failures >= 1  # the kills did land on batches in flight
    assert count(sqlite_url) == 2000
    reopened = Journal(tmp_path / "j")
    assert list(reopened.pending(reopened.position())) == []
    reopened.close()
