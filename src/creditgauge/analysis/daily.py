"""Spend per account, currency and UTC day, every day counted once: the blend `--source best` reports.

A provider's report is the financial truth, but it arrives late. Per account, the days from its first to its last
reported day take the provider's figure (zero when it reported nothing that day); the days after, typically today
and the days the provider has not posted yet, take the spend tracked by the proxy, SDK hook or ingest API when the
account is tracked, and are unknown (never zero) when it is not. A tracked day whose every request is unpriced is
unknown too; its requests are counted.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import Engine

from creditgauge.analysis.windows import DayWindow
from creditgauge.domain import ZERO, day_start
from creditgauge.store.queries import (
    REPORTED_DIMENSIONS,
    TRACKED_DIMENSIONS,
    accounts_seen,
    last_reported_days,
    spend,
    spend_by_day,
)

DaySource = Literal["reported", "tracked"]


@dataclass(frozen=True, slots=True)
class Figure:
    """Spend over a window: the sum of the days known, the days that are not (no source has them yet) and the
    tracked requests no price was found for. `amount` is None when no day of the window is known."""

    amount: Decimal | None
    unknown_days: tuple[date, ...] = ()
    unpriced_requests: int = 0


@dataclass(slots=True)
class Series:
    """Daily spend of one account in one currency. `days` holds every day with a known amount (zeros included);
    `unknown` the days of the window no source has a figure for."""

    account: str
    currency: str
    days: dict[date, Decimal] = field(default_factory=dict)
    sources: dict[date, DaySource] = field(default_factory=dict)
    reported_through: date | None = None
    unknown: set[date] = field(default_factory=set)
    unpriced: dict[date, int] = field(default_factory=dict)

    @property
    def first_day(self) -> date | None:
        return min(self.days, default=None)

    def known(self, day: date) -> bool:
        return day not in self.unknown

    def on(self, day: date) -> Decimal:
        """The day's known spend (zero for a day without data or not known: callers that must tell those apart ask
        `known` or `figure`)."""
        return self.days.get(day, ZERO)

    def total(self, first: date, last_exclusive: date) -> Decimal:
        return sum((amount for day, amount in self.days.items() if first <= day < last_exclusive), ZERO)

    def figure(self, window: DayWindow) -> Figure:
        unknown = tuple(sorted(day for day in self.unknown if day in window))
        unpriced = sum(count for day, count in self.unpriced.items() if day in window)
        whole = (window.until - window.since).days
        amount = None if len(unknown) == whole else self.total(window.since, window.until)
        return Figure(amount, unknown, unpriced)


def each_day(first: date, last_exclusive: date) -> Iterator[date]:
    day = first
    while day < last_exclusive:
        yield day
        day += timedelta(days=1)


Rows = list[dict[str, Any]]


def _series(engine: Engine, reported: Rows, tracked: Rows, since: date, until: date,
            accounts: Sequence[str] | None) -> dict[tuple[str, str], Series]:
    """Per (account, currency), the daily spend, each day from one side (several rows may share a day)."""
    covered: dict[str, tuple[date, date]] = {}
    for row in reported:
        day = row["day"]
        first, last = covered.get(row["account"], (day, day))
        covered[row["account"]] = (min(first, day), max(last, day))
    # How far a provider had posted when it posted nothing in the window.
    absent = [name for name in (accounts or accounts_seen(engine)) if name not in covered]
    posted = last_reported_days(engine, before=day_start(since), accounts=absent) if absent else {}
    through = {account: span[1] for account, span in covered.items()}
    for (account, _currency), day in posted.items():
        through[account] = max(day, through.get(account, day))
    series: dict[tuple[str, str], Series] = {}

    def of(account: str, currency: str) -> Series:
        key = (account, currency)
        if key not in series:
            series[key] = Series(account, currency, reported_through=through.get(account))
        return series[key]

    for account, currency in posted:
        of(account, currency)
    for row in reported:
        item, day = of(row["account"], row["currency"]), row["day"]
        item.days[day] = item.days.get(day, ZERO) + row["amount"]
    for item in list(series.values()):  # only reported series so far
        # A reported currency is reported for the whole covered span: days without a row spent nothing.
        if item.account not in covered:
            continue
        first, last = covered[item.account]
        for day in each_day(first, last + timedelta(days=1)):
            item.days.setdefault(day, ZERO)
            item.sources[day] = "reported"
    tracked_accounts = {row["account"] for row in tracked}
    priced: set[tuple[str, str, date]] = set()
    for row in tracked:
        day = row["day"]
        span = covered.get(row["account"])
        if span and span[0] <= day <= span[1]:
            continue
        item = of(row["account"], row["currency"])
        item.sources[day] = "tracked"
        if row["unpriced_requests"]:
            item.unpriced[day] = item.unpriced.get(day, 0) + row["unpriced_requests"]
        if row["amount"] is not None:
            item.days[day] = item.days.get(day, ZERO) + row["amount"]
            priced.add((item.account, item.currency, day))
    for item in series.values():
        # A tracked day whose every request is unpriced, or a day not posted that nothing tracks: unknown, not 0.
        item.unknown.update(day for day, src in item.sources.items()
                            if src == "tracked" and (item.account, item.currency, day) not in priced)
        if item.reported_through is not None and item.account not in tracked_accounts:
            item.unknown.update(each_day(max(item.reported_through + timedelta(days=1), since), until))
    return series


def spend_series(
    engine: Engine, *, since: date, until: date, accounts: Sequence[str] | None = None
) -> dict[tuple[str, str], Series]:
    """Per (account, currency), the daily spend over the days [since, until), reported or tracked, never both."""
    start, end = day_start(since), day_start(until)
    reported = spend_by_day(engine, source="reported", since=start, until=end, accounts=accounts)
    tracked = spend_by_day(engine, source="tracked", since=start, until=end, accounts=accounts)
    return _series(engine, reported, tracked, since, until, accounts)


def _side(by: Sequence[str], allowed: Sequence[str], tags: bool) -> list[str]:
    return [name for name in by if name in allowed or (tags and name.startswith("tag:"))]


def blended_spend(
    engine: Engine, *, since: date, until: date, by: Sequence[str], accounts: Sequence[str] | None = None
) -> tuple[Rows, dict[tuple[str, str], Series]]:
    """Spend rows over the days [since, until) grouped by `by`, each account's day taken from the
    side `spend_series` takes it from, with the series themselves. A row's `amount` is None when none of its days
    is known; grouped by day, a day no source has yet is a row of its own with amount None. A dimension only one
    side has (an API key, a workspace; a tracked key or tag) is None on the rows of the days the other side gives.

    The database does the summing: every reported row lies in its account's reported span, and the tracked rows
    are read with those spans left out."""
    series = spend_series(engine, since=since, until=until, accounts=accounts)
    spans: dict[str, tuple[datetime, datetime]] = {}  # per account (every currency of it shares the span)
    for item in series.values():
        if days := [day for day, src in item.sources.items() if src == "reported"]:
            spans[item.account] = (day_start(min(days)), day_start(max(days) + timedelta(days=1)))
    start, end = day_start(since), day_start(until)
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}

    def group(values: dict[str, Any], currency: str) -> dict[str, Any]:
        key = (*(values[name] for name in by), currency)
        if key not in groups:
            groups[key] = {**{name: values[name] for name in by}, "amount": None, "currency": currency,
                           "unpriced_requests": 0}
        return groups[key]

    reported = spend(engine, source="reported", since=start, until=end, accounts=accounts,
                     by=_side(by, REPORTED_DIMENSIONS, False))
    tracked_by = _side(by, (*TRACKED_DIMENSIONS, "line_item"), True)  # tracked line items: tokens and tool fees
    tracked = spend(engine, source="tracked", since=start, until=end, accounts=accounts, by=tracked_by,
                    outside=spans)
    for row in [*reported, *tracked]:
        target = group(dict.fromkeys(by) | row, row["currency"])
        if row["amount"] is not None:
            target["amount"] = (target["amount"] or ZERO) + row["amount"]
        target["unpriced_requests"] += row.get("unpriced_requests", 0)
    if "day" in by:
        providers = {name: seen["provider"] for name, seen in accounts_seen(engine).items()}
        for item in series.values():
            for day in item.unknown:
                values = dict.fromkeys(by) | {"day": day.isoformat(), "month": day.isoformat()[:7],
                                              "account": item.account, "provider": providers.get(item.account)}
                group(values, item.currency)
    rows = sorted(groups.values(), key=lambda row: tuple("" if row[n] is None else str(row[n]) for n in by))
    return rows, series


def split_by_dimension(
    engine: Engine, *, since: date, until: date, dimension: str, accounts: Sequence[str] | None = None
) -> dict[tuple[str, str, str | None], Decimal]:
    """Spend per (account, currency, value of `dimension`) over the days [since, until), each day taken from the
    same side `spend_series` takes it from (for project or model budgets)."""
    rows, _series = blended_spend(engine, since=since, until=until, by=["account", dimension], accounts=accounts)
    return {(str(row["account"]), str(row["currency"]), row[dimension]): row["amount"]
            for row in rows if row["amount"] is not None}
