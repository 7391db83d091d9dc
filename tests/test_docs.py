"""Every command has help and is documented in the README; the README opens with the two setup commands."""

from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from creditgauge.cli import app

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
ROOT = get_command(app)


def command_paths() -> list[str]:
    paths = []
    for name, command in ROOT.commands.items():  # type: ignore[attr-defined]
        subcommands = getattr(command, "commands", None)
        paths += [f"{name} {sub}" for sub in subcommands] if subcommands else [name]
    return sorted(paths)


def test_the_readme_opens_with_make_demo_then_make_test() -> None:
    commands = [line.split("#")[0].strip() for line in README.split("```sh", 1)[1].split("```", 1)[0].splitlines()]
    assert [c for c in commands if c] == ["make demo", "make test"]


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert ci.strip().splitlines()[-1] == "make test"


@pytest.mark.parametrize("path", command_paths())
def test_every_command_has_help_and_a_place_in_the_readme(path: str) -> None:
    result = CliRunner().invoke(app, [*path.split(), "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    assert f"creditgauge {path}" in README, f"README does not show `creditgauge {path}`"
