"""Writes and reads of tracked usage events (proxy, SDK hook, ingest): idempotent by event id, tags mirrored into
event_tags, and the price columns updated in place by `reprice`. `store_checked` is the capture paths' write: an
event that cannot be stored as it is goes to the quarantine, and the rest of its batch is stored."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import compress
from operator import attrgetter
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, bindparam, select, text, update

from creditgauge.domain import UsageEvent, utcnow
from creditgauge.errors import StoreError
from creditgauge.limits import QUARANTINE_REASON, Checked, event_problem, price_checker
from creditgauge.store import rollup, schema
from creditgauge.store.quarantine import QuarantineItem, event_item, quarantine_items

SQLITE_MAX_PARAMS = 32_766  # bound parameters per statement
UNIQUE_VIOLATION = "23505"  # PostgreSQL's SQLSTATE for a key already taken

_EVENT_COLUMNS = (
    "id", "account", "provider", "ts", "endpoint", "model", "source", "key_fingerprint",
    "input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens", "requests",
    "status_code", "incomplete", "cost", "currency", "price_source", "prices_version", "latency_ms", "request_id",
)


_EVENT_VALUES = attrgetter(*_EVENT_COLUMNS)


def event_columns(events: Sequence[UsageEvent]) -> dict[str, Sequence[Any]]:
    """A non-empty batch as usage_events' columns (all but `stored_at`, the same for the whole batch), a column at
    a time: read by one C-level getter an event and transposed by zip, without a dict or a call for each row."""
    transposed = zip(*map(_EVENT_VALUES, events), strict=True)
    columns: dict[str, Sequence[Any]] = dict(zip(_EVENT_COLUMNS, transposed, strict=True))
    tags = [event.tags or None for event in events]
    columns["project"] = [item.get("project") if item else None for item in tags]
    columns["tags"] = tags
    columns["extra"] = [event.extra or None for event in events]
    return columns


def insert_events(connection: Connection, events: Sequence[UsageEvent], *, count_new: bool = False) -> int:
    """Insert events that are not stored yet (same id = same event: stored once) and add the new ones to the daily
    rollup. Returns how many were new (`count_new` is kept for callers; the count is always exact now)."""
    if not events:
        return 0
    columns = event_columns(events)
    insert = _insert_postgresql if connection.dialect.name == "postgresql" else _insert_sqlite
    new_ids = insert(connection, columns, utcnow())
    if len(new_ids) < len(events):  # some were stored before (or repeated in the batch): only the new ones count
        new = _first_new(columns["id"], new_ids)
        columns = {name: list(compress(values, new)) for name, values in columns.items()}
    rollup.add_events(connection, columns)  # keep usage_daily in step
    tags = [(e.id, k, v) for e in events if e.tags and e.id in new_ids for k, v in e.tags.items()]
    if tags:  # straight to the driver, as the events: SQLAlchemy's per-row handling cost more than the insert
        _insert_tags(connection, tags)
    return len(new_ids)


def _insert_tags(connection: Connection, tags: list[tuple[str, str, str]]) -> None:
    """event_tags rows, once each. PostgreSQL takes them by COPY when none is stored yet (the tags of new events,
    as usual), else as three arrays in one INSERT: row by row, as executemany sends them, its server spent 13 µs
    a row (measured), more than on the event itself."""
    if connection.dialect.name != "postgresql":
        connection.exec_driver_sql("INSERT INTO event_tags (event_id, key, value) VALUES (?, ?, ?) "
                                   "ON CONFLICT (event_id, key) DO NOTHING", tags)
    elif not _copied_whole(connection, "event_tags", ("event_id", "key", "value"), tags):
        connection.exec_driver_sql(
            "INSERT INTO event_tags (event_id, key, value) SELECT * FROM unnest(%s::text[], %s::text[], %s::text[]) "
            "ON CONFLICT (event_id, key) DO NOTHING", tuple(map(list, zip(*tags, strict=True))))


def _copy(connection: Connection, table: str, names: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _copied_whole(connection: Connection, table: str, names: Sequence[str], rows: Iterable[Sequence[Any]]) -> bool:
    """COPY rows straight into a PostgreSQL table when none of them is stored yet: its bulk path takes a row in
    about half the server time of INSERT ... ON CONFLICT (measured: 4.5 against 9-12 µs a tag row). False, with
    nothing written (the savepoint is rolled back), when a row's key is taken: a retried batch, a repeat within
    it, another writer's same call; the caller then inserts the rows one conflict at a time."""
    try:
        with connection.begin_nested():
            _copy(connection, table, names, rows)
    except Exception as exc:
        if getattr(exc, "sqlstate", None) == UNIQUE_VIOLATION:
            return False
        raise
    return True


def _first_new(ids: Sequence[str], new_ids: set[str]) -> list[bool]:
    """Which rows the insert stored: those with a new id, the first of each (the database skipped the repeats)."""
    left = set(new_ids)
    stored = []
    for event_id in ids:
        stored.append(event_id in left)
        left.discard(event_id)
    return stored


