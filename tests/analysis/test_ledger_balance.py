"""The ledger as a balance: deposits mid-month, grants that expire, adjustments, and bad entries refused."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from factories import at

from creditgauge.analysis.daily import Series, each_day
from creditgauge.analysis.ledger import check_entry, ledger_balance
from creditgauge.errors import ConfigError
from creditgauge.store.ledger import LedgerEntry


def entry(id: int, kind: str, amount: str, when: datetime, expires: datetime | None = None) -> LedgerEntry:
    return LedgerEntry(id, "oa", kind, Decimal(amount), "USD", when, expires, None, when)


def flat(per_day: str, first: str, last: str) -> Series:
    days = {d: Decimal(per_day) for d in each_day(date.fromisoformat(first), date.fromisoformat(last))}
    return Series("oa", "USD", days=days)


def test_a_deposit_mid_month_adds_from_its_day_and_spend_counts_from_the_first_entry():
    entries = [entry(1, "deposit", "100", at("2026-03-01")), entry(2, "deposit", "50", at("2026-03-15", 9))]
    spend = flat("5", "2026-02-20", "2026-03-19")  # spend before the first entry is not this money's

    before = ledger_balance(entries, spend, now=at("2026-03-14", 12))
    after = ledger_balance(entries, spend, now=at("2026-03-18", 12))

    assert before is not None and before.amount == Decimal(100 - 14 * 5)
    assert after is not None and after.amount == Decimal(150 - 18 * 5)
    assert after.spent == Decimal(90)


def test_a_grant_pays_first_and_drops_out_with_what_is_left_on_its_date():
    entries = [entry(1, "deposit", "100", at("2026-03-01")),
               entry(2, "grant", "20", at("2026-03-01"), expires=at("2026-03-10"))]
    spend = flat("1", "2026-03-01", "2026-03-31")

    live = ledger_balance(entries, spend, now=at("2026-03-09", 12))
    gone = ledger_balance(entries, spend, now=at("2026-03-12", 12))

    assert live is not None and live.amount == Decimal(120 - 9)
    assert live.grants[0].remaining == Decimal(11) and not live.grants[0].expired
    assert gone is not None and gone.amount == Decimal(100 - 3)  # the 11 left on the grant expired, not 20
    assert gone.grants[0].expired and gone.grants[0].remaining == Decimal(11)


def test_adjustments_and_future_entries():
    entries = [entry(1, "deposit", "10", at("2026-03-01")), entry(2, "adjust", "-2.5", at("2026-03-02")),
               entry(3, "deposit", "99", at("2026-04-01"))]
    result = ledger_balance(entries, None, now=at("2026-03-05"))
    assert result is not None and result.amount == Decimal("7.5")
    assert ledger_balance([entries[2]], None, now=at("2026-03-05")) is None


@pytest.mark.parametrize(("kind", "amount", "expires", "message"), [
    ("deposit", "-5", None, "positive"),
    ("grant", "5", None, "--expires"),
    ("deposit", "5", "2026-04-01", "grants only"),
    ("grant", "5", "2026-02-01", "before it starts"),
    ("adjust", "0", None, "changes nothing"),
])
def test_bad_entries_are_refused_with_the_fix(kind, amount, expires, message):
    with pytest.raises(ConfigError, match=message):
        check_entry(kind, Decimal(amount), at("2026-03-01"), at(expires) if expires else None)
