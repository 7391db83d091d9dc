"""XAIConnector against FakeXAI, through the real sync engine, stored on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from creditgauge.config import Config, parse_config
from creditgauge.connectors.xai import XAIConnector
from creditgauge.domain import Fact, ItemProblem, Window, day_start
from creditgauge.errors import AuthError, ContractError
from creditgauge.fakes.xai import FakeXAI
from creditgauge.http import RetryPolicy
from creditgauge.store import schema
from creditgauge.sync import SyncReport, run_sync
from support import assert_found_nowhere, rows, run_task

KEY = "xai-mgmt-test-7a6b5c4d3e2f1a0b9c8d"
INFERENCE_KEY = "xai-inference-test-0f1e2d3c4b5a6978"
TEAM = "65c1e471-205f-4566-9c5a-07198bcdf4ce"
DAYS = 75
END = date(2026, 8, 15)  # history [2026-06-01, 2026-08-15): June and July are closed months, August is current
NOW = datetime(2026, 8, 14, 15, 30, tzinfo=UTC)
SINCE = END - timedelta(days=DAYS)
WINDOW = Window.days(SINCE, END)
SOURCES = {"prepaid_balance", "usage", "invoice_preview", "invoices", "spending_limits", "api_keys"}
Sync = Callable[..., SyncReport]


@pytest.fixture
def fake() -> Iterator[FakeXAI]:
    with FakeXAI(days=DAYS, end=END, seed=4, team_id=TEAM, management_keys={KEY},
                 inference_keys={INFERENCE_KEY}) as server:
        yield server


def config_for(fake: FakeXAI, team_id: str = TEAM) -> Config:
    # base_url is the inference API and points nowhere here: billing must go to management_base_url.
    return parse_config({"accounts": {"grok": {
        "provider": "xai", "key_env": "XAI_MANAGEMENT_KEY", "base_url": "http://127.0.0.1:9",
        "management_base_url": fake.url, "team_id": team_id,
    }}}, None)


@pytest.fixture
def sync(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Sync:
    """The real sync engine over one xAI account bound to the fake, backfilling the fake's whole history."""

    def run(fake: FakeXAI, key: str = KEY, team_id: str = TEAM) -> SyncReport:
        monkeypatch.setenv("XAI_MANAGEMENT_KEY", key)
        return run_sync(config_for(fake, team_id), engine, since=SINCE, now=NOW)

    return run


def fetch(fake: FakeXAI, source: str, key: str = KEY) -> list[Fact]:
    """One task of the connector called directly, to see the exception it raises."""
    connector = XAIConnector.build(config_for(fake).account("grok"), key, retry=RetryPolicy(base_delay=0.01))

    return run_task(connector, source, WINDOW)



def header(fake: FakeXAI, name: str) -> str:
    return {key.lower(): value for key, value in fake.requests[0].headers.items()}[name]


def spent(engine: Engine) -> Decimal:
    table = schema.cost_buckets
    with engine.connect() as connection:
        return connection.execute(select(func.sum(table.c.amount)).where(table.c.source == "usage")).scalar_one()


def test_the_prepaid_balance_is_the_ledger_total_with_its_sign_inverted(
    engine: Engine, fake: FakeXAI, sync: Sync
) -> None:
    report = sync(fake)

    assert report.status == "ok", report.as_dict()
    [balance] = rows(engine, schema.balance_snapshots, "prepaid_balance")
    assert fake.ledger_total() < 0  # money held is negative on the wire
    assert balance["amount"] == Decimal(-fake.ledger_total()) / 100 and balance["currency"] == "USD"
    assert balance["official"] is True
    assert balance["details"] == {"source": "prepaid ledger", "spend_posted_through": "2026-07"}
    assert header(fake, "authorization") == f"Bearer {KEY}"


@pytest.mark.parametrize(("ledger", "balance"), [
    ([("PURCHASE", -1_000, "SUCCEEDED"), ("SPEND", 1_000, None)], Decimal(0)),
    ([("PURCHASE", -1_000, "SUCCEEDED"), ("SPEND", 1_874, None)], Decimal("-8.74")),
    ([("PURCHASE", -5_000, "SUCCEEDED"), ("PURCHASE", -2_500, "FAILED_TO_CHARGE"), ("REFUND", -1, "SUCCEEDED")],
     Decimal("50.01")),
])
def test_zero_debt_and_failed_top_ups(
    engine: Engine, fake: FakeXAI, sync: Sync, ledger: list[tuple[str, int, str | None]], balance: Decimal
) -> None:
    fake.changes.clear()
    for origin, cents, status in ledger:
        fake.add_change(origin, cents, status=status, when=datetime(2026, 7, 1, tzinfo=UTC))

    sync(fake)

    assert [r["amount"] for r in rows(engine, schema.balance_snapshots)] == [balance]


