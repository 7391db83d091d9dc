"""The one batch writer behind every capture path: `submit` never waits on the database.

submit(event): one journal write (durable against kill -9 from then on) and an append to a bounded in-memory
queue, both under one lock so queue order is journal order. A single thread takes batches off the queue, stores
them idempotently and moves the journal's checkpoint. When the database is down it retries with backoff and the
queue fills; past `queue_size`, events live only in the journal (nothing is dropped) and are replayed from it once
the queue has drained. At start, whatever an earlier process left uncommitted in the journal is replayed first.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from creditgauge.capture.codec import decode_event, encode_event
from creditgauge.capture.journal import Journal, Position
from creditgauge.domain import UsageEvent
from creditgauge.errors import StoreError
from creditgauge.redact import redact
from creditgauge.store.events import store_events

log = logging.getLogger("creditgauge.capture.writer")


@dataclass(frozen=True, slots=True)
class Backoff:
    base: float = 0.1
    maximum: float = 10.0

    def delay(self, attempt: int) -> float:
        return random.uniform(self.base / 2, min(self.maximum, self.base * 2**attempt))


@dataclass
class WriterStats:
    submitted: int = 0
    committed_batches: int = 0
    replayed: int = 0
    spilled: int = 0  # events that overflowed the queue and were written from the journal
    failures: int = 0
    last_error: str | None = None


class EventWriter:
    def __init__(self, engine: Engine, journal: Journal | None = None, *, batch_size: int = 500,
                 queue_size: int = 100_000, flush_interval: float = 0.25, backoff: Backoff | None = None,
                 store: Callable[[Engine, Sequence[UsageEvent]], int] = store_events) -> None:
        self.engine = engine
        self.journal = journal
        self.batch_size = batch_size
        self.queue_size = queue_size
        self.flush_interval = flush_interval
        self.backoff = backoff or Backoff()
        self.stats = WriterStats()
        self._store = store
        self._queue: deque[tuple[UsageEvent, Position | None]] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._idle = threading.Condition()
        self._first_spilled: Position | None = None
        self._in_flight = 0
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="creditgauge-writer", daemon=True)

    def start(self) -> EventWriter:
        if self.journal is not None:
            self._in_flight = 1  # the start-up replay counts as pending work for flush()
        self._thread.start()
        return self

    # -- the request path ------------------------------------------------------------------------------------------
    def submit(self, event: UsageEvent) -> None:
        """Make the event durable (journal) and queue it for the database. Never blocks on the database."""
        line = encode_event(event) if self.journal is not None else b""
        with self._lock:
            self.stats.submitted += 1
            if self.journal is None:
                if len(self._queue) >= self.queue_size:
                    self.stats.failures += 1
                    log.error("event queue full and no journal: event %s dropped", event.id)
                    return
                self._queue.append((event, None))
            else:
                start, end = self.journal.append(line)
                if len(self._queue) < self.queue_size and self._first_spilled is None:
                    self._queue.append((event, end))
                else:
                    # The queue is full: the journal alone holds the event until it is replayed from there.
                    self.stats.spilled += 1
                    if self._first_spilled is None:
                        self._first_spilled = start
            if len(self._queue) >= self.batch_size:
                self._wake.set()

    def pending(self) -> int:
        with self._lock:
            return len(self._queue) + self._in_flight + (1 if self._first_spilled is not None else 0)

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every event submitted so far is committed (or the timeout passes)."""
        deadline = time.monotonic() + timeout
        self._wake.set()
        with self._idle:
            while self.pending():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(min(remaining, 0.05))
                self._wake.set()
        return True

    def close(self, timeout: float = 30.0) -> bool:
        """Drain the queue into the database (as far as `timeout` allows), stop the thread, close the journal.
        What could not be written stays in the journal for the next start."""
        if self._stopping:
            return not self.pending()
        drained = self.flush(timeout) if self._thread.is_alive() else not self.pending()
        self._stopping = True
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=max(1.0, timeout))
        if self.journal is not None:
            self.journal.close()
        return drained

    # -- the writer thread -----------------------------------------------------------------------------------------
    def _run(self) -> None:
        if self.journal is not None:
            try:
                self._replay(self.journal.replay_end)
            finally:
                with self._lock:
                    self._in_flight = 0
        while not self._stopping:
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            while not self._stopping and self._write_next_batch():
                pass
            self._replay_spilled()
            with self._idle:
                self._idle.notify_all()

    def _write_next_batch(self) -> bool:
        with self._lock:
            if not self._queue:
                return False
            count = min(self.batch_size, len(self._queue))
            batch = [self._queue.popleft() for _ in range(count)]
            self._in_flight = count
        try:
            if not self._write([event for event, _ in batch]):
                with self._lock:  # stopping while the database is down: the journal keeps them
                    self._queue.extendleft(reversed(batch))
                return False
            end = batch[-1][1]
            if end is not None and self.journal is not None:
                with self._lock:
                    limit = self._first_spilled
                self.journal.checkpoint(end if limit is None else min(end, limit))
        finally:
            with self._lock:
                self._in_flight = 0
        return True

    def _write(self, events: Sequence[UsageEvent]) -> bool:
        """Store with retries until it works; False only when asked to stop while the database is still down."""
        attempt = 0
        while True:
            try:
                self._store(self.engine, events)
                self.stats.committed_batches += 1
                return True
            except (SQLAlchemyError, OSError, StoreError) as exc:
                self.stats.failures += 1
                message = redact(str(getattr(exc, "orig", None) or exc).splitlines()[0])
                if message != self.stats.last_error:
                    log.warning("database write failed (%s); retrying, events stay in the journal", message)
                self.stats.last_error = message
                if self._stopping:
                    return False
                time.sleep(self.backoff.delay(attempt))
                attempt += 1

    def _replay_spilled(self) -> None:
        # Only this thread moves the checkpoint, and it replays before it writes any later batch, so clearing the
        # mark now is safe: events that spill during the replay set a new mark past `end`.
        with self._lock:
            if self._first_spilled is None or self._queue or self.journal is None:
                return
            end = self.journal.position()
            self._first_spilled = None
            self._in_flight = 1
        try:
            self._replay(end)
        finally:
            with self._lock:
                self._in_flight = 0

    def _replay(self, end: Position) -> None:
        """Store every journal record between the checkpoint and `end` (idempotent), then checkpoint `end`."""
        assert self.journal is not None
        batch: list[UsageEvent] = []
        for position, line in self.journal.pending(end):
            try:
                batch.append(decode_event(line))
            except (ValueError, TypeError, KeyError) as exc:
                log.error("journal record at %s unreadable, skipped: %s", tuple(position), exc)
            if len(batch) >= self.batch_size:
                if not self._write(batch):
                    return
                self.stats.replayed += len(batch)
                self.journal.checkpoint(position)
                batch = []
        if batch:
            if not self._write(batch):
                return
            self.stats.replayed += len(batch)
        self.journal.checkpoint(end)
