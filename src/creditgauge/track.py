"""The SDK hook: `creditgauge.track(client, account="openai-main", tags={"team": "search"})` records the usage of
every inference call an `openai` or `anthropic` client makes (sync or async, streaming included) as tracked
events, the same ones the proxy records, without a proxy.

How: the client's HTTP transport (httpx2 in openai 3.x and anthropic 2.x; legacy httpx clients work the same way)
is wrapped. Each request is classified like the proxy does; OpenAI-style streams get
`stream_options.include_usage` unless `inject_stream_usage=False`; the answer's bytes are read as they pass to the
SDK, and the event is priced and handed to the process's writer (journal + batch writer, see capture.writer) when
the answer ends. A stream the application stops reading early is recorded with the usage seen so far, marked
incomplete. The key is never kept: only its fingerprint.

The user's call is sacred: nothing creditgauge does around it (reading a hostile answer's usage, pricing,
journaling) can turn the provider's answer into an exception in the application. Usage that cannot be read is
recorded as unreadable (quarantined, see creditgauge.store.quarantine); `creditgauge.flush()` waits for the
writer and reports what it could not store.
"""

from __future__ import annotations

import atexit
import importlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from creditgauge.capture.endpoints import Call, decodable_encodings
from creditgauge.capture.guarded import GuardedTracker, mark_unreadable, prepare_call, record_safely
from creditgauge.capture.observed import TAGS_HEADER, key_fingerprint, make_event, parse_tags
from creditgauge.connectors.registry import sdk_providers
from creditgauge.domain import utcnow
from creditgauge.errors import ConfigError

if TYPE_CHECKING:
    from creditgauge.capture.recorder import Recorder
    from creditgauge.capture.writer import FlushReport

log = logging.getLogger("creditgauge.track")

Client = TypeVar("Client")
_recorder: Recorder | None = None
_recorder_lock = threading.Lock()


def track(client: Client, *, account: str, tags: Mapping[str, str] | None = None, provider: str | None = None,
          inject_stream_usage: bool | None = None, recorder: Recorder | None = None) -> Client:
    """Record every inference call `client` makes under `account`; returns the same client.

    provider: defaults to the account's provider in the config, else the SDK's (openai or anthropic).
    inject_stream_usage: defaults to the account's setting (true): ask OpenAI-style streams for their usage.
    recorder: where events go; default a process-wide one on the configured database and journal.
    """
    http = getattr(client, "_client", None)
    if http is None or not hasattr(http, "_transport"):
        raise ConfigError(f"creditgauge.track: {type(client).__name__} is not an openai or anthropic client "
                          f"(no HTTP transport to hook); pass OpenAI(), AsyncOpenAI(), Anthropic() or AsyncAnthropic()")
    from creditgauge.config import load_config

    config = load_config()
    configured = config.accounts.get(account)
    sdk = type(client).__module__.split(".")[0]
    resolved = provider or (configured.provider if configured else None) or sdk_providers().get(sdk)
    if resolved is None:
        raise ConfigError(f"creditgauge.track: cannot tell the provider of account {account!r}; "
                          f"pass provider=... or add [accounts.{account}] to the config")
    inject = inject_stream_usage if inject_stream_usage is not None else (
        configured.inject_stream_usage if configured else True)
    hook = Hook(account, resolved, dict(tags or {}), inject, recorder or default_recorder())
    wrapper = AsyncTrackingTransport if _is_async(http) else TrackingTransport
    http._transport = wrapper(http._transport, hook)
    http._mounts = {pattern: (None if t is None else wrapper(t, hook)) for pattern, t in http._mounts.items()}
    return client


def flush(timeout: float = 30.0) -> FlushReport | None:
    """Wait until the events tracked so far are written; the report says what is still pending, what was
    quarantined instead of stored and what was dropped (true only when nothing). None when nothing was tracked."""
    with _recorder_lock:
        recorder = _recorder
    return None if recorder is None else recorder.writer.flush(timeout)


