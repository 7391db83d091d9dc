"""`creditgauge alerts check/test/list` against a local webhook receiver, with a controlled clock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from creditgauge.cli import app
from creditgauge.clock import FrozenClock, use_clock
from creditgauge.store.engine import open_engine
from creditgauge.store.ledger import add_entry
from support import webhook_receiver

NOW = datetime(2026, 3, 18, 12, tzinfo=UTC)
TOKEN = "hooksecret-PLANTED-5566"


@pytest.fixture
def hook() -> Iterator[tuple[list[dict], str]]:
    with webhook_receiver(TOKEN) as receiver:
        yield receiver


@pytest.fixture
def config_path(tmp_path: Path, hook) -> Path:
    _, url = hook
    path = tmp_path / "config.toml"
    database = f"sqlite:///{tmp_path / 'db.sqlite'}"
    path.write_text(f'''database_url = "{database}"
[accounts.oa]
provider = "openai"
key_env = "K"

[alerts.channels.hook]
type = "webhook"
url_env = "CG_HOOK_URL"

[alerts.channels.broken]
type = "webhook"
url = "{url}/hook/not-the-token"
retries = 0

[[alerts.rules]]
name = "low"
kind = "balance_below"
threshold = "50"
channels = ["hook", "log"]
''')
    engine = open_engine(database)
    add_entry(engine, account="oa", kind="deposit", amount=Decimal(20), currency="USD", at=NOW, expires_at=None,
              note=None, created_at=NOW)
    engine.dispose()
    return path


def run(config_path: Path, url: str, *args: str):
    with use_clock(FrozenClock(NOW)):
        return CliRunner().invoke(app, ["--config", str(config_path), "alerts", *args],
                                  env={"CG_HOOK_URL": f"{url}/hook/{TOKEN}", "COLUMNS": "200"})


def test_check_fires_once_then_stays_quiet_and_list_shows_the_state(config_path: Path, hook):
    received, url = hook
    first = run(config_path, url, "check")
    assert first.exit_code == 0, first.output
    assert "fired: low: oa: estimated balance 20.00 USD is below 50 (sent to hook, log)" in first.stdout
    again = run(config_path, url, "check", "--json")
    assert json.loads(again.stdout)["transitions"] == [] and len(received) == 1

    listed = json.loads(run(config_path, url, "list", "--json").stdout)
    assert listed["states"][0]["state"] == "firing" and listed["history"][0]["event"] == "fired"
    now = {c["rule"]: c for c in listed["checks"]}["low"]  # the rule against its threshold, as the Alerts page shows
    assert (now["subject"], now["value"], now["firing"]) == ("oa/USD", "20.00 USD", True) and "50" in now["threshold"]
    table = run(config_path, url, "list").stdout
    assert "low" in table and "Now (evaluated, nothing sent)" in table and "20.00 USD" in table
    assert len(received) == 1  # listing evaluates, never sends


def test_channel_test_ok_failed_and_unknown(config_path: Path, hook):
    received, url = hook
    ok = run(config_path, url, "test", "hook")
    assert ok.exit_code == 0 and received[-1]["event"] == "test"
    broken = run(config_path, url, "test", "broken")
    assert broken.exit_code == 1 and "channel 'broken' (webhook): HTTP 404" in broken.output
    assert "not-the-token" not in broken.output  # a configured URL is a secret too
    unknown = run(config_path, url, "test", "ghost")
    assert unknown.exit_code == 2 and "no alert channel named 'ghost'" in unknown.output
    assert TOKEN not in ok.output + broken.output + unknown.output


def test_check_exits_1_when_a_channel_fails(config_path: Path, hook):
    _, url = hook
    text = config_path.read_text().replace('channels = ["hook", "log"]', 'channels = ["broken", "hook"]')
    config_path.write_text(text)
    result = run(config_path, url, "check")
    assert result.exit_code == 1
    assert "channel failed: channel 'broken' (webhook): HTTP 404 after 1 attempt\n" in result.output
    assert "sent to hook" in result.stdout
