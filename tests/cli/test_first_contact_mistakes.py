"""Mistakes a new user makes on day one: each gets one line, the right exit code, and no traceback (issue 11)."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import pytest
from typer.testing import CliRunner

from creditgauge.cli import app


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'database_url = "sqlite:///{tmp_path / "cg.db"}"\n'
                    '[accounts.oa]\nprovider = "openai"\nkey_env = "K"\n')
    return path


def run(config_path: Path, *args: str):
    return CliRunner().invoke(app, ["--config", str(config_path), *args], env={"COLUMNS": "80"})


def one_line_error(result) -> str:
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def test_export_refuses_source_best_before_writing_anything(config_path: Path) -> None:
    result = run(config_path, "export", "--format", "csv", "--since", "7d", "--source", "best")
    assert result.exit_code == 2
    assert "--source 'best': use reported" in one_line_error(result)  # not a KeyError after the CSV header


def test_creditgauge_alone_says_what_to_do_first_whether_the_config_is_absent_or_empty(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "XDG_DATA_HOME": str(tmp_path / "data"),
           "CREDITGAUGE_CONFIG": None, "COLUMNS": "80"}
    absent = CliRunner().invoke(app, [], env=env)
    assert absent.exit_code == 0 and "config.toml does not exist." in absent.output
    assert "creditgauge init" in absent.output

    assert CliRunner().invoke(app, ["init"], env=env).exit_code == 0  # a starter config, every account commented out
    empty = CliRunner().invoke(app, [], env=env)
    assert empty.exit_code == 0 and "config.toml names none." in empty.output and "does not exist" not in empty.output
    assert "uncomment the accounts you use" in empty.output
    assert all(len(line) <= 80 for line in empty.output.splitlines()[1:])  # the path alone on the first line


def test_a_since_in_the_future_names_since_not_an_until_nobody_gave(config_path: Path) -> None:
    result = run(config_path, "spend", "--since", "2999-01-01")
    assert result.exit_code == 2
    line = one_line_error(result)
    assert "--since 2999-01-01 is after today" in line and "--until" not in line


def test_version_prints_the_installed_version_without_a_config(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--config", str(tmp_path / "nowhere.toml"), "--version"])
    assert result.exit_code == 0 and result.output.strip() == f"creditgauge {version('creditgauge')}"
