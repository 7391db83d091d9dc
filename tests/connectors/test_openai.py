"""OpenAIConnector against FakeOpenAI, through the sync engine, stored on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select

from creditgauge.config import Config, parse_config
from creditgauge.connectors.openai import ADMIN_KEYS_URL, USAGE_TYPES, OpenAIConnector
from creditgauge.domain import CostBucket, ItemProblem, LimitSnapshot, UsageBucket, Window
from creditgauge.errors import AuthError, ContractError, ProviderError
from creditgauge.fakes.openai import DEFAULT_MODELS, ENDPOINTS, FakeOpenAI
from creditgauge.http import RetryPolicy
from creditgauge.store import schema
from creditgauge.sync import SyncReport, run_sync
from support import database_dump, run_task

ADMIN = "sk-admin-test-0123456789abcdef"
TODAY = date(2026, 8, 20)
NOW = datetime(2026, 8, 20, 15, 30, tzinfo=UTC)
EXAMPLES = Path(__file__).resolve().parents[1] / "contracts" / "openai"
WINDOW = Window.days(TODAY - timedelta(days=2), TODAY + timedelta(days=1))


def example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / f"{name}.json").read_text())


@pytest.fixture(autouse=True)
def _admin_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_ADMIN_KEY", ADMIN)


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(days=30, end=TODAY) as server:
        yield server


def config_for(fake: FakeOpenAI, *, base_url: str | None = None, **sync: Any) -> Config:
    return parse_config({"accounts": {"oa": {"provider": "openai", "key_env": "OPENAI_ADMIN_KEY",
                                             "base_url": base_url or fake.url}},
                         "sync": {"max_retries": 2, **sync}}, None)


def sync(engine: Engine, fake: FakeOpenAI, *, since: date | None = None, now: datetime = NOW,
         sleeps: list[float] | None = None, **options: Any) -> SyncReport:
    """The real sync engine against the fake; waits between retries are recorded, not slept."""

    async def no_sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)

    return run_sync(config_for(fake, **options), engine, since=since, now=now,
                    client_options={"sleep": no_sleep})


def connector_for(fake: FakeOpenAI, key: str = ADMIN, sleeps: list[float] | None = None) -> OpenAIConnector:
    async def no_sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)

    connector = OpenAIConnector.build(config_for(fake).account("oa"), key, retry=RetryPolicy(base_delay=0.01),
                                      sleep=no_sleep)
    assert isinstance(connector, OpenAIConnector)
    return connector


def fetch(connector: OpenAIConnector, source: str, window: Window = WINDOW) -> list[Any]:
    return run_task(connector, source, window)


def rows(engine: Engine, table: Any, **where: Any) -> list[Any]:
    with engine.connect() as connection:
        query = select(table).where(*(getattr(table.c, k) == v for k, v in where.items()))
        return list(connection.execute(query))


def stored_costs(engine: Engine) -> Decimal:
    return sum((r.amount for r in rows(engine, schema.cost_buckets, source="costs")), Decimal(0))


def results_by_source(report: SyncReport) -> dict[str, Any]:
    return {r.source: r for r in report.results}


# ---- figures -----------------------------------------------------------------------------------------------------


def test_120_days_over_many_small_pages_sum_exactly_to_the_fakes_totals(engine: Engine) -> None:
    models = {name: DEFAULT_MODELS[name] for name in ("gpt-4.1-2025-04-14", "o4-mini-2025-04-16",
                                                      "text-embedding-3-small")}
    with FakeOpenAI(days=120, end=TODAY, page_cap=7, projects=("checkout-assistant", "old-experiments"),
                    models=models) as fake:
        report = sync(engine, fake, since=TODAY - timedelta(days=119))
        assert report.status == "ok", report.as_dict()

        assert fake.count("/organization/costs") == 18  # 121 daily buckets, 7 a page
        assert stored_costs(engine) == fake.cost_total()  # exact, to the last digit
        per_project: dict[str, Decimal] = defaultdict(Decimal)
        for row in rows(engine, schema.cost_buckets, source="costs"):
            per_project[row.project] += row.amount
        assert per_project == {p.id: fake.cost_total(project_id=p.id) for p in fake.projects}

        usage = rows(engine, schema.usage_buckets)
        def total(kind: str, column: str) -> int:
            return sum(getattr(r, column) for r in usage if r.kind == kind)
        assert total("completions", "input_tokens") == fake.usage_total("completions", "input_tokens")
        assert total("completions", "cached_input_tokens") == fake.usage_total("completions", "input_cached_tokens")
        assert total("completions", "cache_write_tokens") == fake.usage_total("completions",
                                                                            "input_cache_write_tokens")
        assert total("completions", "output_tokens") == fake.usage_total("completions", "output_tokens")
        assert total("completions", "requests") == fake.usage_total("completions", "num_model_requests")
        assert total("embeddings", "input_tokens") == fake.usage_total("embeddings", "input_tokens")
        assert total("images", "images") == fake.usage_total("images", "images")
        assert total("audio_speeches", "characters") == fake.usage_total("audio_speeches", "characters")
        assert total("audio_transcriptions", "seconds") == fake.usage_total("audio_transcriptions", "seconds")
        assert total("file_search_calls", "requests") == fake.usage_total("file_search_calls", "num_requests")
        assert total("web_search_calls", "requests") == fake.usage_total("web_search_calls", "num_model_requests")
        assert sum(r.extra["usage_bytes"] for r in usage if r.kind == "vector_stores") == \
            fake.usage_total("vector_stores", "usage_bytes")
        assert sum(r.extra["num_sessions"] for r in usage if r.kind == "code_interpreter_sessions") == \
            fake.usage_total("code_interpreter_sessions", "num_sessions")


def test_requests_carry_the_documented_query(fake: FakeOpenAI) -> None:
    fetch(connector_for(fake), "costs")
    fetch(connector_for(fake), "usage.completions")
    costs, completions = (next(r for r in fake.requests if r.path.endswith(p)) for p in ("/costs", "/completions"))
    assert costs.headers["Authorization"] == f"Bearer {ADMIN}"
    assert costs.query == [("start_time", str(int(WINDOW.start.timestamp()))),
                           ("end_time", str(int(WINDOW.end.timestamp()))), ("bucket_width", "1d"),
                           ("limit", "180"), ("group_by[]", "project_id"), ("group_by[]", "line_item"),
                           ("group_by[]", "api_key_id")]
    assert ("limit", "31") in completions.query
    assert [v for k, v in completions.query if k == "group_by[]"] == [
        "model", "project_id", "api_key_id", "batch", "service_tier"]


def test_grouped_and_ungrouped_reports_give_the_same_totals(fake: FakeOpenAI) -> None:
    start = int(datetime(2026, 7, 22, tzinfo=UTC).timestamp())

    def total(group_by: list[str], encoding: str) -> Decimal:
        params = [("start_time", start), ("limit", 31), *((encoding, g) for g in group_by)]
        body = json.loads(httpx.get(f"{fake.url}/v1/organization/costs", params=params,
                                    headers={"authorization": f"Bearer {ADMIN}"}).text, parse_float=Decimal)
        return sum((Decimal(r["amount"]["value"]) for b in body["data"] for r in b["results"]), Decimal(0))

    expected = fake.cost_total(date(2026, 7, 22), date(2026, 8, 22))
    assert expected > 0
    for group_by in ([], ["project_id"], ["line_item"], ["api_key_id"], ["project_id", "line_item", "api_key_id"]):
        for encoding in ("group_by[]", "group_by"):
            assert total(group_by, encoding) == expected, (group_by, encoding)


def test_amounts_sent_as_decimal_strings_store_the_same_figures(engine: Engine) -> None:
    with FakeOpenAI(days=10, end=TODAY, amounts_as_strings=True) as fake:
        first = fetch(connector_for(fake), "costs", Window.days(TODAY - timedelta(days=9), TODAY))
        assert '"value":"' in httpx.get(f"{fake.url}/v1/organization/costs?start_time={int(WINDOW.start.timestamp())}",
                                       headers={"authorization": f"Bearer {ADMIN}"}).text
    with FakeOpenAI(days=10, end=TODAY) as fake:
        second = fetch(connector_for(fake), "costs", Window.days(TODAY - timedelta(days=9), TODAY))
    assert first == second and first
    assert sum((f.amount for f in first), Decimal(0)) == fake.cost_total(end=TODAY)


def test_the_contract_examples_map_field_by_field(fake: FakeOpenAI) -> None:
    fake.fail(200, example("openai_costs") | {"has_more": False, "next_page": None})
    costs = fetch(connector_for(fake), "costs")
    assert costs[0] == CostBucket(
        start=datetime(2026, 8, 1, tzinfo=UTC), end=datetime(2026, 8, 2, tzinfo=UTC), amount=Decimal("2.5"),
        currency="USD", project="proj_7Hq2mVb1xKp0RzLd", line_item="gpt-4.1-2025-04-14, input",
        model="gpt-4.1-2025-04-14", quantity=Decimal(1250000), quantity_unit="tokens")
    assert sum((c.amount for c in costs), Decimal(0)) == Decimal("5.1684")

    fake.fail(200, example("openai_costs_value_as_string"))
    (live,) = fetch(connector_for(fake), "costs")
    assert live.amount == Decimal("4.5800000000000000") and live.quantity is None

    fake.fail(200, example("openai_usage_completions") | {"has_more": False})
    first = fetch(connector_for(fake), "usage.completions")[2]
    assert (first.input_tokens, first.cached_input_tokens, first.cache_write_tokens, first.output_tokens,
            first.requests, first.model) == (618400, 402000, 14400, 58120, 512, "gpt-4.1-2025-04-14")
    assert first.extra["input_uncached_tokens"] == 202000

    fake.fail(200, example("openai_usage_web_search_calls"))
    (search, *_) = fetch(connector_for(fake), "usage.web_search_calls")
    assert search.requests == example("openai_usage_web_search_calls")["data"][0]["results"][0][
        "num_model_requests"]
    assert "num_requests" in search.extra and "dim_context_level" in search.extra


def test_old_field_names_and_missing_breakdowns_are_tolerated(fake: FakeOpenAI) -> None:
    old = example("openai_usage_code_interpreter_sessions")
    bucket = old["data"][0]
    bucket["result"] = [{"object": "organization.usage.code_interpreter_sessions.result", "sessions": 14,
                         "project_id": "proj_a"}]
    del bucket["results"]
    fake.fail(200, old)
    (sessions,) = fetch(connector_for(fake), "usage.code_interpreter_sessions")
    assert sessions.extra == {"num_sessions": 14} and sessions.project == "proj_a"

    minimal = {"object": "organization.usage.completions.result", "input_tokens": 10, "output_tokens": 2,
               "num_model_requests": 1, "model": "gpt-x", "batch": True}
    fake.fail(200, {"object": "page", "has_more": False, "next_page": None, "data": [
        {"object": "bucket", "start_time": 1785542400, "end_time": 1785628800, "results": [minimal]}]})
    (usage,) = fetch(connector_for(fake), "usage.completions")
    assert usage == UsageBucket(start=datetime(2026, 8, 1, tzinfo=UTC), end=datetime(2026, 8, 2, tzinfo=UTC),
                                kind="completions", model="gpt-x", input_tokens=10, output_tokens=2, requests=1,
                                extra={"dim_batch": True})


def test_batch_and_non_batch_rows_stay_apart(engine: Engine, fake: FakeOpenAI) -> None:
    """`batch` has no column: it is part of the natural key through extra['dim_batch'], so nothing is merged."""
    sync(engine, fake, since=TODAY - timedelta(days=9))
    stored = rows(engine, schema.usage_buckets, kind="completions")
    assert {r.extra.get("dim_batch") for r in stored} == {True, False}
    assert sum(r.input_tokens for r in stored) == fake.usage_total("completions", "input_tokens",
                                                                  TODAY - timedelta(days=9))


# ---- names and limits --------------------------------------------------------------------------------------------


def test_project_and_key_names_include_archived_projects(engine: Engine, fake: FakeOpenAI) -> None:
    report = sync(engine, fake, since=TODAY)
    assert results_by_source(report)["names"].ok
    names = {(r.kind, r.entity_id): r.name for r in rows(engine, schema.entity_names)}
    for project in fake.projects:
        assert names[("project", project.id)] == project.name
        for key in project.keys:
            assert names[("api_key", key.id)] == key.name
    assert any(p.archived for p in fake.projects)
    keys_requests = [r for r in fake.requests if r.path.endswith("/api_keys")]
    assert all(("owner_project_access", "any") in r.query for r in keys_requests)


def test_key_details_and_costs_per_key_are_stored(engine: Engine, fake: FakeOpenAI) -> None:
    """What `creditgauge keys` shows: each key's redacted value as listed, owner, project, created and last used,
    and the costs report's spend per key (grouped by api_key_id)."""
    sync(engine, fake, since=TODAY - timedelta(days=2))
    details = {r.entity_id: r.details for r in rows(engine, schema.entity_names) if r.kind == "api_key"}
    project = fake.projects[0]
    key = project.keys[0]
    found = details[key.id]
    assert found["redacted"] == f"sk-proj-****{key.id[-4:]}" and found["project"] == project.id
    assert found["owner"] and found["created_at"].endswith("+00:00") and found["last_used_at"]
    costs = rows(engine, schema.cost_buckets)
    assert {r.api_key for r in costs} >= {k.id for p in fake.projects for k in p.keys if not p.archived} - {None}