def _driver_columns(connection: Connection, columns: dict[str, Sequence[Any]],
                    stored_at: datetime) -> tuple[list[str], list[Sequence[Any]]]:
    """Column names and each column's values as the driver takes them, through the columns' own bind processing
    (`stored_at` processed once for the batch; tags written by orjson in JSONText's form).
    The hot path talks to the driver directly, a column at a time: SQLAlchemy's per-row parameter handling
    costs more than the database's work for a batch of small rows."""
    dialect = connection.dialect
    values: list[Sequence[Any]] = []
    for name, column in columns.items():
        process = _bind_processor(dialect, name)
        if name == "tags" and process is not None:
            process = _tags_json(process)
        values.append(column if process is None else list(map(process, column)))
    process = _bind_processor(dialect, "stored_at")
    values.append([stored_at if process is None else process(stored_at)] * len(columns["id"]))
    return [*columns, "stored_at"], values


def _bind_processor(dialect: Any, name: str) -> Any:
    return schema.usage_events.c[name].type.dialect_impl(dialect).bind_processor(dialect)


def _tags_json(usual: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Tags (text to text, checked by the limits) as JSONText writes them (sorted keys, compact) by orjson, ten
    times faster; non-ASCII text as UTF-8 instead of escapes, the same JSON once read. Anything orjson refuses
    takes the column's own way."""
    def process(value: Any) -> Any:
        if value is None:
            return None
        try:
            return orjson.dumps(value, default=str, option=orjson.OPT_SORT_KEYS).decode()
        except TypeError:
            return usual(value)
    return process


def _insert_sqlite(connection: Connection, rows: dict[str, Sequence[Any]], stored_at: datetime) -> set[str]:
    """Multi-row INSERT ... ON CONFLICT DO NOTHING RETURNING id, in chunks under SQLite's parameter limit."""
    names, columns = _driver_columns(connection, rows, stored_at)
    width = len(names)
    per_chunk = SQLITE_MAX_PARAMS // width
    row_marks = "(" + ", ".join("?" * width) + ")"
    new_ids: set[str] = set()
    total = len(rows["id"])
    for offset in range(0, total, per_chunk):
        count = min(per_chunk, total - offset)
        sql = (f"INSERT INTO usage_events ({', '.join(names)}) VALUES {', '.join([row_marks] * count)} "
               "ON CONFLICT (id) DO NOTHING RETURNING id")
        flat: list[Any] = [None] * (count * width)
        for index, column in enumerate(columns):  # row-major parameters, laid a column at a time by slicing
            flat[index::width] = column[offset:offset + count]
        new_ids.update(connection.exec_driver_sql(sql, tuple(flat)).scalars().all())
    return new_ids


def _insert_postgresql(connection: Connection, rows: dict[str, Sequence[Any]], stored_at: datetime) -> set[str]:
    """COPY the batch straight in when none of its events is stored yet (the usual case); else COPY it into a
    temporary table and insert from there with ON CONFLICT DO NOTHING RETURNING id. (A multi-row VALUES with
    RETURNING has tens of thousands of placeholders, which psycopg re-parses in Python on every batch: ten times
    slower.)"""
    names, values = _driver_columns(connection, rows, stored_at)
    if _copied_whole(connection, "usage_events", names, zip(*values, strict=True)):
        return set(rows["id"])
    columns = ", ".join(names)
    connection.exec_driver_sql(
        "CREATE TEMPORARY TABLE IF NOT EXISTS incoming_events (LIKE usage_events) ON COMMIT DELETE ROWS")
    _copy(connection, "incoming_events", names, zip(*values, strict=True))
    inserted = connection.exec_driver_sql(
        f"INSERT INTO usage_events ({columns}) SELECT {columns} FROM incoming_events "
        "ON CONFLICT (id) DO NOTHING RETURNING id")
    new_ids = set(inserted.scalars())
    connection.exec_driver_sql("DELETE FROM incoming_events")  # the same transaction may insert another batch
    return new_ids


def delete_events(connection: Connection, events: Sequence[UsageEvent]) -> None:
    """Delete stored events (as read back by `row_event`), their tags and their part of the daily rollup."""
    if not events:
        return
    rollup.remove_events(connection, event_columns(events))
    ids = [event.id for event in events]
    connection.execute(schema.event_tags.delete().where(schema.event_tags.c.event_id.in_(ids)))
    connection.execute(schema.usage_events.delete().where(schema.usage_events.c.id.in_(ids)))


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
# PostgreSQL's SQLSTATEs for a schema that is not there (a table, a column, a schema; SQLite says "no such table"
# with an OperationalError): the database is not ready for any event, none of them is bad.
_MISSING_SCHEMA = frozenset({"42P01", "42703", "3F000"})


def is_outage(exc: BaseException) -> bool:
    if isinstance(exc, OSError) or any(cls.__name__ in _OUTAGES for cls in type(exc).__mro__):
        return True
    driver_error = getattr(exc, "orig", None) or exc  # SQLAlchemy's wrapper, or the driver's own (from a COPY)
    return getattr(driver_error, "sqlstate", None) in _MISSING_SCHEMA


def store_checked(engine: Engine, events: Sequence[UsageEvent]) -> StoreOutcome:
    """Store a batch of captured events; quarantine, with the reason, each one that cannot be stored as it is: one
    outside the limits (creditgauge.limits; a `Checked` batch was checked before pricing, so only its prices are),
    one marked unreadable by the capture path, or one the database refuses (found by splitting the batch). Raises
    only when the database is unreachable, so the caller retries."""
    good: list[UsageEvent] = []
    poison: list[QuarantineItem] = []
    check = price_checker() if isinstance(events, Checked) else event_problem  # a checked batch: its prices only
    for event in events:
        problem = event.extra.get(QUARANTINE_REASON) if event.extra else None
        problem = problem or check(event)
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
