"""The sync engine: windows, failure isolation, run records and key hygiene (OpenAI-specific behaviour is tested
with the OpenAI fake in tests/connectors)."""

import json
import logging
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from creditgauge.cli import app
from creditgauge.config import parse_config
from creditgauge.connectors.base import Connector, EndpointTask
from creditgauge.domain import BalanceSnapshot, CostBucket, EndpointUnavailable, ItemProblem
from creditgauge.fakes.deepseek import FakeDeepSeek, balance_info
from creditgauge.providers import registry
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


# ---- honest outcomes: item problems, unavailable endpoints, every task failed -----------------------------------

DAY = datetime(2026, 11, 20, tzinfo=UTC)


class ScriptedConnector(Connector):
    """A plugin connector (registered as plugins are) whose endpoints answer the facts of `SCRIPT`."""

    provider = "scripted"
    default_base_url = "http://127.0.0.1:9"
    needs_key = False

    def tasks(self) -> list[EndpointTask]:
        return [EndpointTask(source, _answer(facts), windowed=False) for source, facts in SCRIPT.items()]


def _answer(facts):
    async def fetch(window):
        return facts
    return fetch


SCRIPT = {
    "balance": [BalanceSnapshot(DAY, Decimal("12.50"), "USD")],
    "costs": [CostBucket(DAY, DAY + timedelta(days=1), Decimal("3.25"), "USD", line_item="good"),
              CostBucket(DAY, DAY + timedelta(days=1), Decimal("1e400"), "USD", line_item="hostile"),
              ItemProblem("GET /v1/costs", "amount.value", "'twelve' is not a number")],
    "claude_code": [EndpointUnavailable("GET /v1/claude_code", "not available for this account: the server does "
                                                               "not offer this endpoint")],
}


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.BUILTIN, "scripted", f"{__name__}:ScriptedConnector")
    registry._targets.cache_clear()
    yield
    registry._targets.cache_clear()


def test_items_not_stored_and_unavailable_endpoints_are_reported_as_they_are(
    scripted: None, sqlite_engine: Engine
) -> None:
    config = parse_config({"accounts": {"s": {"provider": "scripted"}}}, None)
    report = run_sync(config, sqlite_engine, now=DAY)
    by_source = {r.source: r for r in report.results}
    assert report.status == "partial" and not report.failures and report.item_problems == 2
    costs = by_source["costs"]
    assert costs.ok and costs.counts["costs"] == 1
    assert [(p.endpoint, p.field) for p in costs.problems] == [("costs", "amount"), ("GET /v1/costs", "amount.value")]
    unavailable = by_source["claude_code"]
    assert unavailable.ok and unavailable.note and unavailable.note.startswith("not available for this account")
    states = {s["source"]: s for s in sync_log.sync_states(sqlite_engine)}
    assert states["costs"]["item_problems"] == 2 and states["claude_code"]["last_error"] is None
    assert states["claude_code"]["note"] == unavailable.note and states["claude_code"]["high_water"] is None
    with sqlite_engine.connect() as connection:
        run = connection.execute(select(schema.sync_runs)).one()
    assert run.status == "partial"
    assert {r["source"]: r["item_problems"] for r in run.detail} == {"balance": 0, "costs": 2, "claude_code": 0}


def test_the_cli_says_what_was_stored_and_what_was_not(
    scripted: None, tmp_path: Path, sqlite_url: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'database_url = "{sqlite_url}"\n[accounts.s]\nprovider = "scripted"\n')
    result = CliRunner().invoke(app, ["--config", str(path), "sync"], env={"COLUMNS": "80"})
    assert result.exit_code == 1
    assert "not stored: s: costs amount: 1E+400 is beyond the limit" in result.output
    assert "2 item(s) could not be stored; everything else was stored." in result.output
    assert result.output.count("not available for this account") == 1
    assert all(len(line) <= 80 for line in result.output.splitlines())

    as_json = json.loads(CliRunner().invoke(app, ["--config", str(path), "sync", "--json"]).output)
    costs = next(r for r in as_json["results"] if r["source"] == "costs")
    assert as_json["status"] == "partial" and costs["item_problems"] == 2
    assert costs["problems"][1] == {"endpoint": "GET /v1/costs", "field": "amount.value",
                                    "detail": "'twelve' is not a number"}


def test_a_sync_where_every_endpoint_failed_says_so(tmp_path: Path, sqlite_url: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DS_BAD", BAD)
    with FakeDeepSeek(keys={GOOD}) as fake:
        path = tmp_path / "config.toml"
        path.write_text(f'database_url = "{sqlite_url}"\n'
                        f'[accounts.one]\nprovider = "deepseek"\nkey_env = "DS_BAD"\nbase_url = "{fake.url}"\n'
                        f'[accounts.two]\nprovider = "deepseek"\nkey_env = "DS_BAD"\nbase_url = "{fake.url}"\n')
        result = CliRunner().invoke(app, ["--config", str(path), "sync"], env={"COLUMNS": "80"})
    assert result.exit_code == 1
    assert "Sync failed" in result.output
    assert "Every endpoint failed (2); nothing was stored." in result.output
    assert "everything else was stored" not in result.output and BAD not in result.output