def test_the_spend_limit_is_read_in_dollars_and_its_absence_is_not_an_error(engine: Engine,
                                                                             fake: FakeOpenAI) -> None:
    (limit,) = fetch(connector_for(fake), "spend_limit")
    assert isinstance(limit, LimitSnapshot)
    assert (limit.name, limit.amount, limit.currency, limit.official) == ("spend_limit", Decimal(500), "USD", True)
    assert limit.details == {"interval": "month", "enforcement": "enforcing"}

    fake.spend_limit_cents = None
    report = sync(engine, fake, since=TODAY)
    assert results_by_source(report)["spend_limit"].ok
    assert rows(engine, schema.limit_snapshots) == []


def test_a_base_url_ending_in_v1_is_accepted(engine: Engine, fake: FakeOpenAI) -> None:
    report = sync(engine, fake, since=TODAY, base_url=f"{fake.url}/v1/")
    assert report.status == "ok"
    assert all(not r.path.startswith("/v1/v1") for r in fake.requests)


# ---- failures ----------------------------------------------------------------------------------------------------


def test_a_project_key_is_told_it_needs_an_admin_key(fake: FakeOpenAI) -> None:
    with pytest.raises(AuthError) as caught:
        fetch(connector_for(fake, key="sk-proj-ordinaryKey0123456789"), "costs")
    message = str(caught.value)
    assert "HTTP 403" in message and "Missing scopes: api.usage.read" in message
    assert "not an admin key" in message and "sk-admin-" in message and ADMIN_KEYS_URL in message
    assert "the environment variable OPENAI_ADMIN_KEY" in message and "\n" not in message


