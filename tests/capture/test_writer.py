"""The journal and the batch writer: events survive restarts and database outages, are stored exactly once, and
submitting never waits on the database."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from capture_support import TcpGate, gated_url
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url

from creditgauge.capture.codec import decode_event, encode_event
from creditgauge.capture.journal import Journal, JournalBusy
from creditgauge.capture.writer import Backoff, EventWriter
from creditgauge.domain import UsageEvent
from creditgauge.store import schema
from creditgauge.store.engine import make_engine, open_engine

FAST = Backoff(base=0.01, maximum=0.05)


def event(index: int, **fields) -> UsageEvent:
    return UsageEvent(id=f"evt-{index:06d}", account="openai-main", provider="openai",
                      ts=datetime(2026, 11, 20, 12, 0, tzinfo=UTC), model="gpt-4o-mini", endpoint="chat.completions",
                      source="proxy", input_tokens=100 + index, output_tokens=index, cost=Decimal("0.000123456789"),
                      tags={"team": "search"}, **fields)


def stored(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return [row[0] for row in connection.execute(select(schema.usage_events.c.id).order_by("id"))]


def test_codec_round_trip_is_exact() -> None:
    original = event(1, extra={"service_tier": "default", "cache_write_1h_tokens": 5}, incomplete=True)
    assert decode_event(encode_event(original)) == original


@pytest.mark.parametrize("extra", [{"huge": 2**70}, {"rate": Decimal("0.1234567890123456789")}, {"note": "ünï"}])
def test_codec_keeps_values_the_fast_encoder_refuses_or_would_round(extra: dict) -> None:
    """Integers beyond 64 bits take the standard encoder; Decimals are written as their exact text."""
    original = event(2, extra=extra)
    decoded = decode_event(encode_event(original))
    assert decoded.extra == {name: str(value) if isinstance(value, Decimal) else value
                             for name, value in extra.items()}
    assert decoded.ts == original.ts and decoded.cost == original.cost


def test_journal_replays_only_what_is_not_checkpointed(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    ends = [journal.append(f"record-{i}".encode())[1] for i in range(5)]
    journal.checkpoint(ends[1])
    journal.close()
    reopened = Journal(tmp_path)
    pending = [line for _, line in reopened.pending(reopened.replay_end)]
    assert pending == [b"record-2", b"record-3", b"record-4"]
    reopened.checkpoint(reopened.replay_end)
    assert [number for number in reopened.segments()] == [reopened.replay_end.segment]
    reopened.close()


@pytest.mark.parametrize("damage", ["", "1 10\n", "garbage", "99 0 00000000"])
def test_a_damaged_checkpoint_means_replaying_everything(tmp_path: Path, damage: str) -> None:
    """The checkpoint is rewritten in place with a checksum: lost, old-format, torn or tampered, it is ignored and
    every record is replayed (inserts are idempotent), never skipped."""
    journal = Journal(tmp_path)
    ends = [journal.append(f"record-{i}".encode())[1] for i in range(4)]
    journal.checkpoint(ends[2])
    journal.checkpoint(ends[1])  # never moves backwards
    journal.close()
    assert (tmp_path / "checkpoint").read_text().split()[:2] == [str(ends[2].segment), str(ends[2].offset)]
    (tmp_path / "checkpoint").write_text(damage)
    reopened = Journal(tmp_path)
    assert [line for _, line in reopened.pending(reopened.replay_end)] == [f"record-{i}".encode() for i in range(4)]
    reopened.close()


def test_journal_skips_a_torn_last_line_and_rotates_segments(tmp_path: Path) -> None:
    journal = Journal(tmp_path, segment_bytes=64)
    for i in range(10):
        journal.append(f"record-{i:02d}-padding-padding".encode())
    assert len(journal.segments()) > 2
    journal.close()
    last = tmp_path / f"segment-{max(Journal.segments(journal)):06d}.jsonl"
    with last.open("ab") as handle:
        handle.write(b'{"torn": tr')  # power lost mid-write: never acknowledged, never replayed
    reopened = Journal(tmp_path)
    lines = [line for _, line in reopened.pending(reopened.replay_end)]
    assert lines == [f"record-{i:02d}-padding-padding".encode() for i in range(10)]
    reopened.close()


def test_one_process_per_journal(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    with pytest.raises(JournalBusy, match="in use by another creditgauge process"):
        Journal(tmp_path)
    journal.close()


def test_writer_stores_everything_once_and_replays_after_a_crash(engine: Engine, tmp_path: Path) -> None:
    writer = EventWriter(engine, Journal(tmp_path), batch_size=7, flush_interval=0.01, backoff=FAST).start()
    for i in range(50):
        writer.submit(event(i))
    assert writer.flush(10)
    assert stored(engine) == [f"evt-{i:06d}" for i in range(50)]
    writer.close()
    # A crash after the journal write but before the commit: the record is only in the journal.
    crashed = Journal(tmp_path)
    for i in range(45, 60):  # 45..49 are already stored: replay must not duplicate them
        crashed.append(encode_event(event(i)))
    abandon(crashed)
    restarted = EventWriter(engine, Journal(tmp_path), flush_interval=0.01, backoff=FAST).start()
    assert restarted.flush(10)
    assert stored(engine) == [f"evt-{i:06d}" for i in range(60)]
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(schema.event_tags)).scalar() == 60
    restarted.close()


def abandon(journal: Journal) -> None:
    """Leave a journal as a killed process would: no close, no checkpoint, its lock released by the kernel."""
    import fcntl

    journal._stop.set()
    os.close(journal._fd)
    fcntl.flock(journal._lock_fd, fcntl.LOCK_UN)


def test_a_batch_submitted_at_once_is_one_journal_write_and_survives_a_crash(
        engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Never started: nothing reaches the database before the "crash", and the queue (3) overflows into the journal.
    writer = EventWriter(engine, Journal(tmp_path), queue_size=3)
    writes: list[int] = []
    real_write = os.write

    def counting_write(fd: int, data: bytes) -> int:
        writes.append(len(data))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", counting_write)
    writer.submit_many([event(i) for i in range(10)])
    monkeypatch.undo()
    assert len(writes) == 1 and writer.stats.submitted == 10 and writer.stats.spilled == 7
    assert writer.journal is not None
    abandon(writer.journal)
    restarted = EventWriter(engine, Journal(tmp_path), flush_interval=0.01, backoff=FAST).start()
    restarted.submit_many([event(i) for i in range(8, 12)])  # a retried batch overlapping the journaled one
    assert restarted.flush(10)
    assert stored(engine) == [f"evt-{i:06d}" for i in range(12)]
    restarted.close()


def test_database_down_nothing_lost_and_submit_never_waits(database_url: str, tmp_path: Path) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the outage is a closed TCP gate in front of PostgreSQL (SQLite: see the next test)")
    base = database_url
    target = make_url(base)
    gate = TcpGate(target.host or "127.0.0.1", target.port or 5432)
    good = open_engine(base)
    try:
        gated = make_engine(gated_url(base, gate))
        writer = EventWriter(gated, Journal(tmp_path), batch_size=20, queue_size=100, flush_interval=0.01,
                             backoff=FAST).start()
        gate.close()
        started = time.perf_counter()
        for i in range(500):  # five times the queue: most of it lives only in the journal for a while
            writer.submit(event(i))
        assert time.perf_counter() - started < 1.0  # the request path never waited on the database
        time.sleep(0.3)
        assert writer.stats.failures > 0 and writer.stats.spilled > 0
        gate.reopen()
        assert writer.flush(30)
        assert stored(good) == [f"evt-{i:06d}" for i in range(500)]
        writer.close()
        gated.dispose()
    finally:
        gate.stop()
        good.dispose()


def test_close_while_database_is_down_keeps_events_for_the_next_start(sqlite_url: str, tmp_path: Path) -> None:
    engine = open_engine(sqlite_url)
    lock = engine.raw_connection()
    lock.execute("BEGIN EXCLUSIVE")  # another process holds the database: every write waits, then fails
    writer = EventWriter(make_engine(sqlite_url + "?timeout=0.1"), Journal(tmp_path), flush_interval=0.01,
                         backoff=FAST).start()
    for i in range(30):
        writer.submit(event(i))
    closer = threading.Thread(target=writer.close, kwargs={"timeout": 0.5})
    closer.start()
    closer.join(10)
    assert not closer.is_alive()
    lock.rollback()
    lock.close()
    assert stored(engine) == []
    restarted = EventWriter(engine, Journal(tmp_path), flush_interval=0.01, backoff=FAST).start()
    assert restarted.flush(10)
    assert stored(engine) == [f"evt-{i:06d}" for i in range(30)]
    restarted.close()


def test_codec_writes_every_time_as_utc() -> None:
    from datetime import timedelta, timezone

    paris = event(3)
    paris.ts = datetime(2026, 11, 20, 13, 0, tzinfo=timezone(timedelta(hours=1)))
    line = encode_event(paris)
    assert b'"ts":"2026-11-20T12:00:00+00:00"' in line
    assert decode_event(line).ts == datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    assert b'"ts":"2026-11-20T12:00:00+00:00"' in encode_event(event(4))
