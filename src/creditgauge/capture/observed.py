"""What is known about one observed inference call, turned into an (unpriced) UsageEvent: the request's key
fingerprint and tags, the call and its usage. Shared by the proxy and the SDK hook; light to import."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

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
    extra = {} if usage is None else dict(usage.extra)
    if usage is None:
        usage = Usage()
        extra["usage_missing"] = True
    if usage.service_tier:
        extra["service_tier"] = usage.service_tier
    return UsageEvent(
        id=new_ulid(),
        account=account,
        provider=provider,
        ts=ts,
        model=usage.model or call.model,
        endpoint=call.endpoint,
        source=source,
        input_tokens=usage.input_tokens,
        cached_input_tokens=usage.cached_input_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        output_tokens=usage.output_tokens,
        reasoning_tokens=usage.reasoning_tokens,
        key_fingerprint=key_fp,
        tags=tags or {},
        status_code=status,
        incomplete=incomplete,
        latency_ms=latency_ms,
        request_id=usage.request_id,
        extra=extra,
    )
