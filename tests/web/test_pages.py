"""Server-rendered pages: every page answers, shows the API's figures, and the demo banner when asked."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from creditgauge.store.sync_log import record_success
from creditgauge.web import create_app
from creditgauge.web.templating import money_filter as money

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
