"""Names in the chart legends (the id one hover away, the drill-down still by id), and the Alerts page: the demo's
rules with their values against their thresholds, firing and resolved, and "send a test" through the log."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Demo
from .test_clickthrough import chart_ready, query
from .test_dashboard import api

pytestmark = pytest.mark.browser


def test_the_spend_legend_by_project_shows_names_and_drills_down_by_id(page: Any, demo: Demo) -> None:
    page.goto("/spend?range=30d&group=project")
    chart_ready(page)
    since, until = page.get_by_test_id("since").input_value(), page.get_by_test_id("until").input_value()
    names = {row["project"]: row["project_name"] for row in
             api(demo, "/api/v1/spend", since=since, until=until, by="project")["rows"]
             if row["currency"] == "USD" and row.get("project_name")}
    assert names, "the demo names its projects"
    canvas = page.locator("canvas[data-testid='chart-USD']")
    legend = canvas.evaluate("""canvas => {
        const chart = Chart.getChart(canvas);
        return chart.legend.legendItems.map((item, i) => {
          const box = chart.legend.legendHitBoxes[i];
          return {text: item.text, id: chart.data.datasets[item.datasetIndex].id,
                  x: box.left + box.width / 2, y: box.top + box.height / 2};
        });
    }""")
    named = [item for item in legend if item["id"] in names]
    assert named and all(item["text"] == names[item["id"]] for item in named)
    assert not any(item["text"].startswith("proj_") for item in named)
    with page.expect_navigation():
        canvas.click(position={"x": named[0]["x"], "y": named[0]["y"]})
    assert query(page)["project"] == named[0]["id"] and query(page)["group"] == "day"
    chart_ready(page)
    assert page.errors == []


def test_alerts_page_shows_the_demo_rules_firing_and_resolved_and_sends_a_test(page: Any) -> None:
    page.goto("/alerts")
    checks = page.get_by_test_id("checks-table")
    for rule in ("openai-monthly-budget", "support-bot-budget", "runway-under-two-weeks", "leaked-key"):
        assert checks.locator(f"tr[data-rule='{rule}']").count() >= 1, rule
    states = checks.locator("[data-field='state']").all_inner_texts()
    assert {"FIRING", "OK"} <= {state.upper() for state in states}
    budget = checks.locator("tr[data-rule='openai-monthly-budget']").first
    assert budget.locator("[data-field='threshold']").inner_text() == "above 3000.00"
    assert budget.locator("[data-field='value']").inner_text().endswith("USD")
    history = page.get_by_test_id("history-table").inner_text().lower()
    assert "fired" in history and "resolved" in history  # the leak fired, then resolved
    with page.expect_navigation():
        page.get_by_test_id("test-log").get_by_role("button").click()
    assert page.get_by_test_id("message").inner_text() == "sent a test message through 'log'"
    assert page.errors == []
