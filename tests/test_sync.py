"""The sync engine: windows, failure isolation, run records and key hygiene (OpenAI-specific behaviour is tested
with the OpenAI fake in tests/connectors)."""

import logging
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select

from creditgauge.config import parse_config
from creditgauge.connectors.base import EndpointTask
from creditgauge.fakes.deepseek import FakeDeepSeek, balance_info
from creditgauge.store import schema, sync_log
from creditgauge.sync import plan_window, run_sync
from support import database_dump

GOOD = "sk-PLANTEDgoodDeepSeekKey0001"
BAD = "sk-PLANTEDbadDeepSeekKey00002"


async def _nothing(window):
    return []


TASK = EndpointTask("costs", _nothing)


def test_first_sync_backfills_then_continues_from_the_mark_minus_the_late_window() -> None:
    config = parse_config({"sync": {"backfill_days": 90, "late_window_days": 3}}, None)
    today = date(2026, 11, 23)
    first = plan_window(TASK, None, today=today, config=config, since=None, full=False)
    assert (first.start.date(), first.end.date()) == (date(2026, 8, 25), date(2026, 11, 24))
    later = plan_window(TASK, first.end, today=today, config=config, since=None, full=False)
    assert (later.start.date(), later.end.date()) == (date(2026, 11, 20), date(2026, 11, 24))
    full = plan_window(TASK, first.end, today=today, config=config, since=None, full=True)
    assert full.start == first.start
    since = plan_window(TASK, first.end, today=today, config=config, since=date(2026, 1, 1), full=False)
    assert since.start == datetime(2026, 1, 1, tzinfo=UTC)


def test_one_failing_account_is_recorded_and_the_others_are_stored(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("DS_GOOD", GOOD)
    monkeypatch.setenv("DS_BAD", BAD)
    with FakeDeepSeek(keys={GOOD}, balances=[balance_info("CNY", "1.50", "98.25"),
                                             balance_info("USD", "0", "3.10")]) as fake:
        config = parse_config({"accounts": {
            "good": {"provider": "deepseek", "key_env": "DS_GOOD", "base_url": fake.url},
            "bad": {"provider": "deepseek", "key_env": "DS_BAD", "base_url": fake.url},
            "nokey": {"provider": "deepseek", "key_env": "DS_MISSING", "base_url": fake.url},
        }}, None)
        report = run_sync(config, engine)
    assert report.status == "partial"
    by_account = {r.account: r for r in report.results}
    assert by_account["good"].ok and by_account["good"].counts["balances"] == 2
    assert not by_account["bad"].ok and "HTTP 401" in (by_account["bad"].error or "")
    assert not by_account["nokey"].ok and "DS_MISSING is not set" in (by_account["nokey"].error or "")

    with engine.connect() as connection:
        balances = {(r.currency, r.amount) for r in connection.execute(
            select(schema.balance_snapshots).where(schema.balance_snapshots.c.account == "good"))}
        assert balances == {("CNY", Decimal("99.75")), ("USD", Decimal("3.1"))}
        run = connection.execute(select(schema.sync_runs)).one()
        assert run.status == "partial" and len(run.detail) == 3
    dumped = database_dump(engine)
    states = {(s["account"], s["source"]): s for s in sync_log.sync_states(engine)}
    assert states[("bad", "balance")]["failing_since"] is not None
    assert states[("good", "balance")]["last_success_at"] is not None
    for secret in (GOOD, BAD):
        assert secret not in dumped
        assert secret not in caplog.text
        assert all(secret not in (r.error or "") for r in report.results)


def test_current_state_only_runs_no_report_task(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from creditgauge.fakes.openai import FakeOpenAI

    monkeypatch.setenv("OA_ADMIN", "sk-admin-PLANTEDcurrentState0001")
    with FakeOpenAI(days=10) as fake:
        config = parse_config({"accounts": {"oa": {"provider": "openai", "key_env": "OA_ADMIN",
                                                   "base_url": fake.url}}}, None)
        report = run_sync(config, sqlite_engine, current_state_only=True)
        assert report.status == "ok"
        assert {r.source for r in report.results} == {"names", "spend_limit"}
        assert fake.count("/organization/costs") == 0 and fake.count("/organization/usage") == 0
