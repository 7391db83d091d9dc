"""Runway, its date and range, and the state it puts an account in, for balances and limit-only accounts."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from factories import NOW, at, make_config, tracked_days

from creditgauge.analysis.burn import Burn, Rate
from creditgauge.analysis.runway import Thresholds, exhaustion, runway
from creditgauge.analysis.status import status
from creditgauge.clock import FrozenClock
from creditgauge.store.ledger import add_entry


def flat(rate: str, low: str | None = None, high: str | None = None, weekend: str | None = None) -> Burn:
    day = Rate(Decimal(rate), Decimal(low or rate), Decimal(high or rate))
    end = Rate(Decimal(weekend), Decimal(weekend), Decimal(weekend)) if weekend is not None else day
    return Burn("oa", "USD", "mean", date(2026, 3, 11), date(2026, 3, 18), 7, day, end)


LIMITS = Thresholds(warning_days=Decimal(14), critical_days=Decimal(3), min_balance=None)


@pytest.mark.parametrize(("amount", "state", "days"), [
    ("200", "healthy", Decimal(20)),
    ("140", "healthy", Decimal(14)),
    ("139", "warning", Decimal("13.9")),
    ("30", "warning", Decimal(3)),
    ("29", "critical", Decimal("2.9")),
    ("0", "critical", Decimal(0)),
])
def test_each_threshold(amount, state, days):
    result = runway(Decimal(amount), "balance", flat("10"), LIMITS, now=NOW)
    assert (result.state, result.days) == (state, days)


def test_the_date_and_the_range():
    result = runway(Decimal(100), "balance", flat("10", low="5", high="20"), LIMITS, now=NOW)
    assert (result.days, result.date) == (Decimal(10), date(2026, 3, 28))
    assert (result.shortest_days, result.shortest_date) == (Decimal(5), date(2026, 3, 23))
    assert (result.longest_days, result.longest_date) == (Decimal(20), date(2026, 4, 7))


def test_weekends_that_cost_nothing_stretch_the_runway():
    # From Wednesday noon: half a day (5), Thu and Fri (20), a free weekend, Mon-Fri (50), another free weekend,
    # Mon and Tue (20), and the last 5 at noon on Wednesday: 12 days instead of 10.
    moment = exhaustion(Decimal(100), flat("10", weekend="0"), NOW)
    assert moment == at("2026-04-01", 12)


def test_floor_unknown_and_no_burn():
    floor = Thresholds(Decimal(14), Decimal(3), min_balance=Decimal(500))
    assert runway(Decimal(400), "balance", flat("1"), floor, now=NOW).state == "critical"
    assert runway(None, None, flat("1"), LIMITS, now=NOW).state == "unknown"
    assert runway(Decimal(5), "balance", None, LIMITS, now=NOW).state == "healthy"
    assert runway(Decimal(5), "balance", flat("0"), LIMITS, now=NOW).days is None


def test_a_limit_only_account_hits_its_limit_this_month_or_not():
    hit = runway(Decimal(115), "limit", flat("10"), LIMITS, now=NOW)
    assert (hit.state, hit.date, hit.days) == ("warning", date(2026, 3, 30), Decimal("11.5"))
    missed = runway(Decimal(500), "limit", flat("10"), LIMITS, now=NOW)
    assert (missed.state, missed.date) == ("healthy", None)
    reached = runway(Decimal(0), "limit", flat("10"), LIMITS, now=NOW)
    assert reached.state == "critical" and "limit" in reached.reason


def test_runway_crosses_warning_then_critical_as_days_pass(engine):
    """A deposit, a steady 10 a day, and a clock moving one day at a time through every state."""
    config = make_config({"oa": {"provider": "openai", "key_env": "K"}})
    add_entry(engine, account="oa", kind="deposit", amount=Decimal(250), currency="USD", at=at("2026-03-01"),
              expires_at=None, note=None, created_at=at("2026-03-01"))
    clock = FrozenClock(at("2026-03-01", 23, 59))
    seen: list[tuple[str, str]] = []
    for _ in range(26):
        day = clock.now().date().isoformat()
        tracked_days(engine, "oa", day, day, "10")
        row = status(config, engine, now=clock.now()).rows[0]
        if not seen or seen[-1][1] != row.state:
            seen.append((day, row.state))
        clock.advance(timedelta(days=1))
    assert [state for _, state in seen] == ["healthy", "warning", "critical"]
    assert dict((s, d) for d, s in seen) == {"healthy": "2026-03-01", "warning": "2026-03-12",
                                             "critical": "2026-03-23"}
