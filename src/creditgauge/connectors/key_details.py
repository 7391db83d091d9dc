"""Readers for what a provider's key list says of a key beside its name (OpenAI, xAI, OpenRouter): its times as ISO UTC
and its status. A value that cannot be read is unknown (None), never guessed: these are details, not money."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from creditgauge.connectors.base import parse_instant
from creditgauge.domain import utcnow


def iso_time(value: Any) -> str | None:
    """A moment as the providers send it (RFC 3339, Unix seconds...) as ISO 8601 UTC, or None."""
    if value in (None, ""):
        return None
    try:
        return parse_instant(value).isoformat()
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def flag(value: Any) -> bool | None:
    """A boolean sent as JSON or, by gRPC-gateway answers, as the string "true"/"false"."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def key_status(disabled: Any, expires_at: Any, *, now: datetime | None = None) -> str | None:
    """The status the list gives: "disabled", "expired" or "active"; None when it says nothing of it."""
    off = flag(disabled)
    expiry = iso_time(expires_at)
    if off:
        return "disabled"
    if expiry is not None and datetime.fromisoformat(expiry) <= (now or utcnow()):
        return "expired"
    return None if off is None else "active"
