"""FakeXAI's responses validate against the xAI Management API contract kept in tests/contracts/xai (and carry no
undocumented field) and, when ../shared/provider-apis is present, against the originals there. The connector's own
`/usage` request body is checked against the documented request schema."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from creditgauge.config import parse_config
from creditgauge.connectors.xai import XAIConnector
from creditgauge.domain import Window
from creditgauge.fakes.xai import DEFAULT_INFERENCE_KEY, DEFAULT_MANAGEMENT_KEY, DEFAULT_TEAM_ID, FakeXAI
from shared_paths import PROVIDER_APIS
from support import check_contract

CONTRACTS = Path(__file__).resolve().parents[1] / "contracts" / "xai"
NAMES = sorted(path.name.removesuffix(".schema.json") for path in CONTRACTS.glob("*.schema.json"))
HEADERS = {"authorization": f"Bearer {DEFAULT_MANAGEMENT_KEY}"}
TEAM = f"/v1/billing/teams/{DEFAULT_TEAM_ID}"
REQUESTS = [
    ("xai_prepaid_balance", f"{TEAM}/prepaid/balance"),
    ("xai_invoice_preview", f"{TEAM}/postpaid/invoice/preview"),
    ("xai_spending_limits", f"{TEAM}/postpaid/spending-limits"),
    ("xai_invoices", f"{TEAM}/invoices"),
    ("xai_invoices", f"{TEAM}/invoices?since.year=2026&since.month=7"),
    ("xai_invoices", f"{TEAM}/invoices?billingCycle.year=2026&billingCycle.month=6"),
    ("xai_management_key_validation", "/auth/management-keys/validation"),
]


def check(body: Any, name: str) -> None:
    check_contract(body, name, CONTRACTS)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeXAI]:
    with FakeXAI(days=75, end=date(2026, 8, 15)) as server:
        yield server


@pytest.mark.parametrize("name", NAMES)
def test_the_local_examples_validate(name: str) -> None:
    check(json.loads((CONTRACTS / f"{name}.json").read_text()), name)


@pytest.mark.parametrize(("name", "path"), REQUESTS)
def test_fake_responses_are_documented(fake: FakeXAI, name: str, path: str) -> None:
    response = httpx.get(f"{fake.url}{path}", headers=HEADERS)

    assert response.status_code == 200, response.text
    check(response.json(), name)


def test_the_documented_usage_request_is_answered_in_dollars(fake: FakeXAI) -> None:
    request = json.loads((CONTRACTS / "xai_usage_request.json").read_text())
    response = httpx.post(f"{fake.url}{TEAM}/usage", headers=HEADERS, json=request)

    assert response.status_code == 200, response.text
    body = response.json()
    check(body, "xai_usage")
    assert [len(series["dataPoints"]) for series in body["timeSeries"]] == [3] * len(body["timeSeries"])  # dense
    assert {point["timestamp"] for s in body["timeSeries"] for point in s["dataPoints"]} == {
        "2026-08-01T00:00:00Z", "2026-08-02T00:00:00Z", "2026-08-03T00:00:00Z"}
    assert all(isinstance(p["values"][0], int | float) for s in body["timeSeries"] for p in s["dataPoints"])


def test_the_connectors_usage_request_is_documented(fake: FakeXAI) -> None:
    account = parse_config({"accounts": {"grok": {"provider": "xai", "management_base_url": fake.url,
                                                  "team_id": DEFAULT_TEAM_ID}}}, None).account("grok")
    connector = XAIConnector.build(account, DEFAULT_MANAGEMENT_KEY)

    async def run() -> None:
        try:
            await connector.fetch_usage(Window.days(date(2026, 7, 1), date(2026, 8, 1)))
        finally:
            await connector.aclose()

    asyncio.run(run())
    [sent] = [r for r in fake.requests if r.path.endswith("/usage") and b"2026-07-01 00:00:00" in r.body]
    check(json.loads(sent.body), "xai_usage_request")


@pytest.mark.parametrize(("headers", "path", "status"), [
    ({}, f"{TEAM}/prepaid/balance", 401),
    ({"authorization": "Bearer not-a-known-key-000000"}, f"{TEAM}/prepaid/balance", 401),
    ({"authorization": f"Bearer {DEFAULT_INFERENCE_KEY}"}, f"{TEAM}/prepaid/balance", 403),
    (HEADERS, "/v1/billing/teams/default/prepaid/balance", 404),
    (HEADERS, f"{TEAM}/invoices?since.year=last", 400),
])
def test_errors_are_grpc_gateway_bodies(fake: FakeXAI, headers: dict[str, str], path: str, status: int) -> None:
    response = httpx.get(f"{fake.url}{path}", headers=headers)

    assert response.status_code == status
    body = response.json()
    assert set(body) == {"code", "message", "details"} and isinstance(body["code"], int) and body["message"]


def test_bad_usage_requests_are_refused(fake: FakeXAI) -> None:
    request = json.loads((CONTRACTS / "xai_usage_request.json").read_text())
    del request["analyticsRequest"]["timeRange"]["timezone"]

    response = httpx.post(f"{fake.url}{TEAM}/usage", headers=HEADERS, json=request)

    assert response.status_code == 400 and response.json()["code"] == 3


def test_rate_limits_answer_429_with_retry_after(fake: FakeXAI) -> None:
    fake.rate_limit(retry_after=5, path="/prepaid/balance")
    response = httpx.get(f"{fake.url}{TEAM}/prepaid/balance", headers=HEADERS)

    assert response.status_code == 429 and response.headers["retry-after"] == "5"
    assert response.json()["code"] == 8
    assert httpx.get(f"{fake.url}{TEAM}/prepaid/balance", headers=HEADERS).status_code == 200


def test_the_local_copies_match_the_shared_contract() -> None:
    if not PROVIDER_APIS.exists():
        pytest.skip(f"{PROVIDER_APIS} is absent: only the copies in tests/contracts are checked")
    for path in CONTRACTS.iterdir():
        folder = "schemas" if path.name.endswith(".schema.json") else "examples"
        assert path.read_text() == (PROVIDER_APIS / folder / path.name).read_text(), path.name


# GET /auth/teams/{teamId}/api-keys as docs.x.ai/developers/rest-api-reference/management/auth documents it (read
# 2026-12-06): the documented fields only; `disabled` may come as a boolean or, as in the page's own example, a string.
LISTED_KEY = {
    "type": "object", "additionalProperties": False, "required": ["apiKeyId", "redactedApiKey"],
    "properties": {
        **{name: {"type": "string"} for name in ("redactedApiKey", "userId", "name", "teamId", "apiKeyId", "tpm")},
        **{name: {"type": "string", "format": "date-time"} for name in ("createTime", "modifyTime", "expireTime")},
        "disabled": {"anyOf": [{"type": "boolean"}, {"enum": ["true", "false"]}]},
        "qps": {"type": "integer"}, "qpm": {"type": "integer"},
        "aclStrings": {"type": "array", "items": {"type": "string"}},
    },
}
KEY_LIST = {"type": "object", "additionalProperties": False,
            "properties": {"apiKeys": {"type": "array", "items": LISTED_KEY}, "paginationToken": {"type": "string"}}}


def test_the_key_list_pages_and_never_shows_a_key(fake: FakeXAI) -> None:
    path = f"{fake.url}/auth/teams/{DEFAULT_TEAM_ID}/api-keys"
    first = httpx.get(path, params={"pageSize": 2}, headers=HEADERS).json()
    rest = httpx.get(path, params={"pageSize": 2, "paginationToken": first["paginationToken"]}, headers=HEADERS).json()
    whole = httpx.get(path, headers=HEADERS).json()

    for body in (first, rest, whole):
        Draft202012Validator(KEY_LIST, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(body)
    assert first["apiKeys"] + rest["apiKeys"] == whole["apiKeys"] and "paginationToken" not in whole
    assert DEFAULT_INFERENCE_KEY not in json.dumps(whole) and all("apiKey" not in key for key in whole["apiKeys"])


def test_the_key_list_refuses_an_inference_key_and_a_key_without_the_permission(fake: FakeXAI) -> None:
    path = f"{fake.url}/auth/teams/{DEFAULT_TEAM_ID}/api-keys"
    inference = httpx.get(path, headers={"authorization": f"Bearer {DEFAULT_INFERENCE_KEY}"})
    fake.key_list_allowed = False
    try:
        forbidden = httpx.get(path, headers=HEADERS)
    finally:
        fake.key_list_allowed = True

    assert inference.status_code == forbidden.status_code == 403
    assert forbidden.json()["code"] == 7 and httpx.get(f"{fake.url}/auth/management-keys/validation",
                                                       headers=HEADERS).status_code == 200
