from datetime import UTC, datetime
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, func, select

from creditgauge.domain import BalanceSnapshot, CostBucket, EntityName, UsageBucket, Window
from creditgauge.store import queries, schema
from creditgauge.store.engine import current_revision, head_revision, migrate
from creditgauge.store.facts import store_facts

D1 = datetime(2026, 3, 1, tzinfo=UTC)
D2 = datetime(2026, 3, 2, tzinfo=UTC)
D3 = datetime(2026, 3, 3, tzinfo=UTC)
WINDOW = Window(D1, D3)


def test_migrations_create_exactly_the_schema(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), schema.metadata)
    assert diff == []
    migrate(engine)  # a second run is a no-op
    assert current_revision(engine) == head_revision()


def test_amounts_are_exact_through_the_database(engine: Engine) -> None:
    facts = [
        CostBucket(D1, D2, Decimal("0.8958740000000000"), "usd", project="p1"),
        CostBucket(D1, D2, Decimal("123.456789012"), "USD", project="p2"),
        CostBucket(D2, D3, Decimal("0.1"), "USD", project="p1"),
    ]
    store_facts(engine, account="acct", source="costs", window=WINDOW, facts=facts)
    rows = queries.spend(engine, since=D1, until=D3, by=["project"])
    assert [(r["project"], r["amount"], r["currency"]) for r in rows] == [
        ("p1", Decimal("0.995874"), "USD"),
        ("p2", Decimal("123.456789012"), "USD"),
    ]
    total = sum(r["amount"] for r in queries.spend(engine, since=D1, until=D3, by=[]))
    assert total == Decimal("124.452663012")


def test_resync_replaces_the_window_without_double_counting(engine: Engine) -> None:
    first = [
        CostBucket(D1, D2, Decimal("1.00"), "USD", project="p1"),
        CostBucket(D2, D3, Decimal("2.00"), "USD", project="p1"),
        CostBucket(D2, D3, Decimal("5.00"), "USD", project="gone"),
    ]
    store_facts(engine, account="acct", source="costs", window=WINDOW, facts=first)
    store_facts(engine, account="acct", source="costs", window=WINDOW, facts=first)
    assert queries.spend(engine, since=D1, until=D3, by=[])[0]["amount"] == Decimal("8.00")
    # the provider revises day 2 and drops a group: the window is replaced, day 1 outside it stays
    revised = [CostBucket(D2, D3, Decimal("2.50"), "USD", project="p1")]
    store_facts(engine, account="acct", source="costs", window=Window(D2, D3), facts=revised)
    by_day = queries.spend(engine, since=D1, until=D3, by=["day"])
    assert [(r["day"], r["amount"]) for r in by_day] == [
        ("2026-03-01", Decimal("1.00")),
        ("2026-03-02", Decimal("2.50")),
    ]


def test_split_results_for_one_key_are_summed(engine: Engine) -> None:
    facts = [
        UsageBucket(D1, D2, "completions", model="m", input_tokens=10, requests=1),
        UsageBucket(D1, D2, "completions", model="m", input_tokens=5, requests=2),
    ]
    store_facts(engine, account="acct", source="usage.completions", window=WINDOW, facts=facts)
    rows = queries.usage(engine, since=D1, until=D3, by=["model"])
    assert rows[0]["input_tokens"] == 15 and rows[0]["requests"] == 3


def test_currencies_are_never_summed_together(engine: Engine) -> None:
    store_facts(
        engine,
        account="ds",
        source="costs",
        window=WINDOW,
        facts=[CostBucket(D1, D2, Decimal("3.5"), "CNY"), CostBucket(D1, D2, Decimal("1.25"), "USD")],
    )
    rows = queries.spend(engine, since=D1, until=D3, by=["account"])
    assert {(r["currency"], r["amount"]) for r in rows} == {("CNY", Decimal("3.50")), ("USD", Decimal("1.25"))}


def test_snapshots_and_names_are_idempotent(engine: Engine) -> None:
    facts = [
        BalanceSnapshot(D1, Decimal("-4.20"), "usd"),
        EntityName("project", "proj_1", "Search"),
        EntityName("project", "proj_1", "Search v2"),
    ]
    for _ in range(2):
        store_facts(engine, account="acct", source="balance", window=None, facts=facts)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(schema.balance_snapshots)).scalar() == 1
        assert connection.execute(select(schema.balance_snapshots.c.amount)).scalar() == Decimal("-4.2")
        assert connection.execute(select(schema.entity_names.c.name)).scalar() == "Search v2"


def test_unknown_dimension_is_a_clear_error(engine: Engine) -> None:
    from creditgauge.errors import ConfigError

    with pytest.raises(ConfigError, match="--by 'colour' is not a dimension of reported data"):
        queries.spend(engine, since=D1, until=D3, by=["colour"])
    with pytest.raises(ConfigError, match="tag:<name>"):
        queries.spend(engine, since=D1, until=D3, by=["line_itme"], source="tracked")


def test_overlapping_usage_kinds_count_only_when_grouped_by_kind(engine: Engine) -> None:
    facts = [
        UsageBucket(D1, D2, "messages", model="claude", input_tokens=100, output_tokens=10),
        UsageBucket(D1, D2, "claude_code", model="claude", input_tokens=60, output_tokens=6),
    ]
    store_facts(engine, account="anthropic", source="usage", window=WINDOW, facts=facts)
    (total,) = queries.usage(engine, since=D1, until=D3, by=["model"])
    assert (total["input_tokens"], total["output_tokens"]) == (100, 10)
    by_kind = {r["kind"]: r["input_tokens"] for r in queries.usage(engine, since=D1, until=D3, by=["kind"])}
    assert by_kind == {"messages": 100, "claude_code": 60}
