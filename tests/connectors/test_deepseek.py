"""DeepSeekConnector against FakeDeepSeek, through the real sync engine, stored on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, select

from creditgauge.config import Config, parse_config
from creditgauge.connectors.deepseek import DeepSeekConnector
from creditgauge.domain import ItemProblem, Window
from creditgauge.errors import AuthError, ContractError
from creditgauge.fakes.deepseek import FakeDeepSeek, balance_info
from creditgauge.http import RetryPolicy
from creditgauge.store import schema
from creditgauge.sync import SyncReport, run_sync
from support import assert_found_nowhere, use_then_revoke

KEY = "sk-deepseek-test-0123456789"
WINDOW = Window.days(date(2026, 8, 1), date(2026, 8, 3))
Sync = Callable[..., SyncReport]


@pytest.fixture
def fake() -> Iterator[FakeDeepSeek]:
    with FakeDeepSeek(keys={KEY}) as server:
        yield server


def config_for(fake: FakeDeepSeek) -> Config:
    return parse_config({"accounts": {"ds": {"provider": "deepseek", "key_env": "DEEPSEEK_API_KEY",
                                             "base_url": fake.url}}}, None)


@pytest.fixture
def sync(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Sync:
    """The real sync engine over one DeepSeek account bound to the fake."""

    def run(fake: FakeDeepSeek, key: str = KEY) -> SyncReport:
        monkeypatch.setenv("DEEPSEEK_API_KEY", key)
        return run_sync(config_for(fake), engine)

    return run


def fetch(fake: FakeDeepSeek, key: str = KEY) -> Any:
    """The connector's task called directly, to see the exception it raises."""
    connector = DeepSeekConnector.build(config_for(fake).account("ds"), key, retry=RetryPolicy(base_delay=0.01))

    async def run() -> object:
        try:
            return await connector.tasks()[0].fetch(WINDOW)
        finally:
            await connector.aclose()

    return asyncio.run(run())


def balances(engine: Engine) -> dict[str, tuple[Decimal, dict]]:
    with engine.connect() as connection:
        rows = connection.execute(select(schema.balance_snapshots)).all()
    return {row.currency: (row.amount, row.details) for row in rows}


def test_each_currency_is_its_own_verified_balance(engine: Engine, fake: FakeDeepSeek, sync: Sync) -> None:
    report = sync(fake)

    assert report.status == "ok", report.as_dict()
    assert balances(engine) == {
        "CNY": (Decimal("110.00"), {"granted": "10.00", "topped_up": "100.00", "is_available": True}),
        "USD": (Decimal("4.37"), {"granted": "0.00", "topped_up": "4.37", "is_available": True}),
    }
    assert fake.requests[0].headers["Authorization"] == f"Bearer {KEY}"
    with engine.connect() as connection:
        assert connection.execute(select(schema.balance_snapshots.c.official)).scalars().all() == [True, True]
        assert connection.execute(select(schema.accounts.c.currency)).scalar_one() == "CNY"


def test_negative_zero_and_high_precision_amounts_stay_exact(engine: Engine, fake: FakeDeepSeek, sync: Sync) -> None:
    fake.balances = [balance_info("CNY", "-3.000000001", "0.00"), balance_info("USD", "0", "0")]
    fake.is_available = False

    sync(fake)

    stored = balances(engine)
    assert stored["CNY"][0] == Decimal("-3.000000001")
    assert stored["USD"][0] == Decimal(0)
    assert stored["CNY"][1]["is_available"] is False


def test_a_refused_key_says_which_key_is_needed(fake: FakeDeepSeek) -> None:
    with pytest.raises(AuthError) as caught:
        fetch(fake, key="sk-wrong-key-0000")
    message = str(caught.value)
    assert "HTTP 401" in message and "Authentication Fails" in message
    assert "DEEPSEEK_API_KEY" in message and "DeepSeek API key" in message


def test_rate_limited_once_then_served(engine: Engine, fake: FakeDeepSeek, sync: Sync) -> None:
    fake.fail(429, {"error": {"message": "Rate limit reached", "type": "rate_limit_error", "param": None,
                              "code": "rate_limit_exceeded"}}, headers={"retry-after": "0"})

    assert sync(fake).status == "ok"

    assert fake.count("/user/balance") == 2
    assert set(balances(engine)) == {"CNY", "USD"}


def test_unknown_extra_fields_are_accepted(engine: Engine, fake: FakeDeepSeek, sync: Sync) -> None:
    body = fake.balance_body()
    body["balance_infos"][0]["frozen_balance"] = "1.00"
    body["account_tier"] = "pro"
    fake.fail(200, body)

    sync(fake)

    assert balances(engine)["CNY"][0] == Decimal("110.00")


@pytest.mark.parametrize(("value", "detail"), [(None, "missing the required field 'total_balance'"),
                                              ("4,37", "'4,37' is not a decimal number")])
def test_one_unreadable_currency_is_an_item_problem_and_the_other_is_stored(
    engine: Engine, fake: FakeDeepSeek, sync: Sync, value: str | None, detail: str
) -> None:
    body = fake.balance_body()
    if value is None:
        del body["balance_infos"][1]["total_balance"]
    else:
        body["balance_infos"][1]["total_balance"] = value
    fake.fail(200, body, times=2)

    facts = fetch(fake)
    report = sync(fake)

    (problem,) = [fact for fact in facts if isinstance(fact, ItemProblem)]
    assert (problem.endpoint, problem.field) == ("GET /user/balance", "total_balance") and detail in problem.detail
    assert report.status == "partial" and report.item_problems == 1  # an item not stored: not "ok"
    assert list(balances(engine)) == [body["balance_infos"][0]["currency"]]


@pytest.mark.parametrize("broken", ["duplicate_currency", "malformed_json"])
def test_a_broken_response_is_a_contract_error_and_stores_nothing(
    engine: Engine, fake: FakeDeepSeek, sync: Sync, broken: str
) -> None:
    body = fake.balance_body()
    if broken == "duplicate_currency":
        body["balance_infos"][1]["currency"] = "CNY"
    if broken == "malformed_json":
        fake.fail(200, raw='{"is_available": true, "balance_infos": [', times=2)
    else:
        fake.fail(200, body, times=2)

    with pytest.raises(ContractError, match="deepseek GET /user/balance"):
        fetch(fake)
    report = sync(fake)

    assert report.status == "failed" and "deepseek GET /user/balance" in (report.failures[0].error or "")
    assert balances(engine) == {}


def test_the_key_is_found_nowhere(
    engine: Engine, fake: FakeDeepSeek, sync: Sync, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    planted = "sk-planted-deepseek-5f2b9c1d7e"
    failed, error = use_then_revoke(fake, planted, KEY, sync, fetch)
    dump = assert_found_nowhere(planted, engine, str(error), str(failed.as_dict()), caplog.text)
    assert "4.37" in dump and "HTTP 401" in dump