def test_daily_spend_is_the_usage_analytics_in_exact_dollars(engine: Engine, fake: FakeXAI, sync: Sync) -> None:
    day = END - timedelta(days=3)
    fake.spend[day]["Chat grok-4-0709"] = Decimal("4.859737251")

    sync(fake)

    assert spent(engine) == fake.usage_total(SINCE, END)
    stored = {(r["start_time"], r["line_item"]): r for r in rows(engine, schema.cost_buckets, "usage")}
    assert len(stored) == sum(len([v for v in spend.values() if v]) for spend in fake.spend.values())
    row = stored[(day_start(day), "Chat grok-4-0709")]
    assert row["amount"] == Decimal("4.859737251") and row["currency"] == "USD"
    assert row["model"] == "grok-4-0709" and row["end_time"] == day_start(day + timedelta(days=1))
    assert stored[(day_start(day), "Live Search")]["model"] is None
    [request] = [r for r in fake.requests if r.path.endswith("/usage")]
    assert request.method == "POST" and b'"startTime":"2026-06-01 00:00:00"' in request.body
    assert b'"endTime":"2026-08-15 00:00:00"' in request.body and b'"timezone":"Etc/GMT"' in request.body


def test_the_month_to_date_preview_is_an_invoice_and_never_a_cost(
    engine: Engine, fake: FakeXAI, sync: Sync
) -> None:
    sync(fake)

    invoices = {r["invoice_id"]: r for r in rows(engine, schema.invoices)}
    preview = invoices["preview-2026-08"]
    assert preview["status"] == "preview" and preview["period_start"] == datetime(2026, 8, 1, tzinfo=UTC)
    assert preview["amount"] == Decimal(sum(fake.month_lines(2026, 8).values())) / 100
    assert preview["details"]["billing_cycle"] == "2026-08"
    assert rows(engine, schema.cost_buckets, "invoice_preview") == []


def test_invoices_are_stored_in_dollars(engine: Engine, fake: FakeXAI, sync: Sync) -> None:
    sync(fake)

    stored = rows(engine, schema.invoices, "invoices")
    monthly = {r["details"]["billing_cycle"]: r for r in stored if r["details"]["kind"] == "monthly"}
    assert set(monthly) == {"2026-06", "2026-07"}
    for year, month in fake.closed_months():
        row = monthly[f"{year}-{month:02d}"]
        assert row["amount"] == Decimal(sum(fake.month_lines(year, month).values())) / 100
        assert row["status"] == "paid" and row["period_start"] == datetime(year, month, 1, tzinfo=UTC)
    top_ups = sorted(r["status"] for r in stored if r["details"]["kind"] == "prepaid")
    assert top_ups == ["failed", "paid"]
    [request] = [r for r in fake.requests if r.path.endswith("/invoices")]
    assert ("since.year", "2026") in request.query and ("since.month", "6") in request.query


def test_spending_limits_and_the_zeros_of_a_prepaid_only_team(engine: Engine, fake: FakeXAI, sync: Sync) -> None:
    sync(fake)
    limits = {r["name"]: r["amount"] for r in rows(engine, schema.limit_snapshots)}
    assert limits == {"hard_limit": Decimal(225), "soft_limit": Decimal(200)}

    fake.spending_limits = {key: {"val": "0"} for key in fake.spending_limits}
    assert sync(fake).status == "ok"
    assert len(rows(engine, schema.limit_snapshots)) == 2  # zeros mean "no limit": nothing new stored


def test_a_wrong_team_id_says_how_to_find_the_right_one(fake: FakeXAI, sync: Sync) -> None:
    report = sync(fake, team_id="default")

    assert {r.source for r in report.failures} == SOURCES
    for failure in report.failures:
        assert "HTTP 404" in (failure.error or "") and "team id 'default' is probably wrong" in (failure.error or "")
        assert "console.x.ai/team/" in (failure.error or "")
        assert "/auth/management-keys/validation" in (failure.error or "")
        assert "[accounts.grok]" in (failure.error or "")


def test_an_inference_key_is_refused_naming_the_management_key(fake: FakeXAI, sync: Sync) -> None:
    report = sync(fake, key=INFERENCE_KEY)

    assert {r.source for r in report.failures} == SOURCES
    for failure in report.failures:
        assert "HTTP 403" in (failure.error or "") and "management key" in (failure.error or "")
        assert "console.x.ai > Settings > Management Keys" in (failure.error or "")
    with pytest.raises(AuthError, match="inference API keys are refused"):
        fetch(fake, "prepaid_balance", key=INFERENCE_KEY)


