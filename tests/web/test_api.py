"""Every JSON API endpoint on both databases: the CLI's shapes, exact amounts, clear errors."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from creditgauge.analysis.balance import balances
from creditgauge.analysis.reconcile import reconcile
from creditgauge.analysis.status import status
from creditgauge.serialize import jsonable
from creditgauge.service.reports import ReportQuery, spend_report, usage_report

from . import dataset


def test_spend_is_the_cli_report_with_exact_amounts(client: TestClient, store: Engine) -> None:
    response = client.get("/api/v1/spend", params={"since": "2026-11-01", "by": "model", "source": "reported"})
    assert response.status_code == 200
    body = response.json()
    expected = spend_report(store, ReportQuery(since=date(2026, 11, 1), until=None, by=["model"], source="reported",
                            today=dataset.NOW.date()))
    assert body == jsonable(expected)
    amounts = {row["model"]: row["amount"] for row in body["rows"]}
    assert amounts == {"gpt-4o": "61.75", "gpt-4o-mini": "14.25", "grok-4": "39.90"}
    assert body["totals"] == [{"amount": "115.90", "currency": "USD"}]
    assert set(body) >= {"since", "until", "source", "rows", "totals"}
    assert body["since"] == "2026-11-01T00:00:00Z" and body["until"] == "2026-11-21T00:00:00Z"


def test_spend_tracked_by_tag_counts_unpriced_apart(client: TestClient) -> None:
    body = client.get("/api/v1/spend", params={"since": "month", "by": "account", "source": "tracked"}).json()
    rows = {row["account"]: row for row in body["rows"]}
    assert rows["openai-main"]["amount"] == "60.00"
    assert rows["groq-dev"]["amount"] == "4.00" and rows["groq-dev"]["unpriced_requests"] == 1
    assert body["unpriced_requests"] == 1
    by_tag = client.get("/api/v1/spend", params={"since": "month", "by": "tag:team", "source": "tracked"}).json()
    assert {row["tag:team"]: row["amount"] for row in by_tag["rows"]} == {None: "4.00", "chat": "30.00",
                                                                         "search": "30.00"}


def test_spend_csv_has_the_report_rows(client: TestClient) -> None:
    response = client.get("/api/v1/spend", params={"since": "2026-11-18", "until": "2026-11-20", "source": "reported",
                                                   "by": "day,account", "format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == ["day", "account", "amount", "currency", "provisional"]
    assert [(r["day"], r["account"], r["amount"]) for r in rows] == [
        ("2026-11-18", "openai-main", "4.00"), ("2026-11-18", "xai-team", "2.10"),
        ("2026-11-19", "openai-main", "4.00"), ("2026-11-19", "xai-team", "2.10"),
    ]


def test_spend_bad_input_is_one_clear_line(client: TestClient) -> None:
    response = client.get("/api/v1/spend", params={"by": "colour"})
    assert response.status_code == 400
    assert "'colour' is not a dimension" in response.json()["error"]
    response = client.get("/api/v1/spend", params={"since": "last tuesday"})
    assert response.status_code == 400 and "is not a date" in response.json()["error"]
    response = client.get("/api/v1/spend", params={"source": "guessed"})
    assert response.status_code == 422 and response.json()["error"].startswith("query.source")


def test_usage_matches_the_cli_report(client: TestClient, store: Engine) -> None:
    body = client.get("/api/v1/usage", params={"since": "2026-11-01", "by": "day"}).json()
    expected = usage_report(store, ReportQuery(since=date(2026, 11, 1), until=None, by=["day"], source="reported",
                            today=dataset.NOW.date()))
    assert body == jsonable(expected)
    assert body["totals"]["input_tokens"] == 19 * 1000 and body["totals"]["requests"] == 190
    tracked = client.get("/api/v1/usage", params={"since": "month", "source": "tracked", "format": "csv"})
    assert "input_tokens" in tracked.text.splitlines()[0]


def test_status_and_balances_are_the_analysis_documents(client: TestClient, store: Engine) -> None:
    config = dataset.config()
    assert client.get("/api/v1/status").json() == jsonable(status(config, store, now=dataset.NOW).to_dict())
    body = client.get("/api/v1/balances").json()
    assert body == jsonable(balances(config, store, now=dataset.NOW).to_dict())
    kinds = {(row["account"], row["currency"]): (row["kind"], Decimal(row["amount"])) for row in body["rows"]}
    assert kinds[("xai-team", "USD")] == ("verified", Decimal("123.45"))
    assert kinds[("deepseek", "CNY")] == ("verified", Decimal("110.00"))
    assert kinds[("openai-main", "USD")][0] == "estimated"
    assert kinds[("groq-dev", "USD")][0] == "limit_only"


def test_reconcile_matches_the_analysis(client: TestClient, store: Engine) -> None:
    body = client.get("/api/v1/reconcile", params={"since": "2026-11-01"}).json()
    expected = reconcile(dataset.config(), store, since=date(2026, 11, 1), now=dataset.NOW)
    assert body == jsonable(expected.to_dict())
    assert body["rows"], "openai-main has both reported and tracked days to compare"


def test_ledger_add_list_remove(client: TestClient) -> None:
    response = client.post("/api/v1/ledger", json={"account": "groq-dev", "kind": "grant", "amount": "25.00",
                                                   "at": "2026-11-01", "expires": "2026-12-31", "note": "promo"})
    assert response.status_code == 201, response.text
    entry = response.json()
    assert entry["amount"] == "25.00" and entry["currency"] == "USD" and entry["expires_at"] == "2026-12-31T00:00:00Z"
    listed = client.get("/api/v1/ledger").json()["rows"]
    assert [e["id"] for e in listed if e["account"] == "groq-dev"] == [entry["id"]]
    kinds = {row["account"]: row["kind"] for row in client.get("/api/v1/balances").json()["rows"]}
    assert kinds["groq-dev"] == "estimated"  # a ledger entry turns a limit-only account into an estimate
    removed = client.post(f"/api/v1/ledger/{entry['id']}/remove", json={})
    assert removed.status_code == 200 and removed.json()["id"] == entry["id"]
    assert client.post(f"/api/v1/ledger/{entry['id']}/remove", json={}).status_code == 404  # no such entry


def test_ledger_refuses_bad_entries(client: TestClient) -> None:
    cases = [
        ({"account": "nobody", "kind": "deposit", "amount": "1"}, "no account named 'nobody'"),
        ({"account": "groq-dev", "kind": "gift", "amount": "1"}, "ledger kind 'gift'"),
        ({"account": "groq-dev", "kind": "deposit", "amount": "lots"}, "is not an amount"),
        ({"account": "groq-dev", "kind": "deposit", "amount": "-5"}, "must be a positive amount"),
        ({"account": "groq-dev", "kind": "grant", "amount": "5"}, "needs its expiry"),
        ({"account": "groq-dev", "kind": "deposit", "amount": "5", "currency": "dollars"},
         "currency 'dollars' is not an ISO 4217 currency code"),
    ]
    for body, message in cases:
        response = client.post("/api/v1/ledger", json=body)
        assert response.status_code == 400, body
        assert message in response.json()["error"]
    assert client.get("/api/v1/ledger").json()["rows"][0]["note"] == "initial top-up"
    assert len(client.get("/api/v1/ledger").json()["rows"]) == 1


def test_alerts_lists_rules_states_and_history(store: Engine) -> None:
    from creditgauge.web import create_app

    config = dataset.config(alerts={"rules": [{"name": "low runway", "kind": "runway_below", "days": "7"}]})
    with TestClient(create_app(config, store, scheduler=False), base_url="http://127.0.0.1") as client:
        body = client.get("/api/v1/alerts").json()
    assert body["rules"][0]["name"] == "low runway" and body["rules"][0]["days"] == "7"
    assert body["states"] == [] and body["history"] == []


def test_sync_runs_and_read_only_sync(client: TestClient) -> None:
    body = client.get("/api/v1/sync/runs").json()
    assert body == {"runs": [], "sources": [], "problems": [], "quarantined": {"total": 0, "items": []}}
    response = client.post("/api/v1/sync", json={})
    assert response.status_code == 409 and "read-only" in response.json()["error"]


def test_openapi_documents_every_endpoint(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in ("/api/v1/status", "/api/v1/spend", "/api/v1/usage", "/api/v1/balances", "/api/v1/reconcile",
                 "/api/v1/ledger", "/api/v1/alerts", "/api/v1/sync/runs", "/api/v1/sync"):
        assert path in paths, path
    assert client.get("/docs").status_code == 404  # the stock docs page would load a CDN


def test_events_ingest_is_mounted_and_feeds_the_reports(client: TestClient) -> None:
    batch = {"events": [{"id": "ext-1", "account": "groq-dev", "ts": "2026-11-20T08:00:00Z", "model": "llama-x",
                         "input_tokens": 10, "output_tokens": 5, "cost": "0.75"},
                        {"id": "ext-2", "account": "nobody", "ts": "2026-11-20T08:00:00Z"}]}
    response = client.post("/api/v1/events", json=batch)
    assert response.status_code == 422
    assert response.json()["stored"] == 1 and response.json()["errors"][0]["field"] == "account"
    assert client.post("/api/v1/events", content=b"{}", headers={"content-type": "text/plain"}).status_code == 415
    spend = client.get("/api/v1/spend", params={"since": "today", "by": "model", "source": "tracked"}).json()
    assert {"model": "llama-x", "currency": "USD", "amount": "0.75", "unpriced_requests": 0} in spend["rows"]
    assert "/api/v1/events" in client.get("/api/v1/openapi.json").json()["paths"]


def cli_env(store: Engine, tmp_path: Path) -> dict[str, str]:
    """The environment that points the CLI at the dataset's store and accounts."""
    config_file = tmp_path / "config.toml"
    config_file.write_text("".join(
        f'[accounts.{name}]\n' + "".join(f'{key} = "{value}"\n' for key, value in body.items())
        for name, body in dataset.ACCOUNTS.items()))
    return {"CREDITGAUGE_DATABASE_URL": store.url.render_as_string(hide_password=False),
            "CREDITGAUGE_CONFIG": str(config_file)}


