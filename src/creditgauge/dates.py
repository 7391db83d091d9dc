"""Parsing of the dates users type: 2026-11-01, today, yesterday, 30d (the first of the last 30 days, today included),
month (start of this month). The windows themselves are defined once, in analysis.windows."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from creditgauge.analysis.windows import last_days, this_month
from creditgauge.errors import ConfigError

_RELATIVE = re.compile(r"^(\d+)d$")


def parse_day(text: str, *, today: date, option: str = "--since") -> date:
    value = text.strip().lower()
    if value == "today":
        return today
    if value == "yesterday":
        return today - timedelta(days=1)
    if value == "month":
        return this_month(today).since
    if match := _RELATIVE.match(value):
        if int(match.group(1)) == 0:
            raise ConfigError(f"{option} {text!r}: the last 0 days is no window; use 1d (today) or more")
        return last_days(int(match.group(1)), today).since
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(
            f"{option} {text!r} is not a date; use YYYY-MM-DD, today, yesterday, month or Nd (e.g. 30d)"
        ) from None


def parse_moment(text: str, *, now: datetime, option: str = "--at") -> datetime:
    """A date (midnight UTC) or an ISO 8601 time; naive times are UTC. Here `Nd` is a moment: N days ago."""
    if match := _RELATIVE.match(text.strip().lower()):
        day = now.date() - timedelta(days=int(match.group(1)))
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        day = parse_day(text, today=now.date(), option=option)
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
