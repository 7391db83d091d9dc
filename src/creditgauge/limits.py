"""Limits at the edge: the one place that says whether a value may be stored as it is.

Every path that brings facts in (the proxy, `track()`, the ingest API, OTLP, the connectors) checks its values
here, so one odd value fails that item, with a reason, and never a whole batch, a sync or the writer.

The documented ranges (README, "Limits"):

- counts (tokens, requests, images, characters, seconds): whole numbers from 0 to `MAX_COUNT` (10^12 a item);
- amounts: finite, at most `MAX_AMOUNT` (10^9 currency units; the store keeps 10^-9 units in 64 bits, about
  9.2 * 10^9) in absolute value, negative only where the caller allows it (a credit, a refund);
  one tracked event's cost at most `MAX_EVENT_COST` (10^6), so a day's rollup of them cannot overflow;
- text: at most the column's length in characters, no NUL character and no lone surrogate (PostgreSQL refuses both);
- times: timezone-aware, from `MIN_TIME` (2000-01-01) to before `MAX_TIME` (2200-01-01).

Each check returns the value as it should be stored or raises `InvalidValue` (a ValueError) naming the field.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from operator import attrgetter
from typing import Any

import orjson

from creditgauge.domain import UsageEvent

MAX_COUNT = 10**12
MAX_AMOUNT = Decimal(10**9)
MAX_EVENT_COST = Decimal(10**6)
MAX_TEXT = 200
MAX_EXTRA_BYTES = 16 * 1024
MAX_INT32 = 2**31 - 1
# In a UsageEvent's `extra`: why the capture path could not read the call's usage. Such an event is quarantined,
# never stored as usage, and travels through the journal like any other.
QUARANTINE_REASON = "quarantine_reason"
MIN_TIME = datetime(2000, 1, 1, tzinfo=UTC)
MAX_TIME = datetime(2200, 1, 1, tzinfo=UTC)

# The lengths of usage_events' text columns (store/schema.py; a test checks they agree).
EVENT_TEXT_LIMITS: Mapping[str, int] = {
    "id": 64, "account": 100, "provider": 40, "endpoint": 120, "model": 200, "source": 20, "key_fingerprint": 40,
    "currency": 8, "price_source": 40, "prices_version": 40, "request_id": 200,
}
EVENT_COUNTS = ("input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens",
                "requests")
MAX_TAG_NAME = 100
MAX_TAG_VALUE = 300
MAX_PROJECT = 200  # the `project` tag is also a column of its own


class InvalidValue(ValueError):
    """A value outside the documented limits: `field` names it, `detail` says what is wrong and what is allowed."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.detail = detail


def check_count(value: Any, field: str, *, maximum: int = MAX_COUNT) -> int:
    """A whole number from 0 to `maximum`; an integral Decimal or float (1e3, 100.0) is taken as its integer."""
    if type(value) is int:  # the common case first: one type check and two comparisons
        if 0 <= value <= maximum:
            return value
        raise InvalidValue(field, f"{_short(value)} is outside 0..{maximum}")
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise InvalidValue(field, f"expected a whole number, got {type(value).__name__}")
    if not (math.isfinite(value) if isinstance(value, float) else Decimal(value).is_finite()):
        raise InvalidValue(field, f"{value} is not a finite number")
    if value != int(value):
        raise InvalidValue(field, f"{_short(value)} is not a whole number")
    return check_count(int(value), field, maximum=maximum)


def check_amount(value: Any, field: str, *, maximum: Decimal = MAX_AMOUNT, allow_negative: bool = False) -> Decimal:
    """A finite Decimal of at most `maximum` in absolute value (non-negative unless `allow_negative`). Strings and
    ints are read exactly; floats are refused (they are not exact)."""
    if isinstance(value, (bool, float)):
        raise InvalidValue(field, "expected an exact decimal (a string or a JSON number read as Decimal), "
                                  f"got {type(value).__name__}")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidValue(field, f"{_short(value)!r} is not a decimal number") from None
    if not amount.is_finite():
        raise InvalidValue(field, f"{amount} is not a finite number")
    if amount < 0 and not allow_negative:
        raise InvalidValue(field, f"{_short(amount)} is negative")
    if abs(amount) > maximum:
        raise InvalidValue(field, f"{_short(amount)} is beyond the limit of {maximum} in absolute value")
    return amount


