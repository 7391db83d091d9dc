"""FakeOpenRouter's responses and errors validate against the OpenRouter contract kept in
tests/contracts/openrouter (and carry no undocumented field) and, when ../shared/provider-apis is present, against
the originals there."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from creditgauge.fakes.openrouter import DEFAULT_API_KEY, DEFAULT_MANAGEMENT_KEY, FakeOpenRouter
from shared_paths import PROVIDER_APIS
from support import check_contract

CONTRACTS = Path(__file__).resolve().parents[1] / "contracts" / "openrouter"
NAMES = sorted(path.name.removesuffix(".schema.json") for path in CONTRACTS.glob("*.schema.json"))
MANAGEMENT = {"authorization": f"Bearer {DEFAULT_MANAGEMENT_KEY}"}
ORDINARY = {"authorization": f"Bearer {DEFAULT_API_KEY}"}


def check(body: Any, name: str) -> None:
    check_contract(body, name, CONTRACTS)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenRouter]:
    with FakeOpenRouter(days=45) as server:
        yield server


def get(fake: FakeOpenRouter, path: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.get(f"{fake.url}/api/v1{path}", headers=headers)


@pytest.mark.parametrize("name", NAMES)
def test_the_local_examples_validate(name: str) -> None:
    check(json.loads((CONTRACTS / f"{name}.json").read_text()), name)


def test_credits_for_a_management_key(fake: FakeOpenRouter) -> None:
    check(get(fake, "/credits", MANAGEMENT).json(), "openrouter_credits")


@pytest.mark.parametrize("headers", [MANAGEMENT, ORDINARY])
def test_key_for_any_key(fake: FakeOpenRouter, headers: dict[str, str]) -> None:
    body = get(fake, "/key", headers).json()

    check(body, "openrouter_key")
    assert body["data"]["is_management_key"] is (headers is MANAGEMENT)


def test_activity_per_day_and_for_all_thirty_days(fake: FakeOpenRouter) -> None:
    yesterday = fake.served_days()[-1].isoformat()
    one_day = get(fake, f"/activity?date={yesterday}", MANAGEMENT).json()
    every_day = get(fake, "/activity", MANAGEMENT).json()

    check(one_day, "openrouter_activity")
    check(every_day, "openrouter_activity")
    assert one_day["data"] and {row["date"] for row in one_day["data"]} == {yesterday}
    assert {row["date"] for row in every_day["data"]} <= {day.isoformat() for day in fake.served_days()}


@pytest.mark.parametrize(("headers", "path", "status", "name"), [
    ({}, "/credits", 401, "openrouter_error_401"),
    ({"authorization": "Bearer sk-or-v1-unknown-000000000000"}, "/key", 401, "openrouter_error_401"),
    (ORDINARY, "/credits", 403, "openrouter_error_403"),
    (ORDINARY, "/activity", 403, "openrouter_error_403"),
])
def test_errors_carry_an_integer_code(
    fake: FakeOpenRouter, headers: dict[str, str], path: str, status: int, name: str
) -> None:
    response = get(fake, path, headers)

    assert response.status_code == status
    check(response.json(), name)
    assert response.json()["error"]["code"] == status


def test_activity_outside_the_last_thirty_completed_days_is_refused(fake: FakeOpenRouter) -> None:
    too_old = fake.served_days()[0] - timedelta(days=1)
    for asked in (fake.today.isoformat(), too_old.isoformat(), "2026-13-01"):
        response = get(fake, f"/activity?date={asked}", MANAGEMENT)

        assert response.status_code == 400 and response.json()["error"]["code"] == 400, asked


def test_rate_limits_answer_429_with_retry_after(fake: FakeOpenRouter) -> None:
    fake.rate_limit(retry_after=3, path="/credits")
    response = get(fake, "/credits", MANAGEMENT)

    assert response.status_code == 429 and response.headers["retry-after"] == "3"
    assert response.json()["error"]["code"] == 429
    assert get(fake, "/credits", MANAGEMENT).status_code == 200


def test_the_local_copies_match_the_shared_contract() -> None:
    if not PROVIDER_APIS.exists():
        pytest.skip(f"{PROVIDER_APIS} is absent: only the copies in tests/contracts are checked")
    for path in CONTRACTS.iterdir():
        folder = "schemas" if path.name.endswith(".schema.json") else "examples"
        assert path.read_text() == (PROVIDER_APIS / folder / path.name).read_text(), path.name


# GET /keys as OpenRouter's OpenAPI spec documents it (OpenRouterTeam/typescript-sdk @ cb9393a, 2026-08-22,
# .speakeasy/in.openapi.yaml): every field the spec requires, and `expires_at`, and nothing else.
NUMBER, NULLABLE_NUMBER = {"type": "number"}, {"type": ["number", "null"]}
LISTED_KEY = {
    "type": "object", "additionalProperties": False,
    "required": ["hash", "name", "label", "disabled", "limit", "limit_remaining", "limit_reset",
                 "include_byok_in_limit", "usage", "usage_daily", "usage_weekly", "usage_monthly", "byok_usage",
                 "byok_usage_daily", "byok_usage_weekly", "byok_usage_monthly", "created_at", "updated_at",
                 "creator_user_id", "workspace_id"],
    "properties": {
        "hash": {"type": "string"}, "name": {"type": "string"}, "label": {"type": "string"},
        "disabled": {"type": "boolean"}, "limit": NULLABLE_NUMBER, "limit_remaining": NULLABLE_NUMBER,
        "limit_reset": {"type": ["string", "null"]}, "include_byok_in_limit": {"type": "boolean"},
        **{name: NUMBER for name in ("usage", "usage_daily", "usage_weekly", "usage_monthly", "byok_usage",
                                     "byok_usage_daily", "byok_usage_weekly", "byok_usage_monthly")},
        "created_at": {"type": "string"}, "updated_at": {"type": ["string", "null"]},
        "creator_user_id": {"type": ["string", "null"]}, "workspace_id": {"type": "string"},
        "expires_at": {"type": ["string", "null"], "format": "date-time"},
    },
}
KEY_LIST = {"type": "object", "additionalProperties": False, "required": ["data"],
            "properties": {"data": {"type": "array", "items": LISTED_KEY}}}


def test_the_key_list_for_a_management_key(fake: FakeOpenRouter) -> None:
    everything = get(fake, "/keys?include_disabled=true&offset=0", MANAGEMENT).json()
    enabled = get(fake, "/keys", MANAGEMENT).json()

    Draft202012Validator(KEY_LIST, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(everything)
    assert any(key["disabled"] for key in everything["data"]) and not any(key["disabled"] for key in enabled["data"])
    assert DEFAULT_API_KEY not in json.dumps(everything)  # the label is the redacted key, the hash an id
    assert get(fake, "/keys?offset=2", MANAGEMENT).json()["data"] == enabled["data"][2:]


def test_the_key_list_refuses_an_ordinary_key(fake: FakeOpenRouter) -> None:
    response = get(fake, "/keys", ORDINARY)

    assert response.status_code == 403
    check(response.json(), "openrouter_error_403")


WORKSPACE_FIELDS = ["id", "default_guardrail_id", "name", "slug", "description", "default_text_model",
                    "default_image_model", "default_provider_sort", "is_observability_io_logging_enabled",
                    "is_observability_broadcast_enabled", "is_data_discount_logging_enabled",
                    "io_logging_sampling_rate", "io_logging_api_key_ids", "created_at", "updated_at", "created_by"]


def test_the_workspaces_page_by_offset_and_limit(fake: FakeOpenRouter) -> None:
    """GET /workspaces as the same spec documents it: {data: [Workspace], total_count}, limit 1 to 100."""
    first = get(fake, "/workspaces?offset=0&limit=1", MANAGEMENT).json()
    rest = get(fake, "/workspaces?offset=1&limit=1", MANAGEMENT).json()

    assert set(first) == {"data", "total_count"} and first["total_count"] == len(fake.workspaces) == 2
    assert [w["id"] for w in first["data"] + rest["data"]] == [w["id"] for w in fake.workspaces]
    assert all(set(w) == set(WORKSPACE_FIELDS) for w in fake.workspaces)
    assert get(fake, "/workspaces?limit=101", MANAGEMENT).status_code == 400
    assert get(fake, "/workspaces", ORDINARY).status_code == 403
