"""Writes and reads of tracked usage events (proxy, SDK hook, ingest): idempotent by event id, tags mirrored into
event_tags, and the price columns updated in place by `reprice`. `store_checked` is the capture paths' write: an
event that cannot be stored as it is goes to the quarantine, and the rest of its batch is stored."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from creditgauge.domain import UsageEvent, utcnow
from creditgauge.errors import StoreError
from creditgauge.limits import QUARANTINE_REASON, event_problem
from creditgauge.store import rollup, schema
from creditgauge.store.quarantine import QuarantineItem, event_item, quarantine_items

SQLITE_MAX_PARAMS = 32_766  # bound parameters per statement

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
    """Insert events that are not stored yet (same id = same event: stored once) and add the new ones to the daily
    rollup. Returns how many were new (`count_new` is kept for callers; the count is always exact now)."""
    if not events:
        return 0
    now = utcnow()
    rows = [event_row(event, now) for event in events]
    insert = _insert_postgresql if connection.dialect.name == "postgresql" else _insert_sqlite
    new_ids = insert(connection, rows)
    rollup.add_events(connection, [row for row in rows if row["id"] in new_ids])  # keep usage_daily in step
    tags = [{"event_id": e.id, "key": k, "value": v} for e in events if e.id in new_ids for k, v in e.tags.items()]
    if tags:
        connection.execute(_insert_ignore(connection, schema.event_tags, ["event_id", "key"]), tags)
    return len(new_ids)


def _driver_values(connection: Connection, rows: Sequence[dict[str, Any]]) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and each row's values as the driver takes them, through the columns' own bind processing.
    The hot path talks to the driver directly, a column at a time: SQLAlchemy's per-row parameter handling
    costs more than the database's work for a batch of small rows."""
    dialect = connection.dialect
    names = list(rows[0])
    columns = []
    for name in names:
        values = [row[name] for row in rows]
        process = schema.usage_events.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        columns.append(values if process is None else list(map(process, values)))
    return names, list(zip(*columns, strict=True))


def _insert_sqlite(connection: Connection, rows: Sequence[dict[str, Any]]) -> set[str]:
    """Multi-row INSERT ... ON CONFLICT DO NOTHING RETURNING id, in chunks under SQLite's parameter limit."""
    names, values = _driver_values(connection, rows)
    per_chunk = SQLITE_MAX_PARAMS // len(names)
    row_marks = "(" + ", ".join("?" * len(names)) + ")"
    new_ids: set[str] = set()
    for offset in range(0, len(values), per_chunk):
        chunk = values[offset:offset + per_chunk]
        sql = (f"INSERT INTO usage_events ({', '.join(names)}) VALUES {', '.join([row_marks] * len(chunk))} "
               "ON CONFLICT (id) DO NOTHING RETURNING id")
        flat = tuple(value for row in chunk for value in row)
        new_ids.update(connection.exec_driver_sql(sql, flat).scalars())
    return new_ids


def _insert_postgresql(connection: Connection, rows: Sequence[dict[str, Any]]) -> set[str]:
    """COPY the batch into a temporary table, then one INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING id.
    (A multi-row VALUES with RETURNING has tens of thousands of placeholders, which psycopg re-parses in Python on
    every batch: ten times slower.)"""
    names, values = _driver_values(connection, rows)
    columns = ", ".join(names)
    connection.exec_driver_sql(
        "CREATE TEMPORARY TABLE IF NOT EXISTS incoming_events (LIKE usage_events) ON COMMIT DELETE ROWS")
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY incoming_events ({columns}) FROM STDIN") as copy:
        for row in values:
            copy.write_row(row)
    inserted = connection.exec_driver_sql(
        f"INSERT INTO usage_events ({columns}) SELECT {columns} FROM incoming_events "
        "ON CONFLICT (id) DO NOTHING RETURNING id")
    new_ids = set(inserted.scalars())
    connection.exec_driver_sql("DELETE FROM incoming_events")  # the same transaction may insert another batch
    return new_ids


def store_events(engine: Engine, events: Sequence[UsageEvent], *, count_new: bool = False) -> int:
    with engine.begin() as connection:
        return insert_events(connection, events, count_new=count_new)


@dataclass(frozen=True, slots=True)
class StoreOutcome:
    """What one batch became: events newly stored, and events quarantined (newly or again) instead."""

    stored: int
    quarantined: int


# Errors that say the database is unreachable or busy, not that an item is bad: the batch is retried whole.
_OUTAGES = frozenset({"OperationalError", "InterfaceError", "DisconnectionError"})


def is_outage(exc: BaseException) -> bool:
    return isinstance(exc, OSError) or any(cls.__name__ in _OUTAGES for cls in type(exc).__mro__)


def store_checked(engine: Engine, events: Sequence[UsageEvent]) -> StoreOutcome:
    """Store a batch of captured events; quarantine, with the reason, each one that cannot be stored as it is: one
    outside the limits (creditgauge.limits), one marked unreadable by the capture path, or one the database
    refuses (found by splitting the batch). Raises only when the database is unreachable, so the caller retries."""
    good: list[UsageEvent] = []
    poison: list[QuarantineItem] = []
    for event in events:
        problem = event.extra.get(QUARANTINE_REASON) if event.extra else None
        problem = problem or event_problem(event)
        if problem:
            poison.append(event_item(event, str(problem)))
        else:
            good.append(event)
    stored, refused = store_isolating(engine, good)
    poison += [event_item(item.event, f"refused by the database: {item.reason}") for item in refused]
    if poison:
        with engine.begin() as connection:
            quarantine_items(connection, poison)
    return StoreOutcome(stored, len(poison))


@dataclass(frozen=True, slots=True)
class Refused:
    """An event the database would not take, with the first line of its error."""

    event: UsageEvent
    reason: str

    @property
    def id(self) -> str:
        return self.event.id


def store_isolating(engine: Engine, events: Sequence[UsageEvent]) -> tuple[int, list[Refused]]:
    """Store the events: (how many were new, the ones the database refused, each with its reason). A batch the
    database refuses while it answers is halved until the refused events stand alone, so a value validation did
    not foresee costs only its own event. An outage is raised (the driver's error, or StoreError when the database
    stopped answering midway): the caller retries or reports it, nothing is taken as refused."""
    if not events:
        return 0, []
    try:
        return store_events(engine, events), []
    except Exception as exc:  # whatever the driver raises for a value it cannot take; outages are re-raised
        _raise_if_outage(engine, exc)
        if len(events) == 1:
            try:  # once more, alone: a passing conflict is not poison
                return store_events(engine, events), []
            except Exception as again:
                _raise_if_outage(engine, again)
                return 0, [Refused(events[0], _first_line(again))]
    middle = len(events) // 2
    first_stored, first_refused = store_isolating(engine, events[:middle])
    second_stored, second_refused = store_isolating(engine, events[middle:])
    return first_stored + second_stored, first_refused + second_refused


def _raise_if_outage(engine: Engine, exc: Exception) -> None:
    if is_outage(exc):
        raise exc
    if not _reachable(engine):
        raise StoreError(f"the database stopped answering ({_first_line(exc)})") from exc


def _first_line(exc: BaseException) -> str:
    return (str(getattr(exc, "orig", None) or exc) or type(exc).__name__).splitlines()[0]


def _reachable(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:  # any failure to answer a trivial query means the database, not the batch, is the problem
        return False
    return True


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
