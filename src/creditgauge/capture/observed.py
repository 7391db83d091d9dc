"""What is known about one observed inference call, turned into an (unpriced) UsageEvent: the request's key
fingerprint and tags, the call and its usage. Shared by the proxy and the SDK hook; light to import."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from creditgauge.capture.endpoints import Call
from creditgauge.capture.usage import Usage
from creditgauge.domain import UsageEvent
from creditgauge.ids import new_ulid
from creditgauge.redact import fingerprint

TAGS_HEADER = "x-creditgauge-tags"
MAX_TAG_KEY = 100
MAX_TAG_VALUE = 300
_KEY_HEADERS = ("x-api-key", "x-goog-api-key", "api-key")


def parse_tags(header: str | None) -> dict[str, str]:
    """`team=search,feature=summaries` -> {"team": "search", "feature": "summaries"}; pieces without `=` or with
    an empty name are ignored, overlong names and values are cut to what the store keeps."""
    tags: dict[str, str] = {}
    for piece in (header or "").split(","):
        name, sep, value = piece.partition("=")
        name, value = name.strip(), value.strip()
        if sep and name:
            tags[name[:MAX_TAG_KEY]] = value[:MAX_TAG_VALUE]
    return tags


def key_fingerprint(headers: Mapping[str, str], query: Mapping[str, str] | None = None) -> str | None:
    """The fingerprint of the key a request carries (bearer token, x-api-key, x-goog-api-key or Gemini's ?key=).
    `headers` must be case-insensitive (aiohttp's and httpx's are). Only the fingerprint is ever kept; the key
    itself is forwarded and forgotten."""
    scheme, _, token = (headers.get("authorization") or "").partition(" ")
    key = token.strip() if scheme.lower() == "bearer" else ""
    for name in _KEY_HEADERS:
        key = key or (headers.get(name) or "").strip()
    if not key and query:
        key = query.get("key", "")
    return fingerprint(key) if key else None


def make_event(*, account: str, provider: str, call: Call, usage: Usage | None, source: str, ts: datetime,
               status: int | None, incomplete: bool = False, latency_ms: int | None = None,
               key_fp: str | None = None, tags: dict[str, str] | None = None) -> UsageEvent:
    if usage is None:
        return UsageEvent(id=new_ulid(), account=account, provider=provider, ts=ts, model=call.model,
                          endpoint=call.endpoint, source=source, key_fingerprint=key_fp, tags=tags or {},
                          status_code=status, incomplete=incomplete, latency_ms=latency_ms,
                          extra={"usage_missing": True})
    return UsageEvent(account=account, provider=provider, endpoint=call.endpoint, source=source,
                      key_fingerprint=key_fp, tags=tags or {}, status_code=status, incomplete=incomplete,
                      latency_ms=latency_ms, **_usage_fields(account, usage, ts, call.model, None,
                                                            stable_id=call.flavor == "responses"))


def with_usage(event: UsageEvent, usage: Usage, *, stable_id: bool = False) -> UsageEvent:
    """The event with another answer's usage (one of the answers of a batch results file)."""
    return replace(event, **_usage_fields(event.account, usage, event.ts, event.model, event.extra,
                                          stable_id=stable_id))


def _usage_fields(account: str, usage: Usage, ts: datetime, model: str | None, extra: dict[str, Any] | None, *,
                  stable_id: bool) -> dict[str, Any]:
    """An event's fields that come from one answer's usage. `stable_id`: the id is derived from the provider's
    response id, so the same answer seen again (a background response polled after it finished, a resumed
    stream, a batch results file downloaded twice) is stored once."""
    extra = {**extra, **usage.extra} if extra else dict(usage.extra)
    if usage.service_tier:
        extra["service_tier"] = usage.service_tier
    if usage.processing:
        extra["processing"] = usage.processing
    if usage.tool_calls:
        extra["tool_calls"] = dict(usage.tool_calls)
    return {
        "id": stable_event_id(account, usage.request_id) if stable_id and usage.request_id else new_ulid(),
        "ts": usage.at or ts,
        "model": usage.model or model,
        "input_tokens": usage.input_tokens,
        "cached_input_tokens": usage.cached_input_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
        "output_tokens": usage.output_tokens,
        "reasoning_tokens": usage.reasoning_tokens,
        "request_id": usage.request_id,
        "extra": extra,
    }


def stable_event_id(account: str, response_id: str) -> str:
    """A ULID-length id that is the same every time this account's response id is seen."""
    return "r" + hashlib.sha256(f"{account}\0{response_id}".encode()).hexdigest()[:25]
