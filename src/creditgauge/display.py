"""Figures for the eye, shared by the terminal and the pages (JSON and the API keep every digit)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from creditgauge.currencies import minor_digits

CENT = Decimal("0.01")
UNKNOWN = "—"  # a figure nobody reported: never 0 or 0.00
NOT_REPORTED = "not reported"  # the same, in words, where a cell has room


def minor_unit(currency: str | None) -> Decimal:
    """The smallest amount a currency shows: 0.01 for USD, 1 for JPY, 0.001 for KWD (ISO 4217).
    No currency (a column whose currency is in another cell) shows cents."""
    return Decimal(1).scaleb(-minor_digits(currency)) if currency else CENT


def money(value: Any, currency: str | None = None, *, signed: bool = False, show_currency: bool = False) -> str:
    """An amount rounded half-even to its currency's minor unit with thousands separators: 38.557596325 USD ->
    "38.56". A non-zero amount too small for that unit reads "<0.01" (never "0.00"); None reads "—"."""
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


def cents(value: Any, *, signed: bool = False) -> str:
    """A difference to the cent: sub-cent noise (per-event pricing summed over thousands of events) reads as 0.00,
    never as -0.00000002. The API keeps every digit."""
    if value is None:
        return UNKNOWN
    amount = Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_EVEN)
    amount = amount if amount != 0 else abs(amount)
    return f"{amount:+,}" if signed and amount != 0 else f"{amount:,}"


def percent(ratio: Any) -> str:
    """0.861 -> "86.1%"; a ratio that rounds to zero shows no sign."""
    if ratio is None:
        return ""
    value = (Decimal(str(ratio)) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN)
    return f"{(value if value != 0 else abs(value))}%"
