"""The one batch writer behind every capture path: `submit` never waits on the database.

submit(event): one journal write (durable against kill -9 from then on) and an append to a bounded in-memory
queue, both under one lock so queue order is journal order; submit_many(events) does the same for a batch with
one journal write (the OTLP receiver's export requests). A single thread takes batches off the queue, stores
them idempotently and moves the journal's checkpoint. When the database is down it retries with backoff and the
queue fills; past `queue_size`, events live only in the journal (nothing is dropped) and are replayed from it once
the queue has drained. At start, whatever an earlier process left uncommitted in the journal is replayed first.

One bad event never stops it: the store quarantines what cannot be stored as it is (store_checked); a batch that
still fails while the database answers is split until the failing event is alone, and that one, like a journal
record that cannot be read back, goes to the quarantine table (the journal directory's quarantine file when the
database will not take even that). Only an unreachable database makes the writer wait (and retry). The thread
never dies on an error, and `flush()` reports what could not be stored.

A store that answers later than it takes a batch (`PipelinedStore`: the helper process) gets the next batch before
it answers the last, up to its `depth`; the checkpoint still moves only past batches stored in journal order, and a
batch that fails is retried alone once the answers for those sent after it are in.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from sqlalchemy import Engine

from creditgauge.capture.codec import decode_event, encode_event, encode_record
from creditgauge.capture.journal import Journal, Position
from creditgauge.domain import UsageEvent
from creditgauge.errors import StoreError
from creditgauge.limits import QUARANTINE_REASON, Checked
from creditgauge.redact import redact
from creditgauge.store.events import StoreOutcome, is_outage, store_checked
from creditgauge.store.quarantine import QuarantineItem, event_item, quarantine_items, record_item

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
    quarantined: int = 0  # events the store kept in its quarantine table instead (see store_checked)
    quarantined_to_file: int = 0  # events or journal records not even the quarantine table took (the file has them)
    dropped: int = 0  # events lost: the queue was full and there was no journal
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class FlushReport:
    """What `flush()` found: true only when everything submitted is stored as it came."""

    pending: int
    quarantined: int
    dropped: int
    last_error: str | None

    def __bool__(self) -> bool:
        return not (self.pending or self.quarantined or self.dropped)


StoreFunction = Callable[[Engine, Sequence[UsageEvent]], StoreOutcome]
CONTENT_FAILURES_BEFORE_SPLIT = 2  # a batch failing this often while the database answers is split
QueuedEvent = tuple[UsageEvent, Position | None, bool]  # (event, its journal record's end, checked)


@runtime_checkable
class PipelinedStore(Protocol):
    """A store that takes up to `depth` batches before answering the first; answers come in the order sent.
    `receive` returns the outcome of the oldest batch sent, or raises what storing it raised."""

    depth: int

    def send(self, events: Sequence[UsageEvent]) -> None: ...

    def receive(self) -> StoreOutcome: ...


class InlineStore:
    """A store function as a pipeline one batch deep: `send` stores, `receive` gives its outcome or error."""

    depth = 1

    def __init__(self, store: StoreFunction, engine: Engine) -> None:
        self._store, self._engine = store, engine
        self._answer: StoreOutcome | Exception | None = None

    def send(self, events: Sequence[UsageEvent]) -> None:
        try:
            self._answer = self._store(self._engine, events)
        except Exception as exc:  # handed to the writer by `receive`, as a pipelined store's failure is
            self._answer = exc

    def receive(self) -> StoreOutcome:
        answer, self._answer = self._answer, None
        if isinstance(answer, Exception):
            raise answer
        assert answer is not None, "receive() without send()"
        return answer


@dataclass(slots=True)
class _SentBatch:
    queued: list[QueuedEvent]
    events: Sequence[UsageEvent]
    failure: Exception | None = None  # sending it failed already: no answer will come


class EventWriter:
    def __init__(self, engine: Engine, journal: Journal | None = None, *, batch_size: int = 500,
                 queue_size: int = 100_000, flush_interval: float = 0.25, backoff: Backoff | None = None,
                 store: StoreFunction | PipelinedStore = store_checked) -> None:
        self.engine = engine
        self.journal = journal
        self.batch_size = batch_size
        self.queue_size = queue_size
        self.flush_interval = flush_interval
        self.backoff = backoff or Backoff()
        self.stats = WriterStats()
        self._store = store if isinstance(store, PipelinedStore) else InlineStore(store, engine)
        self._queue: deque[QueuedEvent] = deque()
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
        line = self._journal_record(event) if self.journal is not None else b""
        with self._lock:
            self.stats.submitted += 1
            if line and self.journal is not None:
                self._enqueue(event, *self.journal.append(line), checked=False)
            else:
                self._queue_unjournaled(event)
            if len(self._queue) >= self.batch_size:
                self._wake.set()

    def submit_many(self, events: Sequence[UsageEvent]) -> None:
        """Make a batch durable with one journal write and queue it, in order. Never blocks on the database; once
        it returns, every event of the batch survives a kill as `submit`'s event does. A `Checked` batch stays
        marked so: the store does not check its events again."""
        checked = isinstance(events, Checked)
        lines = [self._journal_record(event) for event in events] if self.journal is not None \
            else [b""] * len(events)
        journaled = [(event, line) for event, line in zip(events, lines, strict=True) if line]
        with self._lock:
            self.stats.submitted += len(events)
            for event, line in zip(events, lines, strict=True):
                if not line:
                    self._queue_unjournaled(event)
            if journaled and self.journal is not None:
                start, ends = self.journal.append_many([line for _, line in journaled])
                for (event, _), begin, end in zip(journaled, [start, *ends], ends, strict=False):
                    self._enqueue(event, begin, end, checked=checked)
            if len(self._queue) >= self.batch_size:
                self._wake.set()

    def _enqueue(self, event: UsageEvent, start: Position, end: Position, *, checked: bool) -> None:
        """Queue a journaled event (the lock held), or leave it to the journal alone while the queue is full: it
        is replayed from there."""
        if len(self._queue) < self.queue_size and self._first_spilled is None:
            self._queue.append((event, end, checked))
        else:
            self.stats.spilled += 1
            if self._first_spilled is None:
                self._first_spilled = start

    @staticmethod
    def _journal_record(event: UsageEvent) -> bytes:
        """The event's journal line, or b"" for a value no journal record can hold: the store quarantines that
        event (queued, not journaled)."""
        try:
            return encode_record(event)
        except (TypeError, ValueError, OverflowError, RecursionError) as exc:
            event.extra = {QUARANTINE_REASON: f"cannot be journaled ({type(exc).__name__})"}
            return b""

    def _queue_unjournaled(self, event: UsageEvent) -> None:
        """Queue an event the journal does not hold (the lock held); dropped, and counted, when the queue is full."""
        if len(self._queue) >= self.queue_size:
            self.stats.failures += 1
            self.stats.dropped += 1
            log.error("event queue full and no journal: event %s dropped", event.id)
            return
        self._queue.append((event, None, False))

    def pending(self) -> int:
        with self._lock:
            return len(self._queue) + self._in_flight + (1 if self._first_spilled is not None else 0)

    def flush(self, timeout: float = 30.0) -> FlushReport:
        """Wait until every event submitted so far is written (or the timeout passes), and report: events still
        pending, quarantined instead of stored, and dropped since the writer started. True only when none."""
        deadline = time.monotonic() + timeout
        self._wake.set()
        with self._idle:
            while self.pending() and self._thread.is_alive():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._idle.wait(min(remaining, 0.05))
                self._wake.set()
        stats = self.stats
        return FlushReport(self.pending(), stats.quarantined + stats.quarantined_to_file, stats.dropped,
                           stats.last_error)

    def close(self, timeout: float = 30.0) -> bool:
        """Drain the queue into the database (as far as `timeout` allows), stop the thread, close the journal.
        What could not be written stays in the journal for the next start."""
        if self._stopping:
            return self.pending() == 0
        drained = (self.flush(timeout).pending if self._thread.is_alive() else self.pending()) == 0
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
            try:
                self._write_queued()
                self._replay_spilled()
            except Exception:  # a bug must not end tracking silently: logged, and the next round tries again
                self.stats.failures += 1
                log.exception("the event writer hit an unexpected error; it keeps running")
            with self._idle:
                self._idle.notify_all()

    def _write_queued(self) -> None:
        """Store the queue's batches, keeping up to the store's depth of them sent before the oldest is answered;
        checkpoint each once it and every batch before it are stored."""
        sent: deque[_SentBatch] = deque()
        try:
            while True:
                while len(sent) < self._store.depth and not self._stopping and (queued := self._take_batch()):
                    sent.append(self._send(queued))
                if not sent:
                    return
                oldest = sent.popleft()
                failure = oldest.failure or self._receive()
                if failure is not None:  # retried alone, after the answers of the batches sent behind it
                    settled = [(oldest, failure), *((later, later.failure or self._receive()) for later in sent)]
                    sent.clear()
                    if not self._retry_in_order(settled):
                        return
                else:
                    self._checkpoint(oldest.queued)
        finally:
            for unanswered in sent:  # left by an unexpected error: keep the store's answers in step, queue again
                if unanswered.failure is None:
                    self._receive()
            with self._lock:
                for unanswered in reversed(sent):
                    self._queue.extendleft(reversed(unanswered.queued))
                self._in_flight = 0

    def _take_batch(self) -> list[QueuedEvent]:
        with self._lock:
            count = min(self.batch_size, len(self._queue))
            batch = [self._queue.popleft() for _ in range(count)]
            self._in_flight += count
        return batch

    def _send(self, queued: list[QueuedEvent]) -> _SentBatch:
        events = [event for event, _, _ in queued]
        batch = _SentBatch(queued, Checked(events) if all(checked for _, _, checked in queued) else events)
        batch.failure = self._send_events(batch.events)
        return batch

    def _send_events(self, events: Sequence[UsageEvent]) -> Exception | None:
        try:
            self._store.send(events)
        except Exception as exc:  # the store could not take it (its process died): retried like a failed write
            return exc
        return None

    def _receive(self) -> Exception | None:
        try:
            outcome = self._store.receive()
        except Exception as exc:  # classified and retried by _write
            return exc
        self._stored(outcome)
        return None

    def _retry_in_order(self, settled: list[tuple[_SentBatch, Exception | None]]) -> bool:
        """Write again, one at a time, each batch whose answer was a failure, and checkpoint in order. False when
        stopping while the database is down: this batch and the ones after it go back to the queue's head."""
        for index, (batch, failure) in enumerate(settled):
            if failure is not None and not self._write(batch.events, failure):
                with self._lock:  # the journal keeps them too
                    for later, _ in reversed(settled[index:]):
                        self._queue.extendleft(reversed(later.queued))
                return False
            self._checkpoint(batch.queued)
        return True

    def _checkpoint(self, queued: list[QueuedEvent]) -> None:
        end = queued[-1][1]
        with self._lock:
            limit = self._first_spilled
            self._in_flight -= len(queued)
        if end is not None and self.journal is not None:
            self.journal.checkpoint(end if limit is None else min(end, limit))

    def _stored(self, outcome: StoreOutcome) -> None:
        self.stats.committed_batches += 1
        self.stats.quarantined += outcome.quarantined

    def _write(self, events: Sequence[UsageEvent], failure: Exception | None = None) -> bool:
        """Store with retries until it works; False only when asked to stop while the database is still down.
        `failure`: what the first try, already made, raised. A batch that keeps failing on its content while the
        database answers is split to find the poison."""
        attempt = content_failures = 0
        while True:
            if failure is None:
                failure = self._send_events(events) or self._receive()
                if failure is None:
                    return True
            self.stats.failures += 1
            message = redact((str(getattr(failure, "orig", None) or failure) or type(failure).__name__)
                             .splitlines()[0])
            if message != self.stats.last_error:
                log.warning("database write failed (%s); retrying, events stay in the journal", message)
            self.stats.last_error = message
            if not (is_outage(failure) or isinstance(failure, StoreError)):
                content_failures += 1
                if content_failures >= CONTENT_FAILURES_BEFORE_SPLIT:
                    return self._split(events, message)
            if self._stopping:
                return False
            time.sleep(self.backoff.delay(attempt))
            attempt += 1
            failure = None

    def _split(self, events: Sequence[UsageEvent], reason: str) -> bool:
        if len(events) == 1:
            self._keep_aside(event_item(events[0], f"the store failed on this event: {reason}"),
                             encode_or_repr(events[0]))
            return True
        middle = len(events) // 2
        return self._write(events[:middle]) and self._write(events[middle:])

    def _keep_aside(self, item: QuarantineItem, record: bytes) -> None:
        """Keep what nothing could store, with the reason: in the quarantine table, where `status` counts it and
        `creditgauge quarantine` lists it; in the journal directory's quarantine file (`record` as written, the
        item's reason) only when the database will not take even that (down, or its schema not there yet)."""
        try:
            with self.engine.begin() as connection:
                quarantine_items(connection, [item])
        except Exception as exc:  # whatever the database says: the file keeps the record
            log.error("a record could not be quarantined in the database (%s); kept in the journal's quarantine "
                      "file", redact(f"{type(exc).__name__}: {exc}".splitlines()[0]))
            self.stats.quarantined_to_file += 1
            if self.journal is not None:
                self.journal.quarantine(record, item.reason)
            return
        self.stats.quarantined += 1
        log.error("an event could not be stored and was quarantined: %s", item.reason)

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
            except (ValueError, TypeError, KeyError, OverflowError, RecursionError) as exc:
                self._keep_aside(record_item(line, f"journal record at {tuple(position)} unreadable "
                                                   f"({type(exc).__name__})"), line)
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


def encode_or_repr(event: UsageEvent) -> bytes:
    """The event as its journal record, or (when no record can hold it) its cut repr, for the quarantine file."""
    try:
        return encode_event(event)
    except (TypeError, ValueError, OverflowError, RecursionError):
        try:
            return repr(event)[:65536].encode("utf-8", "backslashreplace")
        except (ValueError, RecursionError):
            return f"<unprintable event {event.id!r}>".encode("utf-8", "backslashreplace")
