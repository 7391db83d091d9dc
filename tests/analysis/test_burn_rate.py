"""Burn rate from complete days: weekly rhythm, mean and EWMA, the range, and the window's edges."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from factories import at

from creditgauge.analysis.burn import burn_rate, is_weekend
from creditgauge.analysis.daily import Series, each_day
from creditgauge.config import BurnConfig

TODAY = date(2026, 3, 18)  # Wednesday


def weekly(weekday: str, weekend: str, first: date = date(2026, 2, 1)) -> Series:
    days = {d: Decimal(weekend if is_weekend(d) else weekday) for d in each_day(first, TODAY + timedelta(days=1))}
    days[TODAY] = Decimal(1000)  # today is incomplete: never part of the burn
    return Series("oa", "USD", days=days)


def test_weekdays_and_weekends_are_measured_apart():
    burn = burn_rate(weekly("10", "2"), today=TODAY, config=BurnConfig())
    assert burn is not None
    assert (burn.days, burn.since, burn.until) == (7, date(2026, 3, 11), TODAY)
    assert burn.weekday.central == Decimal(10) and burn.weekend.central == Decimal(2)
    assert burn.per_day() == Decimal("7.7143")  # (5 * 10 + 2 * 2) / 7
    assert burn.on(date(2026, 3, 21)) == Decimal(2)  # a Saturday


def test_the_range_spans_the_cheapest_and_dearest_day_of_each_kind():
    series = weekly("10", "2")
    series.days[date(2026, 3, 16)] = Decimal(30)  # a busy Monday
    burn = burn_rate(series, today=TODAY, config=BurnConfig())
    assert burn is not None
    assert (burn.weekday.low, burn.weekday.central, burn.weekday.high) == (Decimal(10), Decimal(14), Decimal(30))
    assert burn.per_day("low") < burn.per_day() < burn.per_day("high")


def test_ewma_favours_recent_days():
    series = weekly("10", "10")
    for day in each_day(date(2026, 3, 15), TODAY):
        series.days[day] = Decimal(20)
    mean = burn_rate(series, today=TODAY, config=BurnConfig())
    ewma = burn_rate(series, today=TODAY, config=BurnConfig(method="ewma", ewma_alpha=Decimal("0.5")))
    assert mean is not None and ewma is not None
    assert ewma.weekday.central > mean.weekday.central


def test_the_window_starts_no_earlier_than_the_first_day_with_data():
    burn = burn_rate(weekly("6", "6", first=date(2026, 3, 16)), today=TODAY, config=BurnConfig())
    assert burn is not None and burn.days == 2 and burn.per_day() == Decimal(6)  # no invented zero days


def test_no_complete_day_means_no_burn():
    assert burn_rate(Series("oa", "USD", days={TODAY: Decimal(5)}), today=TODAY, config=BurnConfig()) is None


def test_spend_between_prorates_partial_days():
    burn = burn_rate(weekly("24", "24"), today=TODAY, config=BurnConfig())
    assert burn is not None
    assert burn.spend_between(at("2026-03-18", 12), at("2026-03-19", 18)) == Decimal(12 + 18)
