"""Each alert rule kind, firing and not, over facts in the store."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from factories import NOW, at, balance, make_config, reported, tracked, tracked_days

from creditgauge.analysis.alerts.rules import evaluate
from creditgauge.domain import EntityName
from creditgauge.errors import ConfigError
from creditgauge.store.facts import store_facts
from creditgauge.store.ledger import add_entry
from creditgauge.store.sync_log import record_failure, record_success

ACCOUNTS = {
    "oa": {"provider": "openai", "key_env": "A", "monthly_limit": "1000"},
    "xai": {"provider": "xai", "key_env": "X"},
}


def findings(engine, *rules):
    config = make_config(ACCOUNTS, alerts={"rules": [{"name": f"r{i}", **r} for i, r in enumerate(rules)]})
    return {(f.rule, f.subject): f for f in evaluate(config, engine, now=NOW)}


def test_balance_and_runway(engine):
    balance(engine, "xai", at("2026-03-18", 6), "12.00")
    tracked_days(engine, "xai", "2026-03-10", "2026-03-17", "4.00", provider="xai")
    record_success(engine, "oa", "costs", at("2026-03-18", 6), None)  # synced, no cost rows: it spent nothing
    found = findings(engine, {"kind": "balance_below", "threshold": "20"},
                     {"kind": "runway_below", "days": "7", "account": "xai"})
    low = found[("r0", "xai/USD")]
    assert low.firing and "verified balance 12.00 USD is below 20" in low.message
    assert not found[("r0", "oa/USD")].firing  # limit only: 1000 remaining under the limit
    assert found[("r1", "xai/USD")].firing and found[("r1", "xai/USD")].value == "3.0"
    assert ("r1", "oa/USD") not in found


def test_budgets_per_account_tag_and_project(engine):
    tracked(engine, "oa", at("2026-03-18", 9), "30.00", tags={"team": "search", "project": "p1"})
    tracked(engine, "oa", at("2026-03-18", 10), "5.00", tags={"team": "ads"})
    reported(engine, "oa", "2026-03-02", "100.00", project="p1")
    found = findings(engine, {"kind": "spend_today_above", "threshold": "20"},
                     {"kind": "spend_today_above", "threshold": "20", "tag": "team"},
                     {"kind": "spend_month_above", "threshold": "120", "project": "p1"},
                     {"kind": "spend_today_above", "threshold": "1", "tag": "team=ads"})
    assert found[("r0", "oa/USD")].firing
    assert found[("r1", "oa/USD tag team=search")].firing and not found[("r1", "oa/USD tag team=ads")].firing
    assert found[("r2", "oa/USD project p1")].firing and found[("r2", "oa/USD project p1")].value == "130.00"
    assert [s for r, s in found if r == "r3"] == ["oa/USD tag team=ads"]


def test_budgets_per_project_name_and_per_key(engine):
    """A project budget may name the project as the provider does; a key budget names a key by its name, its id or
    a tracked fingerprint, and spends what the provider reports per key (else what tracking saw of it)."""
    store_facts(engine, account="oa", source="names", window=None, facts=[
        EntityName("project", "proj_1", "support-bot"),
        EntityName("api_key", "key_forgotten", "prototype-2024", {"redacted": "sk-proj-****cccc"}),
    ])
    reported(engine, "oa", "2026-03-10", "108.00", api_key="key_forgotten", project="proj_1")
    tracked(engine, "oa", at("2026-03-18", 9), "3.00", key="fp_00000000000a")
    found = findings(engine, {"kind": "spend_month_above", "threshold": "100", "project": "support-bot"},
                     {"kind": "spend_month_above", "threshold": "100", "key": "prototype-2024"},
                     {"kind": "spend_month_above", "threshold": "100", "key": "key_forgotten"},
                     {"kind": "spend_month_above", "threshold": "2", "key": "fp_00000000000a"},
                     {"kind": "spend_month_above", "threshold": "1", "key": "no-such-key"})
    project = found[("r0", "oa/USD project proj_1")]
    assert project.firing and "project support-bot (proj_1) on oa" in project.message
    by_name = found[("r1", "oa/USD key key_forgotten")]
    assert by_name.firing and by_name.value == "108.00" and "key prototype-2024 (key_forgotten)" in by_name.message
    assert found[("r2", "oa/USD key key_forgotten")].firing
    assert found[("r3", "oa/USD key fp_00000000000a")].firing  # tracked only: what the proxy saw of it
    assert not [s for r, s in found if r == "r4"]


def test_anomaly_against_the_median_at_the_same_hour(engine):
    for back in range(1, 8):
        day = (NOW - timedelta(days=back)).date().isoformat()
        tracked(engine, "oa", at(day, 8), "2.00")
        tracked(engine, "oa", at(day, 20), "50.00")  # after the hour of `now`: not part of the comparison
    tracked(engine, "oa", at("2026-03-18", 9), "7.00")
    calm = findings(engine, {"kind": "spend_anomaly", "factor": "4"})
    hot = findings(engine, {"kind": "spend_anomaly", "factor": "3"})
    assert not calm[("r0", "oa/USD")].firing
    assert hot[("r0", "oa/USD")].firing and "median of 2.00" in hot[("r0", "oa/USD")].message


def test_reconcile_sync_and_unpriced(engine):
    reported(engine, "oa", "2026-03-14", "20.00")
    tracked(engine, "oa", at("2026-03-14", 5), "10.00")
    tracked(engine, "oa", at("2026-03-18", 5), None, model="brand-new-model")
    record_failure(engine, "xai", "balance", at("2026-03-17", 6), "HTTP 401 from xai")
    found = findings(engine, {"kind": "reconcile_flagged"}, {"kind": "sync_failing", "hours": "24"},
                     {"kind": "unpriced_usage"})
    assert found[("r0", "oa")].firing and "2026-03-14 +10.00 USD" in found[("r0", "oa")].message
    assert found[("r1", "xai")].firing and "HTTP 401" in found[("r1", "xai")].message
    assert found[("r2", "oa")].firing and "brand-new-model (1)" in found[("r2", "oa")].message


def test_a_rule_missing_its_threshold_says_which_field(engine):
    add_entry(engine, account="oa", kind="deposit", amount=Decimal(5), currency="USD", at=NOW, expires_at=None,
              note=None, created_at=NOW)
    with pytest.raises(ConfigError, match=r"'r0': a balance_below rule needs threshold"):
        findings(engine, {"kind": "balance_below"})
