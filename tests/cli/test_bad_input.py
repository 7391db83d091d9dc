"""Every mistake gets one clear line: each case's exact message on stderr, its exit code (2 usage/config, 1 runtime,
never 3, never a traceback), and nothing stored changed. File-system cases run as an unprivileged user, since root
ignores file modes."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_support import Kept, open_directory, run_cli, run_here, stored, user_env

ISO = "is not an ISO 4217 currency code; use a three-letter code such as USD, EUR or CNY"
DATE = "is not a date; use YYYY-MM-DD, today, yesterday, month or Nd (e.g. 30d)"
PERMISSION = "permission denied: give your user access to it (chmod/chown), or choose another path"
CHOOSE_DATABASE = "or set database_url in the config (or $CREDITGAUGE_DATABASE_URL) to a writable place"


@dataclass
class World:
    """What the cases point at: the demo's kept data, a directory the unprivileged user cannot write, a busy port."""

    kept: Kept
    locked: Path  # owned by root, mode 755
    secret: Path  # a config file only root may read
    busy_port: int

    def fill(self, text: str) -> str:
        return text.format(config=self.kept.config, database=self.kept.database, locked=self.locked,
                           secret=self.secret, port=self.busy_port)


@dataclass(frozen=True)
class Case:
    name: str
    args: list[str]
    line: str
    code: int
    env: dict[str, str] | None = None
    unprivileged: bool = False
    demo_config: bool = True  # run with `-c` naming the demo's config


CASES = [
    Case("named config missing (-c)", ["-c", "typo.toml", "guard"],
         "config file typo.toml (named by -c) does not exist; check the path, or run "
         "`creditgauge -c typo.toml init` to write one there", 2, demo_config=False),
    Case("named config missing ($CREDITGAUGE_CONFIG)", ["guard"],
         "config file typo.toml (named by $CREDITGAUGE_CONFIG) does not exist; check the path, or run "
         "`creditgauge -c typo.toml init` to write one there", 2, env={"CREDITGAUGE_CONFIG": "typo.toml"},
         demo_config=False),
    Case("unknown currency code", ["ledger", "add", "openai", "--deposit", "10", "--currency", "XYZ"],
         f"--currency 'XYZ' {ISO}", 2),
    Case("currency as a word", ["ledger", "add", "openai", "--deposit", "10", "--currency", "dollars"],
         f"--currency 'dollars' {ISO}", 2),
    Case("bad date", ["ledger", "add", "openai", "--deposit", "10", "--at", "2026-13-45"], f"--at '2026-13-45' {DATE}",
         2),
    Case("bad --since", ["spend", "--since", "tomorrowish"], f"--since 'tomorrowish' {DATE}", 2),
    Case("bad amount", ["ledger", "add", "openai", "--deposit", "ten"],
         "--deposit 'ten' is not an amount; write it like 100 or 25.50", 2),
    Case("unknown account", ["ledger", "add", "nosuch", "--deposit", "1"],
         "no account named 'nosuch' in {config} (accounts: anthropic, deepseek, groq, moonshot, openai, openrouter, "
         "xai)", 2),
    Case("serve on a busy port", ["serve", "--port", "{port}"],
         "port {port} on 127.0.0.1 is in use (another creditgauge, or another program); stop it, or pass --port with "
         "a free port", 1),
    Case("proxy on a busy port", ["proxy", "--port", "{port}"],
         "port {port} on 127.0.0.1 is in use (another creditgauge, or another program); stop it, or pass --port with "
         "a free port", 1),
    Case("demo on a busy port", ["demo", "--port", "{port}"],
         "port {port} on 127.0.0.1 is in use (another creditgauge, or another program); stop it, or pass --port with "
         "a free port", 1, demo_config=False),
    Case("export to a full disk", ["export", "--format", "csv", "--since", "30d", "-o", "/dev/full"],
         "cannot write the export to /dev/full: no space left on the device: free some space, or choose a path on "
         "another disk", 1),
    Case("export to a directory not yours", ["export", "--format", "csv", "--since", "30d", "-o", "{locked}/out.csv"],
         f"cannot write the export to {{locked}}/out.csv: {PERMISSION}", 1, unprivileged=True),
    Case("demo --keep in a directory not yours", ["demo", "--no-serve", "--days", "21", "--keep", "{locked}/demo"],
         f"cannot keep the demo in {{locked}}/demo: {PERMISSION}", 1, unprivileged=True, demo_config=False),
    Case("init in a home not yours", ["init"],
         f"cannot write the config to {{locked}}/.config/creditgauge/config.toml: {PERMISSION}, or pass --path with a "
         "writable place", 1, unprivileged=True, demo_config=False),
    Case("data directory not yours", ["ledger", "list"],
         f"cannot create the database directory {{locked}}/.local/share/creditgauge: {PERMISSION}, {CHOOSE_DATABASE}",
         1, unprivileged=True, demo_config=False),
    Case("config not readable", ["-c", "{secret}", "guard"], f"cannot read the config {{secret}}: {PERMISSION}", 1,
         unprivileged=True, demo_config=False),
    Case("write to a read-only database", ["ledger", "add", "openai", "--deposit", "10"],
         "cannot write the database {database}: it is read-only for this user (SQLite also needs to write in its "
         f"directory); make both writable by you (chmod/chown), {CHOOSE_DATABASE}", 1, unprivileged=True),
]


