"""Reconciliation with its default window, for `creditgauge reconcile`, the Reconcile page and the API alike."""

from __future__ import annotations

from collections.abc import Sequence

from creditgauge.analysis.reconcile import ReconcileReport, reconcile
from creditgauge.dates import parse_day
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
