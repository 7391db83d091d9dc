"""The SDK hook: `creditgauge.track(client, account="openai-main", tags={"team": "search"})` records the usage of
every inference call an `openai` or `anthropic` client makes (sync or async, streaming included) as tracked
events, the same ones the proxy records, without a proxy.

How: through the seam the SDKs document, `client.with_options(http_client=...)`. track() returns a copy of the
client whose HTTP client (httpx2 in openai 3.x and anthropic 2.x; legacy httpx the same way) sends every request
through the original one, so the user's own HTTP settings still apply. Each request is classified like the proxy
does; OpenAI-style streams get `stream_options.include_usage` unless `inject_stream_usage=False`; the answer's
bytes are read as they pass to the SDK, and the event is priced and handed to the process's writer (journal +
batch writer, see capture.writer) when the answer ends. A stream the application stops reading early is recorded
with the usage seen so far, marked incomplete. The key is never kept: only its fingerprint.

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
import weakref
from collections.abc import AsyncIterator, Iterator, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar, cast

from creditgauge.capture.endpoints import Call, decodable_encodings
from creditgauge.capture.guarded import GuardedTracker, mark_unreadable, prepare_call, record_safely
from creditgauge.capture.observed import TAGS_HEADER, key_fingerprint, make_event, parse_tags
from creditgauge.domain import utcnow
from creditgauge.errors import ConfigError
from creditgauge.providers.registry import sdk_providers

if TYPE_CHECKING:
    from creditgauge.capture.recorder import Recorder
    from creditgauge.capture.writer import FlushReport

log = logging.getLogger("creditgauge.track")

Client = TypeVar("Client")
_recorder: Recorder | None = None
_recorder_lock = threading.Lock()
_tracking_clients: weakref.WeakSet[Any] = weakref.WeakSet()  # the HTTP clients track() made


def track(client: Client, *, account: str, tags: Mapping[str, str] | None = None, provider: str | None = None,
          inject_stream_usage: bool | None = None, recorder: Recorder | None = None) -> Client:
    """A copy of `client` that records every inference call it makes under `account` (the SDK's own
    `with_options(http_client=...)`; the copy shares the client's connections and settings). A client track()
    returned is returned as it is: tracking it again would record every call twice.

    provider: defaults to the account's provider in the config, else the SDK's (openai or anthropic).
    inject_stream_usage: defaults to the account's setting (true): ask OpenAI-style streams for their usage.
    recorder: where events go; default a process-wide one on the configured database and journal.
    """
    http = _sdk_http_client(client)
    if http in _tracking_clients:
        return client
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
    tracking = _tracking_http_client(http, hook)
    _tracking_clients.add(tracking)
    return cast(Client, cast(Any, client).with_options(http_client=tracking))


def flush(timeout: float = 30.0) -> FlushReport | None:
    """Wait until the events tracked so far are written; the report says what is still pending, what was
    quarantined instead of stored and what was dropped (true only when nothing). None when nothing was tracked."""
    with _recorder_lock:
        recorder = _recorder
    return None if recorder is None else recorder.writer.flush(timeout)


@cache
def _http_libraries() -> tuple[Any, ...]:
    """httpx2 (openai 3.x, anthropic 2.x) and legacy httpx, whichever are installed (imported on first use:
    importing creditgauge must not import an HTTP stack)."""
    found = []
    for name in ("httpx2", "httpx"):
        try:
            found.append(importlib.import_module(name))
        except ImportError:
            continue
    return tuple(found)


def _sdk_http_client(client: object) -> Any:
    """The HTTP client an openai or anthropic client sends through. The SDKs take it as `http_client=` but keep
    it as `_client`: it is only read here, and used through httpx's public `send`."""
    http = getattr(client, "_client", None)
    clients = tuple(kind for library in _http_libraries() for kind in (library.Client, library.AsyncClient))
    if not (clients and isinstance(http, clients) and callable(getattr(client, "with_options", None))):
        raise ConfigError(f"creditgauge.track: {type(client).__name__} is not an openai or anthropic client "
                          f"(no HTTP client to hook); pass OpenAI(), AsyncOpenAI(), Anthropic() or AsyncAnthropic()")
    return http


def _tracking_http_client(inner: Any, hook: Hook) -> Any:
    """A client of the same httpx library as `inner` whose transport sends every request through `inner` (so its
    proxies, TLS settings, limits, auth and event hooks apply) and watches the answers. Requests are built by
    this client, so it carries inner's default headers, query and cookies; redirects are left to inner."""
    library = next(library for library in _http_libraries() if isinstance(inner, (library.Client,
                                                                                   library.AsyncClient)))
    is_async = isinstance(inner, library.AsyncClient)
    kind = library.AsyncClient if is_async else library.Client
    transport = (AsyncSendThrough if is_async else SendThrough)(inner, hook)
    return kind(transport=transport, base_url=inner.base_url, headers=inner.headers, params=inner.params,
                cookies=inner.cookies, timeout=inner.timeout, follow_redirects=False, trust_env=False)


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
    """httpx and httpx2 check the class of a response stream before reading it, so the streams subclass whichever
    of the two is installed. Built on first use: importing creditgauge must not import an HTTP stack."""

    def bases(kind: str) -> tuple[type, ...]:
        return tuple(getattr(library, kind) for library in _http_libraries()) or (object,)

    class ResponseBytes(*bases("SyncByteStream")):  # type: ignore[misc]  # bases known only at run time
        """The raw body of inner's answer as the SDK reads it, seen on the way by the exchange (if tracked)."""

        def __init__(self, response: Any, exchange: Exchange | None) -> None:
            self.response, self.exchange = response, exchange

        def __iter__(self) -> Iterator[bytes]:
            complete = False
            try:
                for chunk in self.response.iter_raw():
                    if self.exchange is not None:
                        self.exchange.feed(chunk)
                    yield chunk
                complete = True
            finally:
                if self.exchange is not None:
                    self.exchange.finish(complete=complete)

        def close(self) -> None:
            if self.exchange is not None:
                self.exchange.finish(complete=False)
            self.response.close()

    class AsyncResponseBytes(*bases("AsyncByteStream")):  # type: ignore[misc]  # bases known only at run time
        def __init__(self, response: Any, exchange: Exchange | None) -> None:
            self.response, self.exchange = response, exchange

        async def __aiter__(self) -> AsyncIterator[bytes]:
            complete = False
            try:
                async for chunk in self.response.aiter_raw():
                    if self.exchange is not None:
                        self.exchange.feed(chunk)
                    yield chunk
                complete = True
            finally:
                if self.exchange is not None:
                    self.exchange.finish(complete=complete)

        async def aclose(self) -> None:
            if self.exchange is not None:
                self.exchange.finish(complete=False)
            await self.response.aclose()

    return ResponseBytes, AsyncResponseBytes


def _prepare_safely(hook: Hook, request: Any) -> tuple[Any, Exchange | None]:
    try:
        return hook.prepare(request)
    except Exception as exc:  # the request goes as the application made it, untracked, rather than fail
        log.error("a request could not be prepared for tracking and is sent untracked: %s", type(exc).__name__)
        return request, None


def _watched(exchange: Exchange | None, response: Any) -> Exchange | None:
    """The exchange, if the answer is one to record (not an error) and could be started on."""
    if exchange is None:
        return None
    try:
        return exchange if exchange.watch(response) else None
    except Exception as exc:  # the answer goes back as it came, untracked, rather than fail
        log.error("an answer could not be tracked: %s", type(exc).__name__)
        return None


def _relayed(response: Any, stream: Any) -> Any:
    """inner's answer as a transport's answer to the tracking client, its body read through `stream`."""
    return type(response)(response.status_code, headers=response.headers, stream=stream,
                          extensions=response.extensions)


class SendThrough:
    """The tracking client's transport: each request goes out through the SDK's own client."""

    def __init__(self, inner: Any, hook: Hook) -> None:
        self.inner, self.hook = inner, hook

    def handle_request(self, request: Any) -> Any:
        request, exchange = _prepare_safely(self.hook, request)
        response = self.inner.send(request, stream=True)
        return _relayed(response, _stream_classes()[0](response, _watched(exchange, response)))

    def close(self) -> None:  # like the SDK's own with_options copies, closing a copy closes the shared client
        self.inner.close()

    def __enter__(self) -> SendThrough:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncSendThrough:
    def __init__(self, inner: Any, hook: Hook) -> None:
        self.inner, self.hook = inner, hook

    async def handle_async_request(self, request: Any) -> Any:
        request, exchange = _prepare_safely(self.hook, request)
        response = await self.inner.send(request, stream=True)
        return _relayed(response, _stream_classes()[1](response, _watched(exchange, response)))

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def __aenter__(self) -> AsyncSendThrough:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
