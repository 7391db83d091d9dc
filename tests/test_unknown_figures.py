"""Unknown is never zero: a day the provider has not posted (and nothing tracked), an account with no spend source,
a model with no price and a request count the provider does not report are `null` in --json, "not reported" or "—"
in the tables and on the pages, never 0 or 0.00; an account whose spend cannot be known has state `unknown`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from creditgauge.cli import app
from creditgauge.clock import FrozenClock, use_clock
from creditgauge.config import load_config
from creditgauge.domain import BalanceSnapshot, CostBucket, UsageBucket, UsageEvent, day_start
from creditgauge.store.engine import open_engine
from creditgauge.store.events import store_events
from creditgauge.store.facts import ensure_account, store_facts
from creditgauge.web import create_app

NOW = datetime(2026, 3, 18, 12, tzinfo=UTC)  # a Wednesday; the 17th and 18th are not posted by "oa"
CONFIG = """
[accounts.oa]
provider = "openai"
key_env = "OA_ADMIN_KEY"

[accounts.moon]
provider = "moonshot"
key_env = "MOON_KEY"

[accounts.ds]
provider = "deepseek"
key_env = "DS_KEY"

[accounts.ant]
provider = "anthropic"
key_env = "ANT_ADMIN_KEY"
"""
ZERO_MONEY = re.compile(r"(?<![\d.,])0\.00(?!\d)")  # "0.00" on its own, not the tail of "100.00"


def _day(day: date) -> datetime:
    return day_start(day)


def _seed(database_url: str) -> None:
    engine = open_engine(database_url)
    with engine.begin() as connection:
        for name, provider, currency in (("oa", "openai", "USD"), ("moon", "moonshot", "CNY"),
                                         ("ds", "deepseek", "CNY"), ("ant", "anthropic", "USD")):
            ensure_account(connection, name, provider, currency)
    # oa: reported from the 1st to the 16th, $2 a day; nothing tracks it, so the 17th and 18th are unknown.
    days = [date(2026, 3, 1) + timedelta(days=n) for n in range(16)]
    store_facts(engine, account="oa", source="costs", window=None, facts=[
        CostBucket(_day(day), _day(day) + timedelta(days=1), Decimal("2.00"), "USD", model="gpt-4o")
        for day in days])
    # moon: a verified balance and no spend source at all.
    store_facts(engine, account="moon", source="balance", window=None,
                facts=[BalanceSnapshot(NOW - timedelta(hours=1), Decimal("100.00"), "CNY")])
    # ds: a balance, and three tracked requests to a model nobody has a price for.
    store_facts(engine, account="ds", source="balance", window=None,
                facts=[BalanceSnapshot(NOW - timedelta(hours=1), Decimal("50.00"), "CNY")])
    store_events(engine, [UsageEvent(
        id=f"ds-{n}", account="ds", provider="deepseek", ts=NOW - timedelta(hours=n + 1), model="mystery-9",
        endpoint="/v1/chat/completions", source="proxy", input_tokens=100, output_tokens=10, cost=None,
        currency="CNY") for n in range(3)])
    # ant: Anthropic's usage report counts tokens, not requests; Claude Code's repeats messages' tokens.
    start = _day(date(2026, 3, 17))
    store_facts(engine, account="ant", source="usage", window=None, facts=[
        UsageBucket(start, start + timedelta(days=1), "messages", model="claude-sonnet-4-5", input_tokens=1000,
                    output_tokens=200),
        UsageBucket(start, start + timedelta(days=1), "claude_code", model="claude-sonnet-4-5", input_tokens=400,
                    output_tokens=50),
    ])
    engine.dispose()


@pytest.fixture
def config_path(tmp_path: Path, database_url: str) -> Iterator[Path]:
    path = tmp_path / "config.toml"
    path.write_text(f'database_url = "{database_url}"\n{CONFIG}')
    _seed(database_url)
    with use_clock(FrozenClock(NOW)):
        yield path


def cli(config_path: Path, *args: str) -> str:
    result = CliRunner().invoke(app, ["--config", str(config_path), *args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def cli_json(config_path: Path, *args: str) -> Any:
    return json.loads(cli(config_path, *args, "--json"))


@pytest.fixture
def client(config_path: Path) -> Iterator[TestClient]:
    config = load_config(config_path)
    engine = open_engine(config.database_url)
    with TestClient(create_app(config, engine, scheduler=False), base_url="http://127.0.0.1") as test_client:
        yield test_client
    engine.dispose()


def _line(output: str, *needles: str) -> str:
    return next(line for line in output.splitlines() if all(needle in line for needle in needles))


def _card(html: str, account: str, currency: str) -> str:
    start = html.index(f'data-testid="card-{account}-{currency}"')
    return html[start:html.index("</article>", start)]


def _field(html: str, name: str) -> str:
    match = re.search(rf'data-field="{name}">(.*?)</dd>', html, re.S)
    assert match, name
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


# ---- a day the provider has not posted yet, and nothing tracked ------------------------------------------------


def test_a_day_not_posted_is_null_in_json(config_path: Path) -> None:
    report = cli_json(config_path, "spend", "--since", "2026-03-15", "--by", "day", "--account", "oa")
    days = {row["day"]: row["amount"] for row in report["rows"]}
    assert days == {"2026-03-15": "2.00", "2026-03-16": "2.00", "2026-03-17": None, "2026-03-18": None}
    assert report["source"] == "best" and report["totals"] == [{"amount": "4.00", "currency": "USD"}]
    assert report["not_posted"] == [{"account": "oa", "currency": "USD", "days": ["2026-03-17", "2026-03-18"]}]

    row = next(r for r in cli_json(config_path, "status")["rows"] if r["account"] == "oa")
    assert row["today"] is None  # not 0.00
    assert row["month_to_date"] == "32.00" and row["last_30_days"] == "32.00"
    assert row["not_posted"] == ["2026-03-17", "2026-03-18"]


def test_a_day_not_posted_reads_not_reported_in_the_table_and_on_the_pages(config_path: Path,
                                                                           client: TestClient) -> None:
    table = cli(config_path, "spend", "--since", "2026-03-17", "--by", "day", "--account", "oa")
    assert "not reported" in _line(table, "│ 2026-03-17") and "not reported" in _line(table, "│ 2026-03-18")
    assert not ZERO_MONEY.search(table)

    card = _card(client.get("/").text, "oa", "USD")
    assert _field(card, "today") == "not reported"
    assert "2026-03-17, 2026-03-18" in card
    api = client.get("/api/v1/status").json()
    assert next(r for r in api["rows"] if r["account"] == "oa")["today"] is None

    page = client.get("/spend", params={"since": "2026-03-17", "group": "account", "source": "best"}).text
    assert "not reported" in page and "2026-03-17, 2026-03-18" in page
    chart = client.get("/api/v1/spend", params={"since": "2026-03-17", "by": "day,account"}).json()
    assert {row["amount"] for row in chart["rows"] if row["account"] == "oa"} == {None}


# ---- an account with no spend source -----------------------------------------------------------------------------


def test_an_account_with_no_spend_source_is_unknown_not_healthy(config_path: Path, client: TestClient) -> None:
    row = next(r for r in cli_json(config_path, "status")["rows"] if r["account"] == "moon")
    assert row["state"] == "unknown" and row["balance"]["amount"] == "100.00"
    assert row["month_to_date"] is None and row["today"] is None and row["last_30_days"] is None
    assert row["forecast"]["month_end"] is None and row["spend_source"] is None

    line = _line(cli(config_path, "status"), "moon")
    assert "unknown" in line and "healthy" not in line and not ZERO_MONEY.search(line)

    card = _card(client.get("/").text, "moon", "CNY")
    assert 'data-field="state"' in card and ">unknown<" in card
    for name in ("month_to_date", "today", "last_30_days", "burn"):  # burn: unknown, not "no complete day yet"
        assert _field(card, name).startswith("not reported"), name
    assert "Spend unknown" in card


# ---- a model with no price -----------------------------------------------------------------------------------


def test_unpriced_requests_are_counted_and_never_priced_at_zero(config_path: Path, client: TestClient) -> None:
    for source in ("tracked", "best"):
        report = cli_json(config_path, "spend", "--source", source, "--by", "model", "--account", "ds")
        assert report["rows"] == [{"model": "mystery-9", "amount": None, "currency": "CNY",
                                   "unpriced_requests": 3}], source
        assert report["totals"] == [{"amount": None, "currency": "CNY"}] and report["unpriced_requests"] == 3

    table = cli(config_path, "spend", "--source", "tracked", "--by", "model", "--account", "ds")
    assert "not reported" in _line(table, "mystery-9") and "3 requests unpriced" in table
    assert not ZERO_MONEY.search(table)

    row = next(r for r in cli_json(config_path, "status")["rows"] if r["account"] == "ds")
    assert row["today"] is None and row["unpriced_requests"] == 3

    page = client.get("/spend", params={"source": "tracked", "group": "model"}).text
    cell = re.search(r'data-key="mystery-9".*?data-field="amount">(.*?)</td>', page, re.S)
    assert cell and "not reported" in cell.group(1)
    assert "3 unpriced requests" in _card(client.get("/").text, "ds", "CNY")


# ---- a request count the provider does not report --------------------------------------------------------------


def test_requests_anthropic_does_not_report_are_null(config_path: Path, client: TestClient) -> None:
    report = cli_json(config_path, "usage", "--since", "2026-03-17", "--by", "account", "--account", "ant")
    assert report["rows"][0]["requests"] is None and report["rows"][0]["input_tokens"] == 1000
    assert report["totals"]["requests"] is None

    table = cli(config_path, "usage", "--since", "2026-03-17", "--by", "account", "--account", "ant")
    assert " — " in _line(table, "ant")

    page = client.get("/usage", params={"since": "2026-03-17", "group": "account"}).text
    cell = re.search(r'data-key="ant".*?data-field="requests">(.*?)</td>', page, re.S)
    assert cell and cell.group(1).strip() == "—"
    api = client.get("/api/v1/usage", params={"since": "2026-03-17", "account": "ant"}).json()
    assert api["rows"][0]["requests"] is None


def test_claude_code_usage_is_in_no_total_and_labelled(config_path: Path) -> None:
    plain = cli_json(config_path, "usage", "--since", "2026-03-17", "--account", "ant")
    by_kind = cli_json(config_path, "usage", "--since", "2026-03-17", "--by", "kind", "--account", "ant")
    kinds = {row["kind"]: row for row in by_kind["rows"]}
    assert kinds["claude_code"]["input_tokens"] == 400 and "not_in_totals" in kinds["claude_code"]
    assert "not_in_totals" not in kinds["messages"]
    assert plain["totals"]["input_tokens"] == by_kind["totals"]["input_tokens"] == 1000
    assert plain["not_in_totals"] == by_kind["not_in_totals"] == ["claude_code"]
    table = cli(config_path, "usage", "--since", "2026-03-17", "--by", "kind", "--account", "ant")
    assert "claude_code: not in the total (Claude Code usage: also counted in the messages report)" in table


@pytest.mark.parametrize(("args", "message"), [
    (("spend", "--by", "colour"), "--by 'colour' is not a dimension of spend"),
    (("spend", "--source", "bestest"), "--source 'bestest': use best"),
    (("usage", "--source", "best"), "--source 'best': use reported"),
    (("spend", "--since", "0d"), "the last 0 days is no window"),
])
def test_a_bad_source_window_or_dimension_is_one_line_and_exit_2(config_path: Path, args: tuple[str, ...],
                                                                 message: str) -> None:
    result = CliRunner().invoke(app, ["--config", str(config_path), *args])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
