"""Clicking through the dashboard in a real browser: range presets, drill-down from a bar and a legend entry, the
CSV of exactly the table's rows, sortable tables and the phone layout with every tab in reach."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from creditgauge.web.templating import money

from .conftest import Demo
from .test_dashboard import PAGES, api

pytestmark = pytest.mark.browser
TABLE = "[data-testid='spend-table'] tbody"


def query(page: Any) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlparse(page.url).query, keep_blank_values=True).items()}


def amounts(page: Any) -> list[str]:
    return page.locator(f"{TABLE} [data-field='amount']").all_inner_texts()  # type: ignore[no-any-return]


def shown(report: dict[str, Any]) -> list[str]:
    return [money(row["amount"]) if row["amount"] is not None else "not reported" for row in report["rows"]]


def chart_ready(page: Any) -> None:
    page.locator("[data-chart][data-ready='true']").wait_for(timeout=10_000)


def bar_point(canvas: Any) -> dict[str, Any]:
    """Where the latest visible bar of a chart is drawn (canvas pixels), and its day."""
    return canvas.evaluate("""canvas => {
        const chart = Chart.getChart(canvas);
        for (let d = 0; d < chart.data.datasets.length; d++) {
          const meta = chart.getDatasetMeta(d);
          for (let i = chart.data.labels.length - 1; i >= 0; i--) {
            if (chart.data.datasets[d].data[i] > 0 && meta.data[i].height > 4) {
              const bar = meta.data[i];
              return {x: bar.x, y: bar.y + bar.height / 2, day: chart.data.labels[i]};
            }
          }
        }
        return null;
    }""")  # type: ignore[no-any-return]


def click_latest_bar(page: Any, path: str, chart: str) -> tuple[Any, dict[str, Any]]:
    """Open `path`, click the latest visible bar of its chart (`data-testid` `chart`) and wait for the page it
    leads to: the chart's canvas and the bar clicked."""
    page.goto(path)
    chart_ready(page)
    canvas = page.locator(f"canvas[data-testid='{chart}']")
    point = bar_point(canvas)
    assert point is not None
    with page.expect_navigation():
        canvas.click(position={"x": point["x"], "y": point["y"]})
    return canvas, point


def test_presets_change_the_url_and_the_figures(page: Any, demo: Demo) -> None:
    page.goto("/spend?group=model")
    assert page.get_by_test_id("range").input_value() == "30d"  # a history, not month-to-date
    figures = {}
    for preset in ("7d", "90d", "last-month", "today"):
        with page.expect_navigation():
            page.get_by_test_id("range").select_option(preset)
        assert query(page)["range"] == preset and query(page)["group"] == "model"
        since, until = page.get_by_test_id("since").input_value(), page.get_by_test_id("until").input_value()
        report = api(demo, "/api/v1/spend", since=since, until=until, by="model")
        assert amounts(page) == shown(report), preset
        figures[preset] = report["totals"]
        chart_ready(page)
    assert figures["7d"] != figures["90d"]
    page.reload()  # the range lives in the URL
    assert page.get_by_test_id("range").input_value() == "today"
    assert page.errors == []


def test_click_a_spend_bar_to_see_that_day_then_a_legend_entry_to_see_its_days(page: Any, demo: Demo) -> None:
    canvas, point = click_latest_bar(page, "/spend?range=30d&group=model", "chart-USD")
    assert query(page) == {"day": point["day"], "group": "model", "source": "best"}
    assert page.get_by_test_id("drilldown").inner_text().startswith(f"Showing the UTC day {point['day']}")
    report = api(demo, "/api/v1/spend", since=point["day"], until=page.get_by_test_id("until").input_value(),
                 by="model")
    assert amounts(page) == shown(report)
    page.goto("/spend?range=30d&group=model")
    chart_ready(page)
    legend = canvas.evaluate("""canvas => {
        const chart = Chart.getChart(canvas), box = chart.legend.legendHitBoxes[0];
        return {x: box.left + box.width / 2, y: box.top + box.height / 2, model: chart.legend.legendItems[0].text};
    }""")
    model = legend.pop("model")
    with page.expect_navigation():
        canvas.click(position=legend)
    assert query(page) == {"range": "30d", "group": "day", "source": "best", "model": model}
    since = page.get_by_test_id("since").input_value()
    by_day = api(demo, "/api/v1/spend", since=since, by="day,model")
    rows = [row for row in by_day["rows"] if row["model"] == model]
    assert amounts(page) == [money(row["amount"]) for row in rows]
    chart_ready(page)
    assert page.errors == []


