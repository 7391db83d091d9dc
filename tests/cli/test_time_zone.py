"""`[display] time_zone`: the CLI prints moments in it and names it; days stay UTC days and the tables say so.
Stored times and --json stay UTC."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from creditgauge.cli import app
from creditgauge.clock import FrozenClock, use_clock
from creditgauge.fakes.deepseek import FakeDeepSeek
from creditgauge.store.engine import open_engine
from creditgauge.store.ledger import add_entry

NOW = datetime(2026, 3, 18, 12, 30, tzinfo=UTC)  # 05:30 in Los Angeles (PDT, UTC-7)
DEPOSIT_AT = datetime(2026, 3, 2, 3, 15, tzinfo=UTC)  # 2026-03-01 19:15 PST: the day before, in Los Angeles
KEY = "sk-PLANTEDtimeZoneDeepSeek0001"


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    database = f"sqlite:///{tmp_path / 'db.sqlite'}"
    path = tmp_path / "config.toml"
    path.write_text(f'''database_url = "{database}"
[display]
time_zone = "America/Los_Angeles"
[accounts.oa]
provider = "openai"
key_env = "K"

[[alerts.rules]]
name = "low"
kind = "balance_below"
threshold = "50"
''')
    engine = open_engine(database)
    add_entry(engine, account="oa", kind="deposit", amount=Decimal(20), currency="USD", at=DEPOSIT_AT,
              expires_at=None, note=None, created_at=DEPOSIT_AT)
    engine.dispose()
    return path


def run(config_path: Path, *args: str, env: dict[str, str] | None = None):
    with use_clock(FrozenClock(NOW)):
        return CliRunner().invoke(app, ["--config", str(config_path), *args], env={"COLUMNS": "200", **(env or {})})


def test_status_and_balance_name_the_zone_and_say_days_are_utc(config_path: Path) -> None:
    status = run(config_path, "status")
    assert status.exit_code == 0, status.output
    assert "Status at 2026-03-18 05:30 America/Los_Angeles" in status.output
    assert "today and this month are UTC days" in status.output
    balance = run(config_path, "balance").output
    assert "Balances at 2026-03-18 05:30 America/Los_Angeles" in balance
    assert json.loads(run(config_path, "status", "--json").output)["as_of"] == "2026-03-18T12:30:00Z"  # UTC


def test_ledger_shows_local_times_and_the_json_stays_utc(config_path: Path) -> None:
    table = run(config_path, "ledger", "list").output
    assert "Ledger (times in America/Los_Angeles; days are UTC days)" in table
    assert "2026-03-01 19:15" in table and "2026-03-02 03:15" not in table
    assert json.loads(run(config_path, "ledger", "list", "--json").output)["rows"][0]["at"] == "2026-03-02T03:15:00Z"
    added = run(config_path, "ledger", "add", "oa", "--deposit", "5", "--at", "2026-03-10T20:00:00Z").output
    assert "at 2026-03-10 13:00 PDT" in added


def test_alerts_list_shows_states_and_events_in_the_zone(config_path: Path) -> None:
    assert run(config_path, "alerts", "check").exit_code == 0
    listed = run(config_path, "alerts", "list").output
    assert "States (times in America/Los_Angeles; days are UTC days)" in listed
    assert "Recent events (times in America/Los_Angeles" in listed
    assert "2026-03-18 05:30" in listed and "2026-03-18 12:30" not in listed


def test_sync_names_the_zone_of_its_finish(tmp_path: Path) -> None:
    with FakeDeepSeek(keys={KEY}) as fake:
        path = tmp_path / "config.toml"
        path.write_text(f'database_url = "sqlite:///{tmp_path / "db.sqlite"}"\n[display]\ntime_zone = "Asia/Tokyo"\n'
                        f'[accounts.ds]\nprovider = "deepseek"\nkey_env = "DS_KEY"\nbase_url = "{fake.url}"\n')
        result = run(path, "sync", env={"DS_KEY": KEY})
    assert result.exit_code == 0, result.output
    assert re.search(r"Finished at \d{4}-\d\d-\d\d \d\d:\d\d JST\.\nEverything was stored\.", result.output)
    assert KEY not in result.output


def test_utc_stays_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'database_url = "sqlite:///{tmp_path / "db.sqlite"}"\n[accounts.oa]\nprovider = "openai"\n'
                    'key_env = "K"\n')
    status = run(path, "status").output
    assert "Status at 2026-03-18 12:30 UTC" in status and "UTC days" not in status