@pytest.fixture(scope="module")
def world(demo_kept: Kept) -> Iterator[World]:
    locked, private = open_directory("creditgauge-locked-"), open_directory("creditgauge-private-")
    secret = private / "config.toml"
    secret.write_text(demo_kept.config.read_text())
    secret.chmod(0o600)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        yield World(demo_kept, locked, secret, busy.getsockname()[1])
    shutil.rmtree(locked, ignore_errors=True)
    shutil.rmtree(private, ignore_errors=True)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_one_clear_line_and_nothing_stored_changed(case: Case, world: World) -> None:
    before = stored(world.kept.database)
    args = [world.fill(arg) for arg in case.args]
    if case.demo_config:
        args = ["-c", str(world.kept.config), *args]
    if case.unprivileged:
        result = run_cli(args, env=user_env(world.locked, case.env), cwd=world.locked, unprivileged=True)
    else:
        result = run_here(args, env=case.env)
    assert result.returncode == case.code, result.stderr
    assert result.stderr.splitlines() == [f"error: {world.fill(case.line)}"]
    assert stored(world.kept.database) == before
    assert not list(world.locked.iterdir())  # nothing half-written where it was refused


def _read_only_copy(kept: Kept) -> Path:
    """The demo database, read-only for the unprivileged user, in a directory it may write (as SQLite's -shm needs)."""
    directory = open_directory("creditgauge-readonly-")
    database = directory / "creditgauge-demo.db"
    shutil.copyfile(kept.database, database)
    config = directory / "config.toml"
    config.write_text(kept.config.read_text().replace(str(kept.database), str(database)))
    config.chmod(0o644)
    database.chmod(0o444)
    if os.geteuid() == 0:
        os.chown(directory, 65534, 65534)
    return directory


@pytest.mark.parametrize("args", [["status"], ["spend", "--since", "30d"]],
                         ids=" ".join)
def test_read_only_commands_work_on_a_read_only_database(demo_kept: Kept, args: list[str],
                                                         request: pytest.FixtureRequest) -> None:
    directory = _read_only_copy(demo_kept)
    request.addfinalizer(lambda: shutil.rmtree(directory, ignore_errors=True))
    database = directory / "creditgauge-demo.db"
    before = stored(database)
    result = run_cli(["-c", str(directory / "config.toml"), *args], env=user_env(directory), cwd=directory,
                     unprivileged=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and result.stdout.strip()
    assert stored(database) == before


def test_serve_on_a_busy_port_announces_no_address(world: World) -> None:
    result = run_here(["-c", str(world.kept.config), "serve", "--port", str(world.busy_port)])
    assert result.returncode == 1 and "dashboard on" not in result.stdout + result.stderr

