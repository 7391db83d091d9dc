"""The leak story in a real browser: from the Overview to the forgotten key's name and its day in three clicks,
through the Keys page and through the Reconcile page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import Demo, save_screenshot

pytestmark = pytest.mark.browser
LEAKED = "prototype-2024"


def leak_row(demo: Demo) -> dict[str, Any]:
    report = httpx.get(demo.url + "/api/v1/keys", timeout=30).json()
    return next(row for row in report["rows"] if row["leak_suspect"])


def _the_key_and_its_day(page: Any, demo: Demo) -> None:
    leak = leak_row(demo)
    detail = page.get_by_test_id("key-detail")
    assert LEAKED in detail.locator("h2").inner_text() and leak["redacted"] in detail.inner_text()
    [suspect] = leak["suspect_days"]
    day = detail.locator(f"tr[data-day='{suspect['day']}']")
    assert "flagged" in (day.get_attribute("class") or "")
    assert "108.00" in day.inner_text()
    assert page.errors == []


def test_overview_to_the_leaked_key_through_keys(page: Any, demo: Demo, tmp_path: Path) -> None:
    page.goto("/")
    with page.expect_navigation():
        page.locator("nav").get_by_role("link", name="Keys").click()  # 1
    assert page.get_by_test_id("suspect-count").inner_text().startswith("1 leak suspect")
    row = page.locator("[data-testid='keys-table'] tr[data-suspect='true']")
    assert row.count() == 1 and LEAKED in row.inner_text()
    save_screenshot(page, "keys.png", tmp_path)
    with page.expect_navigation():
        row.get_by_role("link", name=LEAKED).click()  # 2
    _the_key_and_its_day(page, demo)


def test_overview_to_the_leaked_key_through_reconcile(page: Any, demo: Demo) -> None:
    page.goto("/")
    with page.expect_navigation():
        page.locator("nav").get_by_role("link", name="Reconcile").click()  # 1
    flagged = page.locator("[data-testid='reconcile-table'] tr[data-flagged='true']")
    assert f"key {LEAKED}: 108.00" in flagged.inner_text()
    by_key = page.get_by_test_id("reconcile-by-key")
    first = by_key.locator("tbody tr").first
    assert LEAKED in first.inner_text() and "flagged" in (first.get_attribute("class") or "")
    assert "support-bot" in page.get_by_test_id("reconcile-by-project").locator("tbody tr").first.inner_text()
    with page.expect_navigation():
        first.get_by_role("link", name=LEAKED).click()  # 2
    _the_key_and_its_day(page, demo)
