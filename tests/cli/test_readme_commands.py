"""Every `creditgauge` command the README shows in its shell blocks runs, and exits 0, against the demo's kept data
(`creditgauge demo --keep DIR --no-serve --days 21`). The few that need live keys, a running server or the user's own
files are skipped by the explicit list below, each with its reason."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from cli_support import Kept, run_here

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
SHELL_BLOCK = re.compile(r"^```(?:sh|bash|shell|console)\n(.*?)^```", re.S | re.M)

# Commands the kept demo cannot run, matched on their first words: why each is skipped.
SKIPPED = {
    "sync": "the demo's fake providers are gone once it stops (the wheel test and test_sync sync against fakes)",
    "serve": "runs a server until stopped (tests/web drive the app; the bad-input table checks its busy port)",
    "proxy": "runs a server until stopped (tests/capture drive the proxy)",
    "demo": "builds its own data (tests/test_demo.py runs it, and the fixture of this test is `demo --keep`)",
    "init": "writes the user's config (tests/cli/test_setup_commands.py)",
    "alerts test": "sends to a real notification channel (tests/analysis/test_alert_delivery.py)",
    "keys": "reads each provider's live key listing (tests of the connectors)",
    "--install-completion": "edits the user's shell startup file",
}
# The README's example account names, as the demo calls them.
ACCOUNTS = {"openai-main": "openai"}
# Exit codes other than 0 that are an answer, not a failure.
ANSWERS = {"guard": {0, 3}}  # 3: an account falls short (the demo's OpenRouter is running low)


def readme_commands() -> list[str]:
    """Each `creditgauge ...` command of the README's shell blocks, with its comment removed and `a && b` split
    (a redirection `> file` stays: the test runs in a directory of its own)."""
    commands: list[str] = []
    for block in SHELL_BLOCK.findall(README):
        for line in block.splitlines():
            code = re.sub(r"\s#.*$", "", line).strip()
            for part in code.split("&&"):
                words = part.strip().removeprefix(".venv/bin/")
                if words.startswith("creditgauge "):
                    commands.append(words)
    return commands


def _words(command: str) -> tuple[list[str], str | None]:
    """The argument list (optional `[--flag]` parts dropped, example account names mapped to the demo's) and the
    file a `> file` redirection names."""
    without_optional = re.sub(r"\s\[[^\]]*\]", "", command)
    shell, _, redirect = without_optional.partition(">")
    words = [ACCOUNTS.get(word, word) for word in shlex.split(shell)[1:]]
    return words, redirect.strip() or None


def _skip_reason(words: list[str]) -> str | None:
    for prefix, reason in SKIPPED.items():
        if words[:len(prefix.split())] == prefix.split():
            return reason
    return None


def test_the_readme_shows_commands_to_run() -> None:
    commands = readme_commands()
    assert len(commands) >= 20 and "creditgauge status" in commands


@pytest.mark.parametrize("command", readme_commands())
def test_the_readme_command_runs_on_the_demo_data(command: str, demo_kept: Kept, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # where `-o FILE` and `> FILE` land
    words, redirect = _words(command)
    reason = _skip_reason(words)
    if reason:
        pytest.skip(reason)
    if words[:2] == ["ledger", "remove"]:  # the README's id is an example: remove the newest entry instead
        listed = run_here(["-c", str(demo_kept.config), "ledger", "list", "--json"])
        words = ["ledger", "remove", str(max(row["id"] for row in json.loads(listed.stdout)["rows"]))]
    result = run_here(["-c", str(demo_kept.config), *words])
    assert result.returncode in ANSWERS.get(words[0], {0}), f"{command}\n{result.stdout}\n{result.stderr}"
    if redirect:
        (tmp_path / redirect).write_text(result.stdout, encoding="utf-8")
    assert result.stdout.strip() or list(tmp_path.iterdir()), f"{command}: no output"
