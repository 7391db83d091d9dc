"""FakeGoogle's responses validate against the Google contracts kept in tests/contracts/google (Cloud Monitoring
timeSeries, billing-export rows, google.rpc.Status errors, and creditgauge's own schemas for BigQuery jobs.query and
the OAuth token endpoint) and, when ../shared/provider-apis is present, against the originals there."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import google.auth.crypt
import google.auth.jwt
import google.auth.transport.requests
import httpx
import pytest
from google.oauth2 import service_account
from jsonschema import Draft202012Validator

from creditgauge.connectors.gemini import COST_SQL, REQUESTS_FILTER, SCOPES, TOKENS_FILTER
from creditgauge.fakes.google import BILLING_TABLE, PROJECT, FakeGoogle
from creditgauge.fakes.server import dumps
from shared_paths import PROVIDER_APIS

CONTRACTS = Path(__file__).resolve().parents[1] / "contracts" / "google"
SHARED = ("gcp_monitoring_timeseries", "gcp_billing_export_rows", "gemini_error_429")


def validate(body: Any, name: str) -> None:
    directories = [CONTRACTS]
    if name in SHARED and PROVIDER_APIS.exists():
        directories.append(PROVIDER_APIS / "schemas")
    for directory in directories:
        schema = json.loads((directory / f"{name}.schema.json").read_text())
        Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(body)


def example(name: str) -> Any:
    return json.loads((CONTRACTS / f"{name}.json").read_text(), parse_float=Decimal)


def shape(value: Any) -> Any:
    """The field names of a JSON value, recursively (first item of lists), without the values."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return None


@pytest.fixture
def fake() -> Iterator[FakeGoogle]:
    with FakeGoogle() as server:
        yield server


@pytest.fixture
def auth(fake: FakeGoogle, tmp_path: Path) -> dict[str, str]:
    """A bearer header with a token google-auth obtained from the fake's token endpoint."""
    key_file = fake.write_service_account(tmp_path / "sa.json")
    credentials = service_account.Credentials.from_service_account_file(str(key_file), scopes=list(SCOPES))
    credentials.refresh(google.auth.transport.requests.Request())
    return {"Authorization": f"Bearer {credentials.token}"}


def get(fake: FakeGoogle, auth: dict[str, str], path: str, **params: str) -> httpx.Response:
    return httpx.get(f"{fake.url}{path}", params=params, headers=auth)


def series(fake: FakeGoogle, auth: dict[str, str], filter_: str, **extra: str) -> dict[str, Any]:
    response = get(fake, auth, f"/v3/projects/{PROJECT}/timeSeries", filter=filter_,
                   **{"interval.startTime": "2026-08-01T00:00:00Z", "interval.endTime": "2026-08-03T00:00:00Z",
                      "aggregation.alignmentPeriod": "86400s", "aggregation.perSeriesAligner": "ALIGN_SUM"}, **extra)
    assert response.status_code == 200, response.text
    return json.loads(response.text, parse_float=Decimal)


def test_monitoring_serves_the_documented_series(fake: FakeGoogle, auth: dict[str, str]) -> None:
    documented = example("gcp_monitoring_timeseries")
    tokens, requests = series(fake, auth, TOKENS_FILTER), series(fake, auth, REQUESTS_FILTER)
    for body in (tokens, requests):
        validate(body, "gcp_monitoring_timeseries")
        assert set(body) <= {"timeSeries", "nextPageToken", "unit"}
    assert tokens["timeSeries"] == [documented["timeSeries"][0]]
    assert requests["timeSeries"] == [documented["timeSeries"][1]]


def test_monitoring_pages_validate(fake: FakeGoogle, auth: dict[str, str]) -> None:
    fake.series_per_page = 1
    fake.request_counts[next(iter(fake.request_counts))[0], "429"] = 3
    first = series(fake, auth, REQUESTS_FILTER)
    second = series(fake, auth, REQUESTS_FILTER, pageToken=first["nextPageToken"])
    for body in (first, second):
        validate(body, "gcp_monitoring_timeseries")
    assert "nextPageToken" not in second


