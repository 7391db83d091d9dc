"""Reconciliation with its default window, for `creditgauge reconcile`, the Reconcile page and the API alike, and
its breakdown over the whole window by key, project or model (`--by`, `?by=`), with the provider's names."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from creditgauge.analysis.reconcile import BREAKDOWNS, ReconcileReport, reconcile
from creditgauge.dates import parse_day
from creditgauge.errors import ConfigError
from creditgauge.service.reports import CLI_OPTIONS, WindowOptions
from creditgauge.service.session import Session

DEFAULT_SINCE = "30d"  # the last 30 days, today included


def reconcile_report(session: Session, *, since: str | None = None, until: str | None = None,
                     accounts: Sequence[str] | None = None,
                     options: WindowOptions = CLI_OPTIONS) -> ReconcileReport:
    """Reported against tracked spend per account and day from `since` (default: the last 30 days) to `until`
    (exclusive; default: through today)."""
    now = session.now()
    first = parse_day(since or DEFAULT_SINCE, today=now.date(), option=options.since)
    last = parse_day(until, today=now.date(), option=options.until) if until else None
    return reconcile(session.config, session.engine, since=first, until=last, now=now, accounts=accounts or None)


def parse_breakdown(text: str, option: str = "--by") -> str:
    if text not in BREAKDOWNS:
        raise ConfigError(f"{option} {text!r}: use one of {', '.join(BREAKDOWNS)}")
    return text


def breakdown_columns(dimension: str) -> list[str]:
    return ["account", dimension, f"{dimension}_name", "currency", "reported", "tracked", "difference",
            "flagged_days"]


def breakdown_document(report: dict[str, Any], dimension: str) -> dict[str, Any]:
    """From the reconcile document (`ReconcileReport.to_dict`), its breakdown by one dimension."""
    return {"since": report["since"], "until": report["until"], "by": dimension, "rows": report["by"][dimension],
            "flagged": report["flagged"], "skipped": report["skipped"]}


def breakdown_csv_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**row, "flagged_days": " ".join(str(day) for day in row["flagged_days"])} for row in document["rows"]]

