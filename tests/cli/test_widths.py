"""The main commands at 80, 100 and 160 columns on the demo's data: every answer appears whole on its row's line,
no line is wider than the terminal, nothing is cut with an ellipsis, and what was left out is named."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import pytest
from rich.cells import cell_len
from typer.testing import CliRunner

from creditgauge.cli import app
from creditgauge.demo import DemoHandle, build_demo
from creditgauge.demo.scenario import ACCOUNTS

WIDTHS = (80, 100, 160)
PAST_THE_CENT = re.compile(r"(?<![\w.-])\d[\d,]*\.\d{3,}(?![\w.-])")
KIND_LABEL = {"verified": "verified", "estimated": "estimated", "limit_only": "limit only"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoHandle]:
    with build_demo(tmp_path_factory.mktemp("demo"), days=21) as handle:
        yield handle


def run(demo: DemoHandle, width: int | None, *args: str) -> str:
    env = {"COLUMNS": str(width)} if width else {}
    result = CliRunner().invoke(app, ["--config", str(demo.config_path), *args], env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


def data(demo: DemoHandle, *args: str) -> dict[str, Any]:
    return json.loads(run(demo, None, *args, "--json"))


def check_fits(output: str, width: int) -> list[str]:
    lines = output.splitlines()
    too_wide = [line for line in lines if cell_len(line) > width]
    assert not too_wide, f"{len(too_wide)} lines wider than {width}: {too_wide[0]!r}"
    assert "…" not in output
    return lines


def row_line(lines: list[str], *answers: str) -> str:
    """The one line that holds every answer of a row, each whole."""
    found = [line for line in lines if all(f" {answer} " in f"{line} " for answer in answers)]
    assert found, f"no line holds {answers}"
    return found[0]


def amount(text: str | None) -> str:
    """A JSON amount as the tables show it: to the cent (half-even), with thousands separators; null in words."""
    return "not reported" if text is None else f"{Decimal(text).quantize(Decimal('0.01'), ROUND_HALF_EVEN):,}"


@pytest.mark.parametrize("width", WIDTHS)
def test_status_shows_account_balance_kind_runway_and_state_whole(demo: DemoHandle, width: int) -> None:
    lines = check_fits(run(demo, width, "status"), width)
    rows = data(demo, "status")["rows"]
    assert {row["account"] for row in rows} == {account.name for account in ACCOUNTS}
    for row in rows:
        balance = row["balance"]
        runway = row["runway"]
        date = runway["date"] or ("—" if row["state"] == "unknown" else
                                  "not this month" if runway["basis"] == "limit" else "no end in sight")
        row_line(lines, row["account"], f"{amount(balance['amount'])} {row['currency']}", KIND_LABEL[balance["kind"]],
                 date, row["state"])
    if width == 80:
        assert any(line.startswith("not shown at 80 columns: this month") for line in lines)
    if width == 160:
        assert any("this month" in line and "today" in line and "burn/day" in line for line in lines)


def test_status_wide_shows_every_column_past_the_edge(demo: DemoHandle) -> None:
    output = run(demo, 80, "status", "--wide")
    assert "not shown" not in output and max(cell_len(line) for line in output.splitlines()) > 80
    for header in ("this month", "today", "limit (left)", "runway range", "last good sync"):
        assert header in output


@pytest.mark.parametrize("width", WIDTHS)
def test_balance_keeps_account_amount_currency_and_kind(demo: DemoHandle, width: int) -> None:
    lines = check_fits(run(demo, width, "balance"), width)
    for row in data(demo, "balance")["rows"]:
        row_line(lines, row["account"], amount(row["amount"]), row["currency"], KIND_LABEL[row["kind"]])


@pytest.mark.parametrize("width", WIDTHS)
def test_spend_by_day_and_model_keeps_every_label_and_amount(demo: DemoHandle, width: int) -> None:
    args = ("spend", "--by", "day,model", "--since", "7d")
    lines = check_fits(run(demo, width, *args), width)
    rows = data(demo, *args)["rows"]
    assert len({row["model"] for row in rows}) > 5
    for row in rows:
        row_line(lines, row["day"], row["model"] or "-", amount(row["amount"]), row["currency"])
    assert not PAST_THE_CENT.search("\n".join(lines)), "an amount printed past the cent"


@pytest.mark.parametrize("width", WIDTHS)
def test_usage_by_model_keeps_every_model_with_its_input_and_output(demo: DemoHandle, width: int) -> None:
    lines = check_fits(run(demo, width, "usage", "--by", "model"), width)
    for row in data(demo, "usage", "--by", "model")["rows"]:
        row_line(lines, row["model"] or "-", f"{row['input_tokens']:,}", f"{row['output_tokens']:,}")
    left_out = [line for line in lines if line.startswith(f"not shown at {width} columns")]
    assert bool(left_out) == (width < 160)


@pytest.mark.parametrize("width", WIDTHS)
def test_usage_by_project_keeps_every_project_name(demo: DemoHandle, width: int) -> None:
    lines = check_fits(run(demo, width, "usage", "--by", "project"), width)
    for row in data(demo, "usage", "--by", "project")["rows"]:
        row_line(lines, row.get("project_name") or row["project"] or "-", f"{row['input_tokens']:,}")


@pytest.mark.parametrize("width", WIDTHS)
def test_reconcile_keeps_account_day_figures_and_flag(demo: DemoHandle, width: int) -> None:
    lines = check_fits(run(demo, width, "reconcile"), width)
    rows = data(demo, "reconcile")["rows"]
    assert any(row["direction"] for row in rows)
    for row in rows:
        flag = row["direction"].replace("_", " ") if row["direction"] else "ok"
        row_line(lines, row["account"], row["day"], f"{amount(row['reported'])} {row['currency']}",
                 amount(row["tracked"]), flag)


@pytest.mark.parametrize("width", WIDTHS)
def test_ledger_list_keeps_id_account_kind_amount_currency_and_day(demo: DemoHandle, width: int) -> None:
    lines = check_fits(run(demo, width, "ledger", "list"), width)
    rows = data(demo, "ledger", "list")["rows"]
    assert rows
    for row in rows:
        row_line(lines, str(row["id"]), row["account"], row["kind"], amount(row["amount"]), row["currency"],
                 row["at"][:10])


@pytest.mark.parametrize("width", WIDTHS)
def test_providers_keeps_account_provider_and_where_the_key_is_looked_for(demo: DemoHandle, width: int) -> None:
    lines = check_fits(run(demo, width, "providers"), width)
    for row in data(demo, "providers")["rows"]:
        row_line(lines, row["account"], row["provider"])
        assert any(f" {row['key_source']} " in line for line in lines), row["key_source"]
        assert any(line.startswith(f"{row['account']}: ") for line in lines)  # its notes, in words, under the table
