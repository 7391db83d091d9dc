"""One figure per question: on the demo's data, `status --json`, `spend --source best --json`, GET /api/v1/spend and
the Overview page give the same spend, to the cent, per account and currency, for this month, today and the last
30 days (the windows of analysis.windows)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from creditgauge.cli import app
from creditgauge.clock import FrozenClock, use_clock
from creditgauge.demo import DemoHandle, build_demo
from creditgauge.web import create_app

CENT = Decimal("0.01")
# status field -> the --since that asks spend for the same window
WINDOWS = {"month_to_date": "month", "today": "today", "last_30_days": "30d"}
Figures = dict[tuple[str, str], Decimal | None]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoHandle]:
    # The real clock, as in test_demo: OpenRouter's /activity serves the last 30 days before the real today.
    with build_demo(tmp_path_factory.mktemp("demo"), days=35) as handle, use_clock(FrozenClock(handle.now)):
        yield handle


def cents(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_EVEN)


def cli_json(demo: DemoHandle, *args: str) -> Any:
    result = CliRunner().invoke(app, ["--config", str(demo.config_path), *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def from_spend(report: dict[str, Any], accounts: list[tuple[str, str]]) -> Figures:
    """Per (account, currency); an account the report has no row for is unknown, as status says it."""
    rows = {(row["account"], row["currency"]): cents(row["amount"]) for row in report["rows"]}
    return {key: rows.get(key) for key in accounts}


def from_overview(html: str, field: str, accounts: list[tuple[str, str]]) -> Figures:
    figures: Figures = {}
    for account, currency in accounts:
        start = html.index(f'data-testid="card-{account}-{currency}"')
        card = html[start:html.index("</article>", start)]
        match = re.search(rf'data-field="{field}">(.*?)</dd>', card, re.S)
        assert match, (account, field)
        text = re.sub(r"<[^>]+>", "", match.group(1)).strip()
        figures[(account, currency)] = None if text.startswith("not reported") else cents(
            text.split()[0].replace(",", ""))
    return figures


def test_status_spend_api_and_overview_agree_to_the_cent(demo: DemoHandle) -> None:
    status = cli_json(demo, "status")
    accounts = [(row["account"], row["currency"]) for row in status["rows"]]
    with TestClient(create_app(demo.config, demo.engine, scheduler=False), base_url="http://127.0.0.1") as client:
        overview = client.get("/").text
        api = {since: client.get("/api/v1/spend", params={"since": since, "by": "account"}).json()
               for since in WINDOWS.values()}
    for field, since in WINDOWS.items():
        from_status = {(row["account"], row["currency"]): cents(row[field]) for row in status["rows"]}
        faces = {
            "spend --source best": from_spend(cli_json(demo, "spend", "--since", since, "--source", "best"), accounts),
            "GET /api/v1/spend": from_spend(api[since], accounts),
            "Overview": from_overview(overview, field, accounts),
        }
        for face, figures in faces.items():
            assert figures == from_status, f"{field}: {face} disagrees with status"
        assert api[since]["source"] == "best"  # the default wherever a single figure is shown
    known = [value for row in status["rows"] for value in (row["month_to_date"], row["last_30_days"]) if value]
    assert len(known) >= 10  # the demo's accounts have real figures to agree on, not only unknowns


def test_the_windows_are_whole_utc_days(demo: DemoHandle) -> None:
    today = demo.now.date()
    reports = {since: cli_json(demo, "spend", "--since", since) for since in WINDOWS.values()}
    assert reports["today"]["since"].startswith(today.isoformat())
    assert reports["month"]["since"].startswith(today.replace(day=1).isoformat())
    first = reports["30d"]["since"][:10]
    assert (today - date.fromisoformat(first)).days == 29  # 30 days, today included
    for report in reports.values():
        assert report["since"].endswith("T00:00:00Z") and report["until"].endswith("T00:00:00Z")


@pytest.mark.parametrize("by", ["model", "line_item", "day,project", "key", "provider,api_key"])
def test_the_best_total_does_not_depend_on_the_grouping(demo: DemoHandle, by: str) -> None:
    """Each day once, whatever the dimensions: one only a side has (a line item, a tracked key) is empty on the
    other side's days, never a reason to drop or repeat them."""
    plain = cli_json(demo, "spend", "--since", "30d")
    grouped = cli_json(demo, "spend", "--since", "30d", "--by", by)
    assert grouped["totals"] == plain["totals"] and len(plain["totals"]) == 2  # USD and CNY, never added
