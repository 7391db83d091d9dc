"""Quarantined items on the server: /metrics gauges read at scrape time, GET /api/v1/sync/runs (additive
`quarantined`), the Sync page, the built-in alert after a sync, and no planted key in any of them."""

from __future__ import annotations

import asyncio

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from creditgauge.store.alerts import alert_history
from creditgauge.store.quarantine import quarantine_counts
from creditgauge.web import answers
from creditgauge.web.context import WebContext
from quarantine_support import PLANTED_KEY, poison, stored_text

from . import dataset


def gauges(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples
            if s.name.startswith("creditgauge_quarantined")}


def test_nothing_quarantined_is_a_zero_total_and_no_section(client: TestClient) -> None:
    assert gauges(client.get("/metrics").text) == {("creditgauge_quarantined_items", ()): 0.0}
    assert client.get("/api/v1/sync/runs").json()["quarantined"] == {"total": 0, "items": []}
    assert 'data-testid="quarantine-table"' not in client.get("/sync").text


def test_quarantined_items_are_counted_listed_and_keyless(client: TestClient, store: Engine) -> None:
    poison(store, 1, 2)
    poison(store, 3, account="not-configured")
    assert gauges(client.get("/metrics").text) == {  # read at scrape time: no restart, no counter to bump
        ("creditgauge_quarantined_items", ()): 3.0,
        ("creditgauge_quarantined_items_by_origin", (("kind", "event"), ("origin", "proxy"))): 3.0,
    }
    assert quarantine_counts(store) == [{"kind": "event", "origin": "proxy", "count": 3}]

    overview = client.get("/api/v1/sync/runs").json()
    assert {"runs", "sources", "problems"} <= set(overview)  # the existing keys stay
    quarantined = overview["quarantined"]
    assert quarantined["total"] == 3 and len(quarantined["items"]) == 3
    assert {item["account"] for item in quarantined["items"]} == {"oa", "not-configured"}
    assert all("payload" not in item and "input_tokens" in item["reason"] for item in quarantined["items"])

    page = client.get("/sync").text
    assert 'data-testid="quarantine-table"' in page and "3 tracked items could not be stored" in page
    assert page.count("input_tokens:") == 3

    for text in (client.get("/metrics").text, str(overview), page, stored_text(store)):
        assert PLANTED_KEY not in text and PLANTED_KEY[:24] not in text


def test_the_alert_after_a_sync_fires_without_any_configured_rule(store: Engine) -> None:
    ctx = WebContext(dataset.config(), store)
    assert not ctx.config.alerts.rules
    poison(store, 1)
    asyncio.run(answers.evaluate_alerts(ctx))  # what serve runs after each sync
    [event] = alert_history(store)
    assert (event.rule, event.event, event.channels) == ("quarantined-items", "fired", ["log"])
    assert "1 tracked item was quarantined" in event.message and PLANTED_KEY not in event.message
