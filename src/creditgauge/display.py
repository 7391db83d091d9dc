"""Figures for the eye, shared by the terminal, the pages and messages (JSON and the API keep every digit)."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from creditgauge.currencies import minor_digits
from creditgauge.domain import as_utc

CENT = Decimal("0.01")
UNKNOWN = "—"  # a figure nobody reported: never 0 or 0.00
NOT_REPORTED = "not reported"  # the same, in words, where a cell has room


def minor_unit(currency: str | None) -> Decimal:
    """The smallest amount a currency shows: 0.01 for USD, 1 for JPY, 0.001 for KWD (ISO 4217).
    No currency (a column whose currency is in another cell) shows cents."""
    return Decimal(1).scaleb(-minor_digits(currency)) if currency else CENT


def money(value: Any, currency: str | None = None, *, signed: bool = False, show_currency: bool = False) -> str:
    """An amount rounded half-even to its currency's minor unit with thousands separators: 38.557596325 USD ->
    "38.56". A non-zero amount too small for that unit reads "<0.01" (never "0.00"); None reads "—". The one
    formatter of amounts for people: the terminal, the pages (the `money` filter) and alert messages."""
    if value is None:
        return UNKNOWN
    amount = Decimal(str(value))
    unit = minor_unit(currency)
    rounded = amount.quantize(unit, rounding=ROUND_HALF_EVEN)
    if rounded == 0 and amount != 0:
        text = f"{'-' if amount < 0 else '+' if signed else ''}<{unit}"
    else:
        rounded = abs(rounded) if rounded == 0 else rounded  # never "-0.00"
        text = f"{rounded:+,}" if signed and rounded != 0 else f"{rounded:,}"
    return f"{text} {currency}" if show_currency and currency else text


def age(moment: datetime | None, now: datetime, *, ago: bool = False) -> str:
    """How long before `now` a moment was: "<1 min", "42 min", "5 h" (under two days), "12 d"; None reads "—".
    `ago` adds " ago" for a sentence."""
    if moment is None:
        return UNKNOWN
    minutes = int((now - as_utc(moment)).total_seconds() // 60)
    text = ("<1 min" if minutes < 1 else f"{minutes} min" if minutes < 60
            else f"{minutes // 60} h" if minutes < 48 * 60 else f"{minutes // 1440} d")
    return f"{text} ago" if ago else text


def percent(ratio: Any) -> str:
    """0.861 -> "86.1%"; a ratio that rounds to zero shows no sign."""
    if ratio is None:
        return ""
    value = (Decimal(str(ratio)) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN)
    return f"{(value if value != 0 else abs(value))}%"


def local_time(moment: datetime, zone: str = "UTC", *, named: bool = False) -> str:
    """A moment as "YYYY-MM-DD HH:MM" in the display time zone (`[display] time_zone`; stored times are UTC);
    `named` appends the zone's abbreviation at that moment ("UTC", "PST")."""
    utc = as_utc(moment)
    shown = utc if zone == "UTC" else utc.astimezone(ZoneInfo(zone))
    return f"{shown:%Y-%m-%d %H:%M}" + (f" {shown:%Z}" if named else "")
