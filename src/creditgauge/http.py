"""The one HTTP client every connector uses: timeouts, bounded retries honouring Retry-After, cursor pagination,
exact JSON (Decimal) and errors that name provider, endpoint, status and the provider's own message, keys redacted."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from creditgauge.domain import utcnow
from creditgauge.errors import AuthError, ContractError, ProviderError, RateLimited
from creditgauge.redact import redact, register_secret

log = logging.getLogger("creditgauge.http")

RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
Params = Mapping[str, Any] | Sequence[tuple[str, Any]] | None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_total: float = 120.0  # never spend longer than this waiting on one request's retries

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter."""
        return random.uniform(0, min(self.max_delay, self.base_delay * (2**attempt)))


def parse_json(text: str) -> Any:
    """JSON with every non-integer number as an exact Decimal."""
    return json.loads(text, parse_float=Decimal)


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
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
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"user-agent": "creditgauge", **(headers or {})},
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

    def _error(self, cls: type[ProviderError], endpoint: str, status: int | None, detail: str) -> ProviderError:
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
            return parse_json(response.text)
        except ValueError:
            raise self._error(
                ContractError, f"{method} {path}", response.status_code, "the response is not valid JSON"
            ) from None

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Params = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        endpoint = f"{method} {path}"
        waited = 0.0
        attempt = 0
        while True:
            failure: ProviderError
            delay: float | None = None
            try:
                self.requests_made += 1
                response = await self._client.request(method, path, params=params, json=json_body, headers=headers)
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
            log.info("%s; retrying in %.1fs (attempt %d of %d)", failure, delay, attempt + 1, self.retry.max_retries)
            await self._sleep(delay)
            waited += delay
            attempt += 1

    def _classify(self, endpoint: str, response: httpx.Response) -> tuple[ProviderError, bool]:
        status = response.status_code
        try:
            body = parse_json(response.text)
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
    """Yield pages while the provider hands out new cursors; a repeated cursor ends the loop instead of spinning."""
    cursor: str | None = None
    seen: set[str] = set()
    while True:
        page = await fetch_page(cursor)
        yield page
        cursor = next_cursor(page)
        if not cursor:
            return
        if cursor in seen:
            log.warning("%s: the provider repeated cursor %r; stopping pagination there", what, cursor[:40])
            return
        seen.add(cursor)
