"""The money records analysis reads besides spend: the user's ledger entries and the latest balance and limit
snapshots providers reported."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, Table, and_, delete, func, insert, select

from creditgauge.store import schema
from creditgauge.store.types import money

LEDGER_KINDS = ("deposit", "grant", "adjust")


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    id: int
    account: str
    kind: str  # deposit | grant | adjust
    amount: Decimal
    currency: str
    at: datetime
    expires_at: datetime | None
    note: str | None
    created_at: datetime


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


def add_entry(
    engine: Engine,
    *,
    account: str,
    kind: str,
    amount: Decimal,
    currency: str,
    at: datetime,
    expires_at: datetime | None,
    note: str | None,
    created_at: datetime,
) -> LedgerEntry:
    if kind not in LEDGER_KINDS:
        raise ValueError(f"ledger kind {kind!r} is not one of {', '.join(LEDGER_KINDS)}")
    values = {"account": account, "kind": kind, "amount": amount, "currency": currency.upper(), "at": at,
              "expires_at": expires_at, "note": note, "created_at": created_at}
    with engine.begin() as connection:
        result = connection.execute(insert(schema.ledger_entries).values(**values))
        entry_id = int(result.inserted_primary_key[0])
    return LedgerEntry(id=entry_id, **{**values, "amount": money(amount)})


def list_entries(engine: Engine, accounts: Sequence[str] | None = None) -> list[LedgerEntry]:
    table = schema.ledger_entries
    statement = select(table).order_by(table.c.account, table.c.at, table.c.id)
    if accounts:
        statement = statement.where(table.c.account.in_(accounts))
    with engine.connect() as connection:
        return [_entry(row._mapping) for row in connection.execute(statement)]


def remove_entry(engine: Engine, entry_id: int) -> LedgerEntry | None:
    """Delete one entry; returns it, or None when there was no such entry."""
    table = schema.ledger_entries
    with engine.begin() as connection:
        row = connection.execute(select(table).where(table.c.id == entry_id)).first()
        if row is None:
            return None
        connection.execute(delete(table).where(table.c.id == entry_id))
    return _entry(row._mapping)


def _entry(row: Any) -> LedgerEntry:
    return LedgerEntry(**{**row, "amount": money(row["amount"])})


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
