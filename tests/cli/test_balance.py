"""`creditgauge balance`: one row per account and currency with its kind; unknown accounts listed apart."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from creditgauge.cli import app
from creditgauge.clock import FrozenClock, use_clock
from creditgauge.domain import BalanceSnapshot
from creditgauge.store.engine import open_engine
from creditgauge.store.facts import store_facts
from creditgauge.store.sync_log import record_success

NOW = datetime(2026, 3, 18, 12, tzinfo=UTC)


def test_kinds_currencies_and_the_unofficial_flag(tmp_path: Path, database_url: str):
    path = tmp_path / "config.toml"
    path.write_text(f'database_url = "{database_url}"\n'
                    '[accounts.ds]\nprovider = "deepseek"\nkey_env = "D"\n'
                    '[accounts.legacy]\nprovider = "openai-legacy"\nkey_env = "L"\n'
                    '[accounts.oa]\nprovider = "openai"\nkey_env = "K"\nmonthly_limit = "50"\n'
                    '[accounts.groq]\nprovider = "groq"\nkey_env = "G"\n')
    engine = open_engine(database_url)
    store_facts(engine, account="ds", source="balance", window=None, facts=[
        BalanceSnapshot(NOW - timedelta(hours=3), Decimal("98.25"), "CNY"),
        BalanceSnapshot(NOW - timedelta(hours=3), Decimal("3.1"), "USD")])
    store_facts(engine, account="legacy", source="credit_grants", window=None, facts=[
        BalanceSnapshot(NOW - timedelta(days=3), Decimal("38.476583"), "USD", official=False)])
    record_success(engine, "oa", "costs", NOW - timedelta(hours=1), None)  # synced, no costs: nothing spent
    engine.dispose()

    with use_clock(FrozenClock(NOW)):
        as_json = CliRunner().invoke(app, ["--config", str(path), "balance", "--json"])
        table = CliRunner().invoke(app, ["--config", str(path), "balance"], env={"COLUMNS": "200"})

    payload = json.loads(as_json.output)
    rows = {(r["account"], r["currency"]): r for r in payload["rows"]}
    assert rows[("ds", "CNY")]["amount"] == "98.25" and rows[("ds", "USD")]["amount"] == "3.10"
    assert rows[("legacy", "USD")]["kind"] == "verified" and rows[("legacy", "USD")]["official"] is False
    assert rows[("oa", "USD")]["kind"] == "limit_only" and rows[("oa", "USD")]["amount"] == "50.00"
    assert rows[("ds", "CNY")]["as_of"] == "2026-03-18T09:00:00Z"
    assert payload["unknown"] == ["groq"]
    assert "verified (unofficial)" in table.output and "3 d" in table.output and "limit only" in table.output
    assert "no balance information for: groq" in table.output
