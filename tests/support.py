"""Small helpers several test modules share (tests/ is on the path: `from support import ...`)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import Engine, Table, select

from creditgauge.connectors.base import Connector
from creditgauge.domain import Fact, Window
from creditgauge.store import schema


def database_dump(engine: Engine) -> str:
    """Every row of every table as text: what a planted-secret test searches."""
    with engine.connect() as connection:
        return "\n".join(str(tuple(row)) for table in schema.metadata.sorted_tables
                         for row in connection.execute(table.select()))


def assert_found_nowhere(secret: str, engine: Engine, *texts: str) -> str:
    """The planted secret is in none of the texts (errors, reports, captured logs) nor in any stored row.
    Returns the database dump, so the caller can check the sync did store something."""
    for text in texts:
        assert secret not in text
    dump = database_dump(engine)
    assert secret not in dump
    return dump


def run_task(connector: Connector, source: str, window: Window) -> list[Fact]:
    """One endpoint task of a connector, called directly (to see the exception it raises), then closed."""

    async def run() -> list[Fact]:
        try:
            task = next(t for t in connector.tasks() if t.source == source)
            return list(await task.fetch(window))
        finally:
            await connector.aclose()

    return asyncio.run(run())


def rows(engine: Engine, table: Table, source: str | None = None) -> list[Any]:
    """The rows of a table (of one source), as mappings."""
    query = select(table).where(table.c.source == source) if source else select(table)
    with engine.connect() as connection:
        return [row._mapping for row in connection.execute(query)]
