"""Reading usage from answers that may be hostile, without ever failing the call it rides on (the proxy's and the
SDK hook's): inflation is bounded (only what the usage reader needs is inflated, never more than
`MAX_INFLATED_BYTES`; the client gets the upstream's bytes untouched), and a parser that fails (non-finite numbers,
nesting deeper than the interpreter's stack) makes the usage *unreadable*, a reason the event carries into the
quarantine, instead of an exception in the user's request."""

from __future__ import annotations

import logging
import zlib
from typing import Any

from creditgauge.capture.endpoints import Call, classify, inject_include_usage, needs_usage_injection
from creditgauge.capture.stream import StreamTracker, UnsupportedEncoding, body_usage, decompressor
from creditgauge.capture.usage import Usage
from creditgauge.domain import UsageEvent
from creditgauge.limits import QUARANTINE_REASON

log = logging.getLogger("creditgauge.capture")

MAX_INFLATED_BYTES = 64 * 1024 * 1024


class TooLarge(Exception):
    pass


class BoundedInflater:
    """Inflates a gzip or deflate body piece by piece, refusing to produce more than `limit` bytes in all (a
    1 MB gzip bomb costs at most `limit`, not 1 GiB). Identity bodies pass through, counted against the limit."""

    def __init__(self, content_encoding: str | None, limit: int = MAX_INFLATED_BYTES) -> None:
        self._inflater = decompressor(content_encoding)  # UnsupportedEncoding for what cannot be read
        self.limit = limit
        self.total = 0

    def inflate(self, chunk: bytes) -> bytes:
        if self._inflater is None:
            out = chunk
        else:
            out = self._inflater.decompress(chunk, self.limit - self.total + 1)
            if self._inflater.unconsumed_tail:
                raise TooLarge
        self.total += len(out)
        if self.total > self.limit:
            raise TooLarge
        return out

    def flush(self) -> bytes:
        return b"" if self._inflater is None else self.inflate(b"") + self._inflater.flush()


def too_large(limit: int) -> str:
    return f"the answer inflates beyond {limit} bytes; its usage was not read"


def unreadable(exc: BaseException) -> str:
    return f"usage unreadable ({type(exc).__name__})"


def read_body_usage(flavor: str, raw: bytes, content_encoding: str | None,
                    limit: int = MAX_INFLATED_BYTES) -> tuple[Usage | None, str | None]:
    """(usage, None) for a whole answer; (None, reason) when its usage cannot be read safely; (None, None) when it
    has none to read (not JSON, an encoding the reader does not know, a corrupt stream): recorded as missing."""
    try:
        if content_encoding:
            inflater = BoundedInflater(content_encoding, limit)
            data = inflater.inflate(raw) + inflater.flush()
        elif len(raw) > limit:
            raise TooLarge
        else:
            data = raw
    except TooLarge:
        return None, too_large(limit)
    except (UnsupportedEncoding, zlib.error):
        return None, None
    try:
        return body_usage(flavor, data), None
    except Exception as exc:  # the parser met something it cannot hold: the call goes on, the event is quarantined
        return None, unreadable(exc)


class GuardedTracker:
    """A StreamTracker fed through a BoundedInflater, whose `feed` and `close` never raise."""

    __slots__ = ("_inflater", "limit", "problem", "tracker")

    def __init__(self, flavor: str, *, content_encoding: str | None, sse: bool,
                 limit: int = MAX_INFLATED_BYTES) -> None:
        self.limit = limit
        self.problem: str | None = None
        self.tracker = StreamTracker(flavor, content_encoding=None, sse=sse)
        self._inflater: BoundedInflater | None
        try:
            self._inflater = BoundedInflater(content_encoding, limit)
        except UnsupportedEncoding:
            self._inflater = None  # nothing to read: usage missing, as for any unreadable body

    @property
    def usage(self) -> Usage | None:
        return None if self.problem else self.tracker.usage

    @property
    def done(self) -> bool:
        return self.tracker.done

    @property
    def buffered(self) -> int:
        """Bytes inflated so far: what a whole-JSON answer holds for parsing at `close`."""
        return 0 if self._inflater is None or self.tracker.sse else self._inflater.total

    def feed(self, chunk: bytes) -> None:
        if self._inflater is not None and self.problem is None:
            self._guard(lambda: self.tracker.feed(self._inflater.inflate(chunk)))

    def close(self) -> None:
        if self._inflater is not None and self.problem is None:
            self._guard(self._finish)

    def _finish(self) -> None:
        assert self._inflater is not None
        self.tracker.feed(self._inflater.flush())
        self.tracker.close()

    def _guard(self, step: Any) -> None:
        try:
            step()
        except TooLarge:
            self.problem = too_large(self.limit)
        except zlib.error:
            self._inflater = None  # a corrupt stream: the rest is relayed, the usage stays what was known
        except Exception as exc:  # the parser met something it cannot hold: the call goes on, quarantined
            self.problem = unreadable(exc)


def prepare_call(method: str, path: str, query: Any, body: bytes, inject: bool) -> tuple[Call | None, bytes]:
    """The call a request makes (None: not an inference call) and the body to send. A body the classifier cannot
    read (nesting deeper than the stack, say) leaves the call known by its path alone and the body untouched."""
    try:
        call = classify(method, path, query, body)
    except Exception:  # a hostile request body must not fail the call: classify by the path alone
        return classify(method, path, query, b""), body
    if call is not None and inject and needs_usage_injection(call):
        try:
            body = inject_include_usage(body)
        except Exception:  # the body is sent as it came; the stream's usage may then be missing
            log.warning("stream_options could not be added to a request body; sent unchanged")
    return call, body


def mark_unreadable(event: UsageEvent, problem: str | None) -> UsageEvent:
    """The event with the reason its usage could not be read: the store quarantines it instead of storing it."""
    if problem:
        event.extra[QUARANTINE_REASON] = problem
    return event


def record_safely(recorder: Any, event: UsageEvent, usage: Usage | None) -> None:
    """Hand the event to the recorder; a failure there (pricing a poison value, say) quarantines the event, and a
    failure to do even that is logged: the user's call never fails because of its record."""
    try:
        recorder.record(event, usage=usage)
    except Exception as exc:  # never let recording turn the user's answer into an error
        try:
            recorder.writer.submit(mark_unreadable(event, f"could not be recorded ({type(exc).__name__})"))
        except Exception as again:  # the journal itself failed (a full disk): nothing left to do but say so
            log.error("event %s could not be recorded: %s", event.id, type(again).__name__)
