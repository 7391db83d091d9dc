"""Server-rendered pages: every page answers, shows the API's figures, and the demo banner when asked."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from creditgauge.display import percent
from creditgauge.errors import ConfigError
from creditgauge.store.sync_log import record_success
from creditgauge.web import create_app
from creditgauge.web.templating import money_filter as money
from support import webhook_receiver

from . import dataset

PAGES = ("/", "/spend", "/usage", "/reconcile", "/ledger", "/alerts", "/sync")


def cells(html: str, field: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", value).strip()
            for value in re.findall(rf'data-field="{field}">(.*?)</(?:td|div|dd|span)>', html, re.S)]


def test_every_page_renders_with_navigation(client: TestClient) -> None:
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
        assert 'aria-current="page"' in response.text
        assert "demo-banner" not in response.text


def test_demo_banner_on_every_page(store: Engine) -> None:
    app = create_app(dataset.config(), store, demo=True, scheduler=False)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        for path in PAGES:
            assert 'data-testid="demo-banner"' in client.get(path).text, path


def test_overview_cards_show_the_status_figures(client: TestClient) -> None:
    page = client.get("/").text
    for row in client.get("/api/v1/status").json()["rows"]:
        card = page.split(f'data-testid="card-{row["account"]}-{row["currency"]}"')[1].split("</article>")[0]
        if row["balance"]["amount"] is not None:
            assert money(row["balance"]["amount"], row["currency"]) in card
        assert money(row["month_to_date"], row["currency"]) in card
        assert f">{row['state']}<" in card
    assert "estimated from your ledger" in page and "verified by the provider" in page
    assert "left under your monthly limit" in page


def test_spend_table_matches_the_api_for_each_grouping(client: TestClient) -> None:
    for source, group in (("reported", "model"), ("reported", "line_item"), ("tracked", "tag:team"),
                          ("tracked", "key")):
        params = {"since": "2026-11-01", "until": "2026-11-20", "source": source}
        page = client.get("/spend", params={**params, "group": group}).text
        api = client.get("/api/v1/spend", params={**params, "by": group}).json()
        assert cells(page, "amount")[: len(api["rows"])] == [money(r["amount"]) for r in api["rows"]], group
        assert f"/api/v1/spend?since=2026-11-01&amp;until=2026-11-20&amp;source={source}&amp;by=day%2C" in page


def test_grouping_unknown_to_a_source_falls_back_to_account(client: TestClient) -> None:
    page = client.get("/spend", params={"source": "tracked", "group": "line_item"}).text
    assert '<option value="account" selected>' in page
    assert '<option value="tag:team"' in page


def test_usage_totals_match_the_api(client: TestClient) -> None:
    page = client.get("/usage", params={"since": "2026-11-01", "group": "model"}).text
    totals = client.get("/api/v1/usage", params={"since": "2026-11-01", "by": "model"}).json()["totals"]
    footer = page.split('data-testid="usage-total"')[1]
    assert cells(footer, "input_tokens")[0] == f"{totals['input_tokens']:,}"
    assert cells(footer, "requests")[0] == f"{totals['requests']:,}"


def test_reconcile_page_lists_the_api_rows(client: TestClient) -> None:
    page = client.get("/reconcile", params={"since": "2026-11-01"}).text
    api = client.get("/api/v1/reconcile", params={"since": "2026-11-01"}).json()
    assert page.count('data-testid="reconcile-table"') == 1
    assert cells(page, "reported") == [money(r["reported"]) for r in api["rows"]]


def test_bad_controls_show_an_error_page(client: TestClient) -> None:
    response = client.get("/spend", params={"since": "someday"})
    assert response.status_code == 400
    assert "is not a date" in response.text


def test_sync_page_in_read_only_mode(client: TestClient) -> None:
    page = client.get("/sync").text
    assert "read-only server" in page and 'data-testid="sync-now"' not in page


def test_sync_page_shows_the_exclusive_end_of_the_synced_data_as_a_moment(store: Engine) -> None:
    # the mark is the window's end, exclusive: midnight of the 19th means the 18th is the last day synced, so the
    # page must not read "data through 2026-03-19"
    record_success(store, "openai-main", "costs", datetime(2026, 3, 18, 12, tzinfo=UTC),
                   datetime(2026, 3, 19, tzinfo=UTC))
    with TestClient(create_app(dataset.config(), store, scheduler=False), base_url="http://127.0.0.1") as client:
        page = client.get("/sync").text
    assert "Synced until" in page and "Data through" not in page
    assert "2026-03-19 00:00 UTC" in cells(page, "high_water")


def test_ledger_page_names_balance_kinds_in_words(client: TestClient) -> None:
    kinds = cells(client.get("/ledger").text, "kind")
    assert "limit only" in kinds and not any("_" in kind for kind in kinds)


def test_money_filter_keeps_small_amounts_visible() -> None:
    assert money("1234.5", "USD") == "1,234.50 USD"
    assert money("0.0004") == "<0.01"  # as on the terminal: never "0.00" (display.money)
    assert money("0") == "0.00"
    assert money("-2.345") == "-2.34"
    assert money(None) == "—"


def rows_of(html: str, testid: str) -> list[str]:
    body = html.split(f'data-testid="{testid}"')[1].split("<tbody>")[1].split("</tbody>")[0]
    return re.findall(r'data-key="([^"]*)"', body)


def test_spend_opens_on_the_last_30_days_and_presets_set_the_range(client: TestClient) -> None:
    page = client.get("/spend").text  # NOW is 2026-11-20: 30 days are 10-22 .. 11-20, through today
    assert 'value="2026-10-22" data-testid="since"' in page and 'value="2026-11-21" data-testid="until"' in page
    assert '<option value="30d" selected>' in page
    for preset, since, until in (("7d", "2026-11-14", "2026-11-21"), ("today", "2026-11-20", "2026-11-21"),
                                 ("month", "2026-11-01", "2026-11-21"), ("last-month", "2026-10-01", "2026-11-01"),
                                 ("90d", "2026-08-23", "2026-11-21")):
        page = client.get("/spend", params={"range": preset, "since": "2026-01-01"}).text  # a preset wins
        assert f'value="{since}" data-testid="since"' in page and f'value="{until}" data-testid="until"' in page
        assert f"/api/v1/spend?since={since}&amp;until={until}&amp;" in page, preset
    response = client.get("/spend", params={"range": "fortnight"})
    assert response.status_code == 400 and "fortnight" in response.text and "use one of today, 7d" in response.text


def test_a_day_drills_down_to_its_models_and_a_model_to_its_days(client: TestClient) -> None:
    page = client.get("/spend", params={"range": "30d", "group": "day", "source": "reported"}).text
    assert '/spend?day=2026-11-02&amp;group=model&amp;source=reported' in page  # each day row is a real link
    day = client.get("/spend", params={"day": "2026-11-02", "group": "model", "source": "reported"}).text
    api = client.get("/api/v1/spend", params={"since": "2026-11-02", "until": "2026-11-03", "by": "model",
                                              "source": "reported"}).json()
    assert rows_of(day, "spend-table") == [r["model"] for r in api["rows"]]
    assert 'data-testid="drilldown"' in day and "the UTC day 2026-11-02" in day
    model = api["rows"][0]["model"]
    assert f'/spend?range=30d&amp;group=day&amp;source=reported&amp;model={model}' in day  # its days
    days = client.get("/spend", params={"range": "30d", "group": "day", "source": "reported", "model": model}).text
    by_day = client.get("/api/v1/spend", params={"since": "2026-10-22", "by": "day,model",
                                                 "source": "reported"}).json()
    expected = [r for r in by_day["rows"] if r["model"] == model]
    assert rows_of(days, "spend-table") == [r["day"] for r in expected]
    assert cells(days, "amount")[: len(expected)] == [money(r["amount"]) for r in expected]
    total = sum((Decimal(r["amount"]) for r in expected), Decimal(0))
    assert cells(days, "amount")[len(expected)] == money(total)


def test_csv_download_has_the_rows_of_the_table(client: TestClient) -> None:
    params = {"range": "30d", "group": "model", "source": "tracked"}
    page = client.get("/spend", params=params).text
    assert 'href="/spend?range=30d&amp;group=model&amp;source=tracked&amp;format=csv"' in page
    response = client.get("/spend", params={**params, "format": "csv"})
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["model"] for row in rows] == rows_of(page, "spend-table")
    shown = cells(page, "amount")[: len(rows)]
    assert [money(row["amount"]) if row["amount"] else "not reported" for row in rows] == shown


def test_share_of_total_per_currency(client: TestClient) -> None:
    page = client.get("/spend", params={"since": "2026-11-01", "until": "2026-11-20", "group": "model",
                                        "source": "reported"}).text
    api = client.get("/api/v1/spend", params={"since": "2026-11-01", "until": "2026-11-20", "by": "model",
                                              "source": "reported"}).json()
    totals = {t["currency"]: Decimal(t["amount"]) for t in api["totals"]}
    expected = [percent(Decimal(r["amount"]) / totals[r["currency"]]) for r in api["rows"]]
    assert cells(page, "share")[: len(expected)] == expected


def test_usage_chart_follows_the_group_by(client: TestClient) -> None:
    page = client.get("/usage", params={"range": "7d", "group": "model"}).text
    src = "/api/v1/usage?since=2026-11-14&amp;until=2026-11-21&amp;source=reported&amp;by=day%2Cmodel"
    assert f'data-src="{src}"' in page
    assert 'data-group="model"' in page


def test_display_time_zone_labels_times_and_says_days_are_utc(store: Engine) -> None:
    app = create_app(dataset.config(display={"time_zone": "America/Los_Angeles"}), store, scheduler=False)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        page = client.get("/spend").text
    assert "as of 2026-11-20 04:00 PST" in page  # NOW is 12:00 UTC
    assert "days are UTC days (times shown in America/Los_Angeles)" in page
    with pytest.raises(ConfigError, match="'Mars/Olympus' is not a time zone"):
        dataset.config(display={"time_zone": "Mars/Olympus"})


def test_drilling_into_a_key_shows_its_fingerprint_never_the_key(store: Engine,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    for body in dataset.ACCOUNTS.values():
        monkeypatch.setenv(body["key_env"], dataset.PLANTED_KEY)
    with TestClient(create_app(dataset.config(), store, scheduler=False), base_url="http://127.0.0.1") as client:
        params = {"since": "2026-11-01", "source": "tracked"}
        keys = client.get("/spend", params={**params, "group": "key"}).text
        links = re.findall(r'href="(/spend\?[^"]*key=[^"]*)"', keys)
        assert links, "each key row links to its days"
        bodies = [keys, client.get("/spend", params={**params, "group": "key", "format": "csv"}).text]
        bodies += [client.get(link.replace("&amp;", "&")).text for link in links]
    for body in bodies:
        assert dataset.PLANTED_KEY not in body and dataset.PLANTED_KEY[8:24] not in body


HOOK_TOKEN = "hooksecret-PLANTED-7788"
ALERT_RULES = [
    {"name": "openai-budget", "kind": "spend_month_above", "account": "openai-main", "threshold": "50.00",
     "channels": ["hook"]},
    {"name": "xai-budget", "kind": "spend_month_above", "account": "xai-team", "threshold": "1000.00"},
]


@pytest.fixture
def hook() -> Iterator[tuple[list[dict[str, Any]], str]]:
    with webhook_receiver(HOOK_TOKEN) as receiver:
        yield receiver


def alerts_client(store: Engine, url: str) -> TestClient:
    channels = {"hook": {"type": "webhook", "url": f"{url}/hook/{HOOK_TOKEN}"},
                "broken": {"type": "webhook", "url": f"{url}/hook/not-the-token", "retries": 0}}
    config = dataset.config(alerts={"rules": ALERT_RULES, "channels": channels})
    return TestClient(create_app(config, store, scheduler=False), base_url="http://127.0.0.1")


def test_alerts_page_shows_each_rule_value_against_its_threshold(store: Engine, hook: Any) -> None:
    with alerts_client(store, hook[1]) as client:
        page = client.get("/alerts").text
        month = {row["account"]: row["month_to_date"] for row in client.get("/api/v1/status").json()["rows"]}
    rows = {rule: row for rule, row in re.findall(r'<tr data-rule="([^"]+)".*?>(.*?)</tr>', page, re.S)}
    assert f"{money(month['openai-main'])} USD" in cells(rows["openai-budget"], "value")[0]
    assert cells(rows["openai-budget"], "threshold") == ["above 50.00"]
    assert "firing" in rows["openai-budget"] and ">ok<" in rows["xai-budget"]
    assert cells(rows["xai-budget"], "threshold") == ["above 1000.00"]
    assert "quarantined-items" in rows  # the built-in rule is listed too
    assert HOOK_TOKEN not in page and "not-the-token" not in page  # webhook URLs are secrets


def test_send_a_test_posts_with_csrf_and_names_no_secret(store: Engine, hook: Any) -> None:
    received, url = hook
    with alerts_client(store, url) as client:
        page = client.get("/alerts").text
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        assert 'data-testid="test-hook"' in page and 'data-testid="test-log"' in page
        assert client.post("/alerts/test", data={"channel": "hook", "csrf_token": "forged"}).status_code == 403
        assert received == []
        sent = client.post("/alerts/test", data={"channel": "hook", "csrf_token": csrf})
        assert sent.status_code == 200 and "sent a test message through &#39;hook&#39;" in sent.text
        assert received[-1]["event"] == "test"
        broken = client.post("/alerts/test", data={"channel": "broken", "csrf_token": csrf}).text
        assert "channel &#39;broken&#39; (webhook): HTTP 404" in broken
        unknown = client.post("/alerts/test", data={"channel": "ghost", "csrf_token": csrf}).text
        assert "no alert channel named &#39;ghost&#39;" in unknown
    for text in (sent.text, broken, unknown):
        assert HOOK_TOKEN not in text and "not-the-token" not in text
