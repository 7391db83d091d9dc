"""`creditgauge keys` on the demo: the forgotten key `prototype-2024` is found by name as a leak suspect with its
day and amount, in the table, JSON and CSV alike; `GET /api/v1/keys` prints the same document; names stand beside
ids in spend and reconcile; and no key material (only fingerprints and the providers' redacted forms) appears in
any output, page or stored row."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Iterator

import pytest
from cli_support import Kept, run_here
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from creditgauge.config import load_config
from creditgauge.demo.scenario import DEMO_KEYS, LEAK_DAYS_AGO
from creditgauge.demo.settings import DemoKeys
from creditgauge.redact import fingerprint
from creditgauge.store.engine import open_engine
from creditgauge.web import create_app

LEAK_AMOUNT = "108.00"


def keys(kept: Kept, *args: str) -> str:
    result = run_here(["-c", str(kept.config), "keys", *args], env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


@pytest.fixture(scope="module")
def engine(demo_kept: Kept) -> Iterator[Engine]:
    engine = open_engine(f"sqlite:///{demo_kept.database}")
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def api(demo_kept: Kept, engine: Engine) -> Iterator[TestClient]:
    app = create_app(load_config(demo_kept.config), engine, demo=True, scheduler=False)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield client


def test_the_forgotten_key_is_a_leak_suspect_by_name(demo_kept: Kept) -> None:
    report = json.loads(keys(demo_kept, "--json"))
    suspects = [row for row in report["rows"] if row["leak_suspect"]]
    assert [row["api_key_name"] for row in suspects] == ["prototype-2024"]
    [leak] = suspects
    assert leak["account"] == "openai" and leak["redacted"].startswith("sk-proj-****")
    assert leak["project_name"] == "support-bot" and leak["project"].startswith("proj_")
    assert leak["reported"] == LEAK_AMOUNT and leak["tracked"] == "0.00" and leak["key_fingerprints"] == []
    assert leak["suspect_amount"] == LEAK_AMOUNT and len(leak["suspect_days"]) == 1
    assert report["suspects"] == 1

    linked = [row for row in report["rows"] if row["account"] == "openai" and row["key_fingerprints"]
              and row["api_key"]]
    assert linked and all(row["difference"] is not None and not row["leak_suspect"] for row in linked)
    anthropic = [row for row in report["rows"] if row["account"] == "anthropic"]
    assert anthropic and all(row["reported"] is None and row["redacted"] for row in anthropic)  # not reported, not 0
    tracked_only = {row["api_key_name"] for row in report["rows"] if row["api_key"] is None}
    assert {"support-bot-key", "evals-key", "demo-live-traffic"} <= tracked_only


def test_xai_and_openrouter_keys_are_listed_by_name(demo_kept: Kept) -> None:
    """Their key lists give names, redacted values and status; neither reports spend per key per day."""
    rows = json.loads(keys(demo_kept, "--json"))["rows"]
    xai = {row["api_key_name"]: row for row in rows if row["account"] == "xai" and row["api_key"]}
    router = {row["api_key_name"]: row for row in rows if row["account"] == "openrouter" and row["api_key"]}
    assert {"grok-chat-prod", "batch-2025", "hackathon"} <= set(xai)
    assert {"my-app", "old-laptop", "trial-week"} <= set(router)
    assert xai["grok-chat-prod"]["redacted"].startswith("xai-...") and xai["grok-chat-prod"]["owner"]
    assert router["my-app"]["redacted"].startswith("sk-or-v1-") and "..." in router["my-app"]["redacted"]
    assert (xai["batch-2025"]["status"], router["trial-week"]["status"]) == ("disabled", "expired")
    listed = [*xai.values(), *router.values()]
    assert all(row["created_at"] and row["reported"] is None and not row["leak_suspect"] for row in listed)


def test_table_and_csv_say_the_same(demo_kept: Kept) -> None:
    table = keys(demo_kept)
    assert all(len(line) <= 80 for line in table.splitlines())
    assert "prototype-2024" in table and "suspect 1d" in table and f"{LEAK_AMOUNT} USD on" in table
    rows = list(csv.DictReader(io.StringIO(keys(demo_kept, "--csv"))))
    [leak] = [row for row in rows if row["leak_suspect"] == "True"]
    assert (leak["api_key_name"], leak["project_name"], leak["suspect_amount"]) == (
        "prototype-2024", "support-bot", LEAK_AMOUNT)
    assert {"api_key_name", "project_name", "workspace_name", "redacted"} <= set(rows[0])


def test_window_options(demo_kept: Kept) -> None:
    recent = json.loads(keys(demo_kept, "--days", str(LEAK_DAYS_AGO - 2), "--json"))
    assert recent["suspects"] == 0
    result = run_here(["-c", str(demo_kept.config), "keys", "--days", "0"])
    assert result.returncode == 2 and "--days 0" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_the_api_prints_the_same_document(demo_kept: Kept, api: TestClient) -> None:
    cli = json.loads(keys(demo_kept, "--json"))
    response = api.get("/api/v1/keys")
    assert response.status_code == 200
    assert response.json() == cli
    as_csv = api.get("/api/v1/keys", params={"format": "csv"}).text
    assert as_csv == keys(demo_kept, "--csv")
    assert api.get("/api/v1/keys", params={"days": "0"}).status_code in (400, 422)


def test_reconcile_by_key_and_project_names_the_leak(demo_kept: Kept, api: TestClient) -> None:
    result = run_here(["-c", str(demo_kept.config), "reconcile", "--by", "key", "--json"])
    by_key = json.loads(result.stdout)
    leak = by_key["rows"][0]
    assert (leak["key_name"], leak["difference"], len(leak["flagged_days"])) == ("prototype-2024", LEAK_AMOUNT, 1)
    result = run_here(["-c", str(demo_kept.config), "reconcile", "--by", "project", "--csv"])
    first = next(csv.DictReader(io.StringIO(result.stdout)))
    assert first["project_name"] == "support-bot" and first["flagged_days"]
    assert api.get("/api/v1/reconcile", params={"by": "key"}).json()["rows"][0]["key_name"] == "prototype-2024"
    bad = run_here(["-c", str(demo_kept.config), "reconcile", "--by", "colour"])
    assert bad.returncode == 2 and "--by 'colour'" in bad.stderr


def test_spend_rows_carry_names_beside_ids(demo_kept: Kept, api: TestClient) -> None:
    result = run_here(["-c", str(demo_kept.config), "spend", "--since", "30d", "--source", "reported",
                       "--by", "api_key,project", "--json"])
    rows = json.loads(result.stdout)["rows"]
    named = {row["api_key_name"] for row in rows}
    assert "prototype-2024" in named and all(row["project_name"] for row in rows if row["project"])
    assert list(rows[0])[:4] == ["api_key", "api_key_name", "project", "project_name"]
    header = run_here(["-c", str(demo_kept.config), "spend", "--since", "30d", "--source", "reported",
                       "--by", "api_key", "--csv"]).stdout.splitlines()[0]
    assert header.startswith("api_key,api_key_name,amount")
    page = api.get("/spend", params={"since": "30d", "group": "api_key", "source": "reported"}).text
    assert "prototype-2024" in page and "key_" in page  # the name, and the id beside it
    usage = api.get("/api/v1/usage", params={"since": "30d", "by": "workspace", "format": "csv"}).text
    assert usage.splitlines()[0].startswith("workspace,workspace_name,")


def test_no_key_material_anywhere(demo_kept: Kept, api: TestClient) -> None:
    """The demo's keys (admin keys and the inference key its traffic sent through the proxy) are planted; only
    their fingerprints and the providers' redacted forms may appear."""
    outputs = [keys(demo_kept, fmt) for fmt in ("--json", "--csv", "--wide")]
    for args in (["reconcile", "--by", "key", "--json"], ["reconcile", "--json"],
                 ["spend", "--since", "30d", "--by", "api_key", "--source", "reported", "--csv"]):
        result = run_here(["-c", str(demo_kept.config), *args])
        outputs += [result.stdout, result.stderr]
    leak = next(row for row in json.loads(outputs[0])["rows"] if row["leak_suspect"])
    for path in ("/keys", f"/keys?key={leak['api_key']}", "/reconcile", "/spend?group=project", "/api/v1/keys",
                 "/api/v1/reconcile?by=key", "/alerts"):
        response = api.get(path)
        assert response.status_code == 200, path
        outputs.append(response.text)
    with sqlite3.connect(demo_kept.database) as connection:
        outputs.append("\n".join(connection.iterdump()))
    everything = "\n".join(outputs)
    assert "prototype-2024" in everything and "fp_" in everything  # the names and fingerprints are there
    for key in DEMO_KEYS:
        assert key not in everything and key[-12:] not in everything
    assert DemoKeys  # the demo put these keys in its environment only


