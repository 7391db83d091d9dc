"""Sync runs and per-source sync state: where the next incremental sync starts, how the last one went, and the items
it could not store."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from creditgauge.domain import ItemProblem
from creditgauge.store import schema
from creditgauge.store.upsert import upsert

PROBLEMS_KEPT = 100  # per source: enough to see what is wrong; a provider sending a million bad items adds no more


def high_waters(engine: Engine, account: str) -> dict[str, datetime | None]:
    table = schema.sync_state
    with engine.connect() as connection:
        rows = connection.execute(select(table.c.source, table.c.high_water).where(table.c.account == account))
        return {row.source: row.high_water for row in rows}


def record_success(engine: Engine, account: str, source: str, at: datetime, high_water: datetime | None, *,
                   run_id: str = "", problems: Sequence[ItemProblem] = (), note: str | None = None) -> None:
    """The source synced: move its mark, clear its error, and make `problems` (the items it could not store) its
    current ones, the first PROBLEMS_KEPT of them kept with the count of all."""
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
            "item_problems": len(problems), "note": note,
        }], keys=["account", "source"], update=["high_water", "last_attempt_at", "last_success_at", "last_error",
                                                 "last_error_at", "failing_since", "item_problems", "note"])
        _replace_problems(connection, run_id, account, source, at, problems)


def _replace_problems(connection: Connection, run_id: str, account: str, source: str, at: datetime,
                      problems: Sequence[ItemProblem]) -> None:
    table = schema.sync_problems
    connection.execute(delete(table).where(table.c.account == account, table.c.source == source))
    if problems:
        connection.execute(insert(table), [
            {"run_id": run_id, "account": account, "source": source, "endpoint": p.endpoint, "field": p.field,
             "detail": p.detail, "seen_at": at}
            for p in problems[:PROBLEMS_KEPT]
        ])


def current_problems(engine: Engine, limit: int = 500) -> list[dict[str, Any]]:
    """The items each source's last successful sync could not store, newest first."""
    table = schema.sync_problems
    with engine.connect() as connection:
        rows = connection.execute(select(table).order_by(table.c.seen_at.desc(), table.c.id).limit(limit))
        return [dict(row._mapping) for row in rows]


def problem_count(engine: Engine) -> int:
    table = schema.sync_state
    with engine.connect() as connection:
        return int(connection.execute(select(func.coalesce(func.sum(table.c.item_problems), 0))).scalar_one())


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
