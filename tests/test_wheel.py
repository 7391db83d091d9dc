"""Installs as users install: the wheel, built from this checkout, in a clean virtualenv with no extras (so without
the openai SDK, google-auth or anything of the test extras), runs `--help`, `python -m creditgauge`, the demo and a
sync against a fake provider. `make test` (and so CI) runs it; `pytest -m wheel` runs it alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from creditgauge.fakes.deepseek import FakeDeepSeek

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-wheel-test-deepseek-0000000000"
pytestmark = pytest.mark.wheel


def _run(command: list[str | Path], *, env: dict[str, str] | None = None, cwd: Path | None = None,
         timeout: float = 300) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True, env=env, cwd=cwd,
                            timeout=timeout)
    assert result.returncode == 0, f"{command}: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", dist, ROOT])
    (built,) = dist.glob("creditgauge-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A clean virtualenv holding the wheel and its runtime dependencies at the pinned versions: its bin dir."""
    target = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False, clear=True).create(target)
    python = target / "bin" / "python"
    # This venv's pip installs into the clean one (pip --python): faster than bootstrapping pip there.
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-compile",
          "--constraint", ROOT / "constraints.txt", wheel])
    yield target / "bin"


def _user_env(home: Path) -> dict[str, str]:
    """A user's environment: nothing of this checkout or its virtualenv, a private home."""
    keep = ("PATH", "LANG", "LC_ALL", "TMPDIR", "PIP_FIND_LINKS", "PIP_CERT")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    return {**env, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_DATA_HOME": str(home / ".local" / "share"), "PYTHONNOUSERSITE": "1", "COLUMNS": "100",
            "NO_COLOR": "1"}


def test_the_wheel_carries_the_package_data_and_nothing_of_the_tests(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    for needed in ("creditgauge/py.typed", "creditgauge/web/templates/base.html", "creditgauge/web/static/app.css",
                   "creditgauge/store/migrations/env.py",
                   "creditgauge/store/migrations/versions/0001_initial_schema.py"):
        assert needed in names, needed
    assert not [name for name in names if name.startswith("tests/") or "/tests/" in name or "conftest" in name]
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    runtime = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:") and "extra ==" not in line]
    assert not [line for line in runtime if any(package in line for package in ("openai", "anthropic", "pytest",
                                                                                "traceloop", "grpcio"))]


def test_the_installed_wheel_has_no_extras(installed: Path, tmp_path: Path) -> None:
    # google.auth, not google: protobuf (opentelemetry-proto's, a runtime dependency) is in the google namespace
    probe = ("import importlib.util as u; "
             "print([m for m in ('openai', 'google.auth', 'pytest', 'traceloop', 'grpc') if u.find_spec(m)])")
    result = _run([installed / "python", "-c", probe], env=_user_env(tmp_path), cwd=tmp_path)
    assert result.stdout.strip() == "[]"


def test_help_and_python_dash_m(installed: Path, tmp_path: Path) -> None:
    env = _user_env(tmp_path)
    assert "Usage: creditgauge" in _run([installed / "creditgauge", "--help"], env=env, cwd=tmp_path).stdout
    assert "Usage: creditgauge" in _run([installed / "python", "-m", "creditgauge", "--help"], env=env,
                                        cwd=tmp_path).stdout


def test_the_demo_runs_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    result = _run([installed / "creditgauge", "demo", "--no-serve", "--days", "21"], env=_user_env(tmp_path),
                  cwd=tmp_path)
    assert "DEMO DATA" in result.stdout and "What to look for" in result.stdout
    assert not list(tmp_path.glob("creditgauge-demo*"))  # a throwaway directory, removed at the end


def test_a_sync_against_a_fake_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    env = {**_user_env(tmp_path), "DEEPSEEK_API_KEY": KEY}
    with FakeDeepSeek(keys={KEY}) as fake:
        config.write_text(f'[accounts.deepseek]\nprovider = "deepseek"\nkey_env = "DEEPSEEK_API_KEY"\n'
                          f'base_url = "{fake.url}"\n')
        _run([installed / "creditgauge", "-c", config, "sync"], env=env, cwd=tmp_path)
    rows = json.loads(_run([installed / "creditgauge", "-c", config, "balance", "--json"], env=env,
                           cwd=tmp_path).stdout)["rows"]
    assert {(row["currency"], row["amount"], row["kind"]) for row in rows} == {
        ("CNY", "110.00", "verified"), ("USD", "4.37", "verified")}
    database = tmp_path / ".local" / "share" / "creditgauge" / "creditgauge.db"
    assert database.exists() and KEY.encode() not in database.read_bytes()


def test_a_mistyped_config_path_is_one_line_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    result = subprocess.run([str(installed / "creditgauge"), "-c", "typo.toml", "guard"], capture_output=True,
                            text=True, env=_user_env(tmp_path), cwd=tmp_path, timeout=120)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == ["error: config file typo.toml (named by -c) does not exist; check the path, "
                                          "or run `creditgauge -c typo.toml init` to write one there"]
