"""Burn rate: what an account spends per day, from complete UTC days only.

Weekdays and weekend days are measured apart (teams spend less on Saturdays), so a projection walks the calendar
with the right rate for each day. Each rate has a central figure (the mean, or an EWMA that favours recent days)
and a range: the cheapest and the dearest complete day of that kind in the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

from creditgauge.analysis.daily import Series, each_day
from creditgauge.config import BurnConfig
from creditgauge.domain import ZERO

Which = Literal["central", "low", "high"]
ESTIMATE_PLACES = Decimal("0.0001")
SECONDS_PER_DAY = Decimal(86400)


def estimate(value: Decimal) -> Decimal:
    """Rates and projections are estimates: four decimal places are plenty, and keep the JSON readable."""
    return value.quantize(ESTIMATE_PLACES, rounding=ROUND_HALF_EVEN)


def is_weekend(day: date) -> bool:
    return day.weekday() >= 5


@dataclass(frozen=True, slots=True)
class Rate:
    central: Decimal
    low: Decimal
    high: Decimal

    def pick(self, which: Which) -> Decimal:
        return {"central": self.central, "low": self.low, "high": self.high}[which]


@dataclass(frozen=True, slots=True)
class Burn:
    account: str
    currency: str
    method: str
    since: date
    until: date  # exclusive
    days: int
    weekday: Rate
    weekend: Rate

    def on(self, day: date, which: Which = "central") -> Decimal:
        return (self.weekend if is_weekend(day) else self.weekday).pick(which)

    def per_day(self, which: Which = "central") -> Decimal:
        """The average day of a week: five weekdays and two weekend days."""
        return estimate((5 * self.weekday.pick(which) + 2 * self.weekend.pick(which)) / 7)

    def spend_between(self, start: datetime, end: datetime, which: Which = "central") -> Decimal:
        """Projected spend over [start, end), each day at its own rate, partial days pro rata."""
        total = ZERO
        for day in each_day(start.date(), end.date() + timedelta(days=1)):
            day_begin = datetime(day.year, day.month, day.day, tzinfo=start.tzinfo)
            lo, hi = max(start, day_begin), min(end, day_begin + timedelta(days=1))
            if hi > lo:
                total += self.on(day, which) * Decimal((hi - lo).total_seconds()) / SECONDS_PER_DAY
        return estimate(total)

    def to_dict(self) -> dict[str, object]:
        return {
            "per_day": self.per_day(), "low": self.per_day("low"), "high": self.per_day("high"),
            "weekday": _rate_dict(self.weekday), "weekend": _rate_dict(self.weekend),
            "method": self.method, "days": self.days, "since": self.since, "until": self.until,
            "currency": self.currency,
        }


def _rate_dict(rate: Rate) -> dict[str, Decimal]:
    return {"central": rate.central, "low": rate.low, "high": rate.high}


def _central(values: list[Decimal], config: BurnConfig) -> Decimal:
    if config.method == "ewma":
        alpha = config.ewma_alpha if config.ewma_alpha is not None else Decimal("0.3")
        smoothed = values[0]
        for value in values[1:]:
            smoothed = alpha * value + (1 - alpha) * smoothed
        return estimate(smoothed)
    return estimate(sum(values, ZERO) / len(values))


def _rate(values: list[Decimal], config: BurnConfig) -> Rate:
    return Rate(_central(values, config), estimate(min(values)), estimate(max(values)))


def burn_rate(series: Series, *, today: date, config: BurnConfig) -> Burn | None:
    """The burn of one account and currency over the complete, known days of the trailing window (never before its
    first day with data), or None when there is no such day yet."""
    first = series.first_day
    if first is None or first >= today:
        return None
    since = max(today - timedelta(days=config.window_days), first)
    days = [day for day in each_day(since, today) if series.known(day)]  # a day not posted yet is no zero
    if not days:
        return None
    weekdays = [series.on(d) for d in days if not is_weekend(d)]
    weekends = [series.on(d) for d in days if is_weekend(d)]
    # A window without one kind of day (shorter than a week) lends the other kind's rate.
    weekday = _rate(weekdays or weekends, config)
    weekend = _rate(weekends or weekdays, config)
    return Burn(series.account, series.currency, config.method, since, today, len(days), weekday, weekend)