def test_billing_rows_have_exactly_the_documented_fields(fake: FakeGoogle) -> None:
    rows = json.loads(dumps(fake.billing_rows), parse_float=Decimal)
    validate(rows, "gcp_billing_export_rows")
    credited = next(row for row in rows if row["credits"])
    assert shape(credited) == shape(example("gcp_billing_export_rows")[0])


@pytest.mark.parametrize("pending_polls", [0, 1])
def test_bigquery_answers_validate(fake: FakeGoogle, auth: dict[str, str], pending_polls: int) -> None:
    fake.pending_polls, fake.rows_per_page = pending_polls, 2
    request = {"query": COST_SQL.format(table=BILLING_TABLE), "useLegacySql": False, "parameterMode": "NAMED",
               "queryParameters": [
                   {"name": "service", "parameterType": {"type": "STRING"}, "parameterValue": {"value": "Gemini API"}},
                   {"name": "start", "parameterType": {"type": "TIMESTAMP"},
                    "parameterValue": {"value": "2026-08-01 00:00:00+00:00"}},
                   {"name": "end", "parameterType": {"type": "TIMESTAMP"},
                    "parameterValue": {"value": "2026-08-04 00:00:00+00:00"}}]}
    answers = [httpx.post(f"{fake.url}/bigquery/v2/projects/{PROJECT}/queries", json=request,
                          headers=auth).json()]
    job = answers[0]["jobReference"]["jobId"]
    while not answers[-1]["jobComplete"] or "pageToken" in answers[-1]:
        token = {"pageToken": answers[-1]["pageToken"]} if answers[-1]["jobComplete"] else {}
        answers.append(get(fake, auth, f"/bigquery/v2/projects/{PROJECT}/queries/{job}", **token).json())
    for answer in answers:
        validate(answer, "bigquery_query_response")
    running = [False] * (pending_polls + 1) if pending_polls else []  # jobs.query, then n polls still running
    assert [a["jobComplete"] for a in answers] == [*running, True, True]
    assert sum(len(a.get("rows", [])) for a in answers) == 3


def test_the_token_endpoint_answers_validate(fake: FakeGoogle, tmp_path: Path) -> None:
    key_file = fake.write_service_account(tmp_path / "sa.json")
    info = json.loads(key_file.read_text())
    now = int(time.time())
    assertion = google.auth.jwt.encode(google.auth.crypt.RSASigner.from_service_account_info(info), {
        "iss": info["client_email"], "scope": " ".join(SCOPES), "aud": "https://oauth2.googleapis.com/token",
        "iat": now, "exp": now + 3600})
    grant = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer"}

    issued = httpx.post(f"{fake.url}/token", data={**grant, "assertion": assertion.decode()})
    refused = httpx.post(f"{fake.url}/token", data={**grant, "assertion": "not.a.jwt"})

    assert (issued.status_code, refused.status_code) == (200, 400)
    for response in (issued, refused):
        validate(response.json(), "oauth_token_response")
    assert issued.json()["access_token"] in fake.access_tokens


def test_errors_are_google_rpc_status_bodies(fake: FakeGoogle, auth: dict[str, str]) -> None:
    unauthenticated = httpx.get(f"{fake.url}/v3/projects/{PROJECT}/timeSeries")
    fake.projects = set()
    denied = httpx.post(f"{fake.url}/bigquery/v2/projects/{PROJECT}/queries", json={},
                        headers=auth)
    for response, code in ((unauthenticated, 401), (denied, 403)):
        assert response.status_code == code
        validate(response.json(), "gemini_error_429")  # the google.rpc.Status shape, whatever the code
    assert denied.json()["error"]["errors"][0]["reason"] == "accessDenied"


def test_the_local_copies_match_the_shared_contract() -> None:
    if not PROVIDER_APIS.exists():
        pytest.skip(f"{PROVIDER_APIS} is absent: only the copies in tests/contracts are checked")
    for name in SHARED:
        assert (CONTRACTS / f"{name}.json").read_text() == (PROVIDER_APIS / "examples" / f"{name}.json").read_text()
        assert (CONTRACTS / f"{name}.schema.json").read_text() == (
            PROVIDER_APIS / "schemas" / f"{name}.schema.json"
        ).read_text()
