"""AnthropicConnector against FakeAnthropic, through the real sync engine, stored on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from creditgauge.config import Config, parse_config
from creditgauge.connectors.anthropic import AnthropicConnector
from creditgauge.domain import CostBucket, EndpointUnavailable, Fact, ItemProblem, UsageBucket, Window, day_start
from creditgauge.errors import AuthError
from creditgauge.fakes.anthropic import FakeAnthropic
from creditgauge.http import RetryPolicy
from creditgauge.store import schema
from creditgauge.sync import SyncReport, run_sync
from support import assert_found_nowhere, rows, run_task

ADMIN_KEY = "sk-ant-admin01-test-4f9a8b7c6d5e4f3a2b1c"
DAYS = 40
REPORT_PAGES = -(-DAYS // 31)  # 1d buckets come 31 to a page
END = date(2026, 8, 15)  # the fake's history is [END - DAYS, END); "now" is the afternoon of its last day
NOW = datetime(2026, 8, 14, 15, 30, tzinfo=UTC)
SINCE = END - timedelta(days=DAYS)
WINDOW = Window.days(SINCE, END)
SOURCES = {"messages_usage", "cost_report", "claude_code", "workspaces", "api_keys"}
Sync = Callable[..., SyncReport]


@pytest.fixture
def fake() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(days=DAYS, end=END, seed=3, admin_keys={ADMIN_KEY}) as server:
        yield server


def config_for(fake: FakeAnthropic) -> Config:
    return parse_config({"accounts": {"claude": {"provider": "anthropic", "key_env": "ANTHROPIC_ADMIN_KEY",
                                                 "base_url": fake.url}}}, None)


@pytest.fixture
def sync(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Sync:
    """The real sync engine over one Anthropic account bound to the fake, backfilling the fake's whole history."""

    def run(fake: FakeAnthropic, key: str = ADMIN_KEY) -> SyncReport:
        monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", key)
        return run_sync(config_for(fake), engine, since=SINCE, now=NOW)

    return run


def fetch(fake: FakeAnthropic, source: str, key: str = ADMIN_KEY) -> list[Fact]:
    """One task of the connector called directly, to see the exception it raises."""
    connector = AnthropicConnector.build(config_for(fake).account("claude"), key,
                                         retry=RetryPolicy(base_delay=0.01))

    return run_task(connector, source, WINDOW)


def header(fake: FakeAnthropic, name: str) -> str:
    return {key.lower(): value for key, value in fake.requests[0].headers.items()}[name]



def total(engine: Engine, column: Any, source: str) -> Any:
    with engine.connect() as connection:
        return connection.execute(select(func.sum(column)).where(column.table.c.source == source)).scalar_one()


def usage_items(fake: FakeAnthropic) -> list[dict[str, Any]]:
    return [item for items in fake.usage.values() for item in items]


def test_costs_are_exact_dollars_from_cent_strings(engine: Engine, fake: FakeAnthropic, sync: Sync) -> None:
    first_day = fake.costs[SINCE]
    first_day[0]["amount"] = Decimal("123.78912")  # fractional cents
    first_day[1]["amount"] = Decimal("0.1")
    first_day[2]["amount"] = Decimal("1500")

    report = sync(fake)

    assert report.status == "ok", report.as_dict()
    assert total(engine, schema.cost_buckets.c.amount, "cost_report") == fake.cost_total(SINCE, END)
    stored = {(r["line_item"], r["model"], r["service_tier"], r["workspace"]): r
              for r in rows(engine, schema.cost_buckets, "cost_report") if r["start_time"] == day_start(SINCE)}
    for item, dollars in zip(first_day[:3], ("1.2378912", "0.001", "15"), strict=True):
        row = stored[(item["description"], item["model"], item["service_tier"], item["workspace_id"])]
        assert row["amount"] == Decimal(dollars) and row["currency"] == "USD"
        assert row["extra"]["token_type"] == item["token_type"] and row["extra"]["cost_type"] == item["cost_type"]
    sent = next(r for r in fake.requests if r.path.endswith("/cost_report"))
    assert ("group_by[]", "workspace_id") in sent.query and ("group_by[]", "description") in sent.query
    assert dict(sent.query)["limit"] == "31" and fake.count("/cost_report") == REPORT_PAGES


