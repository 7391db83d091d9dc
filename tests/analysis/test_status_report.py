"""Status and balance across kinds: verified, unofficial, estimated, limit only, unknown, and two currencies."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from factories import NOW, at, balance, limit, make_config, reported, tracked, tracked_days

from creditgauge.analysis.balance import balances
from creditgauge.analysis.status import status
from creditgauge.domain import BalanceKind
from creditgauge.store.ledger import add_entry
from creditgauge.store.sync_log import record_failure, record_success

ACCOUNTS = {
    "xai": {"provider": "xai", "key_env": "XAI_KEY"},
    "legacy": {"provider": "openai-legacy", "key_env": "OPENAI_KEY"},
    "oa": {"provider": "openai", "key_env": "OPENAI_ADMIN", "monthly_limit": "300"},
    "ant": {"provider": "anthropic", "key_env": "ANT_KEY", "monthly_limit": "300"},
    "ds": {"provider": "deepseek", "key_env": "DS_KEY", "min_balance": "5"},
    "groq": {"provider": "groq", "key_env": "GROQ_KEY"},
}


def seed(engine) -> None:
    balance(engine, "xai", at("2026-03-17"), "80.00")
    balance(engine, "xai", at("2026-03-18", 6), "75.50")  # the newest wins
    balance(engine, "legacy", at("2026-03-18", 6), "18.00", official=False, source="credit_grants")
    add_entry(engine, account="oa", kind="deposit", amount=Decimal(100), currency="USD", at=at("2026-03-01"),
              expires_at=None, note="card", created_at=NOW)
    reported(engine, "oa", "2026-03-16", "6.00")
    tracked_days(engine, "oa", "2026-03-16", "2026-03-18", "4.00")  # the 16th reported; 17th and 18th tracked
    tracked_days(engine, "ant", "2026-03-01", "2026-03-18", "10.00", provider="anthropic")
    balance(engine, "ds", at("2026-03-18", 6), "40", currency="CNY")
    balance(engine, "ds", at("2026-03-18", 6), "3.20", currency="USD")
    tracked(engine, "ds", at("2026-03-17", 3), "2.00", currency="CNY", provider="deepseek")
    limit(engine, "legacy", at("2026-03-18"), "hard_limit_usd", "120")
    record_success(engine, "oa", "costs", at("2026-03-18", 11), None)
    record_failure(engine, "ant", "costs", at("2026-03-18", 10), "401 from anthropic")


def test_balance_kinds(engine):
    seed(engine)
    report = balances(make_config(ACCOUNTS), engine, now=NOW)
    rows = {(r.account, r.currency): r for r in report.rows}

    assert rows[("xai", "USD")].kind == BalanceKind.VERIFIED and rows[("xai", "USD")].amount == Decimal("75.5")
    assert rows[("legacy", "USD")].kind == BalanceKind.VERIFIED and rows[("legacy", "USD")].official is False
    assert rows[("oa", "USD")].kind == BalanceKind.ESTIMATED
    assert rows[("oa", "USD")].amount == Decimal(100 - 6 - 4 - 4)
    assert rows[("ant", "USD")].kind == BalanceKind.LIMIT_ONLY and rows[("ant", "USD")].amount == Decimal(300 - 180)
    assert rows[("ds", "CNY")].amount == Decimal(40) and rows[("ds", "USD")].amount == Decimal("3.2")
    assert rows[("groq", "USD")].kind == BalanceKind.UNKNOWN

    payload = report.to_dict()
    assert payload["unknown"] == ["groq"]
    assert {row["kind"] for row in payload["rows"]} == {"verified", "estimated", "limit_only"}  # type: ignore[index]


def test_status_rows(engine):
    seed(engine)
    report = status(make_config(ACCOUNTS), engine, now=NOW)
    rows = {(r.account, r.currency): r for r in report.rows}

    oa = rows[("oa", "USD")]
    assert (oa.month_to_date, oa.today) == (Decimal(14), Decimal(4))
    assert (oa.monthly_limit, oa.under_limit) == (Decimal(300), Decimal(286))
    assert oa.reported_through == date(2026, 3, 16)
    assert oa.sync is not None and oa.sync.last_success_at == at("2026-03-18", 11)
    assert oa.burn is not None and oa.burn.days == 2  # the 16th and 17th: the first days with data

    ant = rows[("ant", "USD")]
    assert ant.runway.basis == "limit" and ant.runway.date == date(2026, 3, 30) and ant.state == "warning"
    assert ant.sync is not None and ant.sync.failing_since == at("2026-03-18", 10)
    assert ant.forecast.month_end == Decimal(180 + 135) and ant.forecast.last_month_actual == Decimal(0)

    assert rows[("ds", "USD")].state == "critical"  # under its floor of 5
    assert rows[("ds", "CNY")].burn is not None
    assert rows[("groq", "USD")].state == "unknown"
    assert rows[("legacy", "USD")].provider_limits[0].name == "hard_limit_usd"

    payload = report.to_dict()["rows"][0]  # type: ignore[index]
    assert {"balance", "burn", "runway", "state", "forecast", "month_to_date", "today", "monthly_limit",
            "under_limit", "last_sync_at"} <= set(payload)


def test_status_for_selected_accounts_and_an_empty_config(engine):
    seed(engine)
    assert [r.account for r in status(make_config(ACCOUNTS), engine, now=NOW, accounts=["xai"]).rows] == ["xai"]
    assert status(make_config({}), engine, now=NOW).rows == []
