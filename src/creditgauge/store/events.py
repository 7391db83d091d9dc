"""Writes and reads of tracked usage events (proxy, SDK hook, ingest): idempotent by event id, tags mirrored into
event_tags, and the price columns updated in place by `reprice`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite

from creditgauge.domain import UsageEvent, utcnow
from creditgauge.store import rollup, schema

_EVENT_COLUMNS = (
    "id", "account", "provider", "ts", "endpoint", "model", "source", "key_fingerprint",
    "input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens", "requests",
    "status_code", "incomplete", "cost", "currency", "price_source", "prices_version", "latency_ms", "request_id",
)


def event_row(event: UsageEvent, stored_at: datetime) -> dict[str, Any]:
    row = {name: getattr(event, name) for name in _EVENT_COLUMNS}
    row["project"] = event.tags.get("project") if event.tags else None
    row["tags"] = event.tags or None
    row["extra"] = event.extra or None
    row["stored_at"] = stored_at
    return row


def _insert_ignore(connection: Connection, table: Any, key: list[str]) -> Any:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing(index_elements=key)


def insert_events(connection: Connection, events: Sequence[UsageEvent], *, count_new: bool = False) -> int:
    """Insert events that are not stored yet (same id = same event: stored once). With `count_new`, returns how
    many were new (one extra query: executemany reports no reliable per-row counts); else the number given.
    One executemany per table: SQLAlchemy packs the rows into multi-row INSERTs under the parameter limit."""
    if not events:
        return 0
    now = utcnow()
    rows = [event_row(event, now) for event in events]
    tags = [{"event_id": e.id, "key": k, "value": v} for e in events for k, v in (e.tags or {}).items()]
    before = _count(connection, [e.id for e in events]) if count_new else 0
    inserted = connection.execute(
        _insert_ignore(connection, schema.usage_events, ["id"]).returning(schema.usage_events.c.id), rows)
    new_ids = set(inserted.scalars())
    rollup.add_events(connection, [row for row in rows if row["id"] in new_ids])  # keep usage_daily in step
    if tags:
        connection.execute(_insert_ignore(connection, schema.event_tags, ["event_id", "key"]), tags)
    return len(rows) - before


def _count(connection: Connection, ids: list[str]) -> int:
    table = schema.usage_events
    found = 0
    for offset in range(0, len(ids), 900):
        chunk = ids[offset:offset + 900]
        found += len(connection.execute(select(table.c.id).where(table.c.id.in_(chunk))).all())
    return found


def store_events(engine: Engine, events: Sequence[UsageEvent], *, count_new: bool = False) -> int:
    with engine.begin() as connection:
        return insert_events(connection, events, count_new=count_new)


def iter_events(engine: Engine, *, since: datetime, until: datetime | None = None,
                chunk: int = 5000) -> Iterator[UsageEvent]:
    """Stored events with since <= ts < until, oldest first, read in pages of `chunk`."""
    table = schema.usage_events
    last: tuple[datetime, str] | None = None
    while True:
        query = select(table).where(table.c.ts >= since).order_by(table.c.ts, table.c.id).limit(chunk)
        if until is not None:
            query = query.where(table.c.ts < until)
        if last is not None:
            query = query.where((table.c.ts > last[0]) | ((table.c.ts == last[0]) & (table.c.id > last[1])))
        with engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        for row in rows:
            yield row_event(row)
        if len(rows) < chunk:
            return
        last = (rows[-1]["ts"], rows[-1]["id"])


def row_event(row: Any) -> UsageEvent:
    return UsageEvent(
        **{name: row[name] for name in _EVENT_COLUMNS},
        tags=row["tags"] or {},
        extra=row["extra"] or {},
    )


@dataclass(frozen=True, slots=True)
class PriceUpdate:
    id: str
    cost: Decimal | None
    currency: str
    price_source: str | None
    prices_version: str | None


def update_prices(engine: Engine, updates: Sequence[PriceUpdate]) -> int:
    """Set new price columns on stored events (reprice). Returns the number of events updated."""
    if not updates:
        return 0
    table = schema.usage_events
    statement = (
        update(table)
        .where(table.c.id == bindparam("event_id"))
        .values(cost=bindparam("new_cost"), currency=bindparam("new_currency"),
                price_source=bindparam("new_source"), prices_version=bindparam("new_version"))
    )
    rows = [{"event_id": u.id, "new_cost": u.cost, "new_currency": u.currency, "new_source": u.price_source,
             "new_version": u.prices_version} for u in updates]
    with engine.begin() as connection:
        rollup.replace_prices(connection, {u.id: (u.cost, u.currency) for u in updates})  # keep usage_daily in step
        connection.execute(statement, rows)
    return len(rows)
