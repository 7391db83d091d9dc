"""`creditgauge status`: a colour-coded table and --json carrying the same figures, with a controlled clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from creditgauge.analysis.status import status
from creditgauge.cli import app
from creditgauge.cli.status import status_table
from creditgauge.clock import FrozenClock, use_clock
from creditgauge.config import load_config
from creditgauge.domain import BalanceSnapshot, UsageEvent
from creditgauge.store.engine import open_engine
from creditgauge.store.events import store_events
from creditgauge.store.facts import store_facts
from creditgauge.store.ledger import add_entry
from creditgauge.store.sync_log import record_success

NOW = datetime(2026, 3, 18, 12, tzinfo=UTC)
CONFIG = """
[accounts.healthy]
provider = "xai"
key_env = "XAI_KEY"

[accounts.warning]
provider = "openai"
key_env = "OPENAI_ADMIN_KEY"
monthly_limit = "400"

[accounts.critical]
provider = "anthropic"
key_env = "ANTHROPIC_ADMIN_KEY"

[accounts.nothing]
provider = "groq"
key_env = "GROQ_KEY"
"""


@pytest.fixture
def config_path(tmp_path: Path, database_url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'database_url = "{database_url}"\n{CONFIG}')
    engine = open_engine(database_url)
    store_facts(engine, account="healthy", source="balance", window=None,
                facts=[BalanceSnapshot(NOW - timedelta(hours=2), Decimal("500.00"), "USD")])
    add_entry(engine, account="critical", kind="deposit", amount=Decimal(40), currency="USD",
              at=datetime(2026, 3, 10, tzinfo=UTC), expires_at=None, note=None, created_at=NOW)
    events = []
    for back in range(8):
        for account, cost in (("healthy", "5"), ("warning", "20"), ("critical", "4")):
            events.append(UsageEvent(id=f"{account}-{back}", account=account, provider="x",
                                     ts=NOW - timedelta(days=back), model="m", endpoint="/v1/chat/completions",
                                     source="proxy", cost=Decimal(cost)))
    store_events(engine, events)
    record_success(engine, "healthy", "balance", NOW - timedelta(hours=2), None)
    engine.dispose()
    return path


def invoke(config_path: Path, *args: str):
    with use_clock(FrozenClock(NOW)):
        return CliRunner().invoke(app, ["--config", str(config_path), *args], env={"COLUMNS": "250"})


def test_json_carries_balance_kind_burn_runway_date_and_state(config_path: Path):
    result = invoke(config_path, "status", "--json")
    assert result.exit_code == 0, result.output
    rows = {row["account"]: row for row in json.loads(result.output)["rows"]}

    assert {a: r["state"] for a, r in rows.items()} == {"healthy": "healthy", "warning": "warning",
                                                        "critical": "critical", "nothing": "unknown"}
    healthy = rows["healthy"]
    assert healthy["balance"]["kind"] == "verified" and healthy["balance"]["amount"] == "500.00"
    assert healthy["burn"]["per_day"] == "5.0000" and healthy["runway"]["days"] == "100.0"
    assert healthy["runway"]["date"] == "2026-06-26" and healthy["last_sync_at"] == "2026-03-18T10:00:00Z"
    warning = rows["warning"]
    assert warning["balance"]["kind"] == "limit_only"
    assert (warning["monthly_limit"], warning["month_to_date"], warning["under_limit"]) == ("400", "160.00", "240.00")
    assert warning["runway"]["basis"] == "limit" and warning["runway"]["date"] == "2026-03-30"
    critical = rows["critical"]
    assert critical["balance"]["kind"] == "estimated" and critical["balance"]["amount"] == "8.00"
    assert rows["nothing"]["balance"]["amount"] is None


def test_the_table_shows_the_same_figures_colour_coded(config_path: Path):
    result = invoke(config_path, "status")
    assert result.exit_code == 0, result.output
    for text in ("500.00 USD", "verified", "limit only", "estimated", "100.0 d, 2026-06-26", "240.00 left",
                 "healthy", "warning", "critical", "unknown"):
        assert text in result.output

    report = status(load_config(config_path), open_engine(load_config(config_path).resolved_database_url()), now=NOW)
    terminal = Console(force_terminal=True, color_system="standard", width=300, record=True)
    terminal.print(status_table(report))
    ansi = terminal.export_text(styles=True)
    assert "\x1b[32mhealthy" in ansi and "\x1b[33mwarning" in ansi and "\x1b[1;31mcritical" in ansi


def test_credit_grants_reported_by_the_unofficial_endpoint(tmp_path: Path):
    database = f"sqlite:///{tmp_path / 'db.sqlite'}"
    path = tmp_path / "config.toml"
    path.write_text(f'database_url = "{database}"\n[accounts.legacy]\nprovider = "openai-legacy"\nkey_env = "L"\n')
    engine = open_engine(database)
    grant = {"id": "cg_1", "grant_amount": Decimal("100.0"), "used_amount": Decimal("61.523417"),
             "effective_at": "2026-01-01T00:00:00+00:00", "expires_at": "2027-01-01T00:00:00+00:00"}
    store_facts(engine, account="legacy", source="credit_grants", window=None, facts=[BalanceSnapshot(
        NOW, Decimal("38.476583"), "USD", official=False, details={"grants": [grant]})])
    engine.dispose()
    table = invoke(path, "status").output
    assert "verified (unofficial)" in table and "38.48 USD" in table
    assert "legacy: credit grant 100.00 USD, 61.52 used, expires 2027-01-01" in table
    row = json.loads(invoke(path, "status", "--json").output)["rows"][0]
    assert row["balance"]["official"] is False and row["balance"]["details"]["grants"][0]["id"] == "cg_1"


def test_no_accounts_and_an_unknown_account(tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_text(f'database_url = "sqlite:///{tmp_path / "db.sqlite"}"\n')
    assert "no accounts configured" in invoke(path, "status").output
    assert json.loads(invoke(path, "status", "--json").output)["rows"] == []
    bad = invoke(path, "status", "--account", "ghost")
    assert bad.exit_code == 2 and "no account named 'ghost'" in bad.output


def test_status_and_balance_as_csv(config_path: Path) -> None:
    import csv
    import io

    status_csv = invoke(config_path, "status", "--csv")
    balance_csv = invoke(config_path, "balance", "--csv")
    assert status_csv.exit_code == 0, status_csv.output
    rows = {row["account"]: row for row in csv.DictReader(io.StringIO(status_csv.output))}
    assert rows["healthy"]["balance"] == "500.00" and rows["healthy"]["kind"] == "verified"
    assert rows["nothing"]["kind"] == "unknown" and rows["nothing"]["balance"] == ""
    assert balance_csv.exit_code == 0, balance_csv.output
    assert balance_csv.output.splitlines()[0] == "account,provider,amount,currency,kind,official,as_of,source"
