"""The daily rollup of tracked events (usage_daily): what lets spend and usage over months of millions of events
answer in milliseconds. Two ways in, both inside the writer's transaction so the rollup never disagrees with the
events it sums:

- `add_events(connection, columns)`: the events an INSERT just stored (not the duplicates it skipped) are summed
  per day and dimensions in Python and added with one upsert.
- `rebuild(connection, since, until)`: the days of [since, until) are recomputed from usage_events in SQL (after a
  reprice changed costs, after a bulk load, and by the migration that created the table).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Connection, Insert, case, delete, func, insert, literal, select
from sqlalchemy.dialects import postgresql, sqlite

from creditgauge.domain import day_start
from creditgauge.store import schema

DIMENSIONS = ("account", "provider", "model", "project", "key_fingerprint", "endpoint", "source", "currency")
MEASURES = ("input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens",
            "requests")
SUMS = ("cost", "unpriced_requests", "events", *MEASURES)
SEPARATOR = "\x1f"
# Report dimensions the rollup can answer (name in reports -> column); tags need the events themselves.
REPORT_COLUMNS = {"account": "account", "provider": "provider", "model": "model", "project": "project",
                  "key": "key_fingerprint", "endpoint": "endpoint", "source": "source"}


def _joined_key(values: tuple[Any, ...]) -> str:
    return SEPARATOR.join("" if value is None else str(value) for value in values)


def _utc_day(value: datetime) -> date:
    """An event time's UTC date (naive times are UTC, as SQLite returns them)."""
    if value.tzinfo is None or value.tzinfo is UTC:
        return value.date()
    return value.astimezone(UTC).date()


def add_events(connection: Connection, columns: Mapping[str, Sequence[Any]], *, sign: int = 1) -> None:
    """Add newly inserted events, given as usage_events' columns (name -> the events' values), to their days
    (`sign=-1` takes them out again). Rows are grouped by position first and each group summed a column at a time
    by C-level builtins: this runs for every batch the proxy stores, and per-row bookkeeping cost more than the
    database's own work."""
    if not columns.get("ts"):
        return
    groups: defaultdict[tuple[date, tuple[Any, ...]], list[int]] = defaultdict(list)
    keys = zip(map(_utc_day, columns["ts"]), zip(*(columns[name] for name in DIMENSIONS), strict=True), strict=True)
    for index, key in enumerate(keys):
        groups[key].append(index)
    whole = len(groups) == 1  # the usual batch: one day, one account and model, summed without picking
    items = []
    for (day, dimensions), members in groups.items():
        positions = None if whole else members
        costs, requests = _picked(columns["cost"], positions), _picked(columns["requests"], positions)
        item: dict[str, Any] = {"day": day_start(day), "dims_key": _joined_key(dimensions),
                                **dict(zip(DIMENSIONS, dimensions, strict=True))}
        item["cost"] = sum([cost for cost in costs if cost is not None], Decimal(0))
        item["unpriced_requests"] = sum([count for cost, count in zip(costs, requests, strict=True) if cost is None])
        item["events"] = len(members)
        for name in MEASURES:
            item[name] = sum(filter(None, _picked(columns[name], positions)))
        if sign < 0:
            for name in SUMS:
                item[name] = -item[name]
        items.append(item)
    connection.execute(_upsert(connection.dialect.name), items)


@cache
def _upsert(dialect: str) -> Insert:
    """The rollup's upsert, built once a dialect (building it took more than executing it for a small batch)."""
    table = schema.usage_daily
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    return statement.on_conflict_do_update(
        index_elements=["day", "dims_key"], set_={name: table.c[name] + statement.excluded[name] for name in SUMS})


def _picked(values: Sequence[Any], positions: list[int] | None) -> Sequence[Any]:
    """The values at these positions (None: all of them)."""
    return values if positions is None else [values[index] for index in positions]


def replace_prices(connection: Connection, prices: dict[str, tuple[Decimal | None, str]]) -> None:
    """Before `reprice` sets new (cost, currency) on the events with these ids: move their contribution from the
    old prices to the new ones, and drop day rows left with no event."""
    events = schema.usage_events
    ids = list(prices)
    names = ("id", "ts", "cost", *DIMENSIONS, *MEASURES)
    old: list[Any] = []
    for offset in range(0, len(ids), 900):
        chunk = ids[offset:offset + 900]
        query = select(*(events.c[name] for name in names))
        old += connection.execute(query.where(events.c.id.in_(chunk))).all()
    if old:
        columns: dict[str, Sequence[Any]] = dict(zip(names, zip(*old, strict=True), strict=True))
        remove_events(connection, columns)
        add_events(connection, {**columns, "cost": [prices[event_id][0] for event_id in columns["id"]],
                                "currency": [prices[event_id][1] for event_id in columns["id"]]})


def remove_events(connection: Connection, columns: Mapping[str, Sequence[Any]]) -> None:
    """Take events (usage_events' columns, as `add_events` takes them) out of their days, and drop the day rows
    left with no event, which would show as rows of zeros."""
    add_events(connection, columns, sign=-1)
    table = schema.usage_daily
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
