import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from creditgauge.cli import app

runner = CliRunner()


def test_init_writes_a_starter_config_and_lists_found_keys_by_name_only(tmp_path: Path) -> None:
    target = tmp_path / "cfg" / "config.toml"
    secret = "sk-admin-PLANTED-init-0123456789"
    result = runner.invoke(
        app, ["init", "--path", str(target)], env={"OPENAI_ADMIN_KEY": secret, "GROQ_API_KEY": "gsk_PLANTED0123456789"}
    )
    assert result.exit_code == 0, result.output
    assert "OPENAI_ADMIN_KEY" in result.output and "GROQ_API_KEY" in result.output
    text = target.read_text()
    assert secret not in text and secret not in result.output
    assert '[accounts.openai]\nprovider = "openai"\nkey_env = "OPENAI_ADMIN_KEY"' in text
    assert "# [accounts.anthropic]" in text  # not found: left commented

    again = runner.invoke(app, ["init", "--path", str(target)])
    assert again.exit_code == 2 and "already exists" in again.output


def test_providers_lists_capabilities_and_key_state(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[accounts.main]\nprovider = "openai"\nkey_env = "CG_TEST_OPENAI"\n')
    result = runner.invoke(
        app, ["--config", str(config), "providers", "--json"], env={"CG_TEST_OPENAI": "sk-admin-x1234567"}
    )
    assert result.exit_code == 0, result.output
    row = json.loads(result.output)["rows"][0]
    assert row["account"] == "main" and row["provider"] == "openai" and row["key_found"] is True
    assert "costs" in row["capabilities"]
    assert "sk-admin-x1234567" not in result.output


def test_config_error_exits_2_with_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[accounts.main]\nprovider = "nope"\n')
    env = {**os.environ, "CREDITGAUGE_CONFIG": str(config)}
    proc = subprocess.run([sys.executable, "-m", "creditgauge", "providers"], capture_output=True, text=True, env=env)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "accounts.main.provider: unknown provider 'nope'" in lines[0]


def test_usage_error_exits_2(tmp_path: Path) -> None:
    env = {
        **os.environ,  # the default config path, absent: an empty config
        "CREDITGAUGE_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "creditgauge", "spend", "--since", "last tuesday"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 2
    assert "--since 'last tuesday' is not a date" in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "creditgauge", "spend", "--bogus"], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 2
