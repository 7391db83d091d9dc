"""The guard: does any account fall short? For a CI job or deploy script that must stop before money runs out.

With explicit limits (minimum runway, minimum balance, maximum month spend) exactly those are checked; with
none, each account's own critical state (its critical_days and min_balance from the config) is the test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from creditgauge.analysis.status import AccountStatus, StatusReport
from creditgauge.display import money
from creditgauge.domain import BalanceKind


@dataclass(frozen=True, slots=True)
class Limits:
    min_runway_days: Decimal | None = None
    min_balance: Decimal | None = None  # in each account's own currency
    max_month_spend: Decimal | None = None

    @property
    def explicit(self) -> bool:
        return any(v is not None for v in (self.min_runway_days, self.min_balance, self.max_month_spend))


@dataclass(frozen=True, slots=True)
class Shortfall:
    account: str
    currency: str
    check: str  # runway | balance | month_spend | state
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"account": self.account, "currency": self.currency, "check": self.check, "message": self.message}


@dataclass(frozen=True, slots=True)
class GuardReport:
    checked: list[str]
    shortfalls: list[Shortfall]
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.shortfalls

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "shortfalls": [s.to_dict() for s in self.shortfalls],
                "skipped": self.skipped}


def _runway(row: AccountStatus, minimum: Decimal) -> str | None:
    days = row.runway.days
    if days is None or days >= minimum:
        return None
    what = "the monthly limit is reached" if row.runway.basis == "limit" else "money runs out"
    return f"runway {days} days ({what} {row.runway.date}) is under {minimum} days"


def _checks(row: AccountStatus, limits: Limits) -> list[tuple[str, str]]:
    if not limits.explicit:
        return [("state", f"critical: {row.runway.reason}")] if row.state == "critical" else []
    found = []
    if limits.min_runway_days is not None and (message := _runway(row, limits.min_runway_days)):
        found.append(("runway", message))
    amount = row.balance.amount
    is_balance = row.balance.kind in (BalanceKind.VERIFIED, BalanceKind.ESTIMATED)
    if limits.min_balance is not None and is_balance and amount is not None and amount < limits.min_balance:
        shown = money(amount, row.currency, show_currency=True)
        found.append(("balance", f"{row.balance.kind.value} balance {shown} is under {limits.min_balance}"))
    if limits.max_month_spend is not None and row.month_to_date is not None \
            and row.month_to_date > limits.max_month_spend:
        spent = money(row.month_to_date, row.currency, show_currency=True)
        found.append(("month_spend", f"month-to-date spend {spent} is over {limits.max_month_spend}"))
    return found


def guard(report: StatusReport, limits: Limits) -> GuardReport:
    shortfalls: list[Shortfall] = []
    skipped: dict[str, str] = {}
    for row in report.rows:
        if row.balance.kind == BalanceKind.UNKNOWN and limits.max_month_spend is None:
            skipped[f"{row.account}/{row.currency}"] = "no balance information (add a ledger entry or a monthly_limit)"
            continue
        shortfalls += [Shortfall(row.account, row.currency, check, f"{row.account}: {message}")
                       for check, message in _checks(row, limits)]
    checked = sorted({row.account for row in report.rows})
    return GuardReport(checked, shortfalls, skipped)
