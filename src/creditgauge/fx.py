"""The optional combined view across currencies: totals converted at the rates the user configured in [fx],
always with the rates and their dates. Amounts in different currencies are never added any other way."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from creditgauge.config import FxRate
from creditgauge.store.types import money


def combine(amounts: Iterable[tuple[Decimal, str]], fx: Mapping[str, FxRate]) -> dict[str, Any] | None:
    """One total of amounts in several currencies, or None when there is nothing to combine (no rates, or a
    single currency). A currency without a rate is listed under `missing` and left out of the total."""
    if not fx:
        return None
    rates = {currency.upper(): rate for currency, rate in fx.items()}
    target = next(iter(rates.values())).to.upper()
    per_currency: dict[str, Decimal] = {}
    for amount, currency in amounts:
        per_currency[currency.upper()] = per_currency.get(currency.upper(), Decimal(0)) + amount
    if len(per_currency) < 2:
        return None
    total, used, missing = Decimal(0), [], []
    for currency, amount in sorted(per_currency.items()):
        if currency == target:
            total += amount
        elif currency in rates and (rate := rates[currency].rate) is not None:
            total += amount * rate
            used.append({"from": currency, "to": target, "rate": rate, "date": rates[currency].date})
        else:
            missing.append(currency)
    label = ", ".join(f"1 {r['from']} = {r['rate']} {r['to']} ({r['date']})" for r in used)
    return {"amount": money(total), "currency": target, "rates": used, "missing": missing,
            "label": f"converted at {label}" if used else "no conversion needed"}
