"""The daily rollup that keeps dashboard reports fast stays equal to the events it sums: after inserts with
duplicates, after a reprice (including a change of currency), and against a rebuild from scratch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, select

from creditgauge.domain import UsageEvent
from creditgauge.store import queries, rollup, schema
from creditgauge.store.events import PriceUpdate, store_events, update_prices

DAY = datetime(2026, 11, 2, tzinfo=UTC)


def event(n: int, *, cost: str | None = "0.10", model: str = "gpt-4o", hour: int = 10, **extra: object) -> UsageEvent:
    return UsageEvent(id=f"ev{n}", account="acct", provider="openai", ts=DAY + timedelta(hours=hour, minutes=n),
                      model=model, endpoint="/v1/chat/completions", source="proxy", input_tokens=100 + n,
                      output_tokens=10, cost=None if cost is None else Decimal(cost), **extra)  # type: ignore[arg-type]


def table_rows(engine: Engine) -> list[tuple[object, ...]]:
    daily = schema.usage_daily
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(select(daily).order_by(daily.c.day, daily.c.dims_key))]


def test_rollup_follows_inserts_duplicates_and_reprice(engine: Engine) -> None:
    store_events(engine, [event(1), event(2, model="gpt-4o-mini"), event(3, cost=None), event(4, hour=30)])
    store_events(engine, [event(1), event(2, model="gpt-4o-mini"), event(5, cost="0.000000001")])  # 1, 2 again
    since, until = DAY, DAY + timedelta(days=2)
    rows = queries.spend(engine, since=since, until=until, by=["day", "model"], source="tracked")
    assert [(r["day"], r["model"], r["amount"], r["unpriced_requests"]) for r in rows] == [
        ("2026-11-02", "gpt-4o", Decimal("0.100000001"), 1),
        ("2026-11-02", "gpt-4o-mini", Decimal("0.10"), 0),
        ("2026-11-03", "gpt-4o", Decimal("0.10"), 0),
    ]
    usage = queries.usage(engine, since=since, until=until, by=["account"], source="tracked")
    assert usage[0]["input_tokens"] == 101 + 102 + 103 + 104 + 105 and usage[0]["requests"] == 5
    update_prices(engine, [PriceUpdate("ev3", Decimal("0.25"), "USD", "override", None),
                           PriceUpdate("ev2", Decimal("7"), "EUR", "override", None)])
    rows = queries.spend(engine, since=since, until=until, by=["model"], source="tracked")
    assert [(r["model"], r["currency"], r["amount"], r["unpriced_requests"]) for r in rows] == [
        ("gpt-4o", "USD", Decimal("0.450000001"), 0),
        ("gpt-4o-mini", "EUR", Decimal("7.00"), 0),
    ]
    kept = table_rows(engine)
    with engine.begin() as connection:
        rollup.rebuild(connection)
    assert table_rows(engine) == kept


def test_partial_days_and_tags_read_the_events(engine: Engine) -> None:
    store_events(engine, [event(1, tags={"team": "a"}), event(2, hour=20, tags={"team": "b"})])
    half = queries.spend(engine, since=DAY, until=DAY + timedelta(hours=12), by=["account"], source="tracked")
    assert half[0]["amount"] == Decimal("0.10")
    tagged = queries.spend(engine, since=DAY, until=DAY + timedelta(days=1), by=["tag:team"], source="tracked")
    assert {r["tag:team"]: r["amount"] for r in tagged} == {"a": Decimal("0.10"), "b": Decimal("0.10")}


def test_rebuild_of_a_day_range_leaves_other_days(engine: Engine) -> None:
    store_events(engine, [event(1), event(2, hour=30)])
    before = table_rows(engine)
    with engine.begin() as connection:
        rollup.rebuild(connection, DAY + timedelta(days=1), DAY + timedelta(days=1, hours=1))
    assert table_rows(engine) == before
