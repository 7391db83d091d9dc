"""The windows every face asks about, defined once: whole UTC days, half-open [since, until).

today          [today, tomorrow)
this month     [the 1st of this month, tomorrow): today included, so far
last N days    [today - (N - 1), tomorrow): N whole UTC days, today the last of them (so far)

`status`, `spend`, the Overview page and the API all take their windows from here, so one question gives one figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

LAST_DAYS_SHOWN = 30  # the "last 30 days" figure of status and the Overview


@dataclass(frozen=True, slots=True)
class DayWindow:
    since: date
    until: date  # exclusive

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.since <= day < self.until


def today_window(today: date) -> DayWindow:
    return DayWindow(today, today + timedelta(days=1))


def this_month(today: date) -> DayWindow:
    return DayWindow(today.replace(day=1), today + timedelta(days=1))


def last_days(count: int, today: date) -> DayWindow:
    """The last `count` whole UTC days, today included."""
    if count < 1:
        raise ValueError(f"the last {count} days: the count must be at least 1")
    return DayWindow(today - timedelta(days=count - 1), today + timedelta(days=1))


def last_month(today: date) -> DayWindow:
    first = today.replace(day=1)
    return DayWindow((first - timedelta(days=1)).replace(day=1), first)