def check_text(value: Any, field: str, *, max_length: int = MAX_TEXT) -> str:
    """A string of at most `max_length` characters with no NUL and no lone surrogate."""
    if not isinstance(value, str):
        raise InvalidValue(field, f"expected text, got {type(value).__name__}")
    if len(value) > max_length:
        raise InvalidValue(field, f"{len(value)} characters, more than the {max_length} allowed")
    return check_chars(value, field)


def check_chars(value: str, field: str) -> str:
    """Text a database can hold as it is: no NUL (PostgreSQL refuses it) and no lone surrogate (JSON's "\\ud800"
    escapes are not Unicode, so not encodable as UTF-8)."""
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidValue(field, "contains a lone surrogate (\\ud800-\\udfff, not valid Unicode text)") from None
    if "\x00" in value:
        raise InvalidValue(field, "contains a NUL character (\\u0000): remove it")
    return value


def check_optional_text(value: Any, field: str, *, max_length: int = MAX_TEXT) -> str | None:
    return None if value is None else check_text(value, field, max_length=max_length)


def check_time(value: Any, field: str) -> datetime:
    """A timezone-aware datetime from MIN_TIME to before MAX_TIME, returned in UTC."""
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidValue(field, "expected a timezone-aware date and time")
    if not MIN_TIME <= value < MAX_TIME:
        raise InvalidValue(field, f"{value.isoformat()} is outside {MIN_TIME.year}..{MAX_TIME.year - 1}")
    return value.astimezone(UTC)


def time_from_unix(value: Any, field: str) -> datetime:
    """Unix seconds (int, Decimal, float or numeric string) as a UTC datetime inside the time limits."""
    try:
        seconds = Decimal(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else value
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float, Decimal)):
            raise TypeError
        moment = datetime.fromtimestamp(float(seconds), UTC)
    except (InvalidOperation, TypeError, ValueError, OverflowError, OSError):
        raise InvalidValue(field, f"{_short(value)!r} is not a Unix time in seconds") from None
    return check_time(moment, field)


def check_json(value: Any, field: str, *, max_bytes: int = MAX_EXTRA_BYTES) -> None:
    """A JSON-able value (Decimals as strings) of at most `max_bytes` once written, not nested too deeply."""
    try:
        try:
            size = len(orjson.dumps(value, default=str))
        except TypeError:  # what orjson refuses (integers beyond 64 bits, nesting past 254): the exact encoder
            size = len(json.dumps(value, default=str, separators=(",", ":")))
    except (ValueError, TypeError, RecursionError) as exc:
        raise InvalidValue(field, f"cannot be stored as JSON ({type(exc).__name__})") from None
    if size > max_bytes:
        raise InvalidValue(field, f"{size} bytes as JSON, more than the {max_bytes} allowed")


_REQUIRED_TEXT = frozenset({"id", "account", "provider", "endpoint", "source", "currency"})
_TEXT_RULES = tuple((name, limit, name in _REQUIRED_TEXT) for name, limit in EVENT_TEXT_LIMITS.items())
_TEXT_VALUES = attrgetter(*EVENT_TEXT_LIMITS)  # one call for the fields, not one getattr each
_COUNT_VALUES = attrgetter(*EVENT_COUNTS)


