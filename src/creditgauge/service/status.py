"""Status and balances per account, and the Overview's totals per currency: what `creditgauge status|balance`, the
Overview page, GET /api/v1/status|balances and /metrics all show."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from creditgauge.analysis.balance import BalanceReport, balances
from creditgauge.analysis.status import StatusReport, status
from creditgauge.service.session import Session


def status_report(session: Session, accounts: Sequence[str] | None = None) -> StatusReport:
    """Every configured account (or the named ones): balance, spend, burn, runway and state."""
    return status(session.config, session.engine, now=session.now(), accounts=accounts or None)


def balance_report(session: Session, accounts: Sequence[str] | None = None) -> BalanceReport:
    """The latest balance per account and currency, with its kind."""
    return balances(session.config, session.engine, now=session.now(), accounts=accounts or None)


def totals_per_currency(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Overview totals: balances of known kinds, spend this month, today and over the last 30 days, and burn, summed
    per currency only. A figure no account of the currency knows stays None (unknown), never 0."""
    fields = ("balance", "month_to_date", "today", "last_30_days", "burn_per_day")
    totals: dict[str, dict[str, Decimal | None]] = defaultdict(lambda: dict.fromkeys(fields))

    def add(sums: dict[str, Decimal | None], name: str, value: Decimal | None) -> None:
        if value is not None:
            sums[name] = (sums[name] or Decimal(0)) + value

    for row in rows:
        sums = totals[row["currency"]]
        if row["balance"]["kind"] in ("verified", "estimated"):
            add(sums, "balance", row["balance"]["amount"])
        for name in ("month_to_date", "today", "last_30_days"):
            add(sums, name, row[name])
        add(sums, "burn_per_day", row["burn"]["per_day"] if row["burn"] else None)
    return [{"currency": currency, **sums} for currency, sums in sorted(totals.items())]