def _is_async(http: Any) -> bool:
    return hasattr(http._transport, "handle_async_request")


def default_recorder() -> Recorder:
    """The process's recorder: the configured database, a journal slot of its own under the journal directory
    (a slot left by a process that died is replayed by the next one to take it), flushed at exit."""
    global _recorder
    with _recorder_lock:
        if _recorder is None:
            from creditgauge.capture.journal import JournalBusy
            from creditgauge.capture.runtime import build_recorder, journal_root
            from creditgauge.config import load_config

            config = load_config()
            for slot in range(64):
                try:
                    _recorder = build_recorder(config, journal_root(config) / "sdk" / str(slot))
                    break
                except JournalBusy:
                    continue
            else:
                raise ConfigError("creditgauge.track: 64 processes already use the SDK journal; "
                                  "set proxy.journal_dir to another directory for this one")
            atexit.register(_recorder.close, 10.0)
        return _recorder


class Hook:
    """What a wrapped transport needs to turn one exchange into an event."""

    def __init__(self, account: str, provider: str, tags: dict[str, str], inject: bool, recorder: Recorder) -> None:
        self.account, self.provider, self.tags, self.inject, self.recorder = account, provider, tags, inject, recorder

    def prepare(self, request: Any) -> tuple[Any, Exchange | None]:
        """The request to send (maybe with include_usage added, tags header removed) and its exchange, if tracked."""
        try:
            body = request.content
        except RuntimeError:  # httpx(2).RequestNotRead: a streamed upload (files), not an inference call
            return request, None
        call, sent = prepare_call(request.method, request.url.path, dict(request.url.params), body, self.inject)
        if call is None:
            return request, None
        tags = {**self.tags, **parse_tags(request.headers.get(TAGS_HEADER))}
        accept = request.headers.get("accept-encoding")
        changed = (sent is not body or TAGS_HEADER in request.headers
                   or (accept is not None and decodable_encodings(accept) != accept))
        body = sent
        if changed:
            headers = [(k, v) for k, v in request.headers.multi_items()
                       if k.lower() not in (TAGS_HEADER, "content-length")]
            headers = [(k, decodable_encodings(v) if k.lower() == "accept-encoding" else v) for k, v in headers]
            request = type(request)(request.method, request.url, headers=headers, content=body,
                                    extensions=request.extensions)
        exchange = Exchange(self, call, key_fingerprint(request.headers, dict(request.url.params)), tags)
        return request, exchange


class Exchange:
    __slots__ = ("call", "hook", "key_fp", "recorded", "started", "status", "tags", "tracker", "ts")

    def __init__(self, hook: Hook, call: Call, key_fp: str | None, tags: dict[str, str]) -> None:
        self.hook, self.call, self.key_fp, self.tags = hook, call, key_fp, tags
        self.started, self.ts = time.perf_counter(), utcnow()
        self.tracker: GuardedTracker | None = None
        self.status = 0
        self.recorded = False

    def watch(self, response: Any) -> bool:
        """Start reading the response; False when there is nothing to record (an error answer)."""
        self.status = response.status_code
        if self.status >= 400:
            return False
        content_type = response.headers.get("content-type", "")
        self.tracker = GuardedTracker(self.call.flavor, content_encoding=response.headers.get("content-encoding"),
                                      sse=content_type.startswith("text/event-stream"))
        return True

    def feed(self, chunk: bytes) -> None:
        assert self.tracker is not None
        self.tracker.feed(chunk)
        if self.tracker.done:
            self.record()

    def finish(self, *, complete: bool) -> None:
        if self.tracker is not None and not self.recorded:
            if complete:
                self.tracker.close()
            self.record(incomplete=not complete)

    def record(self, *, incomplete: bool = False) -> None:
        if self.recorded or self.tracker is None:
            return
        self.recorded = True
        usage, problem = self.tracker.usage, self.tracker.problem
        try:
            event = make_event(account=self.hook.account, provider=self.hook.provider, call=self.call, usage=usage,
                               source="sdk", ts=self.ts, status=self.status, incomplete=incomplete,
                               latency_ms=int((time.perf_counter() - self.started) * 1000), key_fp=self.key_fp,
                               tags=self.tags)
        except Exception as exc:  # the user's call goes on whatever its record meets
            log.error("an event could not be made from a tracked call: %s", type(exc).__name__)
            return
        record_safely(self.hook.recorder, mark_unreadable(event, problem), usage)


