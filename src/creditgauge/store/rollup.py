"""The daily rollup of tracked events (usage_daily): what lets spend and usage over months of millions of events
answer in milliseconds. Two ways in, both inside the writer's transaction so the rollup never disagrees with the
events it sums:

- `add_events(connection, rows)`: the event rows an INSERT just stored (not the duplicates it skipped) are summed
  per day and dimensions in Python and added with one upsert.
- `rebuild(connection, since, until)`: the days of [since, until) are recomputed from usage_events in SQL (after a
  reprice changed costs, after a bulk load, and by the migration that created the table).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from operator import itemgetter
from typing import Any

from sqlalchemy import ColumnElement, Connection, case, delete, func, insert, literal, select
from sqlalchemy.dialects import postgresql, sqlite

from creditgauge.domain import as_utc, day_start
from creditgauge.store import schema

DIMENSIONS = ("account", "provider", "model", "project", "key_fingerprint", "endpoint", "source", "currency")
MEASURES = ("input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens",
            "requests")
SUMS = ("cost", "unpriced_requests", "events", *MEASURES)
SEPARATOR = "\x1f"
# Report dimensions the rollup can answer (name in reports -> column); tags need the events themselves.
REPORT_COLUMNS = {"account": "account", "provider": "provider", "model": "model", "project": "project",
                  "key": "key_fingerprint", "endpoint": "endpoint", "source": "source"}


_DIMENSION_VALUES = itemgetter(*DIMENSIONS)


def _joined_key(values: tuple[Any, ...]) -> str:
    return SEPARATOR.join("" if value is None else str(value) for value in values)


def add_events(connection: Connection, rows: Sequence[dict[str, Any]], *, sign: int = 1) -> None:
    """Add newly inserted event rows (dicts with usage_events' columns) to their days (`sign=-1` takes them
    out again). Rows are grouped first and each group summed a column at a time: this runs for every batch the
    proxy stores, and per-row bookkeeping cost more than the database's own work."""
    groups: dict[tuple[date, tuple[Any, ...]], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((as_utc(row["ts"]).date(), _DIMENSION_VALUES(row)), []).append(row)
    if not groups:
        return
    items = []
    for (day, dimensions), members in groups.items():
        item: dict[str, Any] = {"day": day_start(day), "dims_key": _joined_key(dimensions),
                                **dict(zip(DIMENSIONS, dimensions, strict=True))}
        item["cost"] = sum((row["cost"] for row in members if row["cost"] is not None), Decimal(0))
        item["unpriced_requests"] = sum(int(row["requests"]) for row in members if row["cost"] is None)
        item["events"] = len(members)
        for name in MEASURES:
            item[name] = sum(int(row[name] or 0) for row in members)
        if sign < 0:
            for name in SUMS:
                item[name] = -item[name]
        items.append(item)
    table = schema.usage_daily
    statement = (postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert)(table)
    statement = statement.on_conflict_do_update(
        index_elements=["day", "dims_key"], set_={name: table.c[name] + statement.excluded[name] for name in SUMS})
    connection.execute(statement, items)


def replace_prices(connection: Connection, prices: dict[str, tuple[Decimal | None, str]]) -> None:
    """Before `reprice` sets new (cost, currency) on the events with these ids: move their contribution from the
    old prices to the new ones, and drop day rows left with no event."""
    events, table = schema.usage_events, schema.usage_daily
    ids = list(prices)
    old: list[dict[str, Any]] = []
    for offset in range(0, len(ids), 900):
        chunk = ids[offset:offset + 900]
        query = select(events.c.id, events.c.ts, events.c.cost, *(events.c[name] for name in (*DIMENSIONS, *MEASURES)))
        old += [dict(row._mapping) for row in connection.execute(query.where(events.c.id.in_(chunk)))]
    add_events(connection, old, sign=-1)
    add_events(connection, [{**row, "cost": prices[row["id"]][0], "currency": prices[row["id"]][1]} for row in old])
    connection.execute(delete(table).where(table.c.events <= 0))


def _between(column: Any, start: datetime | None, end: datetime | None) -> list[ColumnElement[bool]]:
    return [condition for condition in (None if start is None else column >= start,
                                        None if end is None else column < end) if condition is not None]


def _day_expression(connection: Connection) -> ColumnElement[Any]:
    """The UTC midnight of an event's ts, in the form UTCDateTime stores on each database."""
    ts = schema.usage_events.c.ts
    if connection.dialect.name == "postgresql":
        return func.timezone("UTC", func.date_trunc("day", func.timezone("UTC", ts)))
    return func.substr(ts, 1, 10) + literal(" 00:00:00.000000")


def _dims_key_expression() -> ColumnElement[str]:
    events = schema.usage_events
    parts: list[ColumnElement[Any]] = [func.coalesce(events.c[name], literal("")) for name in DIMENSIONS]
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + literal(SEPARATOR) + part
    return joined


def rebuild(connection: Connection, since: datetime | None = None, until: datetime | None = None) -> None:
    """Recompute the whole UTC days covering [since, until) (default: every day) from usage_events."""
    table, events = schema.usage_daily, schema.usage_events
    start = day_start(since) if since else None
    end = None if until is None else day_start(until - timedelta(microseconds=1)) + timedelta(days=1)
    connection.execute(delete(table).where(*_between(table.c.day, start, end)))
    day = _day_expression(connection)
    keys = [events.c[name] for name in DIMENSIONS]
    priced = case((events.c.cost.is_(None), 0), else_=events.c.cost)
    query = (
        select(day.label("day"), _dims_key_expression().label("dims_key"), *keys,
               func.sum(priced).label("cost"),
               func.sum(case((events.c.cost.is_(None), events.c.requests), else_=0)).label("unpriced_requests"),
               func.count().label("events"), *(func.sum(events.c[name]).label(name) for name in MEASURES))
        .group_by(day, *keys)
    )
    query = query.where(*_between(events.c.ts, start, end))
    columns = ["day", "dims_key", *DIMENSIONS, *SUMS[:3], *MEASURES]
    connection.execute(insert(table).from_select(columns, query))
