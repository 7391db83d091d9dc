"""The latest balance and limit snapshots providers reported, per account and source."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, Table, and_, func, select

from creditgauge.store import schema
from creditgauge.store.types import money


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The latest balance (name None) or limit (name set) one source reported for an account and currency."""

    account: str
    source: str
    as_of: datetime
    amount: Decimal
    currency: str
    official: bool
    details: dict[str, Any] | None
    name: str | None = None


def _latest(engine: Engine, table: Table, group: Sequence[str], accounts: Sequence[str] | None) -> list[dict[str, Any]]:
    """The newest row of `table` per `group` (by as_of), on both databases."""
    newest = select(*(table.c[name] for name in group), func.max(table.c.as_of).label("as_of")).group_by(
        *(table.c[name] for name in group)
    )
    if accounts:
        newest = newest.where(table.c.account.in_(accounts))
    newest_sq = newest.subquery()
    statement = select(table).join(
        newest_sq, and_(*(table.c[name] == newest_sq.c[name] for name in (*group, "as_of")))
    ).order_by(table.c.account, table.c.source)
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(statement)]


def latest_balances(engine: Engine, accounts: Sequence[str] | None = None) -> list[Snapshot]:
    """Per account, source and currency, the newest balance snapshot."""
    rows = _latest(engine, schema.balance_snapshots, ("account", "source", "currency"), accounts)
    return [Snapshot(account=r["account"], source=r["source"], as_of=r["as_of"], amount=money(r["amount"]),
                     currency=r["currency"], official=r["official"], details=r["details"]) for r in rows]


def latest_limits(engine: Engine, accounts: Sequence[str] | None = None) -> list[Snapshot]:
    """Per account, source and limit name, the newest limit snapshot."""
    rows = _latest(engine, schema.limit_snapshots, ("account", "source", "name"), accounts)
    return [Snapshot(account=r["account"], source=r["source"], as_of=r["as_of"], amount=money(r["amount"]),
                     currency=r["currency"], official=r["official"], details=r["details"], name=r["name"])
            for r in rows]