def test_table_rows_are_real_links_without_javascript(browser: Any, demo: Demo) -> None:
    context = browser.new_context(base_url=demo.url, java_script_enabled=False)
    plain = context.new_page()
    plain.goto("/spend?range=30d&group=day")
    plain.locator(f"{TABLE} a[data-testid='drill-row']").last.click()
    assert query(plain)["group"] == "model" and "day" in query(plain)
    plain.locator(f"{TABLE} a[data-testid='drill-row']").first.click()
    assert query(plain)["group"] == "day" and query(plain)["range"] == "30d" and "model" in query(plain)
    context.close()


def test_csv_download_equals_the_rows_of_the_page(page: Any, tmp_path: Path) -> None:
    for path, testid, column in (("/spend?range=90d&group=model&source=tracked", "spend-table", "model"),
                                 ("/spend?range=30d&group=day&source=best", "spend-table", "day"),
                                 ("/usage?range=7d&group=provider", "usage-table", "provider")):
        page.goto(path)
        with page.expect_download() as download:
            page.get_by_test_id("csv").click()
        target = tmp_path / download.value.suggested_filename
        download.value.save_as(target)
        with target.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        keys = page.locator(f"[data-testid='{testid}'] tbody tr").evaluate_all(
            "rows => rows.map(row => row.dataset.key)")
        assert [row[column] for row in rows] == keys, path
        assert rows, path


def test_sort_by_amount_and_back_by_name(page: Any) -> None:
    page.goto("/spend?range=90d&group=model&source=tracked")
    header = page.locator("[data-testid='spend-table'] thead th").nth(1)
    names = page.locator(f"{TABLE} tr").evaluate_all("rows => rows.map(row => row.dataset.key)")
    header.get_by_role("button").click()
    assert header.get_attribute("aria-sort") == "descending"
    values = page.locator(f"{TABLE} td[data-field='amount']").evaluate_all(
        "cells => cells.map(cell => cell.dataset.sort)")
    known = [Decimal(v) for v in values if v]
    assert known == sorted(known, reverse=True) and values[len(known):] == [""] * (len(values) - len(known))
    header.get_by_role("button").click()
    assert header.get_attribute("aria-sort") == "ascending"
    first = page.locator("[data-testid='spend-table'] thead th").nth(0)
    first.get_by_role("button").click()
    assert first.get_attribute("aria-sort") == "ascending" and header.get_attribute("aria-sort") == "none"
    keys = page.locator(f"{TABLE} tr").evaluate_all("rows => rows.map(row => row.dataset.key)")
    assert sorted(keys) == sorted(names) and keys[0].lower() <= keys[-1].lower()
    assert page.locator(f"{TABLE} td[data-field='share']").count() == len(names)


def test_a_phone_reaches_every_tab_and_reconcile_fits(browser: Any, demo: Demo) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=demo.url, is_mobile=True,
                                  has_touch=True)
    phone = context.new_page()
    for path in PAGES:
        phone.goto(path)
        overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, path
        for link in phone.locator("nav a").all():
            box = link.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, (path, link.inner_text())
    phone.goto("/")
    for label in ("Alerts", "Sync", "Reconcile"):
        with phone.expect_navigation():
            phone.get_by_role("link", name=label, exact=True).tap()
        assert phone.locator("nav a[aria-current='page']").inner_text() == label
    table = phone.get_by_test_id("reconcile-table")
    assert table.evaluate("t => t.scrollWidth - t.parentElement.clientWidth") <= 0
    phone.goto("/keys")  # the keys too: each a card, its name and its leak flag without scrolling sideways
    keys = phone.get_by_test_id("keys-table")
    assert keys.evaluate("t => t.scrollWidth - t.parentElement.clientWidth") <= 0
    assert "prototype-2024" in keys.locator("tr[data-suspect='true']").first.inner_text()
    context.close()


def test_click_a_usage_bar_to_see_that_day(page: Any) -> None:
    _, point = click_latest_bar(page, "/usage?range=30d&group=provider", "chart-usage")
    assert query(page) == {"day": point["day"], "group": "model", "source": "reported"}
    assert page.get_by_test_id("since").input_value() == point["day"]
    assert page.errors == []