def test_fingerprint_of_prints_only_the_fingerprint(demo_kept: Kept) -> None:
    planted = "sk-proj-PLANTEDplantedPLANTED0123456789"
    result = run_here(["-c", str(demo_kept.config), "keys", "--fingerprint-of", "MY_APP_KEY"],
                      env={"MY_APP_KEY": planted})
    assert result.returncode == 0 and result.stdout.strip() == fingerprint(planted)
    assert planted not in result.stdout + result.stderr
    missing = run_here(["-c", str(demo_kept.config), "keys", "--fingerprint-of", "NOT_SET_ANYWHERE"])
    assert missing.returncode == 2 and "NOT_SET_ANYWHERE" in missing.stderr


def test_the_demo_ships_alert_rules_that_fired_and_resolved(demo_kept: Kept) -> None:
    result = run_here(["-c", str(demo_kept.config), "alerts", "list", "--json"])
    alerts = json.loads(result.stdout)
    kinds = {rule["kind"] for rule in alerts["rules"]}
    assert {"spend_month_above", "runway_below", "leak_suspect"} <= kinds
    assert any(rule["project"] for rule in alerts["rules"])  # a budget per project, and one per account
    events = {(event["rule"], event["event"]) for event in alerts["history"]}
    assert {("leaked-key", "fired"), ("leaked-key", "resolved"), ("runway-under-two-weeks", "fired")} <= events
    fired = next(e for e in alerts["history"] if e["rule"] == "leaked-key" and e["event"] == "fired")
    assert "prototype-2024" in fired["message"] and f"{LEAK_AMOUNT} USD" in fired["message"]
    now = {(c["rule"], c["subject_named"]): c for c in alerts["checks"]}  # each rule now, subjects with names
    budget = next(c for (rule, _), c in now.items() if rule == "support-bot-budget")
    assert "(support-bot)" in budget["subject_named"] and budget["value"].endswith(" USD")  # found by its name
    assert any(rule == "leaked-key" and "(prototype-2024)" in subject for rule, subject in now)
