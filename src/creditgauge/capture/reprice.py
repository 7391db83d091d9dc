"""Recompute the price of stored tracked events after a price fix (a genai-prices upgrade or a config override).
Idempotent: a second run finds nothing to change. A cost the provider reported itself is kept: it wins. The
split of a cost into line items (tokens, tool fees) follows the new price."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from creditgauge.pricing import SOURCE_PROVIDER, Price, Pricer
from creditgauge.store.events import PriceUpdate, iter_events, update_prices
from creditgauge.store.line_items import store_line_items

BATCH = 2000


@dataclass
class RepriceReport:
    checked: int = 0
    changed: int = 0
    unpriced: int = 0
    provider_priced: int = 0


def _lines(price: Price | None) -> dict[str, str] | None:
    return {name: str(cost) for name, cost in price.lines.items()} if price and price.lines else None


def reprice(engine: Engine, pricer: Pricer, *, since: datetime, until: datetime | None = None) -> RepriceReport:
    report = RepriceReport()
    pending: list[PriceUpdate] = []
    lines: dict[str, dict[str, str] | None] = {}
    for event in iter_events(engine, since=since, until=until):
        report.checked += 1
        if event.price_source == SOURCE_PROVIDER:
            report.provider_priced += 1
            continue
        price = pricer.price(event) if not event.extra.get("usage_missing") else None
        new = PriceUpdate(event.id, price.cost if price else None, price.currency if price else event.currency,
                          price.source if price else None, price.version if price else None)
        if new.cost is None:
            report.unpriced += 1
        old = (event.cost, event.currency, event.price_source, event.prices_version)
        if old != (new.cost, new.currency, new.price_source, new.prices_version):
            pending.append(new)
        if event.extra.get("line_items") != _lines(price):
            lines[event.id] = _lines(price)
        if len(pending) >= BATCH or len(lines) >= BATCH:
            report.changed += _apply(engine, pending, lines)
            pending, lines = [], {}
    report.changed += _apply(engine, pending, lines)
    return report


def _apply(engine: Engine, prices: list[PriceUpdate], lines: dict[str, dict[str, str] | None]) -> int:
    if lines:
        store_line_items(engine, lines)
    return update_prices(engine, prices)
