"""One formatter of amounts and one age for people: the terminal and the pages read the same figure the same way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from creditgauge.display import age, money
from creditgauge.web.templating import money_filter

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


@pytest.mark.parametrize("amount, currency", [("0.0004", "USD"), ("-2.345", "USD"), ("1234.5", "JPY"), ("0", None),
                                              ("12345.678", "EUR"), (None, "USD")])
def test_the_page_filter_shows_what_the_terminal_shows(amount: str | None, currency: str | None) -> None:
    on_page = money_filter(amount, currency)
    assert on_page == money(amount, currency, show_currency=True)
    assert money_filter({"amount": amount, "currency": currency}) == on_page
    assert money_filter("0.0004", "USD") == "<0.01 USD"  # never "0.00", never every digit


@pytest.mark.parametrize("before, shown", [(timedelta(seconds=20), "<1 min"), (timedelta(minutes=59), "59 min"),
                                           (timedelta(hours=47), "47 h"), (timedelta(hours=48), "2 d"),
                                           (timedelta(seconds=-30), "<1 min")])
def test_one_age_with_one_set_of_cut_offs(before: timedelta, shown: str) -> None:
    assert age(NOW - before, NOW) == shown
    assert age(NOW - before, NOW, ago=True) == f"{shown} ago"
    assert age(None, NOW) == "—"
