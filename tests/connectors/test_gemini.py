"""GeminiConnector against FakeGoogle (token endpoint, Cloud Monitoring, BigQuery) through the real sync engine,
stored on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from creditgauge.config import Config, parse_config
from creditgauge.connectors.gemini import GeminiConnector
from creditgauge.domain import ItemProblem, Window
from creditgauge.errors import AuthError, ConfigError, ContractError
from creditgauge.fakes.google import BILLING_TABLE, INPUT_TOKENS, PROJECT, FakeGoogle, billing_row
from creditgauge.http import RetryPolicy
from creditgauge.store import schema
from creditgauge.sync import SyncReport, run_sync
from support import database_dump, run_task

WINDOW = Window.days(date(2026, 8, 1), date(2026, 8, 4))
NOW = datetime(2026, 8, 3, 12, tzinfo=UTC)  # the sync window is then [Aug 1, Aug 4)
OUTPUT_TOKENS = "generativelanguage.googleapis.com/generate_content_paid_tier_output_token_count"
Sync = Callable[..., SyncReport]


@pytest.fixture
def fake() -> Iterator[FakeGoogle]:
    with FakeGoogle() as server:
        yield server


@pytest.fixture
def key_file(fake: FakeGoogle, tmp_path: Path) -> Path:
    return fake.write_service_account(tmp_path / "reader.json")


def config_for(fake: FakeGoogle, key_file: Path | None, **fields: Any) -> Config:
    body = {"provider": "gemini", "gcp_project": PROJECT, "billing_table": BILLING_TABLE,
            "monitoring_base_url": fake.url, "bigquery_base_url": fake.url, **fields}
    if key_file is not None:
        body["credentials_file"] = str(key_file)
    return parse_config({"accounts": {"gemini": body}}, None)


@pytest.fixture
def sync(engine: Engine, fake: FakeGoogle, key_file: Path) -> Sync:
    """The real sync engine over one Gemini account bound to the fake."""

    def run(*, credentials: Path | None = key_file, **fields: Any) -> SyncReport:
        return run_sync(config_for(fake, credentials, **fields), engine, since=date(2026, 8, 1), now=NOW)

    return run


def connector_for(fake: FakeGoogle, key_file: Path | None, **fields: Any) -> GeminiConnector:
    account = config_for(fake, key_file, **fields).account("gemini")
    return GeminiConnector.build(account, None, retry=RetryPolicy(base_delay=0.01))


def fetch(fake: FakeGoogle, key_file: Path | None, source: str, **fields: Any) -> list:
    """One task of the connector called directly, to see the exception it raises."""
    connector = connector_for(fake, key_file, **fields)

    return run_task(connector, source, WINDOW)


def costs(engine: Engine) -> list[tuple[date, str | None, Decimal, str, dict]]:
    table = schema.cost_buckets
    with engine.connect() as connection:
        rows = connection.execute(select(table).order_by(table.c.start_time, table.c.line_item)).all()
    return [(row.start_time.date(), row.line_item, row.amount, row.currency, row.extra) for row in rows]


def usage(engine: Engine) -> dict[tuple[date, str, str], tuple[int, int, int]]:
    with engine.connect() as connection:
        rows = connection.execute(select(schema.usage_buckets)).all()
    return {(row.start_time.date(), row.kind, next(iter(row.extra.values()))):
            (row.requests, row.input_tokens, row.output_tokens) for row in rows}


def test_usage_and_costs_are_stored_exactly(engine: Engine, fake: FakeGoogle, sync: Sync) -> None:
    report = sync()

    assert report.status == "ok", report.as_dict()
    assert usage(engine) == {
        (date(2026, 8, 1), "requests", "2xx"): (655, 0, 0),
        (date(2026, 8, 2), "requests", "2xx"): (412, 0, 0),
        (date(2026, 8, 1), "tokens", INPUT_TOKENS): (0, 2950117, 0),
        (date(2026, 8, 2), "tokens", INPUT_TOKENS): (0, 1843002, 0),
    }
    # Net = cost + credits (credits are negative); the Compute Engine row is another service and is left out.
    assert costs(engine) == [
        (date(2026, 8, 1), "Gemini 2.5 Flash Input Text Tokens", Decimal(0), "USD",
         {"gross": "0.885035", "credits": "-0.885035", "service": "Gemini API"}),
        (date(2026, 8, 1), "Gemini 2.5 Flash Output Text Tokens", Decimal("1.28456789"), "USD",
         {"gross": "1.33456789", "credits": "-0.05", "service": "Gemini API"}),
        (date(2026, 8, 2), "Gemini 2.5 Flash Input Text Tokens", Decimal("0.552901"), "USD",
         {"gross": "0.552901", "credits": "0", "service": "Gemini API"}),
    ]


def test_the_query_is_parameterised_and_sums_exactly(engine: Engine, fake: FakeGoogle, sync: Sync) -> None:
    day = datetime(2026, 8, 3, 10, tzinfo=UTC)
    fake.billing_rows = [billing_row(day, "Gemini SKU", "0.1"), billing_row(day, "Gemini SKU", "0.2"),
                         billing_row(day, "Pro SKU", "0.1234567891", currency="EUR"),
                         billing_row(datetime(2026, 7, 31, 23, tzinfo=UTC), "Gemini SKU", "5")]

    sync(billing_service="Gemini API")

    assert [(d, sku, amount, currency) for d, sku, amount, currency, _ in costs(engine)] == [
        (date(2026, 8, 3), "Gemini SKU", Decimal("0.3"), "USD"),  # 0.30000000000000004 as binary floats
        (date(2026, 8, 3), "Pro SKU", Decimal("0.123456789"), "EUR"),  # CAST(FLOAT64 AS NUMERIC): 9 decimals
    ]
    request = json.loads(next(r.body for r in fake.requests if r.path.endswith("/queries")))
    assert f"FROM `{BILLING_TABLE}`" in request["query"] and "Gemini API" not in request["query"]
    assert {p["name"]: p["parameterValue"]["value"] for p in request["queryParameters"]} == {
        "service": "Gemini API", "start": "2026-08-01 00:00:00+00:00", "end": "2026-08-04 00:00:00+00:00"}


def test_the_billing_service_is_configurable(engine: Engine, fake: FakeGoogle, sync: Sync) -> None:
    sync(billing_service="Compute Engine")

    assert [(sku, amount) for _, sku, amount, _, _ in costs(engine)] == [("Compute Engine Core", Decimal("9.99"))]


def test_every_page_and_every_poll_is_followed(engine: Engine, fake: FakeGoogle, sync: Sync) -> None:
    fake.series_per_page, fake.rows_per_page, fake.pending_polls = 1, 1, 2
    fake.token_usage[date(2026, 8, 2), OUTPUT_TOKENS] = 70
    fake.request_counts[date(2026, 8, 2), "429"] = 9

    assert sync().status == "ok"

    stored = usage(engine)
    assert stored[date(2026, 8, 2), "tokens", OUTPUT_TOKENS] == (0, 0, 70)
    assert stored[date(2026, 8, 2), "requests", "4xx"] == (9, 0, 0)
    assert len(costs(engine)) == 3
    assert fake.count("/timeSeries") == 4  # two series of each metric, one per page
    polls = [dict(r.query) for r in fake.requests if "/queries/" in r.path]
    # two polls still running, the third completes with the first row, then two more pages of one row
    assert [("pageToken" in q, "timeoutMs" in q) for q in polls] == [(False, True)] * 3 + [(True, False)] * 2
    assert fake.count("/token") == 1  # both tasks shared one token


def test_application_default_credentials_are_used_without_a_credentials_file(
    engine: Engine, fake: FakeGoogle, sync: Sync, key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key_file))

    assert sync(credentials=None).status == "ok"
    assert len(costs(engine)) == 3


def test_no_credentials_at_all_is_a_config_error_with_the_fix(
    fake: FakeGoogle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    with pytest.raises(ConfigError, match=r"no Google credentials found.*set credentials_file"):
        fetch(fake, None, "monitoring_usage")
    with pytest.raises(ConfigError, match=r"credentials_file .*missing.json does not exist"):
        connector_for(fake, tmp_path / "missing.json")


def test_a_refused_service_account_key_names_the_file(fake: FakeGoogle, tmp_path: Path, sync: Sync) -> None:
    unknown = fake.write_service_account(tmp_path / "deleted-key.json", known=False)

    with pytest.raises(AuthError, match=r"Google refused the credentials_file .*deleted-key.json: invalid_grant"):
        fetch(fake, unknown, "monitoring_usage")
    report = sync(credentials=unknown)
    assert report.status == "failed" and all("deleted-key.json" in (r.error or "") for r in report.results)


def test_a_permission_failure_names_the_roles_needed(fake: FakeGoogle, key_file: Path) -> None:
    fake.projects = set()
    with pytest.raises(AuthError) as monitoring:
        fetch(fake, key_file, "monitoring_usage")
    with pytest.raises(AuthError) as bigquery:
        fetch(fake, key_file, "billing_export")

    assert "HTTP 403" in str(monitoring.value) and "monitoring.timeSeries.list denied" in str(monitoring.value)
    assert f"credentials_file {key_file} needs roles/monitoring.viewer on project {PROJECT}" in str(monitoring.value)
    assert "bigquery.jobs.create permission" in str(bigquery.value)
    assert "roles/bigquery.jobUser" in str(bigquery.value) and BILLING_TABLE in str(bigquery.value)


@pytest.mark.parametrize("fields", [{"gcp_project": None}, {"billing_table": "billing; DROP TABLE x"}])
def test_bad_account_settings_are_config_errors(fake: FakeGoogle, key_file: Path, fields: dict) -> None:
    with pytest.raises(ConfigError, match=r"gcp_project is not set|is not project.dataset.table"):
        connector_for(fake, key_file, **fields)


def test_without_a_billing_table_only_usage_is_synced(fake: FakeGoogle, key_file: Path) -> None:
    connector = connector_for(fake, key_file, billing_table=None)
    assert [task.source for task in connector.tasks()] == ["monitoring_usage"]
    asyncio.run(connector.aclose())


def test_a_missing_google_auth_says_how_to_install_it(
    fake: FakeGoogle, key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "google.auth", None)
    with pytest.raises(ConfigError, match=r"pip install 'creditgauge\[google\]'"):
        connector_for(fake, key_file)


def test_the_token_refresh_does_not_block_the_event_loop(fake: FakeGoogle, key_file: Path) -> None:
    fake.latency = 0.3
    connector = connector_for(fake, key_file)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def run() -> None:
        beat = asyncio.create_task(ticker())
        try:
            await connector.tokens.token()
        finally:
            beat.cancel()
            await connector.aclose()

    asyncio.run(run())
    assert ticks >= 10


@pytest.mark.parametrize("path", ["/timeSeries", "/queries"])
def test_rate_limited_once_then_served(engine: Engine, fake: FakeGoogle, sync: Sync, path: str) -> None:
    body = json.loads((Path(__file__).parents[1] / "contracts" / "google" / "gemini_error_429.json").read_text())
    fake.fail(429, body, headers={"retry-after": "0"}, path=path)

    assert sync().status == "ok"

    assert len(usage(engine)) == 4 and len(costs(engine)) == 3


def test_unknown_extra_fields_are_accepted(engine: Engine, fake: FakeGoogle, sync: Sync) -> None:
    fake.extra_fields = {"executionErrors": [], "dmlStats": None, "newField": {"x": 1}}

    assert sync().status == "ok"
    assert len(usage(engine)) == 4 and len(costs(engine)) == 3


BROKEN = [
    ("monitoring_usage", "/timeSeries", {"timeSeries": [{"metric": {"type": "x"}, "resource": {"type": "y"}}]}),
    ("billing_export", "/queries", {"kind": "bigquery#queryResponse", "jobReference": {"jobId": "j"}}),
    ("billing_export", "/queries", {"jobReference": {"jobId": "j"}, "jobComplete": True,
                                    "schema": {"fields": [{"name": "day", "type": "DATE"}]}, "rows": []}),
    ("billing_export", "/queries", None),  # malformed JSON
]
ONE_BAD_ITEM = [  # (source, path, body, field): the item is an ItemProblem, the task goes on
    ("monitoring_usage", "/timeSeries", {"timeSeries": [{"metric": {"type": "x"}, "resource": {"type": "y"},
                                                         "points": [{"interval": {"endTime": "2026-08-02T00:00:00Z"},
                                                                     "value": {"int64Value": "12.5"}}]}]},
     "int64Value"),
    ("billing_export", "/queries", {"jobReference": {"jobId": "j"}, "jobComplete": True,
                                    "schema": {"fields": [{"name": n} for n in
                                                          ("day", "sku", "currency", "cost", "credits")]},
                                    "rows": [{"f": [{"v": "2026-08-02"}, {"v": "SKU"}, {"v": "USD"}, {"v": None},
                                                    {"v": "0"}]}]},
     "cost"),
]


@pytest.mark.parametrize(("source", "path", "body"), BROKEN)
def test_a_broken_response_is_a_contract_error(
    fake: FakeGoogle, key_file: Path, source: str, path: str, body: Any
) -> None:
    if body is None:
        fake.fail(200, raw='{"jobReference": {"jobId": ', path=path)
    else:
        fake.fail(200, body, path=path)

    with pytest.raises(ContractError, match=f"gemini (GET|POST) /[a-z0-9]+/.*{path}"):
        fetch(fake, key_file, source)


@pytest.mark.parametrize(("source", "path", "body", "field"), ONE_BAD_ITEM)
def test_one_unreadable_point_or_row_is_an_item_problem(
    fake: FakeGoogle, key_file: Path, source: str, path: str, body: Any, field: str
) -> None:
    fake.fail(200, body, path=path, times=2)

    facts = fetch(fake, key_file, source)

    assert [(type(f).__name__, f.field) for f in facts if isinstance(f, ItemProblem)] == [("ItemProblem", field)]


@pytest.mark.parametrize(("source", "path", "body"), [BROKEN[0], BROKEN[-2]])
def test_a_task_with_a_broken_response_stores_nothing(
    engine: Engine, fake: FakeGoogle, sync: Sync, source: str, path: str, body: Any
) -> None:
    fake.fail(200, body, path=path)

    report = sync()

    assert {r.source for r in report.failures} == {source}
    assert (usage(engine) if source == "monitoring_usage" else costs(engine)) in ({}, [])
    assert (costs(engine) if source == "monitoring_usage" else usage(engine)) not in ({}, [])


def test_the_private_key_and_tokens_are_found_nowhere(
    engine: Engine, fake: FakeGoogle, key_file: Path, tmp_path: Path, sync: Sync,
    caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    private_key = json.loads(key_file.read_text())["private_key"]
    key_line = private_key.splitlines()[5]  # a line of the key's body, as a partial leak would show it
    assert sync().status == "ok"
    fake.projects = set()
    failed = sync()
    refused = sync(credentials=fake.write_service_account(tmp_path / "deleted.json", known=False))

    assert failed.status == "failed" and refused.status == "failed"
    dump = database_dump(engine)
    assert "2950117" in dump and "HTTP 403" in dump
    outputs = [dump, caplog.text, str(failed.as_dict()), str(refused.as_dict())]
    for secret in (private_key, key_line, *fake.access_tokens):
        assert all(secret not in text for text in outputs)
