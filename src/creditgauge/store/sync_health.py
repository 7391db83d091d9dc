"""Each account's sync health over all its sources, as status and the sync_failing rule read it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from creditgauge.store import schema


@dataclass(frozen=True, slots=True)
class SyncHealth:
    """One account's sync over all its sources: the newest success, and the oldest failure still unresolved."""

    account: str
    last_success_at: datetime | None
    last_attempt_at: datetime | None
    failing_since: datetime | None
    failing_sources: tuple[str, ...]
    last_error: str | None


def sync_health(engine: Engine, accounts: Sequence[str] | None = None) -> dict[str, SyncHealth]:
    table = schema.sync_state
    statement = select(table).order_by(table.c.account, table.c.source)
    if accounts:
        statement = statement.where(table.c.account.in_(accounts))
    with engine.connect() as connection:
        rows = [row._mapping for row in connection.execute(statement)]
    health: dict[str, SyncHealth] = {}
    for account in dict.fromkeys(row["account"] for row in rows):
        mine = [row for row in rows if row["account"] == account]
        failing = sorted((row for row in mine if row["failing_since"] is not None), key=lambda r: r["failing_since"])
        health[account] = SyncHealth(
            account=account,
            last_success_at=max((r["last_success_at"] for r in mine if r["last_success_at"]), default=None),
            last_attempt_at=max((r["last_attempt_at"] for r in mine if r["last_attempt_at"]), default=None),
            failing_since=failing[0]["failing_since"] if failing else None,
            failing_sources=tuple(row["source"] for row in failing),
            last_error=failing[0]["last_error"] if failing else None,
        )
    return health
