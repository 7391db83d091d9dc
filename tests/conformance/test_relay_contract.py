"""FakeRelay answers exactly as one-api and new-api serve their legacy billing routes. The contract is their Go
structs (songquanpeng/one-api and QuantumNous/new-api `controller/billing.go`): `OpenAISubscriptionResponse`
{object, has_payment_method, soft_limit_usd, hard_limit_usd, system_hard_limit_usd, access_until} and
`OpenAIUsageResponse` {object, total_usage}; Go writes every field of a struct, so all are required and nothing
else appears."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from creditgauge.fakes.relay import FakeRelay

NUMBER = {"type": "number"}
SUBSCRIPTION = {
    "type": "object", "additionalProperties": False,
    "required": ["object", "has_payment_method", "soft_limit_usd", "hard_limit_usd", "system_hard_limit_usd",
                 "access_until"],
    "properties": {"object": {"const": "billing_subscription"}, "has_payment_method": {"type": "boolean"},
                   "soft_limit_usd": NUMBER, "hard_limit_usd": NUMBER, "system_hard_limit_usd": NUMBER,
                   "access_until": {"type": "integer"}},
}
USAGE = {"type": "object", "additionalProperties": False, "required": ["object", "total_usage"],
         "properties": {"object": {"const": "list"}, "total_usage": NUMBER}}
RELAY_ERROR = {"type": "object", "required": ["error"],
               "properties": {"error": {"type": "object", "required": ["message", "type"]}}}


@pytest.fixture(scope="module")
def relay() -> Iterator[FakeRelay]:
    with FakeRelay(remaining_usd=Decimal("83.6"), used_usd=Decimal("216")) as server:
        yield server


def get(relay: FakeRelay, path: str) -> httpx.Response:
    return httpx.get(f"{relay.url}{path}", headers={"authorization": "Bearer sk-relay-contract-test-0000"})


def body(response: httpx.Response) -> Any:
    return json.loads(response.text, parse_float=Decimal)


@pytest.mark.parametrize("prefix", ["", "/v1"])
def test_subscription_and_usage_follow_the_relay_structs(relay: FakeRelay, prefix: str) -> None:
    subscription = body(get(relay, f"{prefix}/dashboard/billing/subscription"))
    usage = body(get(relay, f"{prefix}/dashboard/billing/usage?start_date=2026-08-01&end_date=2026-08-21"))

    Draft202012Validator(SUBSCRIPTION).validate(subscription)
    Draft202012Validator(USAGE).validate(usage)
    assert subscription["hard_limit_usd"] == Decimal("299.6")  # remaining + used, in dollars
    assert usage["total_usage"] == 21600  # used, in cents, whatever the dates


def test_a_route_the_relay_lacks_is_a_404_under_v1_or_its_web_page(relay: FakeRelay) -> None:
    under_v1 = get(relay, "/v1/dashboard/billing/credit_grants")
    assert under_v1.status_code == 404
    Draft202012Validator(RELAY_ERROR).validate(body(under_v1))
    with FakeRelay(missing_route="html") as web:
        page = get(web, "/dashboard/billing/credit_grants")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")


def test_an_unlimited_token_and_an_error_answer(relay: FakeRelay) -> None:
    with FakeRelay(unlimited=True) as unlimited:
        assert body(get(unlimited, "/dashboard/billing/subscription"))["hard_limit_usd"] == 100_000_000
    relay.answer_error = "无效的令牌"
    try:
        answer = get(relay, "/dashboard/billing/usage")
    finally:
        relay.answer_error = None
    assert answer.status_code == 200
    Draft202012Validator(RELAY_ERROR).validate(body(answer))