def test_rate_limited_twice_then_served(engine: Engine, fake: FakeXAI, sync: Sync) -> None:
    fake.rate_limit(times=2, retry_after=0, path="/usage")

    assert sync(fake).status == "ok"

    assert fake.count("/usage") == 3
    assert spent(engine) == fake.usage_total(SINCE, END)


def test_only_read_endpoints_are_called(fake: FakeXAI, sync: Sync) -> None:
    sync(fake)

    calls = {(r.method, r.path.removeprefix(f"/v1/billing/teams/{TEAM}")) for r in fake.requests}
    assert calls == {("GET", "/prepaid/balance"), ("POST", "/usage"), ("GET", "/postpaid/invoice/preview"),
                     ("GET", "/invoices"), ("GET", "/postpaid/spending-limits"),
                     ("GET", f"/auth/teams/{TEAM}/api-keys")}


def test_unknown_extra_fields_are_accepted(engine: Engine, fake: FakeXAI, sync: Sync) -> None:
    def add_fields(path: str, body: Any) -> Any:
        body["nextPageToken"] = ""
        for item in body.get("changes", []) + body.get("invoices", []) + body.get("timeSeries", []):
            item["region"] = "us-east-1"
        if "spendingLimits" in body:
            body["spendingLimits"]["hardSlNote"] = {"text": "not money"}
        return body

    fake.rewrite = add_fields

    assert sync(fake).status == "ok"
    assert spent(engine) == fake.usage_total(SINCE, END)
    assert len(rows(engine, schema.limit_snapshots)) == 2


def _drop_first(key: str, field: str) -> Callable[[Any], None]:
    return lambda body: body[key][0].pop(field)


@pytest.mark.parametrize(("source", "path", "break_body"), [
    ("prepaid_balance", "/prepaid/balance", lambda body: body.pop("total")),
    ("usage", "/usage", lambda body: body.pop("timeSeries")),
    ("invoice_preview", "/invoice/preview", lambda body: body["coreInvoice"].pop("amountAfterVat")),
    ("spending_limits", "/spending-limits", lambda body: body.pop("spendingLimits")),
])
def test_a_missing_required_field_is_a_contract_error_and_stores_nothing(
    engine: Engine, fake: FakeXAI, sync: Sync, source: str, path: str, break_body: Callable[[Any], None]
) -> None:
    sync(fake)
    tables = (schema.cost_buckets, schema.balance_snapshots, schema.limit_snapshots, schema.invoices)
    before = {table.name: len(rows(engine, table, source)) for table in tables}
    costs_before = spent(engine)

    def broken(request_path: str, body: Any) -> Any:
        if request_path.endswith(path):
            break_body(body)
        return body

    fake.rewrite = broken
    report = sync(fake)

    assert {r.source for r in report.failures} == {source}
    assert "missing the required field" in (report.failures[0].error or "")
    assert {table.name: len(rows(engine, table, source)) for table in tables} == before
    assert spent(engine) == costs_before
    with pytest.raises(ContractError, match=f"xai .*{path}"):
        fetch(fake, source)


@pytest.mark.parametrize(("source", "path", "field", "break_body"), [
    ("usage", "/usage", "dataPoints", _drop_first("timeSeries", "dataPoints")),
    ("invoices", "/invoices", "total", _drop_first("invoices", "total")),
])
def test_one_unreadable_item_is_an_item_problem_and_the_rest_is_read(
    fake: FakeXAI, source: str, path: str, field: str, break_body: Callable[[Any], None]
) -> None:
    fake.rewrite = lambda request_path, body: (break_body(body), body)[1] if request_path.endswith(path) else body
    facts = fetch(fake, source)
    problems = [fact for fact in facts if isinstance(fact, ItemProblem)]
    assert len(problems) == 1 and problems[0].field == field and problems[0].endpoint.endswith(path)
    assert len(facts) > 1


def test_malformed_json_is_a_contract_error_and_stores_nothing(
    engine: Engine, fake: FakeXAI, sync: Sync
) -> None:
    fake.fail(200, raw='{"changes": [], "total": {"val": "-31', path="/prepaid/balance")

    report = sync(fake)

    assert {r.source for r in report.failures} == {"prepaid_balance"}
    assert "the response is not valid JSON" in (report.failures[0].error or "")
    assert rows(engine, schema.balance_snapshots) == []


def test_a_capped_analytics_answer_is_stored_marked_partial(
    engine: Engine, sync: Sync, caplog: pytest.LogCaptureFixture
) -> None:
    with FakeXAI(days=DAYS, end=END, team_id=TEAM, management_keys={KEY}, max_series=2) as fake:
        assert sync(fake).status == "ok"

    stored = rows(engine, schema.cost_buckets, "usage")
    assert stored and all(r["extra"] == {"limit_reached": True} for r in stored)
    assert len({r["line_item"] for r in stored}) == 2
    assert "limitReached" in caplog.text