def test_an_unknown_admin_key_is_a_401(fake: FakeOpenAI) -> None:
    fake.keys = {ADMIN}
    with pytest.raises(AuthError) as caught:
        fetch(connector_for(fake, key="sk-admin-revokedKey000000001"), "usage.embeddings")
    message = str(caught.value)
    assert "HTTP 401" in message and "Incorrect API key provided" in message
    assert "the key was refused" in message and ADMIN_KEYS_URL in message
    assert fake.count() == 1  # an auth failure is never retried


def test_rate_limited_then_served_honours_retry_after(fake: FakeOpenAI) -> None:
    fake.rate_limit(times=2, retry_after=2, path="/organization/costs")
    sleeps: list[float] = []
    costs = fetch(connector_for(fake, sleeps=sleeps), "costs")
    assert sleeps == [2.0, 2.0]
    assert fake.count("/organization/costs") == 3
    assert sum((c.amount for c in costs), Decimal(0)) == fake.cost_total(WINDOW.start.date(), WINDOW.end.date())


def test_a_5xx_storm_fails_clearly_and_keeps_what_was_stored(engine: Engine, fake: FakeOpenAI) -> None:
    sync(engine, fake, since=TODAY - timedelta(days=6))
    before = stored_costs(engine)
    assert before == fake.cost_total(TODAY - timedelta(days=6))

    fake.fail(503, {"error": {"message": "The server is overloaded.", "type": "server_error", "param": None,
                              "code": None}}, times=50, path="/organization/costs")
    sleeps: list[float] = []
    report = sync(engine, fake, since=TODAY - timedelta(days=6), sleeps=sleeps)

    failure = results_by_source(report)["costs"]
    assert not failure.ok
    assert failure.error == "openai GET /v1/organization/costs -> HTTP 503: The server is overloaded."
    assert len(sleeps) == 2 and fake.count("/organization/costs") == 1 + 3
    assert all(r.ok for r in report.results if r.source != "costs")
    assert stored_costs(engine) == before