@cache
def _stream_classes() -> tuple[type, type]:
    """httpx and httpx2 check the class of a response stream before reading it, so the wrappers subclass whichever
    of the two is installed. Built on first use: importing creditgauge must not import an HTTP stack."""

    def bases(kind: str) -> tuple[type, ...]:
        found = []
        for module in ("httpx2", "httpx"):
            try:
                found.append(getattr(importlib.import_module(module), kind))
            except ImportError:
                continue
        return tuple(found) or (object,)

    class TrackingStream(*bases("SyncByteStream")):  # type: ignore[misc]
        """The response body as the SDK reads it, seen on the way."""

        def __init__(self, inner: Any, exchange: Exchange) -> None:
            self.inner, self.exchange = inner, exchange

        def __iter__(self) -> Iterator[bytes]:
            complete = False
            try:
                for chunk in self.inner:
                    self.exchange.feed(chunk)
                    yield chunk
                complete = True
            finally:
                self.exchange.finish(complete=complete)

        def close(self) -> None:
            self.exchange.finish(complete=False)
            self.inner.close()

    class AsyncTrackingStream(*bases("AsyncByteStream")):  # type: ignore[misc]
        def __init__(self, inner: Any, exchange: Exchange) -> None:
            self.inner, self.exchange = inner, exchange

        async def __aiter__(self) -> AsyncIterator[bytes]:
            complete = False
            try:
                async for chunk in self.inner:
                    self.exchange.feed(chunk)
                    yield chunk
                complete = True
            finally:
                self.exchange.finish(complete=complete)

        async def aclose(self) -> None:
            self.exchange.finish(complete=False)
            await self.inner.aclose()

    return TrackingStream, AsyncTrackingStream


def _prepare_safely(hook: Hook, request: Any) -> tuple[Any, Exchange | None]:
    try:
        return hook.prepare(request)
    except Exception as exc:  # the request goes as the application made it, untracked, rather than fail
        log.error("a request could not be prepared for tracking and is sent untracked: %s", type(exc).__name__)
        return request, None


def _watch_safely(exchange: Exchange, response: Any) -> bool:
    try:
        return exchange.watch(response)
    except Exception as exc:  # the answer goes back as it came, untracked, rather than fail
        log.error("an answer could not be tracked: %s", type(exc).__name__)
        return False


class TrackingTransport:
    def __init__(self, inner: Any, hook: Hook) -> None:
        self.inner, self.hook = inner, hook

    def handle_request(self, request: Any) -> Any:
        request, exchange = _prepare_safely(self.hook, request)
        response = self.inner.handle_request(request)
        if exchange is not None and _watch_safely(exchange, response):
            response.stream = _stream_classes()[0](response.stream, exchange)
        return response

    def close(self) -> None:
        self.inner.close()

    def __enter__(self) -> TrackingTransport:
        self.inner.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.inner.__exit__(*exc)


class AsyncTrackingTransport:
    def __init__(self, inner: Any, hook: Hook) -> None:
        self.inner, self.hook = inner, hook

    async def handle_async_request(self, request: Any) -> Any:
        request, exchange = _prepare_safely(self.hook, request)
        response = await self.inner.handle_async_request(request)
        if exchange is not None and _watch_safely(exchange, response):
            response.stream = _stream_classes()[1](response.stream, exchange)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def __aenter__(self) -> AsyncTrackingTransport:
        await self.inner.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.inner.__aexit__(*exc)
