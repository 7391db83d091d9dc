"""FakeAnthropic's responses and errors validate against the Anthropic Admin API contract kept in
tests/contracts/anthropic (and carry no undocumented field) and, when ../shared/provider-apis is present, against
the originals there."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from creditgauge.fakes.anthropic import DEFAULT_ADMIN_KEY, FakeAnthropic
from shared_paths import PROVIDER_APIS
from support import check_contract

CONTRACTS = Path(__file__).resolve().parents[1] / "contracts" / "anthropic"
NAMES = sorted(path.name.removesuffix(".schema.json") for path in CONTRACTS.glob("*.schema.json"))
HEADERS = {"x-api-key": DEFAULT_ADMIN_KEY, "anthropic-version": "2023-06-01"}
SPAN = "starting_at=2026-07-25T00:00:00Z&ending_at=2026-08-02T00:00:00Z"
REPORTS = "/v1/organizations"
REQUESTS = [
    ("anthropic_usage_report_messages", f"{REPORTS}/usage_report/messages?{SPAN}&group_by[]=model"
                                        "&group_by[]=api_key_id&group_by[]=workspace_id&group_by[]=service_tier"),
    ("anthropic_usage_report_messages", f"{REPORTS}/usage_report/messages?{SPAN}&limit=3"),
    ("anthropic_cost_report", f"{REPORTS}/cost_report?{SPAN}&group_by[]=workspace_id&group_by[]=description"),
    ("anthropic_cost_report_ungrouped", f"{REPORTS}/cost_report?{SPAN}"),
    ("anthropic_usage_report_claude_code", f"{REPORTS}/usage_report/claude_code?starting_at=2026-07-29&limit=20"),
    ("anthropic_workspaces", f"{REPORTS}/workspaces?limit=20&include_archived=true"),
    ("anthropic_api_keys", f"{REPORTS}/api_keys?limit=2"),
]


# Documented in the README and the example but left open in the schema.
ALSO_DOCUMENTED = {"anthropic_workspaces": {"data_residency": {"type": "object"}}}


def check(body: Any, name: str) -> None:
    check_contract(body, name, CONTRACTS, ALSO_DOCUMENTED.get(name, {}))


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(days=20, end=date(2026, 8, 10)) as server:
        yield server


def get(fake: FakeAnthropic, path: str, headers: dict[str, str] = HEADERS) -> httpx.Response:
    return httpx.get(f"{fake.url}{path}", headers=headers)


@pytest.mark.parametrize("name", NAMES)
def test_the_local_examples_validate(name: str) -> None:
    check(json.loads((CONTRACTS / f"{name}.json").read_text()), name)


@pytest.mark.parametrize(("name", "path"), REQUESTS)
def test_fake_responses_are_documented(fake: FakeAnthropic, name: str, path: str) -> None:
    response = get(fake, path)

    assert response.status_code == 200, response.text
    body = response.json()
    check(body, name)
    assert body["data"], "an empty page proves nothing"


def test_cost_amounts_are_decimal_strings_of_cents(fake: FakeAnthropic) -> None:
    body = get(fake, f"{REPORTS}/cost_report?{SPAN}&group_by[]=description").json()
    amounts = [item["amount"] for bucket in body["data"] for item in bucket["results"]]
    assert amounts and all(isinstance(amount, str) for amount in amounts)
    claude_code = get(fake, f"{REPORTS}/usage_report/claude_code?starting_at=2026-07-29").json()
    assert all(isinstance(m["estimated_cost"]["amount"], int) for r in claude_code["data"]
               for m in r["model_breakdown"])


def test_cursors_walk_every_bucket_once(fake: FakeAnthropic) -> None:
    starts: list[str] = []
    path = f"{REPORTS}/usage_report/messages?{SPAN}&limit=3"
    while True:
        body = get(fake, path).json()
        starts += [bucket["starting_at"] for bucket in body["data"]]
        if not body["has_more"]:
            break
        assert body["next_page"].startswith("page_")
        path = f"{REPORTS}/usage_report/messages?{SPAN}&limit=3&page={body['next_page']}"
    assert starts == [f"2026-07-{day}T00:00:00Z" for day in range(25, 32)] + ["2026-08-01T00:00:00Z"]


def test_both_array_encodings_group_alike(fake: FakeAnthropic) -> None:
    brackets = get(fake, f"{REPORTS}/usage_report/messages?{SPAN}&group_by[]=model").json()
    repeated = get(fake, f"{REPORTS}/usage_report/messages?{SPAN}&group_by=model").json()
    assert brackets == repeated


@pytest.mark.parametrize(("headers", "path", "status", "kind"), [
    ({"anthropic-version": "2023-06-01"}, "/workspaces", 401, "authentication_error"),
    ({"x-api-key": "sk-ant-api03-workspace-key-000000", "anthropic-version": "2023-06-01"}, "/workspaces", 401,
     "authentication_error"),
    ({"authorization": f"Bearer {DEFAULT_ADMIN_KEY}", "anthropic-version": "2023-06-01"}, "/workspaces", 401,
     "authentication_error"),
    ({"x-api-key": DEFAULT_ADMIN_KEY}, "/workspaces", 400, "invalid_request_error"),
    (HEADERS, "/cost_report?limit=32&starting_at=2026-08-01T00:00:00Z", 400, "invalid_request_error"),
    (HEADERS, "/usage_report/messages", 400, "invalid_request_error"),
    (HEADERS, "/usage_report/messages?starting_at=2026-08-01T00:00:00Z&page=page_%21%21", 400,
     "invalid_request_error"),
    (HEADERS, "/spend_limits", 404, "not_found_error"),
])
def test_errors_have_the_documented_body(
    fake: FakeAnthropic, headers: dict[str, str], path: str, status: int, kind: str
) -> None:
    response = get(fake, f"{REPORTS}{path}", headers)

    assert response.status_code == status
    check(response.json(), "anthropic_error_401")
    assert response.json()["error"]["type"] == kind


def test_rate_limits_answer_429_with_retry_after(fake: FakeAnthropic) -> None:
    fake.rate_limit(retry_after=7, path="/workspaces")
    response = get(fake, f"{REPORTS}/workspaces")

    assert response.status_code == 429 and response.headers["retry-after"] == "7"
    check(response.json(), "anthropic_error_429")
    assert response.json()["error"]["type"] == "rate_limit_error"
    assert get(fake, f"{REPORTS}/workspaces").status_code == 200


def test_the_local_copies_match_the_shared_contract() -> None:
    if not PROVIDER_APIS.exists():
        pytest.skip(f"{PROVIDER_APIS} is absent: only the copies in tests/contracts are checked")
    for path in CONTRACTS.iterdir():
        folder = "schemas" if path.name.endswith(".schema.json") else "examples"
        assert path.read_text() == (PROVIDER_APIS / folder / path.name).read_text(), path.name
