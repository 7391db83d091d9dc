"""The range presets of the Spend and Usage pages as UTC days [since, until), across month and year ends."""

from __future__ import annotations

from datetime import date

import pytest

from creditgauge.errors import ConfigError
from creditgauge.web.ranges import page_range, preset_range


@pytest.mark.parametrize(("preset", "today", "since", "until"), [
    ("today", date(2026, 1, 1), date(2026, 1, 1), date(2026, 1, 2)),
    ("7d", date(2026, 3, 2), date(2026, 2, 24), date(2026, 3, 3)),
    ("30d", date(2026, 12, 5), date(2026, 11, 6), date(2026, 12, 6)),
    ("90d", date(2026, 12, 5), date(2026, 9, 7), date(2026, 12, 6)),
    ("month", date(2026, 12, 5), date(2026, 12, 1), date(2026, 12, 6)),
    ("last-month", date(2026, 1, 15), date(2025, 12, 1), date(2026, 1, 1)),
    ("last-month", date(2026, 3, 31), date(2026, 2, 1), date(2026, 3, 1)),
])
def test_presets(preset: str, today: date, since: date, until: date) -> None:
    window = preset_range(preset, today)
    assert (window.since, window.until, window.preset) == (since, until, preset)


def test_a_day_wins_then_a_preset_then_dates_then_30_days() -> None:
    today = date(2026, 12, 5)
    assert page_range(today, "7d", "2026-01-01", None, "2026-11-30").preset == "day"
    assert page_range(today, "7d", "2026-01-01", None, None).since == date(2026, 11, 29)
    custom = page_range(today, None, "2026-10-01", "2026-11-01", None)
    assert (custom.preset, custom.since, custom.until) == ("custom", date(2026, 10, 1), date(2026, 11, 1))
    assert page_range(today, "custom", "30d", None, None).until == date(2026, 12, 6)  # through today
    assert page_range(today, None, None, None, None).preset == "30d"


def test_bad_ranges_say_what_to_use() -> None:
    with pytest.raises(ConfigError, match="use one of today, 7d, 30d"):
        page_range(date(2026, 12, 5), "fortnight", None, None, None)
    with pytest.raises(ConfigError, match="until 2026-10-01 must be after since 2026-11-01"):
        page_range(date(2026, 12, 5), None, "2026-11-01", "2026-10-01", None)
    with pytest.raises(ConfigError, match="day 'someday' is not a date"):
        page_range(date(2026, 12, 5), None, None, None, "someday")
