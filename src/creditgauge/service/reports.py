"""Spend and usage reports in the public shape {since, until, source, rows, totals}: the query with its defaults,
one function per report and the columns of its CSV, called by the CLI, the JSON API and the dashboard alike so all
three show the same figures.

Spend has three sources: `reported` (the providers' reports), `tracked` (the proxy, SDK hook and ingest API) and
`best`, the default: the blend of analysis.daily (the provider's report where it has posted, tracked spend for the
days it has not, each day once), the same blend `status` and the Overview use. An amount nobody knows is None.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, cast

from sqlalchemy import Engine

from creditgauge.analysis.accounts import measures_not_reported, select_accounts
from creditgauge.analysis.daily import blended_spend
from creditgauge.analysis.windows import this_month
from creditgauge.config import FxRate
from creditgauge.dates import parse_day
from creditgauge.domain import day_start
from creditgauge.errors import ConfigError
from creditgauge.fx import combine
from creditgauge.service.names import NAME_COLUMNS, add_names, load_names, with_name_columns
from creditgauge.service.session import Session
from creditgauge.store import queries
from creditgauge.store.types import money

DEFAULT_BY = ("account",)
Source = Literal["best", "reported", "tracked"]
SPEND_SOURCES: tuple[Source, ...] = ("best", "reported", "tracked")
USAGE_SOURCES: tuple[Source, ...] = ("reported", "tracked")
SOURCE_HELP = {"best": "the provider's report where posted, tracked spend for the days it has not",
               "reported": "provider reports", "tracked": "proxy, SDK hook, ingest"}
# Why a usage kind stays out of every total (Anthropic's Claude Code report repeats tokens the messages report has).
NOT_IN_TOTALS = {kind: "Claude Code usage: also counted in the messages report" for kind in queries.OVERLAPPING_KINDS}


def parse_source(text: str, allowed: Sequence[Source] = SPEND_SOURCES, option: str = "--source") -> Source:
    if text not in allowed:
        choices = ", ".join(f"{name} ({SOURCE_HELP[name]})" for name in allowed)
        raise ConfigError(f"{option} {text!r}: use {choices}")
    return cast(Source, text)


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
    source: Source
    today: date
    late_window_days: int = 3
    accounts: Sequence[str] | None = None
    fx: Mapping[str, FxRate] | None = None  # [fx] rates: adds a labelled combined total across currencies


@dataclass(frozen=True, slots=True)
class WindowOptions:
    """How a face names the window's two options, so a bad day is reported in the face's own words."""

    since: str
    until: str


CLI_OPTIONS = WindowOptions("--since", "--until")
API_OPTIONS = WindowOptions("since", "until")


def days_asked(today: date, since: str | None, until: str | None,
               options: WindowOptions = CLI_OPTIONS) -> tuple[date, date | None]:
    """The first day (default: the start of this month) and the exclusive last day (default: none, through today)."""
    first = parse_day(since, today=today, option=options.since) if since else this_month(today).since
    last = parse_day(until, today=today, option=options.until) if until else None
    return first, last


def report_query(session: Session, *, since: str | None, until: str | None, by: Sequence[str], source: Source,
                 accounts: Sequence[str] | None, options: WindowOptions = CLI_OPTIONS) -> ReportQuery:
    """The query a face asks with its defaults applied; an account not configured is refused (exit 2 / 400)."""
    today = session.today()
    first, last = days_asked(today, since, until, options)
    named = [a.name for a in select_accounts(session.config, accounts)] if accounts else None
    return ReportQuery(since=first, until=last, by=by, source=source, today=today,
                       late_window_days=session.config.sync.late_window_days, accounts=named, fx=session.config.fx)


def report_window(query: ReportQuery) -> tuple[datetime, datetime]:
    """The half-open UTC window [since, until) a query asks for; with no `until`, through today."""
    start = day_start(query.since)
    end = day_start(query.until) if query.until else day_start(query.today + timedelta(days=1))
    if end <= start and query.until is None:
        raise ConfigError(f"--since {start.date()} is after today ({query.today}); give a day up to today")
    if end <= start:
        raise ConfigError(f"--until {end.date()} must be after --since {start.date()}")
    return start, end


def _annotate(rows: list[dict[str, Any]], by: Sequence[str], engine: Engine, provisional_from: str) -> None:
    """Mark days that providers may still revise, and give projects, keys and workspaces their names."""
    for row in rows:
        if "day" in row:
            row["provisional"] = row["day"] >= provisional_from
    if any(name in NAME_COLUMNS for name in by):
        add_names(rows, load_names(engine))


def _envelope(engine: Engine, query: ReportQuery, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The envelope shared by both reports around their rows."""
    start, end = report_window(query)
    provisional_from = (query.today - timedelta(days=query.late_window_days)).isoformat()
    _annotate(rows, query.by, engine, provisional_from)
    return {
        "since": start, "until": end, "source": query.source, "by": list(query.by),
        "provisional_since": provisional_from if query.source != "tracked" else None,
        "rows": rows,
    }


