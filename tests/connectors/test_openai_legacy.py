"""OpenAILegacyConnector (unofficial dashboard billing endpoints) against FakeOpenAI, through the sync engine,
stored on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from creditgauge.config import parse_config
from creditgauge.connectors.openai_legacy import OpenAILegacyConnector
from creditgauge.domain import BalanceSnapshot, CostBucket, ItemProblem, LimitSnapshot, Window
from creditgauge.errors import AuthError, ContractError
from creditgauge.fakes.openai import FakeOpenAI
from creditgauge.http import RetryPolicy
from creditgauge.store import schema
from creditgauge.sync import SyncReport, run_sync
from support import run_task

SECRET = "sk-proj-legacyTest0123456789"
SESSION = "sess-legacyTestSession0123456789"
TODAY = date(2026, 8, 20)
NOW = datetime(2026, 8, 20, 9, 0, tzinfo=UTC)
EXAMPLES = Path(__file__).resolve().parents[1] / "contracts" / "openai"


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("OPENAI_SESSION_KEY", SESSION)


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(days=30, end=TODAY) as server:
        yield server


def account(fake: FakeOpenAI, *, session: bool = True, base_url: str | None = None) -> dict[str, Any]:
    body = {"provider": "openai-legacy", "key_env": "OPENAI_API_KEY", "base_url": base_url or fake.url}
    return body | ({"session_key_env": "OPENAI_SESSION_KEY"} if session else {})


def sync(engine: Engine, fake: FakeOpenAI, *, since: date, session: bool = True,
         base_url: str | None = None) -> SyncReport:
    config = parse_config({"accounts": {"legacy": account(fake, session=session, base_url=base_url)}}, None)
    return run_sync(config, engine, since=since, now=NOW)


def connector_for(fake: FakeOpenAI, *, session: bool = True) -> OpenAILegacyConnector:
    config = parse_config({"accounts": {"legacy": account(fake, session=session)}}, None)
    connector = OpenAILegacyConnector.build(config.account("legacy"), SECRET, retry=RetryPolicy(base_delay=0.01))
    assert isinstance(connector, OpenAILegacyConnector)
    return connector


def fetch(connector: OpenAILegacyConnector, source: str, window: Window | None = None) -> list[Any]:
    return run_task(connector, source, window or Window.days(TODAY, TODAY + timedelta(days=1)))


def table(engine: Engine, name: str) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(select(schema.metadata.tables[name])))


def by_source(report: SyncReport) -> dict[str, Any]:
    return {r.source: r for r in report.results}


def test_daily_costs_come_in_chunks_of_at_most_100_days_and_sum_exactly(engine: Engine) -> None:
    with FakeOpenAI(days=150, end=TODAY, projects=("checkout-assistant",)) as fake:
        since = TODAY - timedelta(days=149)
        report = sync(engine, fake, since=since)
        assert by_source(report)["billing_usage"].ok, report.as_dict()

        ranges = {(r.query[0][1], r.query[1][1]) for r in fake.requests if r.path == "/dashboard/billing/usage"}
        assert ranges == {
            (since.isoformat(), (since + timedelta(days=100)).isoformat()),
            ((since + timedelta(days=100)).isoformat(), (TODAY + timedelta(days=1)).isoformat()),  # end exclusive
            (TODAY.replace(day=1).isoformat(), (TODAY + timedelta(days=1)).isoformat()),  # the month, for the limit
        }
        costs = table(engine, "cost_buckets")
        assert sum((r.amount for r in costs), Decimal(0)) == fake.cost_total()  # cents -> dollars, exact
        assert {r.official for r in costs} == {False}
        assert {r.line_item for r in costs} >= {"Chat models", "Embedding models", "Image models"}
        today = sum((r.amount for r in costs if r.start_time.date() == TODAY), Decimal(0))
        assert today == fake.cost_total(TODAY)


def test_the_example_body_maps_cents_to_dollars(fake: FakeOpenAI) -> None:
    fake.fail(200, json.loads((EXAMPLES / "openai_legacy_billing_usage.json").read_text()))
    costs = fetch(connector_for(fake), "billing_usage")
    assert costs[0] == CostBucket(start=datetime(2026, 8, 1, tzinfo=UTC), end=datetime(2026, 8, 2, tzinfo=UTC),
                                  amount=Decimal("4.58"), currency="USD", line_item="Chat models")
    assert sum((c.amount for c in costs), Decimal(0)) == Decimal("6.3834")  # total_usage 638.34 cents
    assert len(costs) == 4  # zero-cost lines are not stored


def test_limits_are_the_usd_fields_and_unofficial(engine: Engine, fake: FakeOpenAI) -> None:
    report = sync(engine, fake, since=TODAY)
    assert by_source(report)["subscription"].ok
    limits = {r.name: r for r in table(engine, "limit_snapshots")}
    assert {name: r.amount for name, r in limits.items()} == {
        "hard_limit": Decimal(150), "soft_limit": Decimal(100), "system_hard_limit": Decimal(150)}
    assert {r.official for r in limits.values()} == {False}
    assert limits["hard_limit"].details == {"plan": "Pay-as-you-go", "has_payment_method": True}


def test_the_credit_balance_is_read_with_the_session_key(engine: Engine, fake: FakeOpenAI) -> None:
    report = sync(engine, fake, since=TODAY)
    assert report.status == "ok", report.as_dict()
    (balance,) = [row for row in table(engine, "balance_snapshots") if row.source == "credit_grants"]
    assert (balance.amount, balance.currency, balance.official) == (Decimal("38.476583"), "USD", False)
    assert balance.details["total_granted"] == "100.0"
    (grant,) = balance.details["grants"]
    assert grant["used_amount"] == "61.523417" and grant["expires_at"].startswith("2027-08-20")
    grants_request = next(r for r in fake.requests if r.path.endswith("/credit_grants"))
    assert grants_request.headers["Authorization"] == f"Bearer {SESSION}"
    others = [r for r in fake.requests if not r.path.endswith("/credit_grants")]
    assert {r.headers["Authorization"] for r in others} == {f"Bearer {SECRET}"}


def test_the_example_credit_grants_body_maps_to_an_unofficial_balance(fake: FakeOpenAI) -> None:
    fake.fail(200, json.loads((EXAMPLES / "openai_legacy_credit_grants.json").read_text()))
    (balance,) = fetch(connector_for(fake), "credit_grants")
    assert isinstance(balance, BalanceSnapshot)
    assert (balance.amount, balance.official) == (Decimal("16.149788"), False)
    assert balance.details["grants"][0]["effective_at"] == "2022-12-14T00:00:00+00:00"


def test_without_a_session_key_credit_grants_fails_plainly_and_the_rest_is_stored(engine: Engine,
                                                                                   fake: FakeOpenAI) -> None:
    report = sync(engine, fake, since=TODAY - timedelta(days=3), session=False)
    results = by_source(report)
    assert report.status == "partial"
    failure = results["credit_grants"]
    assert not failure.ok
    assert "HTTP 403" in failure.error and "must be made with a session key" in failure.error
    assert "browser session key (sess-...)" in failure.error and "session_key_env" in failure.error
    assert results["billing_usage"].ok and results["subscription"].ok
    assert table(engine, "cost_buckets") and table(engine, "limit_snapshots")
    assert [row.source for row in table(engine, "balance_snapshots")] == ["subscription"]  # the limit only
    (state,) = [s for s in table(engine, "sync_state") if s.source == "credit_grants"]
    assert state.last_error and state.failing_since is not None


def test_an_empty_session_key_variable_is_named(fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_SESSION_KEY", " ")
    with pytest.raises(AuthError, match=r"\$OPENAI_SESSION_KEY is empty"):
        fetch(connector_for(fake), "credit_grants")
    assert fake.count("/credit_grants") == 0


def test_the_gateway_form_with_v1_works(engine: Engine, fake: FakeOpenAI) -> None:
    report = sync(engine, fake, since=TODAY, base_url=f"{fake.url}/v1")
    assert report.status == "ok"


@pytest.mark.parametrize("broken", ["no_daily_costs", "malformed_json"])
def test_a_broken_usage_body_is_a_contract_error_and_keeps_what_was_stored(
    engine: Engine, fake: FakeOpenAI, broken: str
) -> None:
    sync(engine, fake, since=TODAY - timedelta(days=2))
    before = sorted((r.start_time, r.line_item, r.amount) for r in table(engine, "cost_buckets"))
    body = json.loads((EXAMPLES / "openai_legacy_billing_usage.json").read_text(), parse_float=Decimal)
    if broken == "no_daily_costs":
        del body["daily_costs"], body["total_usage"]
    if broken == "malformed_json":
        fake.fail(200, raw='{"object": "list", "daily_costs": [{"timestamp": 17855', path="/billing/usage")
    else:
        fake.fail(200, body, path="/billing/usage")

    report = sync(engine, fake, since=TODAY - timedelta(days=2))
    failure = by_source(report)["billing_usage"]
    assert not failure.ok and "openai-legacy GET /dashboard/billing/usage" in failure.error
    assert sorted((r.start_time, r.line_item, r.amount) for r in table(engine, "cost_buckets")) == before
    with pytest.raises(ContractError):
        fake.fail(200, {"object": "list"}, path="/billing/usage")
        fetch(connector_for(fake), "billing_usage")


def test_one_unreadable_line_item_is_an_item_problem_and_the_rest_is_read(fake: FakeOpenAI) -> None:
    body = json.loads((EXAMPLES / "openai_legacy_billing_usage.json").read_text(), parse_float=Decimal)
    body["daily_costs"][0]["line_items"][1]["cost"] = "4,58"  # Chat models, 458.0 cents
    fake.fail(200, body, path="/billing/usage")
    facts = fetch(connector_for(fake), "billing_usage")
    assert [f for f in facts if isinstance(f, ItemProblem)] == [
        ItemProblem("GET /dashboard/billing/usage", "cost", "cost: '4,58' is not a decimal number")]
    assert sum((f.amount for f in facts if isinstance(f, CostBucket)), Decimal(0)) == Decimal("6.3834") - Decimal(
        "4.58")


def test_an_unknown_extra_field_is_accepted(fake: FakeOpenAI) -> None:
    body = json.loads((EXAMPLES / "openai_legacy_billing_subscription.json").read_text(), parse_float=Decimal)
    body |= {"billing_mechanism": "prepaid", "hard_limit_usd": Decimal("120.50")}
    fake.fail(200, body)
    limits = {fact.name: fact.amount for fact in fetch(connector_for(fake), "subscription")
              if isinstance(fact, LimitSnapshot)}
    assert limits["hard_limit"] == Decimal("120.50")


def test_both_keys_are_found_nowhere(engine: Engine, fake: FakeOpenAI, caplog: pytest.LogCaptureFixture,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level(logging.DEBUG)
    planted_secret, planted_session = "sk-PLANTEDlegacySecret9f3a", "sess-PLANTEDlegacySession41c7"
    monkeypatch.setenv("OPENAI_API_KEY", planted_secret)
    monkeypatch.setenv("OPENAI_SESSION_KEY", planted_session)
    good = sync(engine, fake, since=TODAY - timedelta(days=1))
    for path in ("/credit_grants", "/subscription"):  # servers that echo the whole key back
        echoed = f"key {planted_session if 'grants' in path else planted_secret} was refused"
        fake.fail(401, {"error": {"message": echoed, "type": "invalid_request_error", "param": None,
                                  "code": None}}, path=path)
    bad = sync(engine, fake, since=TODAY - timedelta(days=1))

    errors = [r.error or "" for report in (good, bad) for r in report.results]
    assert sum(bool(e) for e in errors) == 2
    dump = "\n".join(str(tuple(row)) for t in schema.metadata.sorted_tables for row in table(engine, t.name))
    for planted in (planted_secret, planted_session):
        assert planted not in caplog.text
        assert all(planted not in e for e in errors)
        assert planted not in dump
