"""`creditgauge guard`: exit 3 with one line per shortfall, 0 when all is well; through the real entry point too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from creditgauge.cli import app
from creditgauge.clock import FrozenClock, use_clock
from creditgauge.domain import UsageEvent
from creditgauge.store.engine import open_engine
from creditgauge.store.events import store_events
from creditgauge.store.ledger import add_entry

NOW = datetime(2026, 3, 18, 12, tzinfo=UTC)


@pytest.fixture
def config_path(tmp_path: Path, database_url: str) -> Path:
    """`short`: 30 left at 10 a day; `rich`: 1000 left at 10 a day; `capped`: a 200 limit with 180 spent."""
    path = tmp_path / "config.toml"
    path.write_text(f'database_url = "{database_url}"\n'
                    '[accounts.short]\nprovider = "openai"\nkey_env = "A"\n'
                    '[accounts.rich]\nprovider = "anthropic"\nkey_env = "B"\n'
                    '[accounts.capped]\nprovider = "openai"\nkey_env = "C"\nmonthly_limit = "200"\n'
                    '[accounts.dark]\nprovider = "groq"\nkey_env = "G"\n')
    engine = open_engine(database_url)
    for account, amount in (("short", 100), ("rich", 1070)):
        add_entry(engine, account=account, kind="deposit", amount=Decimal(amount), currency="USD",
                  at=NOW - timedelta(days=6), expires_at=None, note=None, created_at=NOW)
    store_events(engine, [
        UsageEvent(id=f"{account}-{back}", account=account, provider="x", ts=NOW - timedelta(days=back), model="m",
                   endpoint="/v1/chat/completions", source="proxy", cost=Decimal(10))
        for back in range(7) for account in ("short", "rich")
    ] + [UsageEvent(id=f"capped-{back}", account="capped", provider="x", ts=NOW - timedelta(days=back), model="m",
                    endpoint="/v1/chat/completions", source="proxy", cost=Decimal(10)) for back in range(18)])
    engine.dispose()
    return path


def run(config_path: Path, *args: str):
    with use_clock(FrozenClock(NOW)):
        return CliRunner().invoke(app, ["--config", str(config_path), "guard", *args])


def test_one_line_per_shortfall_and_exit_3(config_path: Path):
    result = run(config_path, "--min-runway-days", "7", "--min-balance", "50", "--max-month-spend", "150")
    assert result.exit_code == 3
    lines = [line for line in result.stdout.splitlines() if line]
    assert lines == [
        "short: runway 3.0 days (money runs out 2026-03-21) is under 7 days",
        "short: estimated balance 30.00 USD is under 50",
        "capped: runway 2.0 days (the monthly limit is reached 2026-03-20) is under 7 days",
        "capped: month-to-date spend 180.00 USD is over 150",
    ]


def test_all_well_exits_0_and_json(config_path: Path):
    result = run(config_path, "--account", "rich", "--min-runway-days", "30")
    assert result.exit_code == 0 and "ok: 1 account(s) checked" in result.stdout
    payload = json.loads(run(config_path, "--min-runway-days", "2.5", "--json").stdout)
    assert payload["ok"] is False and [s["account"] for s in payload["shortfalls"]] == ["capped"]
    assert "dark/USD" in payload["skipped"]


def test_without_limits_the_critical_state_decides(config_path: Path):
    result = run(config_path)
    assert result.exit_code == 3
    assert result.stdout.splitlines() == ["capped: critical: runway under 3 days"]  # short has 3.0 days: warning


def test_through_the_installed_entry_point(tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_text(f'database_url = "sqlite:///{tmp_path / "db.sqlite"}"\n'
                    '[accounts.tiny]\nprovider = "openai"\nkey_env = "A"\nmin_balance = "5"\n')
    env = {**os.environ, "CREDITGAUGE_CONFIG": str(path)}
    cli = [sys.executable, "-m", "creditgauge"]
    added = subprocess.run([*cli, "ledger", "add", "tiny", "--deposit", "1"], env=env, capture_output=True)
    assert added.returncode == 0
    proc = subprocess.run([*cli, "guard"], env=env, capture_output=True, text=True)
    assert proc.returncode == 3 and proc.stdout.strip() == "tiny: critical: balance under the floor of 5"
    bad = subprocess.run([*cli, "guard", "--min-balance", "lots"], env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and "--min-balance 'lots' is not an amount" in bad.stderr