def _fetch(engine: Engine, query: ReportQuery, fetch: Callable[..., list[dict[str, Any]]],
           **extra: Any) -> list[dict[str, Any]]:
    start, end = report_window(query)
    return fetch(engine, since=start, until=end, by=query.by, source=query.source, accounts=query.accounts, **extra)


def _best_rows(engine: Engine, query: ReportQuery) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The blended rows, and per account and currency the days of the window no source has a figure for."""
    known = dict.fromkeys((*queries.REPORTED_DIMENSIONS, *queries.TRACKED_DIMENSIONS))
    unknown = [name for name in query.by if name not in known and not name.startswith("tag:")]
    if unknown:
        raise ConfigError(f"--by {unknown[0]!r} is not a dimension of spend; use: {', '.join(known)}, tag:<name>")
    start, end = report_window(query)
    rows, series = blended_spend(engine, since=start.date(), until=end.date(), by=query.by, accounts=query.accounts)
    not_posted = [{"account": item.account, "currency": item.currency,
                   "days": [day.isoformat() for day in sorted(item.unknown) if start.date() <= day < end.date()]}
                  for item in sorted(series.values(), key=lambda item: (item.account, item.currency))]
    return rows, [entry for entry in not_posted if entry["days"]]


def spend_report(engine: Engine, query: ReportQuery) -> dict[str, Any]:
    """Spend rows with one total per currency (never added across currencies). A row or total nobody knows the
    amount of (not posted yet and not tracked, or tracked with no price) has amount None, never 0."""
    if query.source == "best":
        rows, not_posted = _best_rows(engine, query)
        report = _envelope(engine, query, rows)
        report["not_posted"] = not_posted
    else:
        report = _envelope(engine, query, _fetch(engine, query, queries.spend))
    totals: dict[str, Decimal | None] = {}
    for row in report["rows"]:
        known = totals.get(row["currency"])
        if row["amount"] is not None:
            totals[row["currency"]] = (known or Decimal(0)) + row["amount"]
        else:
            totals.setdefault(row["currency"], None)
    report["totals"] = [{"amount": None if amount is None else money(amount), "currency": currency}
                        for currency, amount in sorted(totals.items())]
    if query.fx:
        report["combined"] = combine(((amount, currency) for currency, amount in totals.items()
                                      if amount is not None), query.fx)
    if report["source"] != "reported":
        report["unpriced_requests"] = sum(row.get("unpriced_requests", 0) for row in report["rows"])
    return report


def usage_report(engine: Engine, query: ReportQuery) -> dict[str, Any]:
    """Token and request rows with their sums. A measure a provider does not report is None in its rows and in the
    total; Claude Code rows (grouped by kind) are labelled and kept out of every total."""
    rows = _fetch(engine, query, queries.usage, not_reported=measures_not_reported())
    report = _envelope(engine, query, rows)
    measures = [m for m in (*queries.USAGE_MEASURES, *queries.EXTRA_USAGE_MEASURES) if rows and m in rows[0]]
    counted = []
    for row in rows:
        if row.get("kind") in NOT_IN_TOTALS:
            row["not_in_totals"] = NOT_IN_TOTALS[row["kind"]]
        else:
            counted.append(row)
    report["totals"] = ({m: _measure_total(counted, m) for m in measures} if rows
                        else {m: 0 for m in queries.USAGE_MEASURES})
    if query.source == "reported":
        report["not_in_totals"] = sorted(NOT_IN_TOTALS)
    return report


def _measure_total(rows: list[dict[str, Any]], measure: str) -> int | None:
    """The sum of a measure, or None when a row does not know it."""
    values = [row[measure] for row in rows]
    return None if any(value is None for value in values) else sum(values)


def spend_columns(report: Mapping[str, Any]) -> list[str]:
    """The CSV columns of a spend report, the same for `spend --csv` and the API's format=csv."""
    by = report["by"]
    return [*with_name_columns(by), "amount", "currency",
            *(["unpriced_requests"] if report["source"] != "reported" else []),
            *(["provisional"] if "day" in by else [])]


def usage_columns(report: Mapping[str, Any]) -> list[str]:
    """The CSV columns of a usage report, the same for `usage --csv` and the API's format=csv."""
    by = report["by"]
    return [*with_name_columns(by), *report["totals"],
            *(["provisional"] if "day" in by else [])]


def tag_keys(session: Session) -> list[str]:
    """The tag names tracked events carry, so a face can offer `tag:<name>` as a grouping."""
    return queries.tag_keys(session.engine)
