"""Spend per account, currency and UTC day, every day counted once.

A provider's report is the financial truth, but it arrives late. Per account, the days from its first to its last
reported day take the provider's figure (zero when it reported nothing that day); every other day, typically today
and the days the provider has not posted yet, takes the tracked spend from the proxy, SDK hook or ingest API.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from sqlalchemy import Engine

from creditgauge.domain import ZERO, day_start
from creditgauge.store.queries import spend

DaySource = Literal["reported", "tracked"]


@dataclass(slots=True)
class Series:
    """Daily spend of one account in one currency. `days` holds every day with data (zeros included)."""

    account: str
    currency: str
    days: dict[date, Decimal] = field(default_factory=dict)
    sources: dict[date, DaySource] = field(default_factory=dict)
    reported_through: date | None = None

    @property
    def first_day(self) -> date | None:
        return min(self.days, default=None)

    def on(self, day: date) -> Decimal:
        return self.days.get(day, ZERO)

    def total(self, first: date, last_exclusive: date) -> Decimal:
        return sum((amount for day, amount in self.days.items() if first <= day < last_exclusive), ZERO)


def each_day(first: date, last_exclusive: date) -> Iterator[date]:
    day = first
    while day < last_exclusive:
        yield day
        day += timedelta(days=1)


def spend_series(
    engine: Engine, *, since: date, until: date, accounts: Sequence[str] | None = None
) -> dict[tuple[str, str], Series]:
    """Per (account, currency), the daily spend over the days [since, until), reported or tracked, never both."""
    window = {"since": day_start(since), "until": day_start(until), "by": ["account", "day"], "accounts": accounts}
    reported = spend(engine, source="reported", **window)
    tracked = spend(engine, source="tracked", **window)
    covered: dict[str, tuple[date, date]] = {}
    for row in reported:
        day = date.fromisoformat(row["day"])
        first, last = covered.get(row["account"], (day, day))
        covered[row["account"]] = (min(first, day), max(last, day))

    series: dict[tuple[str, str], Series] = {}

    def of(account: str, currency: str) -> Series:
        key = (account, currency)
        if key not in series:
            span = covered.get(account)
            series[key] = Series(account, currency, reported_through=span[1] if span else None)
        return series[key]

    for row in reported:
        of(row["account"], row["currency"]).days[date.fromisoformat(row["day"])] = row["amount"]
    for item in list(series.values()):  # only reported series so far
        # A reported currency is reported for the whole covered span: days without a row spent nothing.
        first, last = covered[item.account]
        for day in each_day(first, last + timedelta(days=1)):
            item.days.setdefault(day, ZERO)
            item.sources[day] = "reported"
    for row in tracked:
        day = date.fromisoformat(row["day"])
        span = covered.get(row["account"])
        if span and span[0] <= day <= span[1]:
            continue
        item = of(row["account"], row["currency"])
        item.days[day] = row["amount"]
        item.sources[day] = "tracked"
    return series


def split_by_dimension(
    engine: Engine, *, since: date, until: date, dimension: str, accounts: Sequence[str] | None = None
) -> dict[tuple[str, str, str | None], Decimal]:
    """Spend per (account, currency, value of `dimension`) over the days [since, until), each day taken from the
    same side `spend_series` takes it from (for project or model budgets)."""
    series = spend_series(engine, since=since, until=until, accounts=accounts)
    sources = {(item.account, day): src for item in series.values() for day, src in item.sources.items()}
    totals: dict[tuple[str, str, str | None], Decimal] = defaultdict(lambda: ZERO)
    for source in ("reported", "tracked"):
        rows = spend(engine, since=day_start(since), until=day_start(until), by=["account", "day", dimension],
                     source=source, accounts=accounts)
        for row in rows:
            if sources.get((row["account"], date.fromisoformat(row["day"]))) == source:
                totals[(row["account"], row["currency"], row[dimension])] += row["amount"]
    return dict(totals)
