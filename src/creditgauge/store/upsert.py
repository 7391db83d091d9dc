"""Dialect-aware INSERT ... ON CONFLICT, batched under the database's parameter limit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

# SQLite allows 32766 bound parameters per statement; PostgreSQL 65535. Stay well under both.
MAX_PARAMS = 30_000


def batches(rows: Sequence[dict[str, Any]], columns: int) -> Iterable[Sequence[dict[str, Any]]]:
    size = max(1, MAX_PARAMS // max(1, columns))
    for offset in range(0, len(rows), size):
        yield rows[offset : offset + size]


def _insert(connection: Connection, table: Table):
    return (postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert)(table)


def upsert(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    keys: Sequence[str],
    update: Sequence[str] | None = None,
) -> int:
    """Insert rows; on a key conflict update `update` columns (or do nothing when `update` is empty).
    Returns the number of rows the database reports as written."""
    if not rows:
        return 0
    written = 0
    for chunk in batches(rows, len(rows[0])):
        statement = _insert(connection, table).values(list(chunk))
        if update:
            statement = statement.on_conflict_do_update(
                index_elements=list(keys), set_={name: statement.excluded[name] for name in update}
            )
        else:
            statement = statement.on_conflict_do_nothing(index_elements=list(keys))
        result = connection.execute(statement)
        written += max(result.rowcount or 0, 0)
    return written
