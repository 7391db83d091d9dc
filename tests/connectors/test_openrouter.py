"""OpenRouterConnector against FakeOpenRouter, through the real sync engine, stored on SQLite and PostgreSQL.

/activity serves the last 30 completed UTC days counted from the real today, so these tests use the real clock."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from creditgauge.config import Config, parse_config
from creditgauge.connectors.openrouter import OpenRouterConnector
from creditgauge.domain import CostBucket, Fact, Window, day_start
from creditgauge.errors import AuthError, ContractError
from creditgauge.fakes.openrouter import RESEARCH, WORKSPACE, FakeOpenRouter
from creditgauge.http import RetryPolicy
from creditgauge.store import schema
from creditgauge.store.facts import store_facts
from creditgauge.sync import SyncReport, run_sync
from support import database_dump, rows, run_task

MANAGEMENT_KEY = "sk-or-v1-management-test-5e4d3c2b1a09f8e7"
API_KEY = "sk-or-v1-ordinary-test-1a2b3c4d5e6f7a8b"
DAYS = 45
TODAY = datetime.now(UTC).date()
SINCE = TODAY - timedelta(days=DAYS)
WINDOW = Window.days(SINCE, TODAY + timedelta(days=1))
Sync = Callable[..., SyncReport]


@pytest.fixture
def fake() -> Iterator[FakeOpenRouter]:
    with FakeOpenRouter(days=DAYS, seed=6, management_keys={MANAGEMENT_KEY}, api_keys={API_KEY}) as server:
        yield server


def config_for(fake: FakeOpenRouter) -> Config:
    return parse_config({"accounts": {"router": {"provider": "openrouter", "key_env": "OPENROUTER_MANAGEMENT_KEY",
                                                 "base_url": f"{fake.url}/api/v1"}}}, None)


@pytest.fixture
def sync(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Sync:
    """The real sync engine over one OpenRouter account bound to the fake."""

    def run(fake: FakeOpenRouter, key: str = MANAGEMENT_KEY) -> SyncReport:
        monkeypatch.setenv("OPENROUTER_MANAGEMENT_KEY", key)
        return run_sync(config_for(fake), engine, since=SINCE)

    return run


def fetch(fake: FakeOpenRouter, source: str, key: str = MANAGEMENT_KEY) -> list[Fact]:
    """One task of the connector called directly, to see the exception it raises."""
    connector = OpenRouterConnector.build(config_for(fake).account("router"), key,
                                          retry=RetryPolicy(base_delay=0.01))

    return run_task(connector, source, WINDOW)



def total(engine: Engine, column: Any) -> Any:
    with engine.connect() as connection:
        return connection.execute(select(func.sum(column)).where(column.table.c.source == "activity")).scalar_one()


def served_rows(fake: FakeOpenRouter) -> list[dict[str, Any]]:
    return [row for day in fake.served_days() for row in fake.activity.get(day, [])]


def test_the_verified_balance_is_credits_minus_usage(engine: Engine, fake: FakeOpenRouter, sync: Sync) -> None:
    fake.total_credits, fake.usage_before_history = Decimal("150.0"), Decimal("0.1234567")

    report = sync(fake)

    assert report.status == "ok", report.as_dict()
    [balance] = rows(engine, schema.balance_snapshots, "credits")
    assert balance["amount"] == Decimal("150.0") - fake.total_usage() and balance["currency"] == "USD"
    assert balance["official"] is True and balance["details"]["total_usage"] == str(fake.total_usage())
    headers = {key.lower(): value for key, value in fake.requests[0].headers.items()}
    assert headers["authorization"] == f"Bearer {MANAGEMENT_KEY}"


def test_a_balance_can_be_zero_or_negative(engine: Engine, fake: FakeOpenRouter, sync: Sync) -> None:
    fake.total_credits = fake.total_usage()
    sync(fake)
    fake.total_credits = fake.total_usage() - Decimal("2.5")
    sync(fake)

    assert sorted(r["amount"] for r in rows(engine, schema.balance_snapshots)) == [Decimal("-2.5"), Decimal(0)]


def test_activity_is_one_call_per_completed_day_for_thirty_days(
    engine: Engine, fake: FakeOpenRouter, sync: Sync
) -> None:
    sync(fake)

    asked = [dict(r.query)["date"] for r in fake.requests if r.path.endswith("/activity")]
    assert asked == [day.isoformat() for day in fake.served_days()] and len(asked) == 30
    assert TODAY.isoformat() not in asked  # today is not complete yet
    served = served_rows(fake)
    assert total(engine, schema.cost_buckets.c.amount) == fake.spent(TODAY - timedelta(days=30), TODAY)
    usage = rows(engine, schema.usage_buckets, "activity")
    assert len(usage) == len(served) == len(rows(engine, schema.cost_buckets, "activity"))
    for name, field in (("input_tokens", "prompt_tokens"), ("output_tokens", "completion_tokens"),
                        ("reasoning_tokens", "reasoning_tokens"), ("requests", "requests")):
        assert sum(r[name] for r in usage) == sum(row[field] for row in served), name
    llama = {r["extra"]["dim_provider"] for r in usage if r["model"] == "meta-llama/llama-3.3-70b-instruct"}
    assert llama == {"DeepInfra", "Together"}  # one model, two providers: two rows each day


def test_older_days_survive_a_sync_and_revisions_replace(engine: Engine, fake: FakeOpenRouter, sync: Sync) -> None:
    old_day = day_start(TODAY - timedelta(days=40))  # stored back when /activity still served it
    store_facts(engine, account="router", source="activity", window=None, facts=[
        CostBucket(old_day, old_day + timedelta(days=1), Decimal("7.25"), "USD", model="openai/gpt-4.1-mini")])
    sync(fake)
    revised = fake.activity[fake.served_days()[-1]][0]
    revised["usage"] += Decimal("1.000001")

    assert sync(fake).status == "ok"

    costs = rows(engine, schema.cost_buckets, "activity")
    assert [r["amount"] for r in costs if r["start_time"] == old_day] == [Decimal("7.25")]
    assert total(engine, schema.cost_buckets.c.amount) == Decimal("7.25") + fake.spent(
        TODAY - timedelta(days=30), TODAY)
    assert len(costs) == len(served_rows(fake)) + 1


def test_an_ordinary_key_still_stores_its_limit(engine: Engine, fake: FakeOpenRouter, sync: Sync) -> None:
    report = sync(fake, key=API_KEY)

    assert {r.source for r in report.failures} == {"credits", "activity"}
    for failure in report.failures:
        assert "HTTP 403" in (failure.error or "") and "Only management keys" in (failure.error or "")
        assert "needs an OpenRouter management key" in (failure.error or "")
    [limit] = rows(engine, schema.limit_snapshots, "key")
    monthly = fake.spent(TODAY.replace(day=1), TODAY + timedelta(days=1))
    assert limit["name"] == "key_limit" and limit["amount"] == Decimal(500) and limit["currency"] == "USD"
    assert Decimal(limit["details"]["limit_remaining"]) == Decimal(500) - monthly
    assert Decimal(limit["details"]["usage_monthly"]) == monthly and limit["details"]["limit_reset"] == "monthly"
    with pytest.raises(AuthError, match="an ordinary key only reads its own limit"):
        fetch(fake, "credits", key=API_KEY)


def test_an_unlimited_key_has_no_limit_to_store(engine: Engine, fake: FakeOpenRouter, sync: Sync) -> None:
    fake.key_limit = None

    assert sync(fake).status == "ok"
    assert rows(engine, schema.limit_snapshots) == []


def test_an_unknown_key_is_refused_with_the_key_needed(fake: FakeOpenRouter, sync: Sync) -> None:
    report = sync(fake, key="sk-or-v1-revoked-0000000000000000")

    assert {r.source for r in report.failures} == {"credits", "key", "activity", "api_keys"}
    for failure in report.failures:
        assert "HTTP 401: User not found." in (failure.error or "")
        assert "OpenRouter refused the key" in (failure.error or "") and "management key" in (failure.error or "")


def test_rate_limited_twice_then_served(engine: Engine, fake: FakeOpenRouter, sync: Sync) -> None:
    fake.rate_limit(times=2, retry_after=0, path="/credits")

    assert sync(fake).status == "ok"

    assert fake.count("/credits") == 3
    assert len(rows(engine, schema.balance_snapshots)) == 1


def test_unknown_extra_fields_are_accepted(engine: Engine, fake: FakeOpenRouter, sync: Sync) -> None:
    def add_fields(path: str, body: Any) -> Any:
        body["meta"] = {"region": "global"}
        items = body["data"] if isinstance(body["data"], list) else [body["data"]]
        for item in items:
            item.update(workspace_id="ws_1", upstream_cost=None)
        return body

    fake.rewrite = add_fields

    assert sync(fake).status == "ok"
    assert total(engine, schema.cost_buckets.c.amount) == fake.spent(TODAY - timedelta(days=30), TODAY)


@pytest.mark.parametrize(("source", "path", "field"), [("credits", "/credits", "total_usage")])
def test_a_missing_required_field_is_a_contract_error_and_stores_nothing(
    engine: Engine, fake: FakeOpenRouter, sync: Sync, source: str, path: str, field: str
) -> None:
    sync(fake)
    tables = (schema.cost_buckets, schema.usage_buckets, schema.balance_snapshots, schema.limit_snapshots)
    before = {table.name: sorted(str(r["amount"] if "amount" in r else r["input_tokens"])
                                 for r in rows(engine, table, source)) for table in tables}

    def drop_field(request_path: str, body: Any) -> Any:
        if request_path.endswith(path) and body["data"]:
            (body["data"][-1] if isinstance(body["data"], list) else body["data"]).pop(field)
        return body

    fake.rewrite = drop_field
    report = sync(fake)

    assert {r.source for r in report.failures} == {source}
    assert f"missing the required field '{field}'" in (report.failures[0].error or "")
    assert {table.name: sorted(str(r["amount"] if "amount" in r else r["input_tokens"])
                               for r in rows(engine, table, source)) for table in tables} == before
    with pytest.raises(ContractError, match=f"openrouter {path}"):
        fetch(fake, source)


def test_malformed_json_is_a_contract_error_and_stores_nothing(
    engine: Engine, fake: FakeOpenRouter, sync: Sync
) -> None:
    fake.fail(200, raw='{"data": {"total_credits": 150.0, "total_usage": ', path="/credits")

    report = sync(fake)

    assert {r.source for r in report.failures} == {"credits"}
    assert "the response is not valid JSON" in (report.failures[0].error or "")
    assert rows(engine, schema.balance_snapshots) == []


def test_the_key_is_found_nowhere(
    engine: Engine, fake: FakeOpenRouter, sync: Sync, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    planted = "sk-or-v1-PLANTED-8b7a6f5e4d3c2b1a0f9e"
    fake.management_keys = {planted}
    fake.rate_limit(times=1, retry_after=0, path="/key")
    assert sync(fake, key=planted).status == "ok"
    fake.management_keys, fake.api_keys = {MANAGEMENT_KEY}, {planted}
    partial = sync(fake, key=planted)
    fake.api_keys = set()
    failed = sync(fake, key=planted)
    with pytest.raises(AuthError) as caught:
        fetch(fake, "key", key=planted)

    assert partial.status == "partial" and failed.status == "failed"
    assert planted not in str(caught.value) + str(partial.as_dict()) + str(failed.as_dict())
    assert "retrying" in caplog.text and planted not in caplog.text
    dump = database_dump(engine)
    assert "total_credits" in dump and "HTTP 401" in dump and "HTTP 403" in dump
    assert planted not in dump


def test_activity_dates_sent_as_date_times_are_read_as_their_days(engine: Engine, fake: FakeOpenRouter,
                                                                  sync: Sync) -> None:
    fake.datetime_dates = True

    report = sync(fake)

    assert report.status == "ok", report.as_dict()
    assert total(engine, schema.cost_buckets.c.amount) == fake.spent(TODAY - timedelta(days=30), TODAY)
    days = {row["start_time"].date() for row in rows(engine, schema.cost_buckets, "activity")}
    assert days == {day for day in fake.served_days() if fake.activity.get(day)}


def test_the_older_key_shape_gives_the_limit(engine: Engine, fake: FakeOpenRouter, sync: Sync) -> None:
    fake.older_key_shape = True

    report = sync(fake, key=API_KEY)

    assert {r.source for r in report.results if r.ok} >= {"key"}
    (limit,) = rows(engine, schema.limit_snapshots, "key")
    assert limit["amount"] == Decimal(500)
    assert "usage_daily" not in limit["details"] and limit["details"]["limit_reset"] is None  # unknown, not 0


# The key list: GET /keys?offset=&include_disabled= -> {data: [{hash, name, label, disabled, usage..., created_at,
# creator_user_id, workspace_id, expires_at}]} [SPEC] OpenRouterTeam/typescript-sdk @ cb9393a (2026-08-22)
# .speakeasy/in.openapi.yaml; [DOC] openrouter.ai/docs/api/api-reference/api-keys/list, read 2026-12-06.


def key_details(engine: Engine) -> dict[str, tuple[str, dict[str, Any]]]:
    return {r["entity_id"]: (r["name"], r["details"]) for r in rows(engine, schema.entity_names)
            if r["kind"] == "api_key"}


def test_the_keys_are_stored_by_name_disabled_ones_too(engine: Engine, fake: FakeOpenRouter, sync: Sync) -> None:
    assert sync(fake).status == "ok"

    stored = key_details(engine)
    assert {key["hash"]: key["name"] for key in fake.listed_keys} == {h: name for h, (name, _) in stored.items()}
    mine = fake.listed_keys[0]
    assert stored[mine["hash"]][1] == {
        "redacted": f"{API_KEY[:12]}...{API_KEY[-4:]}", "owner": mine["creator_user_id"],
        "workspace": mine["workspace_id"], "created_at": datetime.fromisoformat(mine["created_at"]).isoformat(),
        "last_used_at": None, "status": "active"}
    statuses = {name: details["status"] for name, details in stored.values()}
    assert (statuses["old-laptop"], statuses["trial-week"]) == ("disabled", "expired")
    assert all(("include_disabled", "true") in r.query for r in fake.requests if r.path.endswith("/keys"))


def test_per_key_usage_is_not_stored_as_spend(engine: Engine, fake: FakeOpenRouter, sync: Sync) -> None:
    """A key's `usage` is a running total with no days: the daily spend stays /activity's alone."""
    sync(fake)

    assert rows(engine, schema.cost_buckets, "api_keys") == []
    assert total(engine, schema.cost_buckets.c.amount) == fake.spent(TODAY - timedelta(days=30), TODAY)


def test_the_key_list_is_read_page_by_page(engine: Engine, fake: FakeOpenRouter, sync: Sync) -> None:
    created = datetime(2026, 1, 5, tzinfo=UTC)
    fake.listed_keys += [fake.listed_key(f"sk-or-v1-fake-bulk-{n:04d}-0000000000000000", f"bulk-{n}",
                                         created=created) for n in range(250)]

    assert sync(fake).status == "ok"

    asked = [dict(r.query) for r in fake.requests if r.path.endswith("/keys")]
    default = [query["offset"] for query in asked if query["workspace_id"] == WORKSPACE]
    in_default = sum(key["workspace_id"] == WORKSPACE for key in fake.listed_keys)
    assert default == ["0", "100", "200", str(in_default)]  # the last page is the empty one
    assert len(key_details(engine)) == len(fake.listed_keys)


def test_every_workspace_is_asked_for_its_keys(engine: Engine, fake: FakeOpenRouter, sync: Sync) -> None:
    assert sync(fake).status == "ok"

    workspaces = {r["entity_id"]: r["name"] for r in rows(engine, schema.entity_names) if r["kind"] == "workspace"}
    assert workspaces == {RESEARCH: "research", WORKSPACE: "Default Workspace"}
    by_name = {name: details for name, details in key_details(engine).values()}
    assert by_name["research-notebook"]["workspace"] == RESEARCH and by_name["my-app"]["workspace"] == WORKSPACE


def test_a_server_without_workspaces_lists_the_default_workspace(
    engine: Engine, fake: FakeOpenRouter, sync: Sync
) -> None:
    fake.fail(404, fake.error_body(404, "Not Found"), path="/api/v1/workspaces")

    assert sync(fake).status == "ok"

    names = {name for name, _ in key_details(engine).values()}
    assert "my-app" in names and "research-notebook" not in names
    assert [dict(r.query).get("workspace_id") for r in fake.requests if r.path.endswith("/keys")] == [None, None]


def test_an_ordinary_key_has_no_key_list_to_read(engine: Engine, fake: FakeOpenRouter, sync: Sync) -> None:
    report = sync(fake, key=API_KEY)

    [result] = [r for r in report.results if r.source == "api_keys"]
    assert result.ok and "not available for this account" in (result.note or "")
    assert "management key" in (result.note or "") and key_details(engine) == {}


def test_a_server_without_the_key_list_is_not_a_failure(engine: Engine, fake: FakeOpenRouter, sync: Sync) -> None:
    fake.fail(404, fake.error_body(404, "Not Found"), path="/api/v1/keys")

    report = sync(fake)

    assert report.status == "ok", report.as_dict()
    [result] = [r for r in report.results if r.source == "api_keys"]
    assert "not available for this account" in (result.note or "")


def test_a_label_that_is_not_a_redacted_key_is_not_kept_as_one(
    engine: Engine, fake: FakeOpenRouter, sync: Sync
) -> None:
    fake.listed_keys[0]["label"] = "Production API Key"
    fake.listed_keys[1]["label"] = API_KEY  # a whole key where the label goes must never be stored
    del fake.listed_keys[1]["name"]

    assert sync(fake).status == "ok"

    stored = key_details(engine)
    assert stored[fake.listed_keys[0]["hash"]][1]["redacted"] is None
    assert stored[fake.listed_keys[1]["hash"]][0] == fake.listed_keys[1]["hash"]
    assert API_KEY not in database_dump(engine)


def test_the_listed_keys_are_found_nowhere(engine: Engine, fake: FakeOpenRouter, sync: Sync) -> None:
    listed = "sk-or-v1-PLANTED-listed-4d3c2b1a0f9e8d7c"
    fake.listed_keys = [fake.listed_key(listed, "planted-app", created=datetime(2026, 1, 5, tzinfo=UTC))]

    report = sync(fake)

    assert report.status == "ok"
    dump = database_dump(engine)
    assert "planted-app" in dump and f"{listed[:12]}...{listed[-4:]}" in dump
    assert listed not in dump + str(report.as_dict()) and listed[12:-4] not in dump
