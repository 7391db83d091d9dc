"""The one HTTP client every connector uses: timeouts, bounded retries honouring Retry-After, cursor pagination,
exact JSON (Decimal) and errors that name provider, endpoint, status and the provider's own message, keys redacted.

Everything a provider can make us spend is bounded (`Limits`): the requests, pages, bytes and retry waits of one
sync task (a `Budget` that every request of the task charges, carried by a context variable so concurrent tasks on
one client each have their own), and the bytes and total time of one response (httpx's timeout is per read, so a
server dripping a byte at a time would otherwise hold a sync for ever)."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx

from creditgauge.domain import utcnow
from creditgauge.errors import AuthError, ContractError, ProviderError, RateLimited
from creditgauge.redact import redact, register_secret

log = logging.getLogger("creditgauge.http")

RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
Params = Mapping[str, Any] | Sequence[tuple[str, Any]] | None
ErrorT = TypeVar("ErrorT", bound=ProviderError)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_total: float = 120.0  # never spend longer than this waiting on one request's retries

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter."""
        return random.uniform(0, min(self.max_delay, self.base_delay * (2**attempt)))


MIB = 1024 * 1024
# Encodings we ask for and inflate ourselves, with a bound (see ApiClient._read_bounded).
INFLATERS: dict[str, Callable[[], Any]] = {
    "": lambda: None, "identity": lambda: None,
    "gzip": lambda: zlib.decompressobj(16 + zlib.MAX_WBITS), "x-gzip": lambda: zlib.decompressobj(16 + zlib.MAX_WBITS),
    "deflate": zlib.decompressobj,
}


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds of one sync task (requests, pages, bytes, retry waits) and of one response (bytes, seconds). The
    defaults sit far above what a real organisation's 180-day backfill needs; `[sync]` in the config sets them."""

    max_requests: int = 5000
    max_pages: int = 2000
    max_bytes: int = 512 * MIB
    max_response_bytes: int = 64 * MIB  # a big organisation's 180-day cost page is some 20 MB
    response_seconds: float = 120.0
    retry_seconds: float = 300.0


DEFAULT_LIMITS = Limits()


@dataclass
class Budget:
    """What one sync task has used of its limits; every request and page of the task charges it."""

    limits: Limits = field(default_factory=Limits)
    requests: int = 0
    pages: int = 0
    bytes: int = 0
    retry_wait: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "pages": self.pages, "bytes": self.bytes,
                "retry_wait_seconds": round(self.retry_wait, 3)}


class LimitExceeded(ProviderError):
    """A bound of `Limits` was reached: the task stops and stores nothing (what was stored before stays)."""


_current_budget: ContextVar[Budget | None] = ContextVar("creditgauge_task_budget", default=None)


@contextmanager
def task_budget(limits: Limits) -> Iterator[Budget]:
    """Charge every request made inside this block (and in tasks it starts) to one new budget."""
    budget = Budget(limits)
    token = _current_budget.set(budget)
    try:
        yield budget
    finally:
        _current_budget.reset(token)


def current_budget() -> Budget | None:
    return _current_budget.get()


def parse_json(text: str | bytes) -> Any:
    """JSON with every non-integer number as an exact Decimal. NaN and Infinity (not JSON, but sent) become
    non-finite Decimals so the one item carrying them is refused, not the whole answer; nesting too deep for the
    parser is a ValueError like any other unreadable body."""
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=Decimal)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply to read") from None


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - utcnow()).total_seconds())


