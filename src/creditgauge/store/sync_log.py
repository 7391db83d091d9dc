"""Sync runs and per-source sync state: where the next incremental sync starts, and how the last one went."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update

from creditgauge.store import schema
from creditgauge.store.upsert import upsert


def high_waters(engine: Engine, account: str) -> dict[str, datetime | None]:
    table = schema.sync_state
    with engine.connect() as connection:
        rows = connection.execute(select(table.c.source, table.c.high_water).where(table.c.account == account))
        return {row.source: row.high_water for row in rows}


def record_success(engine: Engine, account: str, source: str, at: datetime, high_water: datetime | None) -> None:
    table = schema.sync_state
    with engine.begin() as connection:
        previous = connection.execute(
            select(table.c.high_water).where(table.c.account == account, table.c.source == source)
        ).scalar_one_or_none()
        if previous is not None and high_water is not None:
            high_water = max(previous, high_water)  # a sync of an older window never moves the mark back
        upsert(connection, table, [{
            "account": account, "source": source, "high_water": high_water or previous, "last_attempt_at": at,
            "last_success_at": at, "last_error": None, "last_error_at": None, "failing_since": None,
        }], keys=["account", "source"], update=["high_water", "last_attempt_at", "last_success_at", "last_error",
                                                 "last_error_at", "failing_since"])


def record_failure(engine: Engine, account: str, source: str, at: datetime, error: str) -> None:
    table = schema.sync_state
    with engine.begin() as connection:
        failing_since = connection.execute(
            select(table.c.failing_since).where(table.c.account == account, table.c.source == source)
        ).scalar_one_or_none()
        upsert(connection, table, [{
            "account": account, "source": source, "last_attempt_at": at, "last_error": error, "last_error_at": at,
            "failing_since": failing_since or at,
        }], keys=["account", "source"], update=["last_attempt_at", "last_error", "last_error_at", "failing_since"])


def start_run(engine: Engine, run_id: str, at: datetime, trigger: str) -> None:
    with engine.begin() as connection:
        connection.execute(insert(schema.sync_runs).values(id=run_id, started_at=at, status="running",
                                                            trigger=trigger, requests=0))


def finish_run(engine: Engine, run_id: str, at: datetime, status: str, requests: int, detail: Any) -> None:
    table = schema.sync_runs
    with engine.begin() as connection:
        connection.execute(update(table).where(table.c.id == run_id).values(
            finished_at=at, status=status, requests=requests, detail=detail))


def recent_runs(engine: Engine, limit: int = 50) -> list[dict[str, Any]]:
    table = schema.sync_runs
    with engine.connect() as connection:
        rows = connection.execute(select(table).order_by(table.c.started_at.desc()).limit(limit))
        return [dict(row._mapping) for row in rows]


def sync_states(engine: Engine) -> list[dict[str, Any]]:
    table = schema.sync_state
    with engine.connect() as connection:
        rows = connection.execute(select(table).order_by(table.c.account, table.c.source))
        return [dict(row._mapping) for row in rows]
