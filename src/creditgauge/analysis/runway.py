"""Runway: how long the money lasts at the current burn, the date it runs out, its range, and the state.

For a balance (verified or estimated) the money is the balance; for a limit-only account it is what remains under
the monthly limit, and the date is the day this month's limit is hit (or none, when the month ends first).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

from creditgauge.analysis.burn import SECONDS_PER_DAY, Burn, Which
from creditgauge.config import AccountConfig, BurnConfig
from creditgauge.domain import day_start

State = Literal["healthy", "warning", "critical", "unknown"]
Basis = Literal["balance", "limit"]
HORIZON_DAYS = 3650  # beyond ten years, "not at this rate" says more than a date


@dataclass(frozen=True, slots=True)
class Thresholds:
    warning_days: Decimal
    critical_days: Decimal
    min_balance: Decimal | None

    @classmethod
    def of(cls, account: AccountConfig, burn: BurnConfig) -> Thresholds:
        def first(*values: Decimal | None) -> Decimal:
            return next(v for v in values if v is not None)

        return cls(
            warning_days=first(account.warning_days, burn.warning_days, Decimal(14)),
            critical_days=first(account.critical_days, burn.critical_days, Decimal(3)),
            min_balance=account.min_balance,
        )


Day = date  # the type, under a name the Runway.date field does not hide


@dataclass(frozen=True, slots=True)
class Runway:
    basis: Basis | None
    state: State
    reason: str
    days: Decimal | None = None  # None: not reached (within the horizon, or this month for a limit)
    date: Day | None = None
    shortest_days: Decimal | None = None  # at the high end of the burn range
    shortest_date: Day | None = None
    longest_days: Decimal | None = None  # at the low end of the burn range
    longest_date: Day | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "basis": self.basis, "state": self.state, "reason": self.reason, "days": self.days, "date": self.date,
            "shortest_days": self.shortest_days, "shortest_date": self.shortest_date,
            "longest_days": self.longest_days, "longest_date": self.longest_date,
        }


def exhaustion(amount: Decimal, burn: Burn, now: datetime, which: Which = "central") -> datetime | None:
    """The moment `amount` is spent at the burn's daily rates from `now`, or None beyond the horizon."""
    if amount <= 0:
        return now
    remaining, cursor = amount, now
    tomorrow = day_start(now.date() + timedelta(days=1))
    rate = burn.on(now.date(), which)
    today_part = rate * Decimal(int((tomorrow - now).total_seconds())) / SECONDS_PER_DAY
    if rate > 0 and remaining <= today_part:
        return now + _fraction_of_day(remaining, rate)
    remaining -= today_part
    cursor = tomorrow
    week = sum((burn.on(cursor.date() + timedelta(days=i), which) for i in range(7)), Decimal(0))
    if week <= 0:
        return None
    whole_weeks = max(0, math.ceil(remaining / week) - 1)
    if whole_weeks * 7 > HORIZON_DAYS:
        return None
    cursor += timedelta(weeks=whole_weeks)
    remaining -= whole_weeks * week
    for _ in range(8):
        rate = burn.on(cursor.date(), which)
        if rate > 0 and remaining <= rate:
            return cursor + _fraction_of_day(remaining, rate)
        remaining -= rate
        cursor += timedelta(days=1)
    return None  # unreachable: a week with positive spend always ends the walk


def _fraction_of_day(amount: Decimal, rate: Decimal) -> timedelta:
    return timedelta(seconds=int(amount / rate * SECONDS_PER_DAY))


def _days(moment: datetime | None, now: datetime, cutoff: datetime | None) -> tuple[Decimal | None, date | None]:
    if moment is None or (cutoff is not None and moment >= cutoff):
        return None, None
    days = Decimal(int((moment - now).total_seconds())) / SECONDS_PER_DAY
    return days.quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN), moment.date()


def month_end(now: datetime) -> datetime:
    first = now.date().replace(day=1)
    return day_start((first + timedelta(days=32)).replace(day=1))


NO_SPEND_SOURCE = ("spend unknown: the provider reports none and nothing tracks this account; send its traffic "
                   "through the recording proxy, the SDK hook or the ingest API")


def runway(
    amount: Decimal | None, basis: Basis | None, burn: Burn | None, thresholds: Thresholds, *, now: datetime,
    spend_known: bool = True,
) -> Runway:
    if basis == "limit" and amount is None:
        return Runway(basis, "unknown", NO_SPEND_SOURCE)
    if amount is None or basis is None:
        return Runway(None, "unknown", "no balance information: add a ledger entry or a monthly_limit")
    if amount <= 0:
        what = "the monthly limit is reached" if basis == "limit" else "the balance is used up"
        return Runway(basis, "critical", what, days=Decimal("0.0"), date=now.date())
    if burn is None:
        state, reason = _state(amount, basis, None, thresholds, no_burn=True)
        if state == "healthy" and not spend_known:  # money left, but nobody can tell how fast it goes
            return Runway(basis, "unknown", NO_SPEND_SOURCE)
        return Runway(basis, state, reason)
    cutoff = month_end(now) if basis == "limit" else None
    days, when = _days(exhaustion(amount, burn, now), now, cutoff)
    shortest, shortest_date = _days(exhaustion(amount, burn, now, "high"), now, cutoff)
    longest, longest_date = _days(exhaustion(amount, burn, now, "low"), now, cutoff)
    state, reason = _state(amount, basis, days, thresholds)
    return Runway(basis, state, reason, days=days, date=when, shortest_days=shortest, shortest_date=shortest_date,
                  longest_days=longest, longest_date=longest_date)


def _state(amount: Decimal, basis: Basis, days: Decimal | None, limits: Thresholds,
           no_burn: bool = False) -> tuple[State, str]:
    if basis == "balance" and limits.min_balance is not None and amount < limits.min_balance:
        return "critical", f"balance under the floor of {limits.min_balance}"
    if no_burn:
        return "healthy", "no complete day of spend yet"
    if days is None:
        if basis == "limit":
            return "healthy", "the monthly limit is not reached this month at this rate"
        return "healthy", "not run out at this rate"
    if days < limits.critical_days:
        return "critical", f"runway under {limits.critical_days} days"
    if days < limits.warning_days:
        return "warning", f"runway under {limits.warning_days} days"
    return "healthy", f"runway of {limits.warning_days} days or more"
