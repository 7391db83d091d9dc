"""`creditgauge sync` exits 0 on every live shape of issue 10's table, and stores the figures those shapes carry:
OpenRouter /activity dates sent as date-times and /key in its older shape, openai-legacy against one-api/new-api
relays (a total-only usage answer, a hard limit, no credit_grants route: a 404 or the relay's web page), and an
Anthropic organization without the Claude Code report (404)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from creditgauge.cli import app
from creditgauge.fakes.anthropic import FakeAnthropic
from creditgauge.fakes.openrouter import FakeOpenRouter
from creditgauge.fakes.relay import FakeRelay
from creditgauge.store import schema
from creditgauge.store.engine import open_engine
from support import assert_found_nowhere, rows

ROUTER_KEY = "sk-or-v1-live-shapes-0a1b2c3d4e5f6a7b8c9d"
RELAY_KEY = "sk-relay-live-shapes-9f8e7d6c5b4a3f2e1d0c"
ADMIN_KEY = "sk-ant-admin01-live-shapes-1234567890abcdef"
TODAY = datetime.now(UTC).date()


@pytest.fixture
def servers() -> Iterator[dict[str, object]]:
    with ExitStack() as stack:
        router = stack.enter_context(FakeOpenRouter(days=35, management_keys={ROUTER_KEY}, api_keys=set()))
        router.datetime_dates, router.older_key_shape = True, True
        anthropic = stack.enter_context(FakeAnthropic(days=10, end=TODAY + timedelta(days=1),
                                                      admin_keys={ADMIN_KEY}))
        anthropic.fail(404, {"type": "error", "error": {"type": "not_found_error", "message": "Not found"}},
                       path="/claude_code", times=1000)
        yield {"router": router, "anthropic": anthropic,
               "relay_html": stack.enter_context(FakeRelay(missing_route="html")),
               "relay_404": stack.enter_context(FakeRelay(missing_route="404", remaining_usd=Decimal("0.125"),
                                                          used_usd=Decimal("12.3456")))}


def write_config(tmp_path: Path, database_url: str, servers: dict[str, object]) -> Path:
    url = {name: server.url for name, server in servers.items()}  # type: ignore[attr-defined]
    path = tmp_path / "config.toml"
    path.write_text(
        f'database_url = "{database_url}"\n'
        f'[accounts.router]\nprovider = "openrouter"\nkey_env = "ROUTER_KEY"\nbase_url = "{url["router"]}/api/v1"\n'
        f'[accounts.claude]\nprovider = "anthropic"\nkey_env = "ADMIN_KEY"\nbase_url = "{url["anthropic"]}"\n'
        f'[accounts.relay]\nprovider = "openai-legacy"\nkey_env = "RELAY_KEY"\nbase_url = "{url["relay_html"]}/v1"\n'
        f'[accounts.relay2]\nprovider = "openai-legacy"\nkey_env = "RELAY_KEY"\nbase_url = "{url["relay_404"]}"\n')
    return path


def test_sync_exits_0_on_every_live_shape_and_stores_their_figures(
    tmp_path: Path, database_url: str, servers: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, key in (("ROUTER_KEY", ROUTER_KEY), ("RELAY_KEY", RELAY_KEY), ("ADMIN_KEY", ADMIN_KEY)):
        monkeypatch.setenv(name, key)
    config = write_config(tmp_path, database_url, servers)

    result = CliRunner().invoke(app, ["--config", str(config), "sync", "--json"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["status"] == "ok" and all(r["ok"] for r in report["results"])
    balances = json.loads(CliRunner().invoke(app, ["--config", str(config), "balance", "--json"]).output)
    by_account = {row["account"]: row for row in balances["rows"]}
    # The relay's hard limit (remaining + used) minus its total usage (cents): what is left of its quota.
    assert (by_account["relay"]["amount"], by_account["relay"]["kind"]) == ("83.60", "limit_only")
    assert (by_account["relay2"]["amount"], by_account["relay2"]["kind"]) == ("0.125", "limit_only")
    assert by_account["relay"]["details"]["label"].startswith("hard limit minus usage, as reported by 127.0.0.1")

    engine = open_engine(database_url)
    try:
        router = servers["router"]
        assert isinstance(router, FakeOpenRouter)
        activity = rows(engine, schema.cost_buckets, "activity")
        assert sum((r["amount"] for r in activity), Decimal(0)) == router.spent(TODAY - timedelta(days=30), TODAY)
        (balance,) = rows(engine, schema.balance_snapshots, "credits")
        assert balance["amount"] == router.total_credits - router.total_usage()
        relay_costs = [r for r in rows(engine, schema.cost_buckets) if r["account"].startswith("relay")]
        assert relay_costs == []  # a total-only usage answer invents no days
        assert rows(engine, schema.usage_buckets, "claude_code") == []
        assert rows(engine, schema.cost_buckets, "cost_report")
    finally:
        engine.dispose()


def test_a_relay_error_that_echoes_the_key_leaks_it_nowhere(
    tmp_path: Path, database_url: str, servers: dict[str, object], monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    planted = "sk-relay-PLANTED-5d4c3b2a1f0e9d8c7b6a"
    for name, key in (("ROUTER_KEY", ROUTER_KEY), ("RELAY_KEY", planted), ("ADMIN_KEY", ADMIN_KEY)):
        monkeypatch.setenv(name, key)
    relay = servers["relay_html"]
    assert isinstance(relay, FakeRelay)
    relay.answer_error = f"token {planted} has no quota left"  # one-api-style: HTTP 200 with an error object
    config = write_config(tmp_path, database_url, servers)

    result = CliRunner().invoke(app, ["--config", str(config), "sync", "--json", "--account", "relay"])

    assert result.exit_code == 1
    report = json.loads(result.output)
    errors = [r["error"] for r in report["results"] if not r["ok"]]
    assert errors and all("the server answered an error: token" in error for error in errors)
    engine = open_engine(database_url)
    try:
        assert_found_nowhere(planted, engine, result.output, caplog.text)
    finally:
        engine.dispose()
