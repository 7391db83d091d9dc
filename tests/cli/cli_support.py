"""Running the command line as a user would, against the demo's kept data (`creditgauge demo --keep DIR --no-serve
--days 21`): in this process (fast), or in a subprocess as an unprivileged user (root ignores file modes)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from typer.testing import CliRunner

from creditgauge.cli import app

DEMO_CONFIG = "creditgauge-demo.toml"
DEMO_DATABASE = "creditgauge-demo.db"
NOBODY = 65534
AS_NOBODY = ("setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups")


@dataclass(frozen=True)
class Kept:
    directory: Path

    @property
    def config(self) -> Path:
        return self.directory / DEMO_CONFIG

    @property
    def database(self) -> Path:
        return self.directory / DEMO_DATABASE


def open_directory(prefix: str) -> Path:
    """A directory every user can read and enter (pytest's own tmp directories are private to root)."""
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    directory.chmod(0o755)
    return directory


def user_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("CREDITGAUGE_") and not name.endswith(("_API_KEY", "_ADMIN_KEY", "_MANAGEMENT_KEY"))}
    return {**env, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_DATA_HOME": str(home / ".local" / "share"), "COLUMNS": "100", "NO_COLOR": "1", **(extra or {})}


def run_cli(args: list[str], *, env: Mapping[str, str], cwd: Path, unprivileged: bool = False,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`creditgauge ARGS` in a subprocess; `unprivileged`: as user nobody when this runs as root."""
    command = [sys.executable, "-m", "creditgauge", *args]
    if unprivileged and os.geteuid() == 0:
        command = [*AS_NOBODY, *command]
        if not nobody_can_run_creditgauge():
            pytest.skip(f"user nobody cannot run this checkout's creditgauge ({sys.executable}): the checkout is in "
                        "a directory private to root, as `mktemp -d` makes; `chmod o+rx` it to run this case")
    return subprocess.run(command, capture_output=True, text=True, env=dict(env), cwd=cwd, timeout=timeout,
                          stdin=subprocess.DEVNULL)


@cache
def nobody_can_run_creditgauge() -> bool:
    """Whether the unprivileged user can enter the checkout and its virtualenv and import creditgauge."""
    probe = subprocess.run([*AS_NOBODY, sys.executable, "-c", "import creditgauge"], capture_output=True,
                           cwd="/", timeout=60, stdin=subprocess.DEVNULL)
    return probe.returncode == 0


def stored(database: Path) -> str:
    """A digest of the database's bytes and of its write-ahead log: equal digests mean nothing stored changed (a
    write lands in the log, and is checkpointed into the file when the last connection closes)."""
    digest = hashlib.sha256()
    for path in (database, database.with_name(database.name + "-wal")):
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def run_here(args: list[str], env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`creditgauge ARGS` in this process (the test's private config and data directories), as a CompletedProcess."""
    result = CliRunner().invoke(app, args, env=dict(env or {}), prog_name="creditgauge")
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)