def provider_message(body: Any) -> str:
    """The provider's own error message from the error shapes in provider-apis/ (OpenAI, Anthropic, gRPC-gateway...)."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str):
            return error
        if body.get("message"):
            return str(body["message"])
        if isinstance(body.get("errors"), list) and body["errors"]:
            return str(body["errors"][0])
    return ""


class ApiClient:
    """An async JSON client bound to one provider account. Tests pass `transport` or a base_url of a local fake."""

    def __init__(
        self,
        provider: str,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        secrets: Sequence[str | None] = (),
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        for secret in secrets:
            register_secret(secret)
        self.provider = provider
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self.requests_made = 0
        self._budget = Budget()  # charged when no sync task's budget is active (a client used on its own)
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"user-agent": "creditgauge", "accept-encoding": "gzip, deflate", **(headers or {})},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=transport,
            follow_redirects=False,
        )

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    def _error(self, cls: type[ErrorT], endpoint: str, status: int | None, detail: str) -> ErrorT:
        where = f"{self.provider} {endpoint}" + (f" -> HTTP {status}" if status is not None else "")
        return cls(redact(f"{where}: {detail}"), provider=self.provider, endpoint=endpoint, status=status)

    async def get_json(self, path: str, params: Params = None, *, headers: Mapping[str, str] | None = None) -> Any:
        return await self.request_json("GET", path, params=params, headers=headers)

    async def request_json(
        self,
        method: str,
        path: str,
        *,
        params: Params = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        response = await self.request(method, path, params=params, json_body=json_body, headers=headers)
        try:
            return parse_json(response.content)
        except ValueError as error:
            detail = str(error) if "nested" in str(error) else "the response is not valid JSON"
            raise self._error(ContractError, f"{method} {path}", response.status_code, detail) from None

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Params = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One call with its retries, the whole body read (decoded) within the byte and time bounds."""
        endpoint = f"{method} {path}"
        budget = current_budget() or self._budget
        waited = 0.0
        attempt = 0
        while True:
            failure: ProviderError
            delay: float | None = None
            self._charge_request(endpoint, budget)
            try:
                response = await self._send(endpoint, budget, method, path, params=params, json=json_body,
                                            headers=headers)
            except httpx.TimeoutException:
                failure = self._error(ProviderError, endpoint, None, "timed out")
            except httpx.TransportError as exc:
                failure = self._error(ProviderError, endpoint, None, f"connection failed ({type(exc).__name__})")
            else:
                if response.status_code < 400:
                    return response
                failure, retryable = self._classify(endpoint, response)
                if not retryable:
                    raise failure
                delay = retry_after_seconds(response.headers)
            if attempt >= self.retry.max_retries:
                raise failure
            delay = self.retry.backoff(attempt) if delay is None else delay
            if waited + delay > self.retry.max_total:
                raise failure
            if budget.retry_wait + delay > budget.limits.retry_seconds:
                raise failure.with_hint(f"not retrying: this task already waited {budget.retry_wait:.0f}s for "
                                        f"retries (sync.task_retry_seconds = {budget.limits.retry_seconds:g})")
            log.info("%s; retrying in %.1fs (attempt %d of %d)", failure, delay, attempt + 1, self.retry.max_retries)
            await self._sleep(delay)
            waited += delay
            budget.retry_wait += delay
            attempt += 1

    def _charge_request(self, endpoint: str, budget: Budget) -> None:
        if budget.requests >= budget.limits.max_requests:
            raise self._error(LimitExceeded, endpoint, None,
                              f"stopped after {budget.requests} requests (sync.max_requests_per_task); "
                              "raise it in [sync] if this account really needs more")
        budget.requests += 1
        self.requests_made += 1

    async def _send(self, endpoint: str, budget: Budget, method: str, path: str, **options: Any) -> httpx.Response:
        """Send and read the whole (decoded) body, refusing more than the byte bounds and more time than
        `response_seconds` for the answer as a whole."""
        seconds = budget.limits.response_seconds
        try:
            async with asyncio.timeout(seconds) as deadline:
                response = await self._client.send(self._client.build_request(method, path, **options), stream=True)
                try:
                    body = await self._read_bounded(endpoint, budget, response)
                finally:
                    await response.aclose()
        except TimeoutError:
            if not deadline.expired():
                raise
            raise self._error(LimitExceeded, endpoint, None,
                              f"the answer took longer than {seconds:g}s in all (sync.response_seconds)") from None
        # The body is decoded already: drop the headers that described its encoded form.
        plain = [(k, v) for k, v in response.headers.multi_items()
                 if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]
        return httpx.Response(response.status_code, headers=plain, content=body, request=response.request)

    async def _read_bounded(self, endpoint: str, budget: Budget, response: httpx.Response) -> bytes:
        """The body, inflated here rather than by httpx: httpx inflates each network chunk whole, and one 64 KB
        chunk of a gzip bomb is 64 MB. Inflating with a length bound stops at the cap, whatever the ratio."""
        cap = budget.limits.max_response_bytes
        encoding = response.headers.get("content-encoding", "").strip().lower()
        if encoding not in INFLATERS:
            raise self._error(ContractError, endpoint, response.status_code,
                              f"the answer is compressed with {encoding!r}, which was not asked for")
        inflater = INFLATERS[encoding]()
        declared = response.headers.get("content-length", "")
        if inflater is None and declared.isdigit() and int(declared) > cap:
            raise self._too_big(endpoint, response.status_code, int(declared), cap)
        chunks: list[bytes] = []
        size = 0
        async for raw in response.aiter_raw():
            budget.bytes += len(raw)
            if budget.bytes > budget.limits.max_bytes:
                raise self._error(LimitExceeded, endpoint, response.status_code,
                                  f"this task read more than {budget.limits.max_bytes:,} bytes "
                                  "(sync.max_bytes_per_task)")
            try:
                chunk = raw if inflater is None else inflater.decompress(raw, cap - size + 1)
            except zlib.error:
                raise self._error(ContractError, endpoint, response.status_code,
                                  f"the {encoding} body is corrupt") from None
            size += len(chunk)
            if size > cap:
                raise self._too_big(endpoint, response.status_code, size, cap)
            chunks.append(chunk)
        if inflater is not None:
            chunks.append(inflater.flush())
        return b"".join(chunks)

    def _too_big(self, endpoint: str, status: int, size: int, cap: int) -> LimitExceeded:
        return self._error(LimitExceeded, endpoint, status,
                           f"the answer is larger than {cap:,} bytes (at least {size:,}; sync.max_response_bytes)")

    def _classify(self, endpoint: str, response: httpx.Response) -> tuple[ProviderError, bool]:
        status = response.status_code
        try:
            body = parse_json(response.content)
        except ValueError:
            body = None
        message = provider_message(body) or response.reason_phrase or "error"
        if status in (401, 403):
            return self._error(AuthError, endpoint, status, message), False
        if status == 429:
            # OpenAI's insufficient_quota is a 429 that no retry will fix (and it carries no Retry-After).
            error = body.get("error") if isinstance(body, dict) else None
            hopeless = isinstance(error, dict) and "insufficient_quota" in (error.get("code"), error.get("type"))
            return self._error(RateLimited, endpoint, status, message), not hopeless
        return self._error(ProviderError, endpoint, status, message), status in RETRY_STATUSES


async def paginate(
    fetch_page: Callable[[str | None], Awaitable[dict[str, Any]]],
    next_cursor: Callable[[dict[str, Any]], str | None],
    *,
    what: str = "pages",
) -> AsyncIterator[dict[str, Any]]:
    """Yield pages while the provider hands out new cursors. A cursor handed out twice ends the loop instead of
    spinning; a provider handing out new cursors for ever is stopped by the task's `max_pages` (the task fails)."""
    budget = current_budget() or Budget()
    cursor: str | None = None
    seen: set[str] = set()
    while True:
        if budget.pages >= budget.limits.max_pages:
            raise LimitExceeded(f"{what}: stopped after {budget.pages} pages (sync.max_pages_per_task); raise it in "
                                "[sync] if this account really has more", endpoint=what)
        budget.pages += 1
        page = await fetch_page(cursor)
        yield page
        cursor = next_cursor(page)
        if not cursor:
            return
        if cursor in seen:
            log.warning("%s: the provider repeated cursor %r; stopping pagination there", what, redact(cursor[:40]))
            return
        seen.add(cursor)
