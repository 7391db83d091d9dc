"""Figures for the eye, shared by the terminal and the pages (JSON and the API keep every digit)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

CENT = Decimal("0.01")


def cents(value: Any, *, signed: bool = False) -> str:
    """A difference to the cent: sub-cent noise (per-event pricing summed over thousands of events) reads as 0.00,
    never as -0.00000002. The API keeps every digit."""
    if value is None:
        return "—"
    amount = Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_EVEN)
    amount = amount if amount != 0 else abs(amount)
    return f"{amount:+,}" if signed and amount != 0 else f"{amount:,}"


def percent(ratio: Any) -> str:
    """0.861 -> "86.1%"; a ratio that rounds to zero shows no sign."""
    if ratio is None:
        return ""
    value = (Decimal(str(ratio)) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN)
    return f"{(value if value != 0 else abs(value))}%"
