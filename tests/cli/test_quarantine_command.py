"""Quarantined items in the terminal: `creditgauge status` counts them (--json "quarantined", a line under the
table) and `creditgauge quarantine` lists them, in 80 columns, with the payload only in --json and no key
anywhere."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from creditgauge.cli import app
from creditgauge.store.engine import open_engine
from quarantine_support import PLANTED_KEY, poison, stored_text

NOTE = "2 tracked items quarantined (not counted): `creditgauge quarantine` lists them"


@pytest.fixture
def config_path(tmp_path: Path, database_url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'database_url = "{database_url}"\n[accounts.oa]\nprovider = "openai"\nkey_env = "OA_KEY"\n')
    return path


def invoke(config_path: Path, *args: str, columns: int = 80) -> str:
    result = CliRunner().invoke(app, ["--config", str(config_path), *args], env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    return result.output


def test_nothing_quarantined_says_so_and_status_counts_zero(config_path: Path) -> None:
    assert json.loads(invoke(config_path, "status", "--json"))["quarantined"] == 0
    assert "quarantined" not in invoke(config_path, "status")
    assert "nothing quarantined" in invoke(config_path, "quarantine")
    assert json.loads(invoke(config_path, "quarantine", "--json")) == {"total": 0, "items": []}


def test_status_and_the_quarantine_command_show_the_items_without_a_key(config_path: Path,
                                                                          database_url: str) -> None:
    engine = open_engine(database_url)
    assert poison(engine, 1, 2) == 2
    assert PLANTED_KEY not in stored_text(engine)
    engine.dispose()

    assert json.loads(invoke(config_path, "status", "--json"))["quarantined"] == 2
    table = invoke(config_path, "status")
    assert NOTE in table.replace("\n", " ") or NOTE in table

    listed = json.loads(invoke(config_path, "quarantine", "--json"))
    assert listed["total"] == 2 and len(listed["items"]) == 2
    item = listed["items"][0]
    assert (item["kind"], item["origin"], item["account"]) == ("event", "proxy", "oa")
    assert "input_tokens" in item["reason"] and json.loads(item["payload"])["input_tokens"] == 10**30

    shown = invoke(config_path, "quarantine")
    assert "Quarantined items: 2" in shown and "proxy" in shown and "input_tokens" in shown.replace("\n", " ")
    assert "payload" not in shown and max(len(line) for line in shown.splitlines()) <= 80

    rows = list(csv.DictReader(io.StringIO(invoke(config_path, "quarantine", "--csv"))))
    assert len(rows) == 2 and "payload" not in rows[0] and rows[0]["origin"] == "proxy"

    one = invoke(config_path, "quarantine", "--limit", "1")
    assert "showing the newest 1 of 2" in one

    for output in (table, shown, json.dumps(listed), invoke(config_path, "quarantine", "--csv")):
        assert PLANTED_KEY not in output and PLANTED_KEY[:24] not in output
