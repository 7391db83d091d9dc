"""The built-in `quarantined_items` alert: fires when items were quarantined since its last notice, resolves at
the first check that finds none newer, runs without any configured rule, and can be configured like the others."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from factories import NOW, make_config
from sqlalchemy import Engine

from creditgauge.analysis.alerts.engine import CheckReport, check_alerts
from creditgauge.analysis.alerts.rules import active_rules, evaluate
from creditgauge.store.alerts import alert_history
from quarantine_support import PLANTED_KEY, poison

ACCOUNTS = {"oa": {"provider": "openai", "key_env": "A"}}


def check(engine: Engine, hours: int = 0, **alerts: object) -> CheckReport:
    config = make_config(ACCOUNTS, alerts=alerts)
    return asyncio.run(check_alerts(config, engine, now=NOW + timedelta(hours=hours), retry_delay=0.01))


def events(report: CheckReport) -> list[tuple[str, str]]:
    return [(t.rule, t.event) for t in report.transitions]


def test_fires_on_new_items_and_resolves_when_none_are_new(engine: Engine) -> None:
    assert events(check(engine)) == []  # nothing quarantined: nothing to say
    poison(engine, 1, 2)
    fired = check(engine, 1)
    assert events(fired) == [("quarantined-items", "fired")]
    message = fired.transitions[0].message
    assert message.startswith("2 tracked items were quarantined (not counted); newest: proxy event of oa: ")
    assert "`creditgauge quarantine` lists them" in message and PLANTED_KEY not in message
    assert events(check(engine, 2)) == [("quarantined-items", "resolved")]  # nothing new since it fired
    assert events(check(engine, 3)) == []
    poison(engine, 3)
    again = check(engine, 4)
    assert events(again) == [("quarantined-items", "fired")]
    assert again.transitions[0].message.startswith("1 tracked item was quarantined")
    assert [e.event for e in alert_history(engine)] == ["fired", "resolved", "fired"]


def test_the_same_item_quarantined_again_is_not_new(engine: Engine) -> None:
    poison(engine, 1)
    assert events(check(engine, 1)) == [("quarantined-items", "fired")]
    assert events(check(engine, 2)) == [("quarantined-items", "resolved")]
    poison(engine, 1)  # a replayed journal: the item is quarantined once
    assert events(check(engine, 3)) == []


def test_a_configured_rule_of_the_kind_replaces_the_built_in_one(engine: Engine) -> None:
    own = {"rules": [{"name": "poison", "kind": "quarantined_items", "channels": []}]}
    assert [r.name for r in active_rules(make_config(ACCOUNTS, alerts=own))] == ["poison"]
    others = {"rules": [{"name": "low", "kind": "balance_below", "threshold": "5"}]}
    assert [r.name for r in active_rules(make_config(ACCOUNTS, alerts=others))] == ["low", "quarantined-items"]
    poison(engine, 1)
    found = evaluate(make_config(ACCOUNTS, alerts=own), engine, now=NOW)
    assert [(f.rule, f.subject, f.firing) for f in found] == [("poison", "quarantine", True)]
    silenced = check(engine, 1, **own)
    assert events(silenced) == [("poison", "fired")] and silenced.transitions[0].deliveries == []
