"""Leak suspects: a key that spends with none of it tracked, or whose reported spend runs ahead of its tracked spend
by more than the reconcile threshold, is flagged with its days and the amount; the same as an alert rule. Tracked
fingerprints are linked to the provider's keys by the config (by key id or by name)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from factories import at, make_config, reported, tracked

from creditgauge.analysis.alerts.rules import evaluate
from creditgauge.analysis.keys import key_rows
from creditgauge.domain import EntityName
from creditgauge.store.facts import store_facts

ACCOUNTS = {"oa": {"provider": "openai", "key_env": "K",
                   "tracked_keys": {"fp_000000000001": "server", "fp_000000000002": "key_laptop",
                                    "fp_00000000000f": "batch-jobs"}},
            "ant": {"provider": "anthropic", "key_env": "A"}}
SINCE, UNTIL = date(2026, 3, 1), date(2026, 3, 16)


def seed(engine) -> None:
    store_facts(engine, account="oa", source="names", window=None, facts=[
        EntityName("api_key", "key_server", "server", {"redacted": "sk-proj-****aaaa", "project": "proj_1"}),
        EntityName("api_key", "key_laptop", "laptop", {"redacted": "sk-proj-****bbbb"}),
        EntityName("api_key", "key_forgotten", "prototype-2024", {"redacted": "sk-proj-****cccc"}),
        EntityName("api_key", "key_idle", "idle", {}),
    ])
    for day in ("2026-03-09", "2026-03-10", "2026-03-11", "2026-03-12"):
        reported(engine, "oa", day, "10.00", api_key="key_server")
        tracked(engine, "oa", at(day, 9), "10.00", key="fp_000000000001")
        reported(engine, "oa", day, "5.00", api_key="key_laptop")
        tracked(engine, "oa", at(day, 10), "5.00" if day != "2026-03-11" else "3.00", key="fp_000000000002")
    tracked(engine, "oa", at("2026-03-12", 11), "0.50", key="fp_000000000002")  # 5.50 tracked: within $1
    reported(engine, "oa", "2026-03-05", "40.00", api_key="key_forgotten")  # before tracking began: not compared
    reported(engine, "oa", "2026-03-10", "108.00", api_key="key_forgotten")  # never tracked: suspect
    tracked(engine, "oa", at("2026-03-10", 12), "2.00", key="fp_00000000000f")  # a fingerprint named by config
    tracked(engine, "oa", at("2026-03-10", 13), "1.00", key="fp_unlinked0000")
    reported(engine, "oa", "2026-03-10", "7.00", api_key="key_ingest")  # tracked under the provider's own key id
    tracked(engine, "oa", at("2026-03-10", 14), "7.00", key="key_ingest")


def test_leak_suspects_and_their_days(engine):
    seed(engine)
    rows = {(row.name or row.api_key or row.fingerprints[0]): row
            for row in key_rows(make_config(ACCOUNTS), engine, since=SINCE, until=UNTIL)}

    forgotten = rows["prototype-2024"]
    assert forgotten.leak_suspect and forgotten.reported == Decimal("148.00") and forgotten.tracked == 0
    assert [(d.day.isoformat(), d.difference) for d in forgotten.suspect_days] == [("2026-03-10", Decimal(108))]
    assert forgotten.suspect_amount == Decimal(108) and forgotten.details["redacted"] == "sk-proj-****cccc"

    laptop = rows["laptop"]  # linked by id; 2.00 untracked on the 11th is above the $1 minimum
    assert laptop.fingerprints == ["fp_000000000002"] and laptop.leak_suspect
    assert [(d.day.isoformat(), d.difference) for d in laptop.suspect_days] == [("2026-03-11", Decimal(2))]

    server = rows["server"]  # linked by name; every day tracked
    assert server.fingerprints == ["fp_000000000001"] and not server.leak_suspect
    assert server.difference == 0 and server.suspect_amount is None

    assert rows["idle"].reported == 0 and not rows["idle"].leak_suspect
    ingest = rows["key_ingest"]  # no listed name, no link needed: its tracked key is the provider's id
    assert ingest.name is None and ingest.tracked == Decimal(7) and not ingest.leak_suspect
    assert rows["batch-jobs"].api_key is None and rows["batch-jobs"].tracked == Decimal(2)
    assert rows["fp_unlinked0000"].name is None and rows["fp_unlinked0000"].reported is None


def test_an_account_without_tracking_or_per_key_spend_is_unknown_not_zero(engine):
    seed(engine)
    store_facts(engine, account="ant", source="names", window=None,
                facts=[EntityName("api_key", "apikey_1", "prod", {"redacted": "sk-ant-api03-R2D...igAA"})])
    [row] = key_rows(make_config(ACCOUNTS), engine, since=SINCE, until=UNTIL, accounts=["ant"])
    assert (row.reported, row.tracked, row.difference, row.leak_suspect) == (None, None, None, False)


def test_a_larger_threshold_leaves_small_differences_alone(engine):
    seed(engine)
    config = make_config(ACCOUNTS, reconcile={"min_difference": "5.00"})
    rows = {row.name: row for row in key_rows(config, engine, since=SINCE, until=UNTIL)}
    assert not rows["laptop"].leak_suspect and rows["prototype-2024"].leak_suspect


def test_the_leak_suspect_rule_fires_with_the_key_name_and_resolves(engine):
    seed(engine)
    config = make_config(ACCOUNTS, alerts={"rules": [{"name": "leak", "kind": "leak_suspect", "days": "3"}]})
    during = {f.subject: f for f in evaluate(config, engine, now=at("2026-03-11", 12)) if f.rule == "leak"}
    finding = during["oa key key_forgotten"]
    assert finding.firing and finding.value == "108.00"
    assert "key prototype-2024 (sk-proj-****cccc) spent 108.00 USD beyond tracking on 2026-03-10" in finding.message
    assert "2026-03-10" in finding.message and not during["oa key key_server"].firing

    later = {f.subject: f for f in evaluate(config, engine, now=at("2026-03-15", 12)) if f.rule == "leak"}
    assert not later["oa key key_forgotten"].firing
