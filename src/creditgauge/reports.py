"""Spend and usage reports in the public shape {since, until, source, rows, totals}: one function each, called by the
CLI, the JSON API and the dashboard alike so all three show the same figures."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from creditgauge.config import FxRate
from creditgauge.domain import day_start
from creditgauge.errors import ConfigError
from creditgauge.fx import combine
from creditgauge.store import queries
from creditgauge.store.facts import entity_name_map
from creditgauge.store.types import money

DEFAULT_BY = ("account",)


def parse_by(text: str | None) -> list[str]:
    if not text:
        return list(DEFAULT_BY)
    names = [part.strip() for part in text.split(",") if part.strip()]
    if len(set(names)) != len(names):
        raise ConfigError(f"--by {text!r} names a dimension twice")
    return names


@dataclass(frozen=True, slots=True)
class ReportQuery:
    """What a spend or usage report asks: the days [since, until), the grouping and the source."""

    since: date
    until: date | None
    by: Sequence[str]
    source: queries.Source
    today: date
    late_window_days: int = 3
    accounts: Sequence[str] | None = None
    fx: Mapping[str, FxRate] | None = None  # [fx] rates: adds a labelled combined total across currencies


def report_window(query: ReportQuery) -> tuple[datetime, datetime]:
    """The half-open UTC window [since, until) a query asks for; with no `until`, through today."""
    start = day_start(query.since)
    end = day_start(query.until) if query.until else day_start(query.today + timedelta(days=1))
    if end <= start:
        raise ConfigError(f"--until {end.date()} must be after --since {start.date()}")
    return start, end


def _annotate(rows: list[dict[str, Any]], by: Sequence[str], engine: Engine, provisional_from: str) -> None:
    """Mark days that providers may still revise, and give projects their names where a connector found them."""
    names = entity_name_map(engine, "project") if "project" in by else {}
    for row in rows:
        if "day" in row:
            row["provisional"] = row["day"] >= provisional_from
        if names and row.get("project") is not None:
            row["project_name"] = next(
                (name for (_account, entity), name in names.items() if entity == row["project"]), None
            )


def _report(engine: Engine, query: ReportQuery, fetch: Callable[..., list[dict[str, Any]]]) -> dict[str, Any]:
    """The envelope shared by both reports, with the rows `fetch` (queries.spend or queries.usage) returns."""
    start, end = report_window(query)
    rows = fetch(engine, since=start, until=end, by=query.by, source=query.source, accounts=query.accounts)
    provisional_from = (query.today - timedelta(days=query.late_window_days)).isoformat()
    _annotate(rows, query.by, engine, provisional_from)
    return {
        "since": start, "until": end, "source": query.source, "by": list(query.by),
        "provisional_since": provisional_from if query.source == "reported" else None,
        "rows": rows,
    }


def spend_report(engine: Engine, query: ReportQuery) -> dict[str, Any]:
    """Spend rows with one total per currency (never added across currencies)."""
    report = _report(engine, query, queries.spend)
    totals: dict[str, Decimal] = {}
    for row in report["rows"]:
        totals[row["currency"]] = totals.get(row["currency"], Decimal(0)) + row["amount"]
    report["totals"] = [{"amount": money(amount), "currency": currency} for currency, amount in sorted(totals.items())]
    if query.fx:
        report["combined"] = combine(((amount, currency) for currency, amount in totals.items()), query.fx)
    if report["source"] == "tracked":
        report["unpriced_requests"] = sum(row.get("unpriced_requests", 0) for row in report["rows"])
    return report


def usage_report(engine: Engine, query: ReportQuery) -> dict[str, Any]:
    """Token and request rows with their sums."""
    report = _report(engine, query, queries.usage)
    rows = report["rows"]
    measures = [m for m in (*queries.USAGE_MEASURES, *queries.EXTRA_USAGE_MEASURES) if rows and m in rows[0]]
    report["totals"] = ({m: sum(row[m] for row in rows) for m in measures} if rows
                        else {m: 0 for m in queries.USAGE_MEASURES})
    return report