def test_a_repeated_cursor_stops_pagination_without_duplicates(fake: FakeOpenAI) -> None:
    page = example("openai_costs")
    page["next_page"] = "page_loop"
    fake.fail(200, page, times=5, path="/organization/costs")
    costs = fetch(connector_for(fake), "costs")
    assert fake.count("/organization/costs") == 2  # the first page, then the cursor once; seen again: stop
    assert len(costs) == 5  # both answers carried the same buckets: kept once


def test_malformed_json_is_a_contract_error_and_stores_nothing(engine: Engine, fake: FakeOpenAI) -> None:
    fake.fail(200, raw='{"object": "page", "data": [', path="/organization/costs")
    report = sync(engine, fake, since=TODAY - timedelta(days=2))
    failure = results_by_source(report)["costs"]
    assert not failure.ok and "not valid JSON" in (failure.error or "")
    assert rows(engine, schema.cost_buckets) == []
    with pytest.raises(ContractError):
        fake.fail(200, raw="<html>502 Bad Gateway</html>")
        fetch(connector_for(fake), "costs")


@pytest.mark.parametrize(("source", "broken", "message"), [
    ("usage.completions", "input_tokens", "missing the required count 'input_tokens'"),
    ("costs", "amount", "missing the required field 'amount'"),
    ("costs", "start_time", "missing the required field 'start_time'"),
    ("costs", "results", "missing the required field 'results'"),
])
def test_an_item_missing_a_required_field_is_an_item_problem_and_the_other_buckets_are_read(
    fake: FakeOpenAI, source: str, broken: str, message: str
) -> None:
    name = "openai_usage_completions" if source.startswith("usage") else "openai_costs"
    body = example(name) | {"has_more": False, "next_page": None}
    bucket = body["data"][0]
    broken_day = datetime.fromtimestamp(bucket["start_time"], UTC)
    later = bucket["start_time"] + 40 * 86400
    body["data"].append(example(name)["data"][0] | {"start_time": later, "end_time": later + 86400})
    for result in bucket["results"]:
        result.pop(broken, None)
    bucket.pop(broken, None)
    fake.fail(200, body, path=ENDPOINTS[source.removeprefix("usage.")].path)

    facts = fetch(connector_for(fake), source)

    problems = [fact for fact in facts if isinstance(fact, ItemProblem)]
    assert problems and all(p.field == broken and message in p.detail for p in problems)
    assert {p.endpoint for p in problems} == {f"GET {ENDPOINTS[source.removeprefix('usage.')].path}"}
    readable = [fact for fact in facts if not isinstance(fact, ItemProblem)]
    assert readable and broken_day not in {fact.start for fact in readable}  # the other buckets are read