def test_usage_counts_every_input_token_and_no_requests(engine: Engine, fake: FakeAnthropic, sync: Sync) -> None:
    sync(fake)

    items = usage_items(fake)
    stored = rows(engine, schema.usage_buckets, "messages_usage")
    assert len(stored) == len(items) and {r["kind"] for r in stored} == {"messages"}
    writes = sum(i["cache_creation"]["ephemeral_5m_input_tokens"] + i["cache_creation"]["ephemeral_1h_input_tokens"]
                 for i in items)
    reads = sum(i["cache_read_input_tokens"] for i in items)
    assert sum(r["input_tokens"] for r in stored) == sum(i["uncached_input_tokens"] for i in items) + reads + writes
    assert sum(r["cached_input_tokens"] for r in stored) == reads
    assert sum(r["cache_write_tokens"] for r in stored) == writes
    assert sum(r["output_tokens"] for r in stored) == sum(i["output_tokens"] for i in items)
    assert sum(r["requests"] for r in stored) == 0  # the report has no request counts
    searches = sum(i["server_tool_use"]["web_search_requests"] for i in items)
    assert sum(r["extra"]["web_search_requests"] for r in stored) == searches
    console = [r for r in stored if r["api_key"] is None and r["workspace"] is None]
    assert console and {r["model"] for r in console} == {"claude-sonnet-4-5-20250929"}
    assert header(fake, "x-api-key") == ADMIN_KEY and header(fake, "anthropic-version") == "2023-06-01"


