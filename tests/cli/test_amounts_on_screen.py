"""Amounts on screen: to the currency's minor unit, a tiny amount as "<0.01", unknown as "—"; every digit in --json
and --csv; an unknown account named to spend, usage or reconcile is one line and exit 2; long labels fold whole."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from creditgauge.analysis.status import status
from creditgauge.cli import app
from creditgauge.cli.status import status_table
from creditgauge.cli.tables import Column, FittedTable
from creditgauge.clock import FrozenClock, use_clock
from creditgauge.config import load_config
from creditgauge.display import money
from creditgauge.domain import UsageEvent
from creditgauge.store.engine import open_engine
from creditgauge.store.events import store_events
from creditgauge.store.ledger import add_entry

NOW = datetime(2026, 3, 18, 12, tzinfo=UTC)


@pytest.mark.parametrize(("value", "currency", "shown"), [
    ("38.557596325", "USD", "38.56"),
    ("2561.115", "USD", "2,561.12"),  # half-even to the cent
    ("0.0004", "USD", "<0.01"),
    ("-0.0004", "USD", "-<0.01"),
    ("0", "USD", "0.00"),
    ("-0.000", "USD", "0.00"),
    ("1234567.5", "JPY", "1,234,568"),  # no minor unit
    ("0.4", "JPY", "<1"),
    ("1.2345", "KWD", "1.234"),  # three decimals
    ("12.5", None, "12.50"),
    (None, "USD", "—"),
])
def test_money_to_the_minor_unit(value: str | None, currency: str | None, shown: str) -> None:
    assert money(None if value is None else Decimal(value), currency) == shown


def test_money_with_sign_and_currency() -> None:
    assert money(Decimal("18"), "USD", signed=True, show_currency=True) == "+18.00 USD"
    assert money(Decimal("-4.005"), "USD", signed=True) == "-4.00"
    assert money(Decimal("0.001"), "EUR", signed=True) == "+<0.01"


@pytest.fixture
def config_path(tmp_path: Path, sqlite_url: str) -> Path:
    """`api`: two tracked calls today, 38.557596325 and 0.0004 USD; `tokyo`: a yen account with a deposit."""
    path = tmp_path / "config.toml"
    path.write_text(f'database_url = "{sqlite_url}"\n'
                    '[accounts.api]\nprovider = "openai"\nkey_env = "A"\n'
                    '[accounts.tokyo]\nprovider = "openai"\nkey_env = "T"\ncurrency = "JPY"\n')
    engine = open_engine(sqlite_url)
    store_events(engine, [
        UsageEvent(id=f"e{n}", account="api", provider="openai", ts=NOW - timedelta(hours=n + 1), model=model,
                   endpoint="/v1/chat/completions", source="proxy", cost=Decimal(cost))
        for n, (model, cost) in enumerate((("gpt-4.1", "38.557596325"), ("text-embedding-3-small", "0.0004")))
    ])
    add_entry(engine, account="tokyo", kind="deposit", amount=Decimal("123456.7"), currency="JPY",
              at=NOW - timedelta(days=3), expires_at=None, note=None, created_at=NOW)
    engine.dispose()
    return path


def invoke(config_path: Path, *args: str):
    with use_clock(FrozenClock(NOW)):
        return CliRunner().invoke(app, ["--config", str(config_path), *args], env={"COLUMNS": "100"})


def test_spend_table_to_the_cent_json_and_csv_exact(config_path: Path) -> None:
    args = ("spend", "--source", "tracked", "--by", "model", "--since", "2026-03-18")
    table = invoke(config_path, *args)
    assert table.exit_code == 0, table.output
    assert "38.56" in table.stdout and "<0.01" in table.stdout and "total: 38.56 USD" in table.stdout
    assert "38.557" not in table.stdout and "0.0004" not in table.stdout
    rows = {row["model"]: row["amount"] for row in json.loads(invoke(config_path, *args, "--json").stdout)["rows"]}
    assert rows == {"gpt-4.1": "38.557596325", "text-embedding-3-small": "0.0004"}
    csv = invoke(config_path, *args, "--csv").stdout
    assert "gpt-4.1,38.557596325,USD" in csv and "text-embedding-3-small,0.0004,USD" in csv


def test_guard_says_cents(config_path: Path) -> None:
    result = invoke(config_path, "guard", "--account", "api", "--max-month-spend", "20")
    assert result.exit_code == 3
    assert result.stdout.strip() == "api: month-to-date spend 38.56 USD is over 20"


def test_a_yen_balance_has_no_decimals(config_path: Path) -> None:
    output = invoke(config_path, "balance").stdout
    line = next(line for line in output.splitlines() if "tokyo" in line)
    assert "123,457" in line and "JPY" in line and "123,456.7" not in line
    assert "123,457 JPY" in invoke(config_path, "status").stdout
    rows = json.loads(invoke(config_path, "balance", "--json").stdout)["rows"]
    assert [row["amount"] for row in rows if row["account"] == "tokyo"] == ["123456.70"]


@pytest.mark.parametrize("command", ["spend", "usage", "reconcile"])
def test_an_unknown_account_is_one_line_and_exit_2(config_path: Path, command: str) -> None:
    result = invoke(config_path, command, "--account", "nosuch")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"error: no account named 'nosuch' in {config_path} (accounts: api, tokyo)"]


def test_unknown_figures_read_as_a_dash_never_zero(config_path: Path) -> None:
    config = load_config(config_path)
    report = status(config, open_engine(config.resolved_database_url()), now=NOW)
    unknown = [replace(row, month_to_date=None, today=None, burn=None) for row in report.rows]
    terminal = Console(width=200, record=True)
    terminal.print(status_table(replace(report, rows=unknown), wide=True))
    line = next(line for line in terminal.export_text().splitlines() if "│ tokyo" in line)
    cells = [cell.strip() for cell in line.split("│")[1:-1]]
    assert cells[3:7] == ["—", "—", "—", "—"]  # this month, today, limit, burn


def test_labels_too_long_for_the_terminal_fold_whole() -> None:
    label = "a-model-name-far-longer-than-any-terminal-column-could-hold"
    fitted = FittedTable("t", [Column("model", [label], keep=True), Column("amount", ["1.00"], "right", keep=True),
                               Column("extra", ["x" * 30], priority=1)])
    terminal = Console(width=40, record=True)
    terminal.print(fitted)
    lines = terminal.export_text().splitlines()
    assert max(len(line) for line in lines) <= 40 and "…" not in "".join(lines)
    assert label in "".join(line.split("│")[1].strip() for line in lines if line.count("│") == 3)
    assert "not shown at 40 columns: extra; --wide, --json or --csv show them" in " ".join(" ".join(lines).split())


def test_a_message_wraps_at_words_before_names_give_way() -> None:
    message = "openai-main: estimated balance 20.00 USD is below 50 and falling by about 6.00 a day"
    fitted = FittedTable("States", [Column("rule", ["low-balance"], keep=True),
                                    Column("subject", ["openai-main/USD"], keep=True),
                                    Column("since", ["2026-03-18 12:00"]),
                                    Column("message", [message], wrap=48)])
    terminal = Console(width=60, record=True)
    terminal.print(fitted)
    lines = terminal.export_text().splitlines()
    assert max(len(line) for line in lines) <= 60
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in lines if line.startswith("│")]
    assert rows[0][:2] == ["low-balance", "openai-main/USD"]
    assert " ".join(row[2] for row in rows) == message  # wrapped between words, every word whole
    assert "not shown at 60 columns: since" in " ".join(lines)
