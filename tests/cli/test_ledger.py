"""`creditgauge ledger add/list/remove` and the balance it gives an account with no balance API."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from creditgauge.cli import app
from creditgauge.clock import FrozenClock, use_clock

NOW = datetime(2026, 3, 18, 12, tzinfo=UTC)


@pytest.fixture
def config_path(tmp_path: Path, database_url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'database_url = "{database_url}"\n[accounts.oa]\nprovider = "openai"\nkey_env = "K"\n'
                    '[accounts.ds]\nprovider = "deepseek"\nkey_env = "D"\n')
    return path


def run(config_path: Path, *args: str):
    with use_clock(FrozenClock(NOW)):
        return CliRunner().invoke(app, ["--config", str(config_path), *args], env={"COLUMNS": "200"})


def test_add_list_remove_and_the_estimated_balance(config_path: Path):
    deposit = run(config_path, "ledger", "add", "oa", "--deposit", "100", "--at", "2026-03-01", "--note", "card")
    assert deposit.exit_code == 0 and "added #" in deposit.output
    granted = run(config_path, "ledger", "add", "oa", "--grant", "25.50", "--expires", "2026-04-01", "--json")
    assert granted.exit_code == 0, granted.output
    assert json.loads(granted.output)["expires_at"] == "2026-04-01T00:00:00Z"
    assert run(config_path, "ledger", "add", "ds", "--deposit", "50", "--currency", "cny").exit_code == 0

    listed = json.loads(run(config_path, "ledger", "list", "--json").output)["rows"]
    assert [(r["account"], r["kind"], r["amount"], r["currency"]) for r in listed] == [
        ("ds", "deposit", "50.00", "CNY"), ("oa", "deposit", "100.00", "USD"), ("oa", "grant", "25.50", "USD")]
    table = run(config_path, "ledger", "list").output
    assert "card" in table and "2026-04-01" in table
    as_csv = run(config_path, "ledger", "list", "--csv").output.splitlines()
    assert as_csv[0] == "id,account,kind,amount,currency,at,expires_at,note" and len(as_csv) == 1 + len(listed)
    assert as_csv[2].split(",")[1:6] == ["oa", "deposit", "100.00", "USD", "2026-03-01T00:00:00Z"]

    balance = json.loads(run(config_path, "balance", "--json").output)
    assert {(r["account"], r["amount"], r["currency"], r["kind"]) for r in balance["rows"]} == {
        ("oa", "125.50", "USD", "estimated"), ("ds", "50.00", "CNY", "estimated")}
    assert set(balance["rows"][0]) >= {"account", "provider", "amount", "currency", "kind", "as_of"}

    removed = run(config_path, "ledger", "remove", str(listed[0]["id"]))
    assert removed.exit_code == 0 and "removed" in removed.output
    assert len(json.loads(run(config_path, "ledger", "list", "--json").output)["rows"]) == 2


@pytest.mark.parametrize(("args", "message"), [
    (["ledger", "add", "oa"], "exactly one of"),
    (["ledger", "add", "oa", "--deposit", "ten"], "is not an amount"),
    (["ledger", "add", "oa", "--grant", "5"], "--expires"),
    (["ledger", "add", "ghost", "--deposit", "5"], "no account named 'ghost'"),
    (["ledger", "add", "oa", "--deposit", "5", "--at", "last week"], "is not a date"),
    (["ledger", "remove", "999"], "no ledger entry #999"),
])
def test_bad_input_is_one_line_and_exit_2(config_path: Path, args, message):
    result = run(config_path, *args)
    assert result.exit_code == 2 and message in result.output


def test_the_default_currency_is_the_one_the_accounts_table_recorded(config_path: Path, database_url: str):
    """The account's currency comes from the `accounts` table (sync records its connector's there), not from loading
    a connector class: here a table that says EUR for an OpenAI account."""
    from creditgauge.store.engine import open_engine
    from creditgauge.store.facts import register_account

    engine = open_engine(database_url)
    try:
        register_account(engine, "oa", "openai", "EUR")
    finally:
        engine.dispose()
    added = run(config_path, "ledger", "add", "oa", "--deposit", "5", "--json")
    assert added.exit_code == 0, added.output
    assert json.loads(added.output)["currency"] == "EUR"
    balance = json.loads(run(config_path, "balance", "--json").output)
    assert [(r["account"], r["currency"]) for r in balance["rows"]] == [("oa", "EUR")]


def test_an_account_never_synced_keeps_its_providers_currency(config_path: Path):
    """Before its first sync the `accounts` table knows nothing of an account: a DeepSeek deposit is in yuan, as
    DeepSeek keeps money, not in dollars."""
    added = run(config_path, "ledger", "add", "ds", "--deposit", "50", "--json")
    assert added.exit_code == 0, added.output
    assert json.loads(added.output)["currency"] == "CNY"
