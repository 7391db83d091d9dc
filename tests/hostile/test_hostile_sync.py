"""One provider gone bad never stops the world (issue 12). Four accounts sync at once: `victim` (OpenAI) answers one
endpoint with a hostile case, `twin` (the same OpenAI data, well behaved) and two DeepSeek accounts do not. Each
case asserts: every other account and endpoint stored, the victim's other endpoints stored exactly as the twin's,
the bad item or task recorded and visible in the report and the run, the run's status honest, bounded time (and
memory or bytes read for the big answers), and no planted key in any log, error, report or stored row."""

from __future__ import annotations

import json
import logging
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hostile_server import (
    Hostile,
    altered,
    deep_json,
    drip,
    endless_cursor,
    gzip_bomb,
    hostile,
    huge_page,
    looping_cursor,
    retry_after_storm,
)
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, func, select, text

from creditgauge.clock import FrozenClock, use_clock
from creditgauge.config import Config, parse_config
from creditgauge.fakes.deepseek import FakeDeepSeek
from creditgauge.fakes.openai import FakeOpenAI
from creditgauge.store import schema, sync_log
from creditgauge.sync import SyncReport, TaskResult, run_sync
from creditgauge.web.app import create_app
from support import database_dump

KEYS = {
    "VICTIM_KEY": "sk-admin-PLANTEDhostileVictim00000001",
    "TWIN_KEY": "sk-admin-PLANTEDhostileTwin000000002",
    "DS_A_KEY": "sk-PLANTEDhostileDeepSeekA00003",
    "DS_B_KEY": "sk-PLANTEDhostileDeepSeekB00004",
}
VICTIM_KEY = KEYS["VICTIM_KEY"]
TODAY = date(2026, 8, 20)
NOW = datetime(2026, 8, 20, 15, 30, tzinfo=UTC)
COSTS, COMPLETIONS, SPEND_LIMIT = "/organization/costs", "/organization/usage/completions", "/spend_limit"
MIB = 1024 * 1024
HostileOpenAI = hostile(FakeOpenAI)


@dataclass
class World:
    victim: Any  # a HostileOpenAI
    twin: FakeOpenAI
    deepseek: FakeDeepSeek

    def config(self, **limits: Any) -> Config:
        openai = {"provider": "openai"}
        return parse_config({
            "accounts": {
                "victim": {**openai, "key_env": "VICTIM_KEY", "base_url": self.victim.url},
                "twin": {**openai, "key_env": "TWIN_KEY", "base_url": self.twin.url},
                "ds-a": {"provider": "deepseek", "key_env": "DS_A_KEY", "base_url": self.deepseek.url},
                "ds-b": {"provider": "deepseek", "key_env": "DS_B_KEY", "base_url": self.deepseek.url},
            },
            "sync": {"backfill_days": 3, "max_retries": 2, **limits},
        }, None)

    def sync(self, engine: Engine, **limits: Any) -> tuple[SyncReport, float]:
        started = time.monotonic()
        report = run_sync(self.config(**limits), engine, now=NOW)
        return report, time.monotonic() - started


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> Iterator[World]:
    caplog.set_level(logging.DEBUG)
    for name, key in KEYS.items():
        monkeypatch.setenv(name, key)
    with HostileOpenAI(days=10, end=TODAY) as victim, FakeOpenAI(days=10, end=TODAY) as twin, \
            FakeDeepSeek() as deepseek:
        yield World(victim, twin, deepseek)


