"""`creditgauge` with no command: the status when accounts are configured, else what to do first."""

from __future__ import annotations

from cli_support import Kept, run_here


def test_no_command_shows_the_status(demo_kept: Kept) -> None:
    result = run_here(["-c", str(demo_kept.config)])
    assert result.returncode == 0, result.stderr
    assert "Status at" in result.stdout


def test_no_command_and_no_config_says_what_to_do_first() -> None:
    result = run_here([])
    assert result.returncode == 0, result.stderr
    assert "No accounts yet" in result.stdout
    assert "creditgauge demo" in result.stdout and "creditgauge init" in result.stdout


def test_the_default_config_absent_is_said_after_the_answer() -> None:
    result = run_here(["providers", "--json"])
    assert result.returncode == 0 and result.stdout.startswith("{")
    assert result.stderr.startswith("note: no config at ") and "creditgauge init" in result.stderr
