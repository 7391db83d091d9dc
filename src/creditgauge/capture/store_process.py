"""The proxy's database writes, done in a helper process.

Storing events (row conversion, the daily rollup, the driver) is Python work, and in the proxy's process it holds
the interpreter lock the event loop needs: measured on an idle 2-core machine, the writer thread took about 80 µs
of lock time per request and slowed the loop itself, so the loop, not the machine, limited the proxy. Here the
writer thread hands each batch to a child process over a pipe (pickled events in, a count or an error out) and
waits with the lock released. Events cross the pipe as tuples of their field values: a pickled slots dataclass
goes through Python-level state methods, which cost twice as much in the parent and three times in the child.
The child is a plain subprocess (`python -m creditgauge.capture.store_process`), not multiprocessing, so nothing
of the parent's `__main__` runs twice; the database URL goes over the pipe, never on the command line. If the
child dies, the batch fails like a database error (the writer retries it, the journal still holds it) and a new
child is started. A batch the child fails on for any other reason than the database (a value it cannot take) comes
back as a `BatchFailed`, which the writer answers by splitting the batch, never by retrying it forever.

The writer keeps two batches sent (`depth`): the next one crosses the pipe while the child stores the last, so the
child never waits for the parent to take an answer, checkpoint and pickle again (measured idle, the child sat
idle a third of the time with one batch at a time). Answers come back in the order the batches went.
"""

from __future__ import annotations

import operator
import pickle
import struct
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import fields
from typing import IO, Any

from sqlalchemy import Engine

from creditgauge.domain import UsageEvent
from creditgauge.errors import CreditgaugeError, StoreError
from creditgauge.limits import Checked
from creditgauge.redact import redact
from creditgauge.store.events import StoreOutcome

_HEADER = struct.Struct(">I")
_EVENT_VALUES = operator.attrgetter(*(field.name for field in fields(UsageEvent)))  # in UsageEvent's field order


def _send(stream: IO[bytes], value: Any) -> None:
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(payload)) + payload)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError("pipe closed")
    size = _HEADER.unpack(header)[0]
    payload = stream.read(size)
    if len(payload) < size:
        raise EOFError("pipe closed mid-message")
    return pickle.loads(payload)  # a message from our own parent or child, over our own pipe


_STOPPED = "the database writer process stopped; a new one takes the batch again"


class BatchFailed(RuntimeError):
    """The child could not store a batch while the database answered: something in the batch, not an outage."""


class ProcessStore:
    """A store for EventWriter, run in the child: `send(events)` then `receive()` in the same order, up to `depth`
    batches apart, or `store(engine, events)` for both at once (`engine` is unused: the child has its own on the
    same URL, and migrates the schema on its first successful connection, so the proxy starts and journals even
    while the database is unreachable). A batch whose answer died with the child is answered by a StoreError."""

    depth = 2

    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._child: subprocess.Popen[bytes] | None = None
        self._unanswered = 0  # batches sent to the current child and not yet answered
        self._lost = 0  # batches sent to a child that stopped before answering them
        self._lock = threading.Lock()

    def __call__(self, engine: Engine | None, events: Sequence[UsageEvent]) -> StoreOutcome:
        self.send(events)
        return self.receive()

    def send(self, events: Sequence[UsageEvent]) -> None:
        with self._lock:
            child = self._child if self._child is not None and self._child.poll() is None else self._spawn()
            assert child.stdin is not None
            try:
                _send(child.stdin, (isinstance(events, Checked), [_EVENT_VALUES(event) for event in events]))
            except OSError:
                self._stop_child()
                raise StoreError(_STOPPED) from None
            self._unanswered += 1

    def receive(self) -> StoreOutcome:
        with self._lock:
            if self._lost:
                self._lost -= 1
                raise StoreError(_STOPPED)
            child = self._child
            if child is None or child.stdout is None or not self._unanswered:
                raise StoreError("no batch is waiting for the database writer process's answer")
            try:
                kind, value = _receive(child.stdout)
            except (OSError, EOFError, pickle.UnpicklingError):
                self._unanswered -= 1
                self._stop_child()
                raise StoreError(_STOPPED) from None
            self._unanswered -= 1
        if kind == "error":
            raise StoreError(value)
        if kind == "failed":
            raise BatchFailed(value)
        return StoreOutcome(*value)

    def _spawn(self) -> subprocess.Popen[bytes]:
        self._stop_child()
        child = subprocess.Popen([sys.executable, "-m", "creditgauge.capture.store_process"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert child.stdin is not None
        _send(child.stdin, self._url)
        self._child = child
        return child

    def _stop_child(self) -> None:
        child, self._child = self._child, None
        self._lost, self._unanswered = self._lost + self._unanswered, 0
        if child is None:
            return
        try:
            if child.stdin is not None:
                child.stdin.close()
            child.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            child.kill()

    def close(self) -> None:
        with self._lock:
            self._stop_child()
            self._lost = 0


def serve(stdin: IO[bytes], stdout: IO[bytes]) -> None:
    """The child: one batch in, one answer out, until the parent closes the pipe."""
    from creditgauge.capture.collector import tune_garbage_collector
    from creditgauge.capture.once import store_once
    from creditgauge.store.engine import make_engine, migrate
    from creditgauge.store.events import is_outage

    engine = make_engine(_receive(stdin))
    tune_garbage_collector()
    migrated = False
    while True:
        try:
            checked, rows = _receive(stdin)
            events = [UsageEvent(*values) for values in rows]
        except EOFError:
            break
        try:
            if not migrated:
                migrate(engine)
                migrated = True
            # a call whose span is already stored is not counted twice; a batch checked before pricing keeps its mark
            outcome = store_once(engine, Checked(events) if checked else events)
            _send(stdout, ("ok", (outcome.stored, outcome.quarantined)))
        except Exception as exc:  # every failure goes back to the parent as an answer; the child lives on
            first_line = (str(getattr(exc, "orig", None) or exc) or type(exc).__name__).splitlines()[0]
            outage = is_outage(exc) or isinstance(exc, CreditgaugeError)
            _send(stdout, ("error" if outage else "failed", redact(first_line)))
    engine.dispose()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
