"""The range presets of the Spend and Usage pages (kept in the URL as `range=`), turned into UTC days [since, until).
A page opens on the last 30 days: month-to-date shows five bars on the 5th of the month."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from creditgauge.dates import parse_day
from creditgauge.errors import ConfigError

DEFAULT_PRESET = "30d"
PRESETS: dict[str, str] = {"today": "Today", "7d": "7 days", "30d": "30 days", "month": "This month",
                           "last-month": "Last month", "90d": "90 days", "custom": "Custom"}


@dataclass(frozen=True)
class Range:
    preset: str  # one of PRESETS, or "day" for a drill-down into one day
    since: date
    until: date  # exclusive


def _month_start(day: date) -> date:
    return day.replace(day=1)


def preset_range(preset: str, today: date) -> Range:
    tomorrow = today + timedelta(days=1)
    if preset == "today":
        return Range(preset, today, tomorrow)
    if preset in ("7d", "30d", "90d"):
        return Range(preset, tomorrow - timedelta(days=int(preset[:-1])), tomorrow)
    if preset == "month":
        return Range(preset, _month_start(today), tomorrow)
    if preset == "last-month":
        this_month = _month_start(today)
        return Range(preset, _month_start(this_month - timedelta(days=1)), this_month)
    raise ConfigError(f"range {preset!r}: use one of {', '.join(PRESETS)}")


def page_range(today: date, preset: str | None, since: str | None, until: str | None, day: str | None) -> Range:
    """`day` (a drill-down) wins, then a named preset, then since/until (a custom range; with no preset named, as
    the API reads them), then the default of 30 days."""
    if day:
        first = parse_day(day, today=today, option="day")
        return Range("day", first, first + timedelta(days=1))
    if preset and preset != "custom":
        return preset_range(preset, today)
    if since or until or preset == "custom":
        default = preset_range(DEFAULT_PRESET, today)
        first = parse_day(since, today=today, option="since") if since else default.since
        last = parse_day(until, today=today, option="until") if until else default.until
        if last <= first:
            raise ConfigError(f"until {last} must be after since {first}")
        return Range("custom", first, last)
    return preset_range(DEFAULT_PRESET, today)