def test_the_key_is_found_nowhere(engine: Engine, fake: FakeXAI, sync: Sync, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    planted = "xai-PLANTED-management-3c2b1a0f9e8d7c6b"
    fake.management_keys = {planted}
    fake.rate_limit(times=1, retry_after=0, path="/prepaid/balance")
    assert sync(fake, key=planted).status == "ok"
    fake.management_keys, fake.inference_keys = {KEY}, {planted}
    failed = sync(fake, key=planted)
    with pytest.raises(AuthError) as caught:
        fetch(fake, "invoices", key=planted)

    assert failed.status == "failed"
    assert header(fake, "authorization") == f"Bearer {planted}"  # it was really used
    assert "retrying" in caplog.text
    dump = assert_found_nowhere(planted, engine, str(caught.value), str(failed.as_dict()), caplog.text)
    assert "prepaid ledger" in dump and "HTTP 403" in dump


# The key list: GET /auth/teams/{teamId}/api-keys?pageSize=&paginationToken= -> {apiKeys: [...], paginationToken}
# [DOC] docs.x.ai/developers/rest-api-reference/management/auth, read 2026-12-06 (stored copy id 61100941966).


def key_details(engine: Engine) -> dict[str, tuple[str, dict[str, Any]]]:
    return {r["entity_id"]: (r["name"], r["details"]) for r in rows(engine, schema.entity_names)
            if r["kind"] == "api_key"}


def test_the_team_keys_are_stored_by_name(engine: Engine, fake: FakeXAI, sync: Sync) -> None:
    assert sync(fake).status == "ok"

    stored = key_details(engine)
    assert len(stored) == len(fake.api_keys)
    by_name = {name: details for name, details in stored.values()}
    chat = fake.api_keys[0]
    assert stored[chat["apiKeyId"]][0] == "grok-chat-prod"
    assert by_name["grok-chat-prod"] == {
        "redacted": f"xai-...{INFERENCE_KEY[-4:]}", "owner": chat["userId"],
        "created_at": datetime.fromisoformat(chat["createTime"]).isoformat(), "last_used_at": None,
        "status": "active"}
    assert (by_name["batch-2025"]["status"], by_name["hackathon"]["status"]) == ("disabled", "expired")
    nameless = fake.api_keys[-1]
    assert stored[nameless["apiKeyId"]][0] == nameless["redactedApiKey"]  # no name: shown by its redacted form
    assert rows(engine, schema.cost_buckets, "api_keys") == []  # the list reports no spend per key


def test_the_key_list_follows_its_pages(engine: Engine, fake: FakeXAI, sync: Sync) -> None:
    owner = fake.api_keys[0]["userId"]
    fake.api_keys += [fake.listed_key(f"xai-fake-bulk-{n:04d}-000000000000000000", f"bulk-{n}", owner=owner,
                                      created=NOW) for n in range(230)]

    assert sync(fake).status == "ok"

    assert fake.count("/api-keys") == 3  # 100 a page
    assert len(key_details(engine)) == len(fake.api_keys)


def test_a_team_without_keys_answers_an_empty_object(engine: Engine, fake: FakeXAI, sync: Sync) -> None:
    fake.api_keys = []

    assert sync(fake).status == "ok"
    assert key_details(engine) == {}


def test_a_management_key_without_the_permission_is_not_available(
    engine: Engine, fake: FakeXAI, sync: Sync
) -> None:
    fake.key_list_allowed = False

    report = sync(fake)

    assert report.status == "ok", report.as_dict()
    [result] = [r for r in report.results if r.source == "api_keys"]
    assert result.ok and "not available for this account" in (result.note or "")
    assert key_details(engine) == {} and rows(engine, schema.balance_snapshots)


def test_the_listed_and_the_management_keys_are_found_nowhere(
    engine: Engine, fake: FakeXAI, sync: Sync, caplog: pytest.LogCaptureFixture
) -> None:
    """The fake knows the listed keys themselves and shows only xAI's redacted form of them."""
    caplog.set_level(logging.DEBUG)
    listed = "xai-PLANTED-inference-5e4d3c2b1a0f9e8d"
    fake.inference_keys = {listed}
    fake.api_keys = fake._generate_key_list([listed])
    report = sync(fake)
    inference = sync(fake, key=listed)

    assert report.status == "ok" and inference.status == "failed"  # an inference key lists nothing either
    dump = assert_found_nowhere(listed, engine, str(report.as_dict()), str(inference.as_dict()), caplog.text)
    assert_found_nowhere(KEY, engine, str(report.as_dict()), caplog.text)
    assert "grok-chat-prod" in dump and f"xai-...{listed[-4:]}" in dump and listed[:-4] not in dump