def test_an_answer_without_its_data_list_fails_the_task_and_keeps_what_was_stored(
    engine: Engine, fake: FakeOpenAI
) -> None:
    sync(engine, fake, since=TODAY - timedelta(days=2))
    before = sorted((r.start_time, r.dims_key) for r in rows(engine, schema.cost_buckets, source="costs"))
    fake.fail(200, {"object": "page", "has_more": False, "next_page": None}, path="/organization/costs")

    report = sync(engine, fake, since=TODAY - timedelta(days=2))

    failure = results_by_source(report)["costs"]
    assert not failure.ok and "missing the required field 'data'" in (failure.error or "")
    assert before and sorted((r.start_time, r.dims_key) for r in rows(engine, schema.cost_buckets,
                                                                      source="costs")) == before


def test_unknown_extra_fields_are_accepted(fake: FakeOpenAI) -> None:
    body = example("openai_costs") | {"has_more": False, "next_page": None, "region": "us"}
    body["data"][0]["results"][0] |= {"invoice_id": "in_1", "amount": {"value": 2.5, "currency": "usd",
                                                                        "tax": 0.1}}
    body["data"][0]["granularity"] = "day"
    fake.fail(200, body)
    costs = fetch(connector_for(fake), "costs")
    assert costs[0].amount == Decimal("2.5") and len(costs) == 5


