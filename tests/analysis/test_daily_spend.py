"""Combined daily spend: the provider's figure where it reported, tracked spend elsewhere, never both."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from factories import at, reported, tracked, tracked_days

from creditgauge.analysis.daily import spend_series, split_by_dimension


def test_a_day_tracked_but_not_yet_reported_is_counted_once(engine):
    for day in ("2026-03-10", "2026-03-11"):
        reported(engine, "oa", day, "4.00")
    tracked_days(engine, "oa", "2026-03-10", "2026-03-12", "3.50")  # tracked sees all three days, priced lower

    series = spend_series(engine, since=date(2026, 3, 1), until=date(2026, 3, 19))[("oa", "USD")]

    assert series.days == {date(2026, 3, 10): Decimal("4.00"), date(2026, 3, 11): Decimal("4.00"),
                           date(2026, 3, 12): Decimal("3.50")}
    assert series.sources[date(2026, 3, 11)] == "reported"
    assert series.sources[date(2026, 3, 12)] == "tracked"
    assert series.reported_through == date(2026, 3, 11)
    assert series.total(date(2026, 3, 1), date(2026, 3, 19)) == Decimal("11.50")


def test_a_gap_inside_the_reported_span_is_zero_not_tracked(engine):
    reported(engine, "oa", "2026-03-01", "2.00")
    reported(engine, "oa", "2026-03-03", "2.00")
    tracked(engine, "oa", at("2026-03-02", 9), "7.00")

    series = spend_series(engine, since=date(2026, 3, 1), until=date(2026, 3, 4))[("oa", "USD")]

    assert series.on(date(2026, 3, 2)) == Decimal(0)
    assert series.sources[date(2026, 3, 2)] == "reported"


def test_two_currencies_stay_apart(engine):
    tracked(engine, "ds", at("2026-03-05", 1), "1.25", currency="CNY", provider="deepseek")
    tracked(engine, "ds", at("2026-03-05", 2), "0.10", currency="USD", provider="deepseek")
    tracked(engine, "ds", at("2026-03-05", 3), None, currency="USD", provider="deepseek")  # unpriced: not $0 spend

    series = spend_series(engine, since=date(2026, 3, 1), until=date(2026, 3, 10))

    assert series[("ds", "CNY")].on(date(2026, 3, 5)) == Decimal("1.25")
    assert series[("ds", "USD")].on(date(2026, 3, 5)) == Decimal("0.10")


def test_split_by_model_follows_the_same_side_per_day(engine):
    reported(engine, "oa", "2026-03-10", "5.00", model="gpt-4o")
    reported(engine, "oa", "2026-03-10", "1.00", model="o3")
    tracked(engine, "oa", at("2026-03-10", 5), "9.00", model="gpt-4o")  # a reported day: ignored
    tracked(engine, "oa", at("2026-03-11", 5), "2.00", model="o3")  # not reported yet: counted

    split = split_by_dimension(engine, since=date(2026, 3, 10), until=date(2026, 3, 12), dimension="model")

    assert split == {("oa", "USD", "gpt-4o"): Decimal("5.00"), ("oa", "USD", "o3"): Decimal("3.00")}
