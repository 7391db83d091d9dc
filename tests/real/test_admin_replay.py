"""Every captured admin payload in tests/real/admin/ replayed from a local server through the real connector: the
figures it says (amounts per day and currency, tokens, balances, limits, invoices) come out exact, and an item
that cannot be read is an ItemProblem, never a failed task. See tests/real/README.md for the file format."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from creditgauge.config import parse_config
from creditgauge.domain import (
    BalanceSnapshot,
    CostBucket,
    EndpointUnavailable,
    EntityName,
    Fact,
    Invoice,
    ItemProblem,
    LimitSnapshot,
    UsageBucket,
    Window,
)
from creditgauge.fakes.replay import Recorded, ReplayServer
from creditgauge.http import RetryPolicy
from creditgauge.providers.registry import connector_class
from support import run_task

CORPUS = Path(__file__).parent / "admin"
PAYLOADS = sorted(CORPUS.rglob("*.json"))
USAGE_COLUMNS = ("input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens",
                 "requests", "images", "characters", "seconds")


def text(amount: Decimal) -> str:
    return f"{amount.normalize():f}"


def summary(facts: list[Fact]) -> dict[str, Any]:
    """What the facts say, in the corpus files' `expect` form: sums per UTC day, exact amounts as strings."""
    costs: dict[str, Decimal] = defaultdict(Decimal)
    usage: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(int))
    out: dict[str, Any] = {"balances": [], "limits": {}, "invoices": {}, "names": {}, "problems": [],
                           "unavailable": []}
    for fact in facts:
        if isinstance(fact, CostBucket):
            costs[f"{fact.start.date()} {fact.currency}"] += fact.amount
        elif isinstance(fact, UsageBucket):
            row = usage[f"{fact.start.date()} {fact.kind}"]
            for column in USAGE_COLUMNS:
                row[column] += getattr(fact, column)
            for name, value in fact.extra.items():
                if isinstance(value, int) and not isinstance(value, bool):
                    row[name] += value
                elif name == "estimated_cost":
                    for currency, amount in value.items():
                        row[f"estimated_cost {currency}"] = text(Decimal(row.get(f"estimated_cost {currency}", 0))
                                                                 + amount)
        elif isinstance(fact, BalanceSnapshot):
            kind = f" {fact.details['kind']}" if "kind" in fact.details else ""
            out["balances"].append(f"{text(fact.amount)} {fact.currency}{kind}")
        elif isinstance(fact, LimitSnapshot):
            out["limits"][fact.name] = f"{text(fact.amount)} {fact.currency}"
        elif isinstance(fact, Invoice):
            out["invoices"][fact.invoice_id] = f"{text(fact.amount)} {fact.currency} {fact.status}"
        elif isinstance(fact, EntityName):
            out["names"][f"{fact.kind} {fact.entity_id}"] = fact.name
        elif isinstance(fact, ItemProblem):
            out["problems"].append(f"{fact.endpoint} {fact.field}")
        elif isinstance(fact, EndpointUnavailable):
            out["unavailable"].append(fact.endpoint)
    out["costs"] = {key: text(amount) for key, amount in sorted(costs.items())}
    out["usage"] = {key: {name: value for name, value in sorted(row.items()) if value}
                    for key, row in sorted(usage.items())}
    out["balances"].sort()
    return {key: value for key, value in out.items() if value}


def window_of(case: dict[str, Any]) -> Window:
    if "window" in case:
        first, last = (date.fromisoformat(day) for day in case["window"])
        return Window.days(first, last)
    today = datetime.now(UTC).date()  # OpenRouter's /activity serves only the last 30 completed days
    return Window.days(today - timedelta(days=1), today)


def replay(case: dict[str, Any]) -> list[Fact]:
    answers = [Recorded(r["path"], r.get("raw", r.get("body")), r.get("status", 200),
                        r.get("content_type", "application/json"), tuple(r.get("query", {}).items()))
               for r in case["responses"]]
    with ReplayServer(answers) as server:
        options = {key: value.replace("{url}", server.url) if isinstance(value, str) else value
                   for key, value in case.get("account", {}).items()}
        account = {"provider": case["provider"], "key_env": "REPLAY_KEY",
                   "base_url": server.url + case.get("base_path", ""), **options}
        config = parse_config({"accounts": {"replayed": account}}, None)
        connector = connector_class(case["provider"]).build(config.account("replayed"), "replay-key-0000",
                                                            retry=RetryPolicy(max_retries=0))
        return run_task(connector, case["task"], window_of(case))


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(), parse_float=Decimal)


def test_the_corpus_holds_at_least_40_payloads_each_with_its_provenance() -> None:
    assert len(PAYLOADS) >= 40
    for path in PAYLOADS:
        provenance = load(path)["provenance"]
        assert provenance.get("source") and provenance.get("date") and provenance.get("retrieved"), path.name


@pytest.mark.parametrize("path", PAYLOADS, ids=[str(p.relative_to(CORPUS)) for p in PAYLOADS])
def test_a_captured_payload_gives_exactly_its_figures(path: Path) -> None:
    case = load(path)
    assert summary(replay(case)) == case["expect"]