def check_event(event: UsageEvent) -> None:
    """Raise InvalidValue for the first value of a tracked event that the store cannot keep as it is. (Ordinary
    values are checked inline, without a call each: this runs for every captured event.)"""
    for (name, limit, required), value in zip(_TEXT_RULES, _TEXT_VALUES(event), strict=True):
        if value is None:
            if required:
                check_text(value, name, max_length=limit)
        elif type(value) is not str or len(value) > limit or "\x00" in value or not value.isascii():
            check_text(value, name, max_length=limit)
    for name, value in zip(EVENT_COUNTS, _COUNT_VALUES(event), strict=True):
        if type(value) is not int or not 0 <= value <= MAX_COUNT:
            check_count(value, name)
    check_time(event.ts, "ts")
    if event.cost is not None:
        check_amount(event.cost, "cost", maximum=MAX_EVENT_COST)
    for name in ("status_code", "latency_ms"):
        value = getattr(event, name)
        if value is not None and (type(value) is not int or not 0 <= value <= MAX_INT32):
            check_count(value, name, maximum=MAX_INT32)
    if event.tags:
        for key, value in event.tags.items():
            if not _plain_text(key, MAX_TAG_NAME):
                check_text(key, "tags", max_length=MAX_TAG_NAME)
            if not _plain_text(value, MAX_PROJECT if key == "project" else MAX_TAG_VALUE):
                check_text(value, f"tags.{_short(key)}",
                           max_length=MAX_PROJECT if key == "project" else MAX_TAG_VALUE)
    if event.extra:
        check_json(event.extra, "extra")


def _plain_text(value: Any, limit: int) -> bool:
    """The common case of check_text, without a call's worth of checks: short ASCII text with no NUL."""
    return type(value) is str and len(value) <= limit and value.isascii() and "\x00" not in value


class Checked(tuple[UsageEvent, ...]):
    """A batch whose events each passed `check_event` before they were priced (the OTLP readers check every event
    they make): the store checks only what pricing set (`price_problem`), not the rest again. A type, so nothing
    read from input can mark an event checked; `check_event`'s own callers make one."""

    __slots__ = ()


def price_problem(event: UsageEvent) -> str | None:
    """The reason the price columns of an event checked before pricing cannot be stored, or None."""
    cost, source, version = event.cost, event.price_source, event.prices_version
    if ((cost is None or (type(cost) is Decimal and cost.is_finite() and 0 <= cost <= MAX_EVENT_COST))
            and _plain_text(event.currency, EVENT_TEXT_LIMITS["currency"])
            and (source is None or _plain_text(source, EVENT_TEXT_LIMITS["price_source"]))
            and (version is None or _plain_text(version, EVENT_TEXT_LIMITS["prices_version"]))):
        return None  # the common case, without a call a value
    try:
        if event.cost is not None:
            check_amount(event.cost, "cost", maximum=MAX_EVENT_COST)
        for name in ("currency", "price_source", "prices_version"):
            value = getattr(event, name)
            if value is not None or name == "currency":
                check_text(value, name, max_length=EVENT_TEXT_LIMITS[name])
    except InvalidValue as exc:
        return str(exc)
    return None


def price_checker() -> Callable[[UsageEvent], str | None]:
    """`price_problem` for one checked batch, remembering the price texts (currency, source, version) it found
    plain: a batch has few, so most events cost one set lookup and the cost's bounds."""
    plain: set[tuple[Any, Any, Any]] = set()

    def check(event: UsageEvent) -> str | None:
        cost, texts = event.cost, (event.currency, event.price_source, event.prices_version)
        try:
            known = texts in plain
        except TypeError:  # an unhashable value: price_problem says what is wrong with it
            known = False
        if known and (cost is None or (type(cost) is Decimal and cost.is_finite() and 0 <= cost <= MAX_EVENT_COST)):
            return None
        problem = price_problem(event)
        if problem is None:
            plain.add(texts)
        return problem

    return check


def event_problem(event: UsageEvent) -> str | None:
    """The reason a tracked event cannot be stored as it is, or None when it can."""
    try:
        check_event(event)
    except InvalidValue as exc:
        return str(exc)
    except (TypeError, AttributeError, ValueError, OverflowError, RecursionError) as exc:
        return f"unreadable event ({type(exc).__name__})"
    return None


def _short(value: Any, limit: int = 40) -> str:
    """A value as text for a message, cut short (a huge number or string must not make a huge message)."""
    try:
        text = str(value)
    except ValueError:  # int too large to convert to str
        return f"a {type(value).__name__} too large to print"
    return text if len(text) <= limit else text[:limit] + "..."
