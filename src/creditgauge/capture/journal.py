"""The durable journal: every captured event is appended here before it goes to the writer's queue, and stays
until the database has committed it, so a crash, a kill -9 or a database that is down loses nothing.

Layout of a journal directory: `segment-000001.jsonl`, ... (one JSON event per line, append-only; a new segment
per process start and every `segment_bytes`), `checkpoint` ("<segment> <offset>": every record ending at or
before it is committed) and `lock` (one process per directory). A record reaches the operating system with one
`write` before the request is answered, which survives the process being killed; a background thread fsyncs in
small groups (every `fsync_interval` seconds, 20 ms by default) against power loss. Replay is idempotent by event
id, so replaying too much is harmless and a stale checkpoint only costs time.

A journal belongs to one database: `database` (its URL without the password) is written to the `database` file
when the directory is first used and checked on every open, so events journaled for one database are never
replayed into another; they wait for a process configured with their own. `quarantine.jsonl` keeps what could not
be stored anywhere else (an unreadable record, an event the store failed on), one JSON line each, with the reason.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

from creditgauge.domain import utcnow
from creditgauge.errors import ConfigError

log = logging.getLogger("creditgauge.capture.journal")

SEGMENT_PREFIX = "segment-"
SEGMENT_SUFFIX = ".jsonl"


class Position(NamedTuple):
    segment: int
    offset: int


def _segment_name(number: int) -> str:
    return f"{SEGMENT_PREFIX}{number:06d}{SEGMENT_SUFFIX}"


IDENTITY_FILE = "database"
QUARANTINE_FILE = "quarantine.jsonl"


class Journal:
    def __init__(self, directory: Path, *, database: str | None = None, segment_bytes: int = 64 * 1024 * 1024,
                 fsync_interval: float = 0.02) -> None:
        self.directory = Path(directory).expanduser()
        self.segment_bytes = segment_bytes
        self.fsync_interval = fsync_interval
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._dirty = False
        self._closed = False
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._lock_fd = os.open(self.directory / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise ConfigError(f"journal directory {self.directory}: cannot be used ({exc.strerror}); "
                              f"set proxy.journal_dir to a writable directory") from None
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise JournalBusy(f"journal directory {self.directory} is in use by another creditgauge process; "
                              f"stop it or give this one another proxy.journal_dir") from None
        if database is not None:
            self._claim(database)
        self._checkpoint = self._read_checkpoint()
        self._checkpoint_fd = os.open(self.directory / "checkpoint", os.O_RDWR | os.O_CREAT, 0o600)
        existing = self.segments()
        self._segment = (existing[-1] + 1) if existing else 1
        self._fd = self._open_segment(self._segment)
        self._offset = 0
        # Everything written before this process started is what `pending()` replays.
        self.replay_end = Position(self._segment, 0)
        self._stop = threading.Event()
        self._syncer = threading.Thread(target=self._sync_loop, name="creditgauge-journal-fsync", daemon=True)
        self._syncer.start()

    def _claim(self, database: str) -> None:
        """Record which database this journal feeds, or refuse to open one that feeds another."""
        path = self.directory / IDENTITY_FILE
        try:
            recorded = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            path.write_text(database + "\n", encoding="utf-8")
            _fsync_dir(self.directory)
            return
        except OSError as exc:
            self._release_lock()
            raise ConfigError(f"journal directory {self.directory}: cannot read its {IDENTITY_FILE} file "
                              f"({exc.strerror}); fix its permissions") from None
        if recorded != database:
            self._release_lock()
            raise JournalForOtherDatabase(
                f"journal directory {self.directory} holds events for the database {recorded}, not {database}; "
                f"they are kept for a process configured with that database: give this one another "
                f"proxy.journal_dir")

    def _release_lock(self) -> None:
        fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        os.close(self._lock_fd)

    @property
    def database(self) -> str | None:
        try:
            return (self.directory / IDENTITY_FILE).read_text(encoding="utf-8").strip() or None
        except OSError:
            return None

    def quarantine(self, record: bytes, reason: str) -> None:
        """Keep a record nothing else could store, with the reason, in the quarantine file (one JSON line)."""
        line = json.dumps({"at": utcnow().isoformat(), "reason": reason,
                           "record": record.decode("utf-8", "backslashreplace")}, ensure_ascii=True)
        try:
            with (self.directory / QUARANTINE_FILE).open("a", encoding="ascii") as handle:
                handle.write(line + "\n")
        except OSError as exc:
            log.error("quarantine file in %s could not be written (%s): %s", self.directory, exc.strerror, reason)

    # -- writing ---------------------------------------------------------------------------------------------------
    def append(self, record: bytes) -> tuple[Position, Position]:
        """Append one record (a line without its newline); returns where it starts and ends. Thread-safe."""
        line = record + b"\n"
        with self._lock:
            if self._offset and self._offset + len(line) > self.segment_bytes:
                self._rotate()
            start = Position(self._segment, self._offset)
            os.write(self._fd, line)
            self._offset += len(line)
            self._dirty = True
            return start, Position(self._segment, self._offset)

    def append_many(self, records: Sequence[bytes]) -> tuple[Position, list[Position]]:
        """Append records in one `write` (one system call for a whole batch, kept in one segment); returns where
        the first starts and where each ends. Thread-safe."""
        lines = [record + b"\n" for record in records]
        data = b"".join(lines)
        with self._lock:
            if self._offset and self._offset + len(data) > self.segment_bytes:
                self._rotate()
            start = Position(self._segment, self._offset)
            _write_all(self._fd, data)
            ends, offset = [], self._offset
            for line in lines:
                offset += len(line)
                ends.append(Position(self._segment, offset))
            self._offset = offset
            self._dirty = True
            return start, ends

    def position(self) -> Position:
        with self._lock:
            return Position(self._segment, self._offset)

    def _rotate(self) -> None:
        with self._sync_lock:
            os.fsync(self._fd)
            os.close(self._fd)
            self._segment += 1
            self._fd = self._open_segment(self._segment)
            self._offset = 0

    def _open_segment(self, number: int) -> int:
        fd = os.open(self.directory / _segment_name(number), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        _fsync_dir(self.directory)
        return fd

    def sync(self) -> None:
        with self._sync_lock:
            if self._dirty and not self._closed:
                self._dirty = False
                os.fsync(self._fd)

    def _sync_loop(self) -> None:
        while not self._stop.wait(self.fsync_interval):
            try:
                self.sync()
            except OSError as exc:  # a full disk must be visible, and must not kill the thread
                log.error("journal fsync failed in %s: %s", self.directory, exc.strerror)

    # -- committing and replaying ----------------------------------------------------------------------------------
    @property
    def checkpoint_position(self) -> Position:
        return self._checkpoint

    def checkpoint(self, position: Position) -> None:
        """Everything ending at or before `position` is in the database: remember it and drop finished segments.

        The checkpoint is rewritten in place, one small pwrite with a checksum, rather than written to a new file
        and renamed: a rename next to the live segment cost milliseconds of the proxy's CPU per batch under load.
        Replay is idempotent, so a checkpoint that a crash leaves stale, torn or empty only means re-reading
        events that are already stored (the checksum turns a torn one into "replay from the start")."""
        if position <= self._checkpoint:
            return
        previous, self._checkpoint = self._checkpoint, position
        with self._lock:  # a writer still finishing a batch after close() must not write to a closed descriptor
            if self._closed:
                return
            os.pwrite(self._checkpoint_fd, _checkpoint_record(position), 0)
        if position.segment > previous.segment:
            for number in self.segments():
                if number < position.segment:
                    (self.directory / _segment_name(number)).unlink(missing_ok=True)

    def pending(self, end: Position) -> Iterator[tuple[Position, bytes]]:
        """Records after the checkpoint and before `end`, with the position each ends at. A torn last line
        (power loss mid-write) is skipped: it was never acknowledged."""
        start = self._checkpoint
        for number in self.segments():
            if number < start.segment or number > end.segment:
                continue
            path = self.directory / _segment_name(number)
            offset = start.offset if number == start.segment else 0
            limit = end.offset if number == end.segment else None
            with path.open("rb") as handle:
                handle.seek(offset)
                for line in handle:
                    offset += len(line)
                    if limit is not None and offset > limit:
                        break
                    if line.endswith(b"\n") and line.strip():
                        yield Position(number, offset), line.rstrip(b"\n")

    def segments(self) -> list[int]:
        numbers = []
        for path in self.directory.glob(f"{SEGMENT_PREFIX}*{SEGMENT_SUFFIX}"):
            digits = path.name[len(SEGMENT_PREFIX):-len(SEGMENT_SUFFIX)]
            if digits.isdigit():
                numbers.append(int(digits))
        return sorted(numbers)

    def _read_checkpoint(self) -> Position:
        try:
            segment, offset, checksum = (self.directory / "checkpoint").read_text(encoding="ascii").split()
            position = Position(int(segment), int(offset))
        except (OSError, ValueError):
            return Position(0, 0)  # none yet, or unreadable: replay everything (idempotent)
        return position if _checkpoint_record(position).split()[2].decode() == checksum else Position(0, 0)

    def close(self) -> None:
        self._stop.set()
        self._syncer.join(timeout=5)
        with self._lock:
            self.sync()
            self._closed = True
            os.close(self._fd)
            os.close(self._checkpoint_fd)
        self._release_lock()


class JournalBusy(ConfigError):
    pass


class JournalForOtherDatabase(ConfigError):
    pass


CHECKPOINT_WIDTH = 48  # fixed, so an in-place rewrite always covers the previous record whole


def _checkpoint_record(position: Position) -> bytes:
    text = f"{position.segment} {position.offset}"
    return f"{text} {zlib.crc32(text.encode()):08x}".ljust(CHECKPOINT_WIDTH).encode("ascii") + b"\n"


def _write_all(fd: int, data: bytes) -> None:
    """`os.write` may write less than asked for a large batch (a pipe, a full disk's last blocks): loop."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _fsync_dir(directory: Path) -> None:
    """Make a new file's directory entry durable too."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
