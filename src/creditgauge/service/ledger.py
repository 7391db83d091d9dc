"""Ledger changes and listings, with the rules of `creditgauge ledger` and the dashboard's Ledger page alike."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from creditgauge.analysis.accounts import home_currency, stored_currencies
from creditgauge.analysis.ledger import check_entry, entry_dict, parse_amount
from creditgauge.currencies import iso_currency
from creditgauge.dates import parse_moment
from creditgauge.errors import ConfigError
from creditgauge.service.session import Session
from creditgauge.store import ledger as ledger_store
from creditgauge.store.ledger import LEDGER_KINDS, LedgerEntry

__all__ = ["LEDGER_KINDS", "EntryOptions", "LedgerEntry", "add_entry", "entry_dict", "ledger_document", "list_entries",
           "remove_entry"]


@dataclass(frozen=True, slots=True)
class EntryOptions:
    """How a face names the fields of an entry, so a bad value is reported in the face's own words."""

    amount: str = "amount"
    at: str = "at"
    expires: str = "expires"
    currency: str = "currency"


def add_entry(session: Session, *, account: str, kind: str, amount: str, currency: str | None = None,
              at: str | None = None, expires: str | None = None, note: str | None = None,
              options: EntryOptions = EntryOptions()) -> LedgerEntry:
    """Validate and record one deposit, grant or adjustment (at: default now; currency: default the account's)."""
    settings = session.config.account(account)
    if kind not in LEDGER_KINDS:
        raise ConfigError(f"ledger kind {kind!r}: use one of {', '.join(LEDGER_KINDS)}")
    value = parse_amount(amount.strip(), options.amount)
    now = session.now()
    moment = parse_moment(at, now=now, option=options.at) if at else now
    expires_at = parse_moment(expires, now=now, option=options.expires) if expires else None
    check_entry(kind, value, moment, expires_at)
    if currency:
        code = iso_currency(currency, where=options.currency)
    else:
        code = home_currency(settings, stored_currencies(session.engine))
    return ledger_store.add_entry(session.engine, account=settings.name, kind=kind, amount=value, currency=code,
                                  at=moment, expires_at=expires_at, note=note, created_at=now)


def list_entries(session: Session, accounts: Sequence[str] | None = None) -> list[LedgerEntry]:
    """Every entry (or the named accounts' ones), by account and time."""
    return ledger_store.list_entries(session.engine, accounts or None)


def ledger_document(session: Session) -> dict[str, Any]:
    """The document of `creditgauge ledger list --json` and GET /api/v1/ledger."""
    return {"rows": [entry_dict(entry) for entry in list_entries(session)]}


def remove_entry(session: Session, entry_id: int) -> LedgerEntry | None:
    """Delete one entry; returns it, or None when there was no such entry."""
    return ledger_store.remove_entry(session.engine, entry_id)