def test_many_small_pages_add_up_to_the_fakes_totals(engine: Engine, sync: Sync) -> None:
    with FakeAnthropic(days=DAYS, end=END, seed=5, admin_keys={ADMIN_KEY}, page_size_cap=2) as fake:
        report = sync(fake)
        pages = {path: fake.count(path) for path in ("messages", "cost_report", "workspaces", "api_keys")}

    assert report.status == "ok", report.as_dict()
    assert pages == {"messages": DAYS // 2, "cost_report": DAYS // 2, "workspaces": 2, "api_keys": 3}
    assert total(engine, schema.cost_buckets.c.amount, "cost_report") == fake.cost_total(SINCE, END)
    assert total(engine, schema.usage_buckets.c.output_tokens, "messages_usage") == sum(
        i["output_tokens"] for i in usage_items(fake))
    records = [r for day in fake.claude_code.values() for r in day]
    assert total(engine, schema.usage_buckets.c.output_tokens, "claude_code") == sum(
        m["tokens"]["output"] for r in records for m in r["model_breakdown"])
    assert len(rows(engine, schema.entity_names)) == 3 + 5


def test_claude_code_estimates_stay_out_of_costs(engine: Engine, fake: FakeAnthropic, sync: Sync) -> None:
    sync(fake)

    stored = rows(engine, schema.usage_buckets, "claude_code")
    assert stored and {r["kind"] for r in stored} == {"claude_code"}
    assert rows(engine, schema.cost_buckets, "claude_code") == []
    entries = [m for day in fake.claude_code.values() for r in day for m in r["model_breakdown"]]
    estimated = sum(Decimal(r["extra"]["estimated_cost"]["USD"]) for r in stored)
    assert estimated == sum(Decimal(m["estimated_cost"]["amount"]) for m in entries) / 100
    assert sum(r["input_tokens"] for r in stored) == sum(
        m["tokens"]["input"] + m["tokens"]["cache_read"] + m["tokens"]["cache_creation"] for m in entries)
    assert {r["extra"]["dim_actor"] for r in stored} <= {"user:dana@example.com", "user:lee@example.com",
                                                        "api_key:ci-bot"}
    assert fake.count("/claude_code") == DAYS  # one call per day


def test_workspace_and_key_names_are_stored(engine: Engine, fake: FakeAnthropic, sync: Sync) -> None:
    sync(fake)

    names = {(r["kind"], r["entity_id"]): r["name"] for r in rows(engine, schema.entity_names)}
    assert names[("workspace", "wrkspc_01Fz9Lk2QwE4rTy6UiOp1AsD")] == "old-prototype"  # archived, still named
    assert names[("api_key", "apikey_01Rj2N8SVvo6BePZj99NhmiT")] == "prod-backend"
    assert len(names) == len(fake.workspaces) + len(fake.api_keys)
    details = {r["entity_id"]: r["details"] for r in rows(engine, schema.entity_names) if r["kind"] == "api_key"}
    assert details["apikey_01Rj2N8SVvo6BePZj99NhmiT"]["redacted"] == "sk-ant-api03-R2D...igAA"
    assert all(d["status"] and d["created_at"] for d in details.values())


def test_a_revised_day_replaces_what_was_stored(engine: Engine, fake: FakeAnthropic, sync: Sync) -> None:
    sync(fake)
    day = END - timedelta(days=2)
    fake.usage[day][0]["output_tokens"] += 1_000
    removed = fake.costs[day].pop()

    assert sync(fake).status == "ok"

    assert len(rows(engine, schema.usage_buckets, "messages_usage")) == len(usage_items(fake))
    assert total(engine, schema.usage_buckets.c.output_tokens, "messages_usage") == sum(
        i["output_tokens"] for i in usage_items(fake))
    assert total(engine, schema.cost_buckets.c.amount, "cost_report") == fake.cost_total(SINCE, END)
    assert removed["amount"] > 0


def test_a_standard_key_is_refused_with_the_admin_key_it_needs(fake: FakeAnthropic, sync: Sync) -> None:
    report = sync(fake, key="sk-ant-api03-standard-key-0123456789")

    assert {r.source for r in report.failures} == SOURCES
    for failure in report.failures:
        assert "HTTP 401" in (failure.error or "") and "invalid x-api-key" in (failure.error or "")
        assert "Admin API key" in (failure.error or "") and '"sk-ant-" then "admin01-"' in (failure.error or "")
        assert "the configured key is not one" in (failure.error or "")
    with pytest.raises(AuthError, match="Console > Settings > Admin keys"):
        fetch(fake, "cost_report", key="sk-ant-api03-standard-key-0123456789")


def test_rate_limited_twice_then_served(engine: Engine, fake: FakeAnthropic, sync: Sync) -> None:
    fake.rate_limit(times=2, retry_after=0, path="/cost_report")

    assert sync(fake).status == "ok"

    assert fake.count("/cost_report") == REPORT_PAGES + 2
    assert total(engine, schema.cost_buckets.c.amount, "cost_report") == fake.cost_total(SINCE, END)


def test_unknown_extra_fields_are_accepted(engine: Engine, fake: FakeAnthropic, sync: Sync) -> None:
    def add_fields(path: str, body: Any) -> Any:
        body["request_cost_hint"] = {"new": True}
        for bucket in body["data"]:
            if isinstance(bucket, dict) and "results" in bucket:
                bucket["bucket_id"] = "b_1"
                for item in bucket["results"]:
                    item.update(inference_geo="global", speed=None)
        return body

    fake.rewrite = add_fields

    assert sync(fake).status == "ok"
    assert total(engine, schema.cost_buckets.c.amount, "cost_report") == fake.cost_total(SINCE, END)


def facts_of(engine: Engine, source: str) -> list[tuple[Any, ...]]:
    """What a source stored, without the row ids and fetch times a re-sync renews."""
    cost, usage = schema.cost_buckets.c, schema.usage_buckets.c
    with engine.connect() as connection:
        costs = connection.execute(select(cost.start_time, cost.dims_key, cost.amount).where(cost.source == source))
        counts = connection.execute(select(usage.kind, usage.start_time, usage.dims_key, usage.input_tokens,
                                           usage.output_tokens).where(usage.source == source))
        return sorted(map(tuple, [*costs, *counts]), key=str)


@pytest.mark.parametrize(("source", "path", "field"), [
    ("cost_report", "/cost_report", "amount"),
    ("messages_usage", "/usage_report/messages", "uncached_input_tokens"),
    ("claude_code", "/claude_code", "model_breakdown"),
])
def test_one_item_missing_a_required_field_is_an_item_problem_and_the_rest_is_read(
    fake: FakeAnthropic, source: str, path: str, field: str
) -> None:
    def drop_field_on_the_last_page(request_path: str, body: Any) -> Any:
        if request_path.endswith(path) and not body["has_more"] and body["data"]:
            last = body["data"][-1]
            del (last["results"][-1] if "results" in last else last)[field]
        return body

    fake.rewrite = drop_field_on_the_last_page
    facts = fetch(fake, source)

    problems = [fact for fact in facts if isinstance(fact, ItemProblem)]
    assert problems and {p.field for p in problems} == {field}
    assert all(p.endpoint.startswith("/v1/organizations/") and p.endpoint.endswith(path) for p in problems)
    assert all(f"missing the required field '{field}'" in p.detail for p in problems)
    assert any(isinstance(fact, CostBucket | UsageBucket) for fact in facts)


@pytest.mark.parametrize(("source", "path"), [("cost_report", "/cost_report"), ("claude_code", "/claude_code")])
def test_an_answer_without_its_data_list_is_a_contract_error_and_stores_nothing(
    engine: Engine, fake: FakeAnthropic, sync: Sync, source: str, path: str
) -> None:
    sync(fake)
    before = facts_of(engine, source)
    fake.rewrite = lambda request_path, body: {**body, "data": {}} if request_path.endswith(path) else body

    report = sync(fake)

    assert {r.source for r in report.failures} == {source}
    assert "'data' should be a list" in (report.failures[0].error or "")
    assert before and facts_of(engine, source) == before


def test_malformed_json_is_a_contract_error_and_stores_nothing(
    engine: Engine, fake: FakeAnthropic, sync: Sync
) -> None:
    fake.fail(200, raw='{"data": [{"starting_at": "2026-', path="/cost_report")

    report = sync(fake)

    assert {r.source for r in report.failures} == {"cost_report"}
    assert "the response is not valid JSON" in (report.failures[0].error or "")
    assert rows(engine, schema.cost_buckets) == []


def test_the_key_is_found_nowhere(
    engine: Engine, fake: FakeAnthropic, sync: Sync, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    planted = "sk-ant-admin01-PLANTED-9d8c7b6a5f4e3d2c1b0a"
    fake.admin_keys = {planted}
    fake.rate_limit(times=1, retry_after=0, path="/workspaces")
    assert sync(fake, key=planted).status == "ok"
    fake.admin_keys = {ADMIN_KEY}
    failed = sync(fake, key=planted)
    with pytest.raises(AuthError) as caught:
        fetch(fake, "api_keys", key=planted)

    assert failed.status == "failed"
    assert header(fake, "x-api-key") == planted  # it was really used
    assert "retrying" in caplog.text
    dump = assert_found_nowhere(planted, engine, str(caught.value), str(failed.as_dict()), caplog.text)
    assert "prod-backend" in dump and "HTTP 401" in dump


NOT_FOUND = {"type": "error", "error": {"type": "not_found_error", "message": "Not found"}, "request_id": None}


def test_claude_code_not_offered_to_the_organization_is_not_available_and_the_sync_is_ok(
    engine: Engine, fake: FakeAnthropic, sync: Sync
) -> None:
    fake.fail(404, NOT_FOUND, path="/claude_code", times=1000)

    report = sync(fake)

    assert report.status == "ok", report.as_dict()
    assert rows(engine, schema.cost_buckets, "cost_report") and rows(engine, schema.usage_buckets, "claude_code") == []
    facts = fetch(fake, "claude_code")
    assert len(facts) == 1 and isinstance(facts[0], EndpointUnavailable)
    assert facts[0].endpoint == "GET /v1/organizations/usage_report/claude_code"
    assert "not available for this account" in facts[0].detail


def test_a_404_on_an_endpoint_the_account_needs_is_still_an_error(fake: FakeAnthropic, sync: Sync) -> None:
    fake.fail(404, NOT_FOUND, path="/cost_report", times=1000)

    report = sync(fake)

    assert {r.source for r in report.failures} == {"cost_report"}
    assert "HTTP 404" in (report.failures[0].error or "")
