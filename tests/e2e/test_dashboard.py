"""The dashboard in a real browser: every page of the demo, figures checked against the API, the date picker and
the grouping, a ledger entry added through the form, dark mode, a phone-sized screen, and the README screenshots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from creditgauge.web.templating import money_filter as money
from creditgauge.web.templating import number

from .conftest import Demo, save_screenshot

pytestmark = pytest.mark.browser
PAGES = ("/", "/spend", "/usage", "/reconcile", "/ledger", "/alerts", "/sync")


def api(demo: Demo, path: str, **params: Any) -> Any:
    response = httpx.get(demo.url + path, params=params, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_every_page_loads_with_the_demo_banner_and_its_charts(page: Any) -> None:
    for path in PAGES:
        page.goto(path)
        assert page.get_by_test_id("demo-banner").is_visible(), path
        for chart in page.locator("[data-chart]").all():
            chart.and_(page.locator("[data-ready='true']")).wait_for(timeout=10_000)
        assert page.locator("nav a[aria-current='page']").count() == 1, path
    assert page.errors == []


def test_overview_cards_show_the_api_figures(page: Any, demo: Demo, tmp_path: Path) -> None:
    page.goto("/")
    rows = api(demo, "/api/v1/status")["rows"]
    assert len(rows) >= 4
    for row in rows:
        card = page.get_by_test_id(f"card-{row['account']}-{row['currency']}")
        balance = row["balance"]["amount"]
        expected = money(balance, row["currency"]) if balance is not None else "—"
        assert card.locator("[data-field='balance']").inner_text() == expected, row["account"]
        month = row["month_to_date"]  # unknown (no spend source) reads "not reported", never 0.00
        assert card.locator("[data-field='month_to_date']").inner_text().startswith(
            "not reported" if month is None else money(month, row["currency"]))
        assert card.locator("[data-field='state']").inner_text().lower() == row["state"]
    save_screenshot(page, "overview.png", tmp_path)


def test_spend_date_picker_grouping_and_source(page: Any, demo: Demo, tmp_path: Path) -> None:
    page.goto("/spend")
    page.get_by_test_id("since").fill((page.get_by_test_id("since").input_value()[:8]) + "01")
    with page.expect_navigation():
        page.get_by_test_id("since").dispatch_event("change")
    since = page.get_by_test_id("since").input_value()
    with page.expect_navigation():
        page.get_by_test_id("group").select_option("model")
    assert "group=model" in page.url and f"since={since}" in page.url
    page.locator("[data-chart][data-ready='true']").wait_for()
    assert page.locator("canvas[data-testid^='chart-']").count() >= 1
    report = api(demo, "/api/v1/spend", since=since, by="model")
    shown = page.locator("[data-testid='spend-table'] tbody [data-field='amount']").all_inner_texts()
    assert shown == [money(row["amount"]) for row in report["rows"]]
    totals = page.locator("[data-testid='spend-table'] tfoot [data-field='amount']").all_inner_texts()
    assert totals == [money(total["amount"]) for total in report["totals"]]
    save_screenshot(page, "spend.png", tmp_path)
    with page.expect_navigation():
        page.get_by_test_id("source-tracked").check()
    assert "source=tracked" in page.url
    with page.expect_navigation():
        page.get_by_test_id("group").select_option("tag:team")
    tracked = api(demo, "/api/v1/spend", since=since, by="tag:team", source="tracked")
    shown = page.locator("[data-testid='spend-table'] tbody [data-field='amount']").all_inner_texts()
    assert shown == [money(row["amount"]) for row in tracked["rows"]]
    with page.expect_download() as download:
        page.get_by_test_id("csv").click()
    assert download.value.suggested_filename == "spend-tracked.csv"


def test_usage_and_reconcile_match_the_api(page: Any, demo: Demo) -> None:
    page.goto("/usage?group=model&since=30d")
    since = page.get_by_test_id("since").input_value()
    totals = api(demo, "/api/v1/usage", since=since, by="model")["totals"]
    footer = page.get_by_test_id("usage-total")
    for measure in ("input_tokens", "requests"):  # requests: "—" while Anthropic's rows do not report them
        assert footer.locator(f"[data-field='{measure}']").inner_text() == number(totals[measure])
    page.goto("/reconcile")
    report = api(demo, "/api/v1/reconcile")
    assert page.locator("[data-testid='reconcile-table'] [data-field='reported']").all_inner_texts() == [
        money(row["reported"]) for row in report["rows"]]


def test_add_a_ledger_entry_through_the_form(page: Any, demo: Demo) -> None:
    page.goto("/ledger")
    page.get_by_test_id("ledger-account").select_option("deepseek")
    page.get_by_test_id("ledger-kind").select_option("grant")
    page.get_by_test_id("ledger-amount").fill("42.50")
    page.get_by_test_id("ledger-currency").fill("usd")
    page.get_by_test_id("ledger-expires").fill("2099-12-31")
    page.get_by_test_id("ledger-note").fill("added in the browser")
    with page.expect_navigation():
        page.get_by_test_id("ledger-submit").click()
    assert page.url.startswith(demo.url + "/ledger?"), page.content()[:3000]
    assert "added grant of 42.50 USD to deepseek" in page.get_by_test_id("message").inner_text()
    entries = [e for e in api(demo, "/api/v1/ledger")["rows"] if e["note"] == "added in the browser"]
    assert len(entries) == 1 and entries[0]["amount"] == "42.50" and entries[0]["kind"] == "grant"
    row = page.locator(f"[data-testid='ledger-table'] tr[data-id='{entries[0]['id']}']")
    assert row.locator("[data-field='amount']").inner_text() == "42.50"
    with page.expect_navigation():
        row.get_by_role("button", name=f"Remove entry {entries[0]['id']}").click()
    assert not [e for e in api(demo, "/api/v1/ledger")["rows"] if e["note"] == "added in the browser"]


def test_sync_now_runs_a_sync(page: Any, demo: Demo) -> None:
    before = len(api(demo, "/api/v1/sync/runs")["runs"])
    page.goto("/sync")
    with page.expect_navigation():
        page.get_by_test_id("sync-now").click()
    assert page.get_by_test_id("message").inner_text() == "sync started"
    for _ in range(100):
        runs = api(demo, "/api/v1/sync/runs")["runs"]
        if len(runs) > before and runs[0]["status"] != "running":
            break
        page.wait_for_timeout(200)
    assert runs[0]["trigger"] == "manual" and runs[0]["status"] == "ok"


def test_dark_mode_and_a_phone_screen(browser: Any, demo: Demo) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=demo.url, color_scheme="light",
                                  is_mobile=True, has_touch=True)
    phone = context.new_page()
    for path in ("/", "/spend"):
        phone.goto(path)
        overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, path
        assert phone.locator("nav a").first.is_visible()
    background = "getComputedStyle(document.body).backgroundColor"
    light = phone.evaluate(background)
    phone.locator("#theme-toggle").click()
    assert phone.evaluate("document.documentElement.dataset.theme") == "dark"
    assert phone.evaluate(background) != light
    phone.reload()
    assert phone.evaluate("document.documentElement.dataset.theme") == "dark"  # remembered
    context.close()
