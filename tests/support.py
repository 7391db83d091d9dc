"""Small helpers several test modules share (tests/ is on the path: `from support import ...`)."""

from __future__ import annotations

from sqlalchemy import Engine

from creditgauge.store import schema


def database_dump(engine: Engine) -> str:
    """Every row of every table as text: what a planted-secret test searches."""
    with engine.connect() as connection:
        return "\n".join(str(tuple(row)) for table in schema.metadata.sorted_tables
                         for row in connection.execute(table.select()))
