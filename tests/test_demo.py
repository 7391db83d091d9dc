"""`creditgauge demo` and build_demo: every provider in one status table with its kind, the leaked-key day flagged
by reconciliation and only it, the account running low, no demo key anywhere; and the fake's story lines."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from creditgauge.analysis.reconcile import reconcile
from creditgauge.analysis.status import status
from creditgauge.cli import app
from creditgauge.demo import DemoHandle, build_demo
from creditgauge.demo.scenario import ACCOUNTS, DEMO_KEYS, INFERENCE_KEY, RUNNING_LOW
from creditgauge.domain import BalanceKind, day_start
from creditgauge.fakes.openai import DEFAULT_MODELS, FakeOpenAI, KeyLeak, ModelLaunch, ModelPrice
from creditgauge.redact import fingerprint

KINDS = {"openai": BalanceKind.ESTIMATED, "anthropic": BalanceKind.LIMIT_ONLY, "xai": BalanceKind.VERIFIED,
         "openrouter": BalanceKind.VERIFIED, "deepseek": BalanceKind.VERIFIED, "moonshot": BalanceKind.VERIFIED,
         "groq": BalanceKind.LIMIT_ONLY}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoHandle]:
    # The real clock: some connectors read "the latest" relative to it (OpenRouter's /activity: the last 30 days).
    with build_demo(tmp_path_factory.mktemp("demo"), days=40) as handle:
        yield handle


# ---- the command ---------------------------------------------------------------------------------------------


def test_demo_command_prints_banner_status_spend_and_the_flagged_day(tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1"}
    result = subprocess.run([sys.executable, "-m", "creditgauge", "demo", "--no-serve", "--days", "40"],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "DEMO DATA" in out and "No real account, key or money is involved" in out
    status_block = out[out.index("Status at"):out.index("What is verified")]
    for account in ACCOUNTS:
        assert f"│ {account.name} {account.provider}" in status_block, account.name
    for label in ("verified", "estimated", "limit only"):
        assert f"│ {label}" in status_block
    assert "CNY" in status_block
    assert "What is verified and what is not" in out and "no spend API; tracked by the proxy" in out
    spend = out[out.index("Spend, last 30 days"):out.index("Reconciliation")]
    for provider in ("openai", "anthropic", "xai", "openrouter", "deepseek", "groq"):
        assert f"│ {provider}" in spend, provider
    leak_day = datetime.now(UTC).date() - timedelta(days=12)  # the demo subprocess runs on the real clock
    reconciliation = out[out.index("Reconciliation"):out.index("What to look for")]
    assert "1 of" in reconciliation and f"│ openai  │ {leak_day}" in reconciliation
    assert "ready" in result.stderr  # the progress went to stderr
    for key in DEMO_KEYS:
        assert key not in out and key not in result.stderr


def test_days_out_of_range_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["demo", "--no-serve", "--days", "5"])
    assert result.exit_code == 2 and "--days" in result.output


def test_a_busy_port_is_refused_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(app, ["demo", "--port", str(port), "--keep", str(tmp_path / "kept")])
    assert result.exit_code == 1 and f"port {port}" in result.output and "--port" in result.output
    assert not (tmp_path / "kept").exists()


def test_the_default_port_taken_means_another_free_port() -> None:
    from creditgauge.cli.demo import DEFAULT_PORT, HOST, dashboard_port
    from creditgauge.ports import port_is_free

    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            holder.bind((HOST, DEFAULT_PORT))
            holder.listen()
        except OSError:
            pass  # something else holds it already: the same situation
        chosen = dashboard_port(None)
        assert chosen != DEFAULT_PORT and port_is_free(HOST, chosen)


# ---- build_demo ----------------------------------------------------------------------------------------------


def test_every_account_syncs_and_shows_its_kind(demo: DemoHandle) -> None:
    assert demo.sync_report.status == "ok", [r.as_dict() for r in demo.sync_report.failures]
    report = status(demo.config, demo.engine, now=demo.now)
    kinds = {(row.account, row.currency): row.balance.kind for row in report.rows}
    assert {account for account, _ in kinds} == set(KINDS)
    for (account, _currency), kind in kinds.items():
        assert kind == KINDS[account], account
    assert ("deepseek", "CNY") in kinds and ("moonshot", "CNY") in kinds


def test_reconciliation_flags_the_leak_day_and_only_it(demo: DemoHandle) -> None:
    result = reconcile(demo.config, demo.engine, since=demo.scenario.first, now=demo.now)
    flagged = [(row.account, row.day) for row in result.flagged]
    assert flagged == [("openai", demo.scenario.leak.day)]
    leak = next(row for row in result.flagged)
    # The leaked key spent 5 x 6M input tokens at $2/M and 6M output at $8/M; everything else was tracked.
    assert abs(leak.difference - Decimal("108.00")) < Decimal("0.0001")
    others = [row for row in result.rows if row.day != demo.scenario.leak.day]
    assert len(others) >= 30
    assert all(abs(row.difference) < Decimal("0.01") for row in others), "tracked spend must match day by day"


def test_the_account_running_low_is_warning_or_critical_and_the_rest_healthy(demo: DemoHandle) -> None:
    states = {row.account: row.state for row in status(demo.config, demo.engine, now=demo.now).rows}
    assert states.pop(RUNNING_LOW) in ("warning", "critical")
    assert states.pop("moonshot") == "unknown"  # a balance, but no spend report and no tracking: runway unknown
    assert set(states.values()) == {"healthy"}, states


def test_the_launched_model_takes_over_in_reported_usage(demo: DemoHandle) -> None:
    from creditgauge.store.queries import usage

    launch = demo.scenario.launch
    rows = usage(demo.engine, since=day_start(demo.scenario.first), until=demo.now, by=["day", "model"],
                 accounts=["openai"])
    tokens = {(row["day"], row["model"]): row["input_tokens"] for row in rows}
    before = (launch.day - timedelta(days=1)).isoformat()
    ramped = launch.day + timedelta(days=launch.ramp_days - 1)
    assert ramped <= demo.now.date()
    after = ramped.isoformat()
    assert (before, launch.model) not in tokens
    new, old = tokens[(after, launch.model)], tokens[(after, launch.replaces)]
    assert new / (new + old) == pytest.approx(float(launch.share), abs=0.01)


def test_live_traffic_went_through_the_recording_proxy(demo: DemoHandle) -> None:
    from sqlalchemy import func, select

    from creditgauge.store import schema

    events = schema.usage_events
    with demo.engine.connect() as connection:
        live = connection.execute(select(func.count()).select_from(events).where(
            events.c.key_fingerprint == fingerprint(INFERENCE_KEY))).scalar_one()
        priced = connection.execute(select(func.count()).select_from(events).where(
            events.c.key_fingerprint == fingerprint(INFERENCE_KEY), events.c.cost.is_not(None))).scalar_one()
    assert demo.live_requests == 36 and live == 24 and priced == 24  # 24 OpenAI calls, priced by the overrides


def test_metrics_count_the_in_process_proxy(demo: DemoHandle) -> None:
    import openai
    from fastapi.testclient import TestClient

    from creditgauge.web import create_app
    from creditgauge.web.server import count_proxy_events

    app = create_app(demo.config, demo.engine, demo=True, scheduler=False)
    count_proxy_events(app, demo.recorder.observers)
    try:
        client = openai.OpenAI(base_url=f"{demo.proxy_url}/openai/v1", api_key=INFERENCE_KEY)
        client.chat.completions.create(model="gpt-4.1-mini-2025-04-14", messages=[{"role": "user", "content": "hi"}])
        client.close()
        metrics = TestClient(app, base_url="http://127.0.0.1").get("/metrics").text
    finally:
        demo.recorder.observers.clear()
    assert 'creditgauge_proxy_requests_total{account="openai",status="200"} 1.0' in metrics
    assert 'creditgauge_proxy_tokens_total{account="openai",kind="input"}' in metrics
    assert INFERENCE_KEY not in metrics


def test_no_demo_key_reaches_the_database_the_config_or_the_journal(demo: DemoHandle) -> None:
    database = Path(demo.database_url.removeprefix("sqlite:///"))
    with sqlite3.connect(database) as connection:
        dump = "\n".join(connection.iterdump())
    assert "usage_events" in dump and "cost_buckets" in dump
    files = [dump, demo.config_path.read_text()]
    files += [path.read_text(errors="replace") for path in demo.workdir.rglob("*.jsonl")]
    for text in files:
        for key in DEMO_KEYS:
            assert key not in text


def test_stop_takes_the_keys_out_of_the_environment_and_stops_the_fakes(tmp_path: Path) -> None:
    before = {account.key_env: os.environ.get(account.key_env) for account in ACCOUNTS}
    handle = build_demo(tmp_path, days=21)
    assert os.environ[ACCOUNTS[0].key_env] == ACCOUNTS[0].key
    url = handle.fake_urls["deepseek"]
    handle.stop()
    assert {account.key_env: os.environ.get(account.key_env) for account in ACCOUNTS} == before
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/user/balance", timeout=2)


# ---- FakeOpenAI's story lines --------------------------------------------------------------------------------

END = date(2026, 3, 18)
GPT5 = ModelPrice("completions", Decimal("1.25"), Decimal("0.125"), Decimal("10.00"))


def test_a_model_launch_takes_its_share_and_leaves_earlier_days_alone() -> None:
    launch = ModelLaunch("gpt-5-2025-08-07", GPT5, END - timedelta(days=9), "gpt-4.1-2025-04-14",
                         share=Decimal("0.6"), ramp_days=5)
    plain, launched = FakeOpenAI(days=30, end=END), FakeOpenAI(days=30, end=END, launch=launch)
    before = launch.day - timedelta(days=1)
    assert launched.cost_total(None, launch.day) == plain.cost_total(None, launch.day)
    assert not [r for r in launched.rows("completions", before) if r.dims["model"] == launch.model]

    def tokens(fake: FakeOpenAI, day: date, model: str) -> int:
        return sum(r.measures["input_tokens"] for r in fake.rows("completions", day) if r.dims["model"] == model)

    ramping, done = launch.day + timedelta(days=1), END
    assert tokens(launched, ramping, launch.model) / tokens(plain, ramping, launch.replaces) == pytest.approx(
        0.6 * 2 / 5, abs=0.001)
    assert tokens(launched, done, launch.model) / tokens(plain, done, launch.replaces) == pytest.approx(0.6, abs=0.001)
    assert any(r.dims["line_item"].startswith(launch.model) for r in launched.rows("costs", done))


def test_a_leaked_key_spends_on_its_day_only_and_is_listed_with_its_project() -> None:
    leak = KeyLeak(END - timedelta(days=4), "support-bot", "gpt-4.1-2025-04-14", 1_000_000, 250_000, 300)
    plain, leaky = FakeOpenAI(days=10, end=END), FakeOpenAI(days=10, end=END, leak=leak)
    key = leaky.leaked_key
    assert key is not None and key.name == "prototype-2024"
    assert leaky.cost_total(leak.day, END, api_key_id=key.id) == Decimal("2.00") + Decimal("2.00")
    assert leaky.cost_total() - plain.cost_total() == Decimal("4.00")
    project = next(p for p in leaky.projects if p.name == "support-bot")
    with leaky:
        body = httpx.get(f"{leaky.url}/v1/organization/projects/{project.id}/api_keys",
                         headers={"authorization": "Bearer sk-admin-test"}).json()
    listed = {item["id"]: item for item in body["data"]}
    assert key.id in listed and listed[key.id]["last_used_at"] == int(datetime(
        leak.day.year, leak.day.month, leak.day.day, tzinfo=UTC).timestamp())


def test_without_tools_every_cost_is_a_model_token_line() -> None:
    fake = FakeOpenAI(days=3, end=END, tools=False)
    assert all(not fake.rows(kind, END) for kind in ("images", "audio_speeches", "vector_stores",
                                                     "web_search_calls"))
    models = tuple(DEFAULT_MODELS)
    assert all(r.dims["line_item"].startswith(models) for r in fake.rows("costs", END))


def test_story_options_are_checked() -> None:
    with pytest.raises(ValueError, match="ModelLaunch"):
        FakeOpenAI(launch=ModelLaunch("gpt-4.1-2025-04-14", GPT5, END, "gpt-4.1-2025-04-14"))
    with pytest.raises(ValueError, match="project"):
        FakeOpenAI(leak=KeyLeak(END, "no-such-project", "gpt-4.1-2025-04-14", 1, 1, 1))