def test_a_revision_of_yesterday_and_today_replaces_without_double_counting(engine: Engine,
                                                                            fake: FakeOpenAI) -> None:
    since = TODAY - timedelta(days=9)
    first = sync(engine, fake, since=since)
    assert first.status == "ok"
    count = len(rows(engine, schema.cost_buckets, source="costs"))
    assert stored_costs(engine) == fake.cost_total(since)

    fake.revise(TODAY - timedelta(days=1), "1.37")
    fake.revise(TODAY, "0.5")
    later = sync(engine, fake, now=NOW + timedelta(hours=2))  # incremental: re-reads the late window only
    window = results_by_source(later)["costs"].window
    assert window.start.date() <= TODAY - timedelta(days=1)
    assert window.start.date() > since

    assert stored_costs(engine) == fake.cost_total(since)
    assert len(rows(engine, schema.cost_buckets, source="costs")) <= count
    with engine.connect() as connection:
        duplicates = connection.execute(
            select(func.count()).select_from(schema.cost_buckets).group_by(
                schema.cost_buckets.c.start_time, schema.cost_buckets.c.dims_key).having(func.count() > 1)).all()
    assert duplicates == []
    usage = rows(engine, schema.usage_buckets, kind="completions")
    assert sum(r.input_tokens for r in usage) == fake.usage_total("completions", "input_tokens", since)


def test_the_admin_key_is_found_nowhere(engine: Engine, fake: FakeOpenAI, caplog: pytest.LogCaptureFixture,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level(logging.DEBUG)
    planted = "sk-admin-PLANTEDopenaiKey7c41e09b5a"
    monkeypatch.setenv("OPENAI_ADMIN_KEY", planted)
    ok = sync(engine, fake, since=TODAY - timedelta(days=3))
    # A server that echoes the whole key in its error (some proxies do), and a retried 5xx that logs.
    fake.fail(401, {"error": {"message": f"Incorrect API key provided: {planted}", "type": "invalid_request_error",
                              "param": None, "code": "invalid_api_key"}}, path="/organization/costs")
    fake.fail(500, {"error": {"message": f"upstream said {planted}", "type": "server_error", "param": None,
                              "code": None}}, times=10, path="/usage/images")
    failed = sync(engine, fake, since=TODAY - timedelta(days=3))
    errors = [r.error or "" for report in (ok, failed) for r in report.results]
    assert sum(bool(e) for e in errors) == 2

    with pytest.raises(ProviderError) as caught:
        fake.fail(403, {"error": {"message": planted}})
        fetch(connector_for(fake, key=planted), "costs")

    assert planted not in caplog.text
    assert all(planted not in e for e in [*errors, str(caught.value)])
    assert "[redacted]" in " ".join(errors)
    dump = database_dump(engine)
    assert planted not in dump and planted[10:30] not in dump


def test_every_usage_type_has_a_task_and_declares_what_the_contract_allows() -> None:
    assert [t.name for t in USAGE_TYPES] == [n for n in ENDPOINTS if n != "costs"]
    for kind in USAGE_TYPES:
        assert set(kind.group_by) <= set(ENDPOINTS[kind.name].dimensions)


@pytest.mark.parametrize(("line_item", "model"), [
    ("gpt-4o-2024-08-06, input", "gpt-4o-2024-08-06"),
    ("gpt-4.1-2025-04-14, cached input", "gpt-4.1-2025-04-14"),
    ("text-embedding-3-small", "text-embedding-3-small"),
    ("Text tokens", None),
    ("input_tokens", None),
    ("web search tool calls", None),
    ("vector store storage", None),
    (None, None),
])
def test_spend_by_model_takes_the_model_only_from_model_like_line_items(line_item, model) -> None:
    from creditgauge.connectors.openai import model_of_line_item

    assert model_of_line_item(line_item) == model
