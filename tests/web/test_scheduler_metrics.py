"""Scheduled sync (intervals, jitter, what a tick runs, alerts after it) and the Prometheus metrics."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from creditgauge.clock import FrozenClock
from creditgauge.config import parse_config
from creditgauge.domain import UsageEvent
from creditgauge.fakes.deepseek import FakeDeepSeek
from creditgauge.store import sync_log
from creditgauge.web import create_app
from creditgauge.web.metrics import Metrics
from creditgauge.web.scheduler import Scheduler, interval_for

from . import dataset

KEY = "sk-deepseek-scheduler-0000000000"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDeepSeek]:
    monkeypatch.setenv("DEEPSEEK_API_KEY", KEY)
    with FakeDeepSeek(keys={KEY}) as server:
        yield server


def deepseek_config(fake: FakeDeepSeek, **extra: object) -> object:
    return parse_config({"accounts": {"ds": {"provider": "deepseek", "key_env": "DEEPSEEK_API_KEY",
                                             "base_url": fake.url, **extra}}}, None)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_intervals_default_and_per_account(fake: FakeDeepSeek) -> None:
    config = deepseek_config(fake)
    assert interval_for(config, "ds", "balances") == timedelta(minutes=15)
    assert interval_for(config, "ds", "reports") == timedelta(hours=1)
    custom = deepseek_config(fake, balance_interval_minutes=5, report_interval_minutes=240)
    assert interval_for(custom, "ds", "balances") == timedelta(minutes=5)
    assert interval_for(custom, "ds", "reports") == timedelta(hours=4)


def test_ticks_follow_the_intervals_with_jitter(
    fake: FakeDeepSeek, sqlite_engine: Engine, frozen_clock: FrozenClock
) -> None:
    evaluated: list[str] = []

    async def after_sync() -> None:
        evaluated.append("alerts")

    scheduler = Scheduler(deepseek_config(fake), sqlite_engine, metrics=Metrics(), now=frozen_clock.now,
                          after_sync=after_sync, rng=random.Random(7))
    start = frozen_clock.now()
    assert all(start <= job.due <= start + timedelta(seconds=30) for job in scheduler.jobs)
    frozen_clock.advance(timedelta(seconds=31))
    asyncio.run(scheduler.tick())  # both due: one report sync (it reads balances too)
    runs = sync_log.recent_runs(sqlite_engine)
    assert [(r["trigger"], r["status"]) for r in runs] == [("schedule", "ok")]
    assert evaluated == ["alerts"]
    dues = {job.part: job.due - frozen_clock.now() for job in scheduler.jobs}
    assert timedelta(minutes=13.5) <= dues["balances"] <= timedelta(minutes=16.5)
    assert timedelta(minutes=54) <= dues["reports"] <= timedelta(minutes=66)
    frozen_clock.advance(dues["balances"])
    asyncio.run(scheduler.tick())  # only the balance tick: current-state tasks only, no report window
    latest = sync_log.recent_runs(sqlite_engine)[0]
    assert [(d["source"], d["since"]) for d in latest["detail"]] == [("balance", None)]
    assert scheduler.due_jobs() == []
    assert fake.count("/user/balance") == 2


def test_failing_sync_is_counted_and_does_not_stop_the_schedule(
    fake: FakeDeepSeek, sqlite_engine: Engine, frozen_clock: FrozenClock
) -> None:
    fake.fail(500, {"error": {"message": "down"}}, times=50)
    metrics = Metrics()
    config = parse_config({"accounts": {"ds": {"provider": "deepseek", "key_env": "DEEPSEEK_API_KEY",
                                               "base_url": fake.url}}, "sync": {"max_retries": 0}}, None)
    scheduler = Scheduler(config, sqlite_engine, metrics=metrics, now=frozen_clock.now, rng=random.Random(1))
    frozen_clock.advance(timedelta(minutes=1))
    asyncio.run(scheduler.tick())
    text = metrics.exposition().decode()
    values = samples(text)
    assert values[("creditgauge_sync_errors_total", (("account", "ds"), ("source", "balance")))] == 1.0
    assert values[("creditgauge_sync_runs_total", (("status", "failed"), ("trigger", "schedule")))] == 1.0
    assert all(job.due > frozen_clock.now() for job in scheduler.jobs)


def test_metrics_expose_the_status_figures(client: TestClient) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    values = samples(response.text)
    assert values[("creditgauge_balance", (("account", "xai-team"), ("currency", "USD"), ("kind", "verified")))] \
        == 123.45
    assert values[("creditgauge_balance", (("account", "deepseek"), ("currency", "CNY"), ("kind", "verified")))] \
        == 110.0
    status = {(row["account"], row["currency"]): row for row in client.get("/api/v1/status").json()["rows"]}
    openai = status[("openai-main", "USD")]
    assert values[("creditgauge_month_to_date_spend", (("account", "openai-main"), ("currency", "USD")))] \
        == float(Decimal(openai["month_to_date"]))
    assert values[("creditgauge_burn_per_day", (("account", "openai-main"), ("currency", "USD")))] \
        == float(Decimal(openai["burn"]["per_day"]))
    state = ("creditgauge_account_state", (("account", "openai-main"), ("currency", "USD"), ("state", openai["state"])))
    assert values[state] == 1.0
    assert sum(v for (name, labels), v in values.items()
               if name == "creditgauge_account_state" and ("account", "openai-main") in labels) == 1.0


def test_metrics_sync_health_and_proxy_counters(store: Engine, fake: FakeDeepSeek) -> None:
    app = create_app(deepseek_config(fake), store, scheduler=True)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        app.state.scheduler.jobs.clear()
        assert client.post("/api/v1/sync", json={}).json()["status"] == "ok"
        app.state.ctx.metrics.observe_event(UsageEvent(
            id="e1", account="ds", provider="deepseek", ts=dataset.NOW, model="deepseek-chat", endpoint="/chat",
            source="proxy", input_tokens=100, output_tokens=20, status_code=200, cost=Decimal("0.25")))
        app.state.ctx.metrics.observe_event(UsageEvent(
            id="e2", account="ds", provider="deepseek", ts=dataset.NOW, model="x", endpoint="/chat", source="proxy",
            status_code=429))
        values = samples(client.get("/metrics").text)
    assert values[("creditgauge_sync_last_success_timestamp_seconds", (("account", "ds"), ("source", "balance")))] \
        == dataset.NOW.timestamp()
    assert values[("creditgauge_sync_failing", (("account", "ds"), ("source", "balance")))] == 0.0
    assert values[("creditgauge_sync_runs_total", (("status", "ok"), ("trigger", "manual")))] == 1.0
    assert values[("creditgauge_proxy_requests_total", (("account", "ds"), ("status", "200")))] == 1.0
    assert values[("creditgauge_proxy_requests_total", (("account", "ds"), ("status", "429")))] == 1.0
    assert values[("creditgauge_proxy_tokens_total", (("account", "ds"), ("kind", "input")))] == 100.0
    assert values[("creditgauge_proxy_cost_total", (("account", "ds"), ("currency", "USD")))] == 0.25
    assert values[("creditgauge_proxy_unpriced_requests_total", (("account", "ds"),))] == 1.0


def test_alerts_are_evaluated_after_a_sync(sqlite_engine: Engine, fake: FakeDeepSeek) -> None:
    config = parse_config({
        "accounts": {"ds": {"provider": "deepseek", "key_env": "DEEPSEEK_API_KEY", "base_url": fake.url}},
        "alerts": {"rules": [{"name": "low balance", "kind": "balance_below", "account": "ds", "threshold": "50"}]},
    }, None)
    app = create_app(config, sqlite_engine, scheduler=True)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        app.state.scheduler.jobs.clear()
        assert client.post("/api/v1/sync", json={}).json()["status"] == "ok"
        alerts = client.get("/api/v1/alerts").json()
        page = client.get("/alerts").text
    fired = [event for event in alerts["history"] if event["event"] == "fired"]
    assert [event["rule"] for event in fired] == ["low balance"]
    assert any(state["state"] == "firing" for state in alerts["states"])
    assert fired[0]["message"] in page
