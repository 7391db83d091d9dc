"""Reconciliation: reported and tracked spend that differ by known amounts, flagged both ways, the data delay
respected, per-model and per-key breakdowns where both sides carry them, and a run against the fake OpenAI."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from factories import at, make_config, reported, tracked

from creditgauge.analysis.reconcile import reconcile
from creditgauge.fakes.openai import FakeOpenAI
from creditgauge.store.queries import spend
from creditgauge.sync import run_sync

NOW = at("2026-03-16", 12)  # with a 48 h delay, days up to the 13th are settled
ACCOUNTS = {"ant": {"provider": "anthropic", "key_env": "K"}, "groq": {"provider": "groq", "key_env": "G"}}

# day -> model -> (reported, tracked); key_a carries gpt-a, key_b carries gpt-b on both sides.
DAYS = {
    "2026-03-10": {"gpt-a": ("6.00", "6.00"), "gpt-b": ("4.00", "4.00")},  # equal
    "2026-03-11": {"gpt-a": ("12.00", "7.00"), "gpt-b": ("8.00", "8.00")},  # 5.00 untracked on gpt-a: flagged
    "2026-03-12": {"gpt-a": ("6.00", "6.50"), "gpt-b": ("4.00", "4.00")},  # 0.50 over: within $1, not flagged
    "2026-03-13": {"gpt-a": ("6.00", "8.00"), "gpt-b": ("4.00", "4.00")},  # 2.00 over (> 10%): flagged
    "2026-03-14": {"gpt-a": ("1.00", "9.00"), "gpt-b": ("1.00", "1.00")},  # too recent for the delay
}


def seed(engine) -> None:
    for day, models in DAYS.items():
        for model, (rep, trk) in models.items():
            key = "key_a" if model == "gpt-a" else "key_b"
            reported(engine, "ant", day, rep, provider="anthropic", model=model, api_key=key)
            tracked(engine, "ant", at(day, 10), trk, provider="anthropic", model=model, key=key)
    tracked(engine, "ant", at("2026-03-12", 11), None, provider="anthropic", model="mystery")
    tracked(engine, "groq", at("2026-03-11", 11), "1.00", provider="groq")


def test_days_are_flagged_both_ways_with_breakdowns(engine):
    seed(engine)
    report = reconcile(make_config(ACCOUNTS), engine, since=date(2026, 3, 1), now=NOW)
    rows = {row.day.isoformat(): row for row in report.rows}

    assert sorted(rows) == ["2026-03-10", "2026-03-11", "2026-03-12", "2026-03-13"]
    assert {d: r.direction for d, r in rows.items()} == {
        "2026-03-10": None, "2026-03-11": "reported_above_tracked", "2026-03-12": None,
        "2026-03-13": "tracked_above_reported"}
    day11, day13 = rows["2026-03-11"], rows["2026-03-13"]
    assert (day11.reported, day11.tracked, day11.difference, day11.ratio) == (
        Decimal(20), Decimal(15), Decimal(5), Decimal("0.25"))
    assert day13.difference == Decimal(-2) and day13.tolerance == Decimal("1.2")
    assert rows["2026-03-12"].unpriced_requests == 1

    parts = {(p.dimension, p.value): p.difference for p in day11.breakdown}
    assert parts == {("model", "gpt-a"): Decimal(5), ("model", "gpt-b"): Decimal(0),
                     ("key", "key_a"): Decimal(5), ("key", "key_b"): Decimal(0)}
    assert day11.breakdown[0].value == "gpt-a"  # the largest difference first

    assert "no reported spend" in report.skipped["groq"]
    payload = report.to_dict()
    assert payload["flagged"] == 2 and payload["rows"][1]["explanation"].startswith("untracked traffic")


@pytest.mark.parametrize(("delay", "last_day"), [(0, "2026-03-14"), (72, "2026-03-12")])
def test_the_data_delay_is_per_provider_and_configurable(engine, delay, last_day):
    seed(engine)
    config = make_config(ACCOUNTS, reconcile={"data_delay_hours": {"anthropic": delay}})
    report = reconcile(config, engine, since=date(2026, 3, 1), now=NOW)
    assert max(row.day for row in report.rows).isoformat() == last_day


def test_against_the_fake_openai_costs_synced_for_real(engine, monkeypatch):
    """The fake's costs arrive through the real connector and sync; tracked events then miss or add known amounts."""
    monkeypatch.setenv("OPENAI_ADMIN_KEY", "sk-admin-reconcile-test-0001")
    end = date(2026, 3, 15)
    with FakeOpenAI(days=6, end=end, keys={"sk-admin-reconcile-test-0001"}) as fake:
        config = make_config({"oa": {"provider": "openai", "key_env": "OPENAI_ADMIN_KEY", "base_url": fake.url}})
        run_sync(config, engine, since=end - timedelta(days=5), now=at("2026-03-15", 20))
    daily = spend(engine, since=at("2026-03-10"), until=at("2026-03-16"), by=["day"], source="reported")
    assert len(daily) == 6
    shifts = {"2026-03-11": Decimal("-3.00"), "2026-03-12": Decimal("2.50")}  # missed 3.00, over-priced 2.50
    for row in daily:
        cost = row["amount"] + shifts.get(row["day"], Decimal(0))
        tracked(engine, "oa", at(row["day"], 12), str(cost), model="gpt-4.1-2025-04-14", key="fp_1")

    report = reconcile(config, engine, since=date(2026, 3, 10), now=at("2026-03-16", 6))

    assert [row.day.isoformat() for row in report.rows][-1] == "2026-03-13"  # 14th and 15th not settled
    by_day = {row.day.isoformat(): row for row in report.rows}
    assert by_day["2026-03-11"].difference == Decimal("3.00")
    assert by_day["2026-03-12"].difference == Decimal("-2.50")
    assert {d for d, row in by_day.items() if row.direction} <= set(shifts)
    assert all(row.difference == 0 for d, row in by_day.items() if d not in shifts)


def test_a_day_tracked_without_prices_says_tracked_is_a_lower_bound(engine):
    """A day whose tracked requests have no price is never compared as if they cost 0: the flag names the unpriced
    requests as the likelier cause, with the fix."""
    reported(engine, "ant", "2026-03-10", "3.00", provider="anthropic", model="gpt-a")
    tracked(engine, "ant", at("2026-03-10", 10), "3.00", provider="anthropic", model="gpt-a")
    reported(engine, "ant", "2026-03-11", "9.00", provider="anthropic", model="new-model")
    for hour in (9, 10):
        tracked(engine, "ant", at("2026-03-11", hour), None, provider="anthropic", model="new-model")
    config = make_config({"ant": {"provider": "anthropic", "key_env": "K"}})
    day = next(r for r in reconcile(config, engine, since=date(2026, 3, 10), now=NOW).to_dict()["rows"]
               if r["day"] == date(2026, 3, 11))
    assert day["flagged"] and day["unpriced_requests"] == 2
    assert day["explanation"].startswith("2 tracked requests have no price, so tracked is a lower bound")
    assert "[accounts.ant.prices]" in day["explanation"]
