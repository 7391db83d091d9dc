"""openai-legacy against one-api / new-api relays (FakeRelay serves their legacy billing routes as their source
does): a total-only usage answer invents no days, the hard limit minus that usage is a limit-only balance labelled
with the relay, an unlimited token gives none, a missing credit_grants route is not available, not a failure."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from creditgauge.config import parse_config
from creditgauge.connectors.openai_legacy import OpenAILegacyConnector
from creditgauge.domain import BalanceSnapshot, EndpointUnavailable, LimitSnapshot, Window
from creditgauge.errors import ProviderError
from creditgauge.fakes.relay import FakeRelay
from creditgauge.http import RetryPolicy
from support import run_task

KEY = "sk-relay-unit-test-3c2b1a0f9e8d7c6b"
WINDOW = Window.days(date(2026, 8, 1), date(2026, 8, 21))


@pytest.fixture
def relay() -> Iterator[FakeRelay]:
    with FakeRelay(remaining_usd=Decimal("83.6"), used_usd=Decimal("216")) as server:
        yield server


def fetch(relay: FakeRelay, source: str, *, base_path: str = "/v1") -> list[Any]:
    account = {"provider": "openai-legacy", "key_env": "RELAY_KEY", "base_url": relay.url + base_path}
    config = parse_config({"accounts": {"relay": account}}, None)
    connector = OpenAILegacyConnector.build(config.account("relay"), KEY, retry=RetryPolicy(max_retries=0))
    return run_task(connector, source, WINDOW)


def test_a_total_only_usage_answer_invents_no_days(relay: FakeRelay) -> None:
    (fact,) = fetch(relay, "billing_usage")
    assert isinstance(fact, EndpointUnavailable)
    assert fact.endpoint == "GET /dashboard/billing/usage" and "reports only a total (total_usage)" in fact.detail


def test_the_hard_limit_minus_usage_is_a_limit_only_balance_labelled_with_the_relay(relay: FakeRelay) -> None:
    facts = fetch(relay, "subscription")

    assert {f.name: f.amount for f in facts if isinstance(f, LimitSnapshot)} == {
        "hard_limit": Decimal("299.6"), "soft_limit": Decimal("299.6"), "system_hard_limit": Decimal("299.6")}
    (balance,) = [f for f in facts if isinstance(f, BalanceSnapshot)]
    assert (balance.amount, balance.currency, balance.official) == (Decimal("83.60"), "USD", False)
    assert balance.details["kind"] == "limit_only" and balance.details["total_usage"] == Decimal("216")
    assert balance.details["label"] == "hard limit minus usage, as reported by 127.0.0.1"
    usage_asked = [dict(r.query) for r in relay.requests if r.path.endswith("/billing/usage")]
    assert usage_asked == [{"start_date": "2026-08-01", "end_date": "2026-08-21"}]  # the sync's month so far


def test_an_unlimited_token_gives_no_balance(relay: FakeRelay) -> None:
    relay.unlimited = True
    facts = fetch(relay, "subscription")
    assert facts and not [f for f in facts if isinstance(f, BalanceSnapshot)]
    assert relay.count("/billing/usage") == 0


@pytest.mark.parametrize(("missing_route", "base_path"), [("404", ""), ("html", ""), ("html", "/v1")])
def test_a_missing_credit_grants_route_is_not_available(relay: FakeRelay, missing_route: str, base_path: str) -> None:
    relay.missing_route = missing_route  # type: ignore[assignment]
    (fact,) = fetch(relay, "credit_grants", base_path=base_path)
    assert isinstance(fact, EndpointUnavailable) and "not available for this account" in fact.detail


def test_an_error_the_relay_answers_with_http_200_is_an_error(relay: FakeRelay) -> None:
    relay.answer_error = "该令牌额度已用尽"
    with pytest.raises(ProviderError, match="the server answered an error: 该令牌额度已用尽"):
        fetch(relay, "subscription")