def row_counts(engine: Engine, account: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    with engine.connect() as connection:
        for table in (schema.cost_buckets, schema.usage_buckets, schema.limit_snapshots, schema.balance_snapshots):
            query = (select(table.c.source, func.count()).where(table.c.account == account)
                     .group_by(table.c.source))
            counts.update({source: n for source, n in connection.execute(query)})
    return counts


def assert_world_stood(report: SyncReport, engine: Engine, caplog: pytest.LogCaptureFixture,
                       hostile_source: str) -> TaskResult:
    """Everything but the hostile endpoint stored and clean, the run honest, no key anywhere. Returns the hostile
    endpoint's result."""
    results = {(r.account, r.source): r for r in report.results}
    for (account, source), result in results.items():
        if (account, source) != ("victim", hostile_source):
            assert result.ok and not result.problems, result
    victim, twin = row_counts(engine, "victim"), row_counts(engine, "twin")
    assert twin["costs"] > 0 and twin["usage.completions"] > 0
    assert {s: n for s, n in victim.items() if s != hostile_source} == \
        {s: n for s, n in twin.items() if s != hostile_source}
    assert row_counts(engine, "ds-a")["balance"] > 0 and row_counts(engine, "ds-b")["balance"] > 0

    bad = results[("victim", hostile_source)]
    assert report.status == "partial"
    with engine.connect() as connection:
        run = connection.execute(select(schema.sync_runs)).one()
    assert run.status == "partial"
    recorded = {(r["account"], r["source"]): r for r in run.detail}[("victim", hostile_source)]
    assert recorded["ok"] is bad.ok and recorded["item_problems"] == len(bad.problems)

    report_text = json.dumps(report.as_dict(), default=str)
    dump = database_dump(engine)
    for key in KEYS.values():
        assert key not in caplog.text and key not in report_text and key not in dump
    return bad


# ---- one bad item: the item is refused and recorded, the rest of its endpoint stored -----------------------------


def _first_bucket(body: dict[str, Any]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = body["data"][0]["results"]
    return results


def add_cost(*values: Any) -> Callable[[Any], None]:
    def change(body: Any) -> None:
        # each with its own quantity: the connector keeps a result sent twice once, and these are two results
        _first_bucket(body).extend({"object": "organization.costs.result",
                                    "amount": {"value": value, "currency": "usd"}, "quantity": index,
                                    "line_item": "hostile", "project_id": "proj_hostile"}
                                   for index, value in enumerate(values))
    return change


def add_usage(**fields: Any) -> Callable[[Any], None]:
    def change(body: Any) -> None:
        _first_bucket(body).append({"object": "organization.usage.completions.result", "input_tokens": 1,
                                    "output_tokens": 1, "num_model_requests": 1, "model": "hostile-model",
                                    "project_id": None, "api_key_id": None, "batch": False,
                                    "service_tier": "default", **fields})
    return change


def add_bucket_at(start: int) -> Callable[[Any], None]:
    def change(body: Any) -> None:
        body["data"].append({"object": "bucket", "start_time": start, "end_time": start + 86400,
                             "results": list(_first_bucket(body))})
    return change


ITEM_CASES = {
    "cost of 1e12": (COSTS, "costs", add_cost(Decimal("1e12")), "amount", "beyond the limit of 1000000000"),
    "cost of 1e400": (COSTS, "costs", add_cost(Decimal("1E+400")), "amount", "beyond the limit of 1000000000"),
    "cost of Infinity": (COSTS, "costs", add_cost(float("inf")), "amount", "not a finite number"),
    "cost of NaN": (COSTS, "costs", add_cost(float("nan")), "amount", "not a finite number"),
    "negative cost": (COSTS, "costs", add_cost(Decimal("-5.00")), "amount", "negative"),
    "costs summing beyond range": (COSTS, "costs", add_cost(Decimal("9e8"), Decimal("9e8")), "amount", "sum to"),
    "1e30 tokens": (COMPLETIONS, "usage.completions", add_usage(input_tokens=10**30), "input_tokens",
                    "is outside 0..1000000000000"),
    "2^63 tokens": (COMPLETIONS, "usage.completions", add_usage(output_tokens=2**63), "output_tokens",
                    "is outside 0..1000000000000"),
    "negative tokens": (COMPLETIONS, "usage.completions", add_usage(input_tokens=-7), "input_tokens",
                        "-7 is outside 0.."),
    "bucket in 2200": (COSTS, "costs", add_bucket_at(7258118400), "start", "is outside 2000..2199"),
    "NUL and a key in a model": (COMPLETIONS, "usage.completions", add_usage(model=f"gpt-{VICTIM_KEY}\x00"),
                                 "model", "NUL"),
    "lone surrogate in a model": (COMPLETIONS, "usage.completions", add_usage(model="gpt-\ud800"), "model",
                                  "lone surrogate"),
    "100 kB dimension": (COMPLETIONS, "usage.completions", add_usage(batch="b" * 100_000), "extra",
                         "more than the 16384 allowed"),
    "5000-character model": (COMPLETIONS, "usage.completions", add_usage(model="m" * 5000 + VICTIM_KEY), "model",
                             "more than the 200 allowed"),
    "limit of 1e400": (SPEND_LIMIT, "spend_limit",
                       lambda body: body.update(threshold_amount=Decimal("1E+400")), "amount",
                       "beyond the limit of 1000000000"),
}
REPLACING_CASES = {"limit of 1e400"}  # the others add a bad item to good ones; this one replaces the only item


@pytest.mark.parametrize("case", list(ITEM_CASES))
def test_one_bad_item_is_recorded_and_everything_else_stored(
    case: str, world: World, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    path, source, change, field, detail = ITEM_CASES[case]
    world.victim.answers[path] = altered(change)
    report, seconds = world.sync(engine)

    bad = assert_world_stood(report, engine, caplog, source)
    assert bad.ok and bad.problems, bad
    assert {p.field for p in bad.problems} == {field}
    assert all(detail in p.detail for p in bad.problems), bad.problems
    assert seconds < 30
    # the good items of that very endpoint are stored: as many rows as the twin has (less the one replaced)
    replaced = 1 if case in REPLACING_CASES else 0
    assert row_counts(engine, "victim").get(source, 0) == row_counts(engine, "twin").get(source, 0) - replaced
    # kept as the source's current problems, and counted in its state (what /metrics shows)
    kept = [p for p in sync_log.current_problems(engine) if (p["account"], p["source"]) == ("victim", source)]
    assert [(p["field"], p["detail"]) for p in kept] == [(p.field, p.detail) for p in bad.problems]
    state = {(s["account"], s["source"]): s for s in sync_log.sync_states(engine)}[("victim", source)]
    assert state["item_problems"] == len(bad.problems) and state["last_error"] is None


def test_a_balance_of_1e400_in_one_currency_keeps_the_others(
    world: World, engine: Engine, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another connector, another shape: DeepSeek's balance per currency, one of them absurd."""
    monkeypatch.setenv("DS_HOSTILE_KEY", "sk-PLANTEDhostileDeepSeekC00005")

    def absurd_cny(body: Any) -> None:
        body["balance_infos"][0].update(total_balance="1e400", topped_up_balance="1e400")

    with hostile(FakeDeepSeek)() as deepseek:
        deepseek.answers["/user/balance"] = altered(absurd_cny)
        config = parse_config({"accounts": {
            "ds-hostile": {"provider": "deepseek", "key_env": "DS_HOSTILE_KEY", "base_url": deepseek.url},
            "ds-a": {"provider": "deepseek", "key_env": "DS_A_KEY", "base_url": world.deepseek.url},
        }}, None)
        report = run_sync(config, engine, now=NOW)
    results = {r.account: r for r in report.results}
    assert report.status == "partial" and results["ds-a"].ok and not results["ds-a"].problems
    bad = results["ds-hostile"]
    assert bad.ok and bad.counts["balances"] == 1
    assert [(p.field, p.detail) for p in bad.problems] == [
        ("amount", "1E+400 is beyond the limit of 1000000000 in absolute value")]
    with engine.connect() as connection:
        stored = connection.execute(select(schema.balance_snapshots.c.currency)
                                    .where(schema.balance_snapshots.c.account == "ds-hostile")).scalars().all()
    assert stored == ["USD"]
    assert "sk-PLANTEDhostileDeepSeekC00005" not in caplog.text + database_dump(engine)


def test_an_unrepresentable_time_fails_at_most_its_endpoint(
    world: World, sqlite_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """A bucket starting 10^20 s after 1970 is beyond any datetime: the connector cannot build the bucket. Either
    the item or its endpoint is refused, visibly, and nothing else is touched."""
    world.victim.answers[COSTS] = altered(add_bucket_at(10**20))
    report, _ = world.sync(sqlite_engine)
    bad = assert_world_stood(report, sqlite_engine, caplog, "costs")
    assert bad.problems if bad.ok else bad.error


# ---- one bad endpoint: it fails alone, within its bounds ---------------------------------------------------------


def test_json_nested_beyond_the_parser_is_a_contract_error_of_that_endpoint(
    world: World, sqlite_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    world.victim.answers[COSTS] = deep_json()
    report, seconds = world.sync(sqlite_engine)
    bad = assert_world_stood(report, sqlite_engine, caplog, "costs")
    assert not bad.ok and "nested too deeply" in (bad.error or "")
    assert "costs" not in row_counts(sqlite_engine, "victim") and seconds < 30


def test_an_endless_cursor_stops_at_the_page_bound(
    world: World, sqlite_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    world.victim.answers[COSTS] = endless_cursor()
    report, seconds = world.sync(sqlite_engine, max_pages_per_task=25)
    bad = assert_world_stood(report, sqlite_engine, caplog, "costs")
    assert not bad.ok and "stopped after 25 pages (sync.max_pages_per_task)" in (bad.error or "")
    assert world.victim.count(COSTS) == 25 and seconds < 30
    states = {(s["account"], s["source"]): s for s in sync_log.sync_states(sqlite_engine)}
    assert states[("victim", "costs")]["failing_since"] is not None


def test_a_looping_cursor_ends_pagination(world: World, sqlite_engine: Engine) -> None:
    world.victim.answers[COSTS] = looping_cursor()
    report, _ = world.sync(sqlite_engine)
    assert report.status == "ok"
    assert world.victim.count(COSTS) == 3  # first page, a, b; then a again: stop


def test_a_dripping_answer_is_cut_at_the_response_deadline(
    world: World, sqlite_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    world.victim.answers[COSTS] = drip(0.05)  # each read comes quickly: httpx's per-read timeout never fires
    report, seconds = world.sync(sqlite_engine, response_seconds=2)  # every good answer comes well within 2 s
    bad = assert_world_stood(report, sqlite_engine, caplog, "costs")
    assert not bad.ok and "took longer than 2s in all (sync.response_seconds)" in (bad.error or "")
    assert world.victim.count(COSTS) == 1  # a deadline overrun is not retried
    assert seconds < 15


def test_a_whole_task_stops_at_its_deadline(
    world: World, sqlite_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    world.victim.answers[COSTS] = drip(0.05)
    report, seconds = world.sync(sqlite_engine, task_seconds=5)  # the others take well under 5 s, even on a busy CI
    bad = assert_world_stood(report, sqlite_engine, caplog, "costs")
    assert not bad.ok and "stopped after 5s (sync.task_seconds)" in (bad.error or "")
    assert seconds < 20


def test_a_retry_after_storm_is_cut_at_the_task_retry_budget(
    world: World, sqlite_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    world.victim.answers[COSTS] = retry_after_storm("0.5")
    report, seconds = world.sync(sqlite_engine, max_retries=20, max_retry_seconds=60, task_retry_seconds=2)
    bad = assert_world_stood(report, sqlite_engine, caplog, "costs")
    assert not bad.ok and "HTTP 429" in (bad.error or "") and "sync.task_retry_seconds = 2" in (bad.error or "")
    assert world.victim.count(COSTS) == 5  # four waits of 0.5 s fill the budget of 2 s
    assert bad.as_dict()["retry_wait_seconds"] == 2.0 and seconds < 15


@pytest.mark.parametrize("answer", [huge_page(200 * MIB), gzip_bomb(256 * MIB)], ids=["200 MB page", "gzip bomb"])
def test_a_huge_answer_is_refused_after_reading_at_most_the_response_bound(
    answer: Hostile, world: World, sqlite_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    world.victim.answers[COSTS] = answer
    tracemalloc.start()
    try:
        report, seconds = world.sync(sqlite_engine, max_response_bytes=MIB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    bad = assert_world_stood(report, sqlite_engine, caplog, "costs")
    assert not bad.ok and "larger than 1,048,576 bytes" in (bad.error or "")
    assert bad.as_dict()["bytes"] <= 2 * MIB  # the bound, plus at most one decoded chunk past it
    assert peak < 64 * MIB, f"peak {peak / MIB:.0f} MiB"
    assert seconds < 30


# ---- the server: "sync now" and /metrics --------------------------------------------------------------------------


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_sync_now_answers_the_hostile_world_in_json_and_metrics_show_it(
    world: World, sqlite_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    world.victim.answers[COSTS] = altered(add_cost(Decimal("1e12")))
    world.victim.answers[COMPLETIONS] = deep_json()
    app = create_app(world.config(), sqlite_engine, scheduler=True)
    with use_clock(FrozenClock(NOW)), TestClient(app, base_url="http://127.0.0.1") as client:
        app.state.scheduler.jobs.clear()
        response = client.post("/api/v1/sync", json={})
        metrics = samples(client.get("/metrics").text)
        runs = client.get("/api/v1/sync/runs").json()
        page = client.get("/sync").text
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "partial" and body["failed_tasks"] == 1 and body["item_problems"] == 1
    results = {(r["account"], r["source"]): r for r in body["results"]}
    assert results[("victim", "costs")]["problems"][0]["field"] == "amount"
    assert "nested too deeply" in results[("victim", "usage.completions")]["error"]
    assert runs["runs"][0]["status"] == "partial"
    assert [(p["account"], p["source"], p["field"]) for p in runs["problems"]] == [("victim", "costs", "amount")]
    assert "Items not stored" in page and "1E+12 is beyond the limit" in page and "1 not stored" in page
    victim = (("account", "victim"),)
    assert metrics[("creditgauge_sync_item_problems", (*victim, ("source", "costs")))] == 1.0
    assert metrics[("creditgauge_sync_failing", (*victim, ("source", "usage.completions")))] == 1.0
    assert metrics[("creditgauge_sync_failing", (*victim, ("source", "costs")))] == 0.0
    assert metrics[("creditgauge_sync_runs_total", (("status", "partial"), ("trigger", "manual")))] == 1.0
    for key in KEYS.values():
        assert key not in response.text and key not in caplog.text and key not in page


def test_sync_now_answers_json_when_the_run_breaks_off(world: World, sqlite_engine: Engine) -> None:
    with sqlite_engine.begin() as connection:
        connection.execute(text("DROP TABLE sync_runs"))  # the database fails under the run
    app = create_app(world.config(), sqlite_engine, scheduler=True)
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as client:
        app.state.scheduler.jobs.clear()
        response = client.post("/api/v1/sync", json={})
    assert response.status_code == 503 and response.headers["content-type"].startswith("application/json")
    assert response.json()["error"].startswith("the sync broke off, the database failed: unexpected OperationalError")
