"""The user's ledger: deposits, credit grants and adjustments, added, listed and removed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Engine, RowMapping, delete, insert, select

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
        inserted = result.inserted_primary_key
    assert inserted is not None  # an insert into a table with a primary key always reports it
    entry_id = int(inserted[0])
    return LedgerEntry(id=entry_id, account=account, kind=kind, amount=money(amount), currency=currency.upper(), at=at,
                       expires_at=expires_at, note=note, created_at=created_at)


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


def _entry(row: RowMapping) -> LedgerEntry:
    return LedgerEntry(id=row["id"], account=row["account"], kind=row["kind"], amount=money(row["amount"]),
                       currency=row["currency"], at=row["at"], expires_at=row["expires_at"], note=row["note"],
                       created_at=row["created_at"])
