"""Pure types shared by every layer: money, windows and the facts connectors and capture produce."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

ZERO = Decimal(0)


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC (SQLite returns them naive); aware ones are converted."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def day_start(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        value = as_utc(value).date()
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def to_decimal(value: Any, *, what: str = "amount") -> Decimal:
    """Exact Decimal from a JSON number already parsed as Decimal, an int or a decimal string. Floats are refused."""
    if isinstance(value, (bool, float)):
        raise TypeError(f"{what}: refusing inexact {type(value).__name__} {value!r}")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except ArithmeticError as exc:
            raise ValueError(f"{what}: {value!r} is not a decimal number") from exc
        if not result.is_finite():
            raise ValueError(f"{what}: {value!r} is not a finite number")
        return result
    raise TypeError(f"{what}: expected a number or decimal string, got {type(value).__name__}")


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open UTC interval [start, end)."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", as_utc(self.start))
        object.__setattr__(self, "end", as_utc(self.end))
        if self.end < self.start:
            raise ValueError(f"window end {self.end.isoformat()} is before its start {self.start.isoformat()}")

    @classmethod
    def days(cls, first: date, last_exclusive: date) -> Window:
        return cls(day_start(first), day_start(last_exclusive))

    def chunks(self, size: timedelta) -> Iterator[Window]:
        cursor = self.start
        while cursor < self.end:
            nxt = min(cursor + size, self.end)
            yield Window(cursor, nxt)
            cursor = nxt

    def __contains__(self, moment: datetime) -> bool:
        return self.start <= as_utc(moment) < self.end


class Capability(enum.StrEnum):
    COSTS = "costs"
    USAGE = "usage"
    BALANCE = "balance"
    LIMITS = "limits"
    INVOICES = "invoices"


class BalanceKind(enum.StrEnum):
    VERIFIED = "verified"
    ESTIMATED = "estimated"
    LIMIT_ONLY = "limit_only"
    UNKNOWN = "unknown"


# ---- facts written by connectors (reported data) -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CostBucket:
    """Money a provider reports for one bucket of time and one combination of dimensions."""

    start: datetime
    end: datetime
    amount: Decimal
    currency: str
    project: str | None = None
    model: str | None = None
    line_item: str | None = None
    api_key: str | None = None
    workspace: str | None = None
    service_tier: str | None = None
    quantity: Decimal | None = None
    quantity_unit: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class UsageBucket:
    """Token and request counts a provider reports for one bucket and one combination of dimensions."""

    start: datetime
    end: datetime
    kind: str  # completions, embeddings, images, messages, ... (the provider's usage type)
    model: str | None = None
    project: str | None = None
    api_key: str | None = None
    workspace: str | None = None
    service_tier: str | None = None
    input_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    requests: int = 0
    images: int = 0
    characters: int = 0
    seconds: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BalanceSnapshot:
    """A balance read from a provider endpoint. `official` is False for unofficial endpoints."""

    as_of: datetime
    amount: Decimal
    currency: str
    official: bool = True
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LimitSnapshot:
    """A limit the provider enforces or reports (hard/soft limit, spend limit, key limit)."""

    as_of: datetime
    name: str
    amount: Decimal
    currency: str
    official: bool = True
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Invoice:
    invoice_id: str
    period_start: datetime
    amount: Decimal
    currency: str
    status: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EntityName:
    """A human name for an id seen in reports: a project, an API key, a workspace. `details` holds what else the
    provider says of it (for an API key: `redacted` as the provider shows it, `owner`, `project`, `workspace`,
    `created_at`, `last_used_at`, `status`); never key material."""

    kind: str
    entity_id: str
    name: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ItemProblem:
    """One item of a provider's answer that could not be read as it is (an amount that is not a number, a unit
    that cannot be told). The item is skipped; the rest of the task is stored, and the problem is recorded with
    the endpoint and the field and shown in the sync report, never silently dropped."""

    endpoint: str
    field: str
    detail: str


@dataclass(frozen=True, slots=True)
class EndpointUnavailable:
    """An optional endpoint this server or account does not offer (Claude Code's report for an organization
    without it, a relay's credit grants): "not available for this account", shown by the sync report, never a
    failure. Nothing is stored for it."""

    endpoint: str
    detail: str


Fact = (CostBucket | UsageBucket | BalanceSnapshot | LimitSnapshot | Invoice | EntityName | ItemProblem
        | EndpointUnavailable)


# ---- facts written by capture (tracked data) ----------------------------------------------------------------


@dataclass(slots=True)
class UsageEvent:
    """One model request seen by the proxy, the SDK hook or the ingest API."""

    id: str
    account: str
    provider: str
    ts: datetime
    model: str | None
    endpoint: str
    source: str  # proxy | sdk | ingest
    input_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    requests: int = 1
    key_fingerprint: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    status_code: int | None = None
    incomplete: bool = False
    cost: Decimal | None = None  # None = unpriced, never 0 by default
    currency: str = "USD"
    price_source: str | None = None  # genai-prices | override | provider
    prices_version: str | None = None
    latency_ms: int | None = None
    request_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
