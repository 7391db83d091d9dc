"""Spend and usage reports in the public shape {since, until, source, rows, totals}: one function each, called by the
CLI, the JSON API and the dashboard alike so all three show the same figures."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from creditgauge.domain import day_start
from creditgauge.errors import ConfigError
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


def _window(since: date, until: date | None, today: date) -> tuple[datetime, datetime]:
    start = day_start(since)
    end = day_start(until) if until else day_start(today + timedelta(days=1))
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


def spend_report(
    engine: Engine,
    *,
    since: date,
    until: date | None,
    by: Sequence[str],
    source: queries.Source,
    today: date,
    late_window_days: int = 3,
    accounts: Sequence[str] | None = None,
) -> dict[str, Any]:
    start, end = _window(since, until, today)
    rows = queries.spend(engine, since=start, until=end, by=by, source=source, accounts=accounts)
    provisional_from = (today - timedelta(days=late_window_days)).isoformat()
    _annotate(rows, by, engine, provisional_from)
    totals: dict[str, Decimal] = {}
    unpriced = 0
    for row in rows:
        totals[row["currency"]] = totals.get(row["currency"], Decimal(0)) + row["amount"]
        unpriced += row.get("unpriced_requests", 0)
    report: dict[str, Any] = {
        "since": start, "until": end, "source": source, "by": list(by),
        "provisional_since": provisional_from if source == "reported" else None,
        "rows": rows,
        "totals": [{"amount": money(amount), "currency": currency} for currency, amount in sorted(totals.items())],
    }
    if source == "tracked":
        report["unpriced_requests"] = unpriced
    return report


def usage_report(
    engine: Engine,
    *,
    since: date,
    until: date | None,
    by: Sequence[str],
    source: queries.Source,
    today: date,
    late_window_days: int = 3,
    accounts: Sequence[str] | None = None,
) -> dict[str, Any]:
    start, end = _window(since, until, today)
    rows = queries.usage(engine, since=start, until=end, by=by, source=source, accounts=accounts)
    provisional_from = (today - timedelta(days=late_window_days)).isoformat()
    _annotate(rows, by, engine, provisional_from)
    measures = [m for m in (*queries.USAGE_MEASURES, *queries.EXTRA_USAGE_MEASURES) if rows and m in rows[0]]
    totals = {m: sum(row[m] for row in rows) for m in measures} if rows else {m: 0 for m in queries.USAGE_MEASURES}
    return {
        "since": start, "until": end, "source": source, "by": list(by),
        "provisional_since": provisional_from if source == "reported" else None,
        "rows": rows, "totals": totals,
    }