def test_cli_json_and_api_print_the_same_documents(client: TestClient, store: Engine, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from creditgauge.cli import app

    env = cli_env(store, tmp_path)
    pairs = [
        (["status"], "/api/v1/status"),
        (["balance"], "/api/v1/balances"),
        (["ledger", "list"], "/api/v1/ledger"),
        (["alerts", "list"], "/api/v1/alerts"),
        (["reconcile", "--since", "2026-11-01"], "/api/v1/reconcile?since=2026-11-01"),
        (["spend", "--since", "2026-11-01", "--until", "2026-11-20", "--by", "day,model"],
         "/api/v1/spend?since=2026-11-01&until=2026-11-20&by=day,model"),
        (["usage", "--since", "2026-11-01", "--until", "2026-11-20", "--by", "model", "--source", "tracked"],
         "/api/v1/usage?since=2026-11-01&until=2026-11-20&by=model&source=tracked"),
    ]
    for command, path in pairs:
        result = CliRunner().invoke(app, [*command, "--json"], env=env)
        assert result.exit_code == 0, (command, result.output)
        assert without_today(json.loads(result.stdout)) == without_today(client.get(path).json()), command


def test_cli_csv_and_api_csv_have_the_same_columns(client: TestClient, store: Engine, tmp_path: Path) -> None:
    """One column list per report: `usage --csv --by day,project` names the project and marks provisional days, as
    the API's CSV does."""
    from typer.testing import CliRunner

    from creditgauge.cli import app

    env = cli_env(store, tmp_path)
    for report, by, source in (("usage", "day,project", "reported"), ("usage", "model", "tracked"),
                               ("spend", "day,project", "best"), ("spend", "account", "reported")):
        result = CliRunner().invoke(app, [report, "--since", "2026-11-01", "--by", by, "--source", source, "--csv"],
                                    env=env)
        assert result.exit_code == 0, (report, result.output)
        api = client.get(f"/api/v1/{report}", params={"since": "2026-11-01", "by": by, "source": source,
                                                      "format": "csv"}).text
        cli_header, api_header = (next(csv.reader(io.StringIO(text))) for text in (result.stdout, api))
        assert cli_header == api_header, (report, by, source)
    assert {"project_name", "provisional"} <= set(next(csv.reader(io.StringIO(CliRunner().invoke(
        app, ["usage", "--since", "2026-11-01", "--by", "day,project", "--csv"], env=env).stdout))))


def without_today(document: dict[str, Any]) -> dict[str, Any]:
    """The report commands date "provisional" from the wall clock, the server from creditgauge.clock (frozen)."""
    document.pop("provisional_since", None)
    for row in document.get("rows", []):
        row.pop("provisional", None)
    return document
