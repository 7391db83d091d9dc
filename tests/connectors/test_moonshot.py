"""MoonshotConnector against FakeMoonshot, through the real sync engine, stored on SQLite and PostgreSQL."""

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
from creditgauge.connectors.moonshot import MoonshotConnector
from creditgauge.domain import Window
from creditgauge.errors import AuthError, ContractError
from creditgauge.fakes.moonshot import FakeMoonshot
from creditgauge.http import RetryPolicy
from creditgauge.store import schema
from creditgauge.sync import SyncReport, run_sync
from support import assert_found_nowhere, use_then_revoke

KEY = "sk-moonshot-test-0123456789"
WINDOW = Window.days(date(2026, 8, 1), date(2026, 8, 3))
Sync = Callable[..., SyncReport]


@pytest.fixture
def fake() -> Iterator[FakeMoonshot]:
    with FakeMoonshot(keys={KEY}) as server:
        yield server


def config_for(**fields: Any) -> Config:
    body = {"provider": "moonshot", "key_env": "MOONSHOT_API_KEY", **fields}
    return parse_config({"accounts": {"kimi": body}}, None)


@pytest.fixture
def sync(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Sync:
    """The real sync engine over one Moonshot account bound to the fake."""

    def run(fake: FakeMoonshot, key: str = KEY, **fields: Any) -> SyncReport:
        monkeypatch.setenv("MOONSHOT_API_KEY", key)
        return run_sync(config_for(base_url=fake.url, **fields), engine)

    return run


def fetch(fake: FakeMoonshot, key: str = KEY) -> Any:
    """The connector's task called directly, to see the exception it raises."""
    account = config_for(base_url=fake.url).account("kimi")
    connector = MoonshotConnector.build(account, key, retry=RetryPolicy(base_delay=0.01))

    async def run() -> object:
        try:
            return await connector.tasks()[0].fetch(WINDOW)
        finally:
            await connector.aclose()

    return asyncio.run(run())


def balances(engine: Engine) -> list[tuple[Decimal, str, dict]]:
    with engine.connect() as connection:
        rows = connection.execute(select(schema.balance_snapshots)).all()
    return [(row.amount, row.currency, row.details) for row in rows]


def test_float_amounts_are_stored_digit_for_digit(engine: Engine, fake: FakeMoonshot, sync: Sync) -> None:
    sync(fake)

    assert balances(engine) == [(Decimal("49.58894"), "CNY", {"voucher": "46.58893", "cash": "3.00001"})]
    assert fake.requests[0].headers["Authorization"] == f"Bearer {KEY}"


def test_sums_that_binary_floats_get_wrong_stay_exact(engine: Engine, fake: FakeMoonshot, sync: Sync) -> None:
    fake.voucher, fake.cash = Decimal("0.1"), Decimal("0.2")  # 0.1 + 0.2 is 0.30000000000000004 as floats

    sync(fake)

    assert balances(engine)[0][0] == Decimal("0.3")


def test_debt_keeps_available_as_the_balance_and_negative_cash_in_details(
    engine: Engine, fake: FakeMoonshot, sync: Sync
) -> None:
    fake.voucher, fake.cash = Decimal("5.0"), Decimal("-1.27614")

    sync(fake)

    assert balances(engine) == [(Decimal("5.0"), "CNY", {"voucher": "5.0", "cash": "-1.27614"})]


def test_a_zero_balance_is_stored_as_zero(engine: Engine, fake: FakeMoonshot, sync: Sync) -> None:
    fake.voucher, fake.cash = Decimal(0), Decimal(0)

    sync(fake)

    assert balances(engine) == [(Decimal(0), "CNY", {"voucher": "0", "cash": "0"})]


@pytest.mark.parametrize(("fields", "currency"), [
    ({}, "CNY"),
    ({"base_url": "https://api.moonshot.cn"}, "CNY"),
    ({"base_url": "https://api.moonshot.ai/"}, "USD"),
    ({"base_url": "https://API.MOONSHOT.AI"}, "USD"),
    ({"base_url": "http://127.0.0.1:9999"}, "CNY"),
    ({"base_url": "http://127.0.0.1:9999", "currency": "usd"}, "USD"),
    ({"base_url": "https://api.moonshot.ai", "currency": "CNY"}, "CNY"),
])
def test_the_currency_comes_from_the_host_unless_configured(fields: dict[str, str], currency: str) -> None:
    assert MoonshotConnector.currency_for(config_for(**fields).account("kimi")) == currency


def test_the_ai_platform_through_a_local_url_is_usd_when_configured(engine: Engine, sync: Sync) -> None:
    with FakeMoonshot(region="ai", voucher="0", cash="12.5") as fake:
        sync(fake, currency=fake.currency)

    assert balances(engine) == [(Decimal("12.5"), "USD", {"voucher": "0", "cash": "12.5"})]


def test_a_nonzero_code_is_a_contract_error_with_the_message(engine: Engine, fake: FakeMoonshot, sync: Sync) -> None:
    fake.fail(200, {"code": 5, "data": None, "scode": "0x5", "status": False,
                    "error": {"message": "account suspended", "type": "account_error"}}, times=2)

    with pytest.raises(ContractError, match="answered code 5: account suspended"):
        fetch(fake)
    report = sync(fake)

    assert "answered code 5: account suspended" in (report.failures[0].error or "")
    assert balances(engine) == []


def test_a_refused_key_says_which_key_is_needed(fake: FakeMoonshot) -> None:
    with pytest.raises(AuthError) as caught:
        fetch(fake, key="sk-wrong-key-0000")
    message = str(caught.value)
    assert "HTTP 401" in message and "Invalid Authentication" in message
    assert "MOONSHOT_API_KEY" in message and "api.moonshot.ai" in message


def test_rate_limited_once_then_served(engine: Engine, fake: FakeMoonshot, sync: Sync) -> None:
    fake.fail(429, {"error": {"message": "rate limit reached", "type": "rate_limit_reached_error"}},
              headers={"retry-after": "0"})

    assert sync(fake).status == "ok"

    assert fake.count("/balance") == 2
    assert balances(engine)[0][0] == Decimal("49.58894")


def test_unknown_extra_fields_are_accepted(engine: Engine, fake: FakeMoonshot, sync: Sync) -> None:
    body = fake.balance_body()
    body["data"]["frozen_balance"] = Decimal("0.5")
    body["request_id"] = "abc"
    fake.fail(200, body)

    sync(fake)

    assert balances(engine)[0][0] == Decimal("49.58894")


def test_an_answer_without_the_cash_detail_still_gives_the_balance(fake: FakeMoonshot) -> None:
    body = fake.balance_body()
    del body["data"]["cash_balance"]
    fake.fail(200, body)
    (balance,) = fetch(fake)
    assert balance.amount == body["data"]["available_balance"] and "cash" not in balance.details


@pytest.mark.parametrize("broken", ["no_data", "string_amount", "bool_amount", "malformed_json"])
def test_a_broken_response_is_a_contract_error_and_stores_nothing(
    engine: Engine, fake: FakeMoonshot, sync: Sync, broken: str
) -> None:
    body = fake.balance_body()
    if broken == "no_data":
        del body["data"]
    elif broken == "string_amount":
        body["data"]["cash_balance"] = "three"
    elif broken == "bool_amount":
        body["data"]["cash_balance"] = True
    if broken == "malformed_json":
        fake.fail(200, raw='{"code": 0, "data": {"available_balance": 1.5', times=2)
    else:
        fake.fail(200, body, times=2)

    with pytest.raises(ContractError, match="moonshot GET /v1/users/me/balance"):
        fetch(fake)
    report = sync(fake)

    assert report.status == "failed" and "moonshot GET /v1/users/me/balance" in (report.failures[0].error or "")
    assert balances(engine) == []


def test_the_key_is_found_nowhere(
    engine: Engine, fake: FakeMoonshot, sync: Sync, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    planted = "sk-planted-moonshot-8c1e4a7b2d"
    failed, error = use_then_revoke(fake, planted, KEY, sync, fetch)
    dump = assert_found_nowhere(planted, engine, str(error), str(failed.as_dict()), caplog.text)
    assert "46.58893" in dump and "HTTP 401" in dump
