"""The demo's kept data (`creditgauge demo --keep DIR --no-serve --days 21`), built once per session."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from cli_support import Kept, open_directory, run_cli, user_env


@pytest.fixture(scope="session")
def demo_kept() -> Iterator[Kept]:
    directory = open_directory("creditgauge-kept-")
    kept = Kept(directory / "demo")
    result = run_cli(["demo", "--keep", str(kept.directory), "--no-serve", "--days", "21"],
                     env=user_env(directory), cwd=directory, timeout=300)
    assert result.returncode == 0, result.stderr
    for path in (directory, *directory.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)  # readable by the unprivileged user, writable by root only
    yield kept
    shutil.rmtree(directory, ignore_errors=True)
