"""The user's ledger turned into a balance: deposits, credit grants and adjustments, minus spend since.

Spend is counted by whole UTC days from the day of the first entry (a deposit made in the afternoon still pays for
that morning: the estimate errs low, never high). Each day's spend is taken from unexpired grants first, the one
expiring soonest first, then from deposits; a grant that expires drops out with whatever it had left.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from creditgauge.analysis.daily import Series, each_day
from creditgauge.domain import ZERO, day_start, to_decimal
from creditgauge.errors import ConfigError
from creditgauge.store.ledger import LedgerEntry


@dataclass(slots=True)
class GrantState:
    entry_id: int
    amount: Decimal
    remaining: Decimal
    currency: str
    at: datetime
    expires_at: datetime
    expired: bool = False
    note: str | None = None


@dataclass(slots=True)
class LedgerBalance:
    currency: str
    amount: Decimal
    deposits: Decimal
    spent: Decimal
    since: datetime
    grants: list[GrantState] = field(default_factory=list)


def parse_amount(text: str, option: str) -> Decimal:
    """An amount the user typed, exactly; one clear error otherwise."""
    try:
        return to_decimal(text, what=option)
    except (TypeError, ValueError):
        raise ConfigError(f"{option} {text!r} is not an amount; write it like 100 or 25.50") from None


def entry_dict(entry: LedgerEntry) -> dict[str, object]:
    """The public shape of a ledger entry (CLI --json and API alike)."""
    return {"id": entry.id, "account": entry.account, "kind": entry.kind, "amount": entry.amount,
            "currency": entry.currency, "at": entry.at, "expires_at": entry.expires_at, "note": entry.note}


def check_entry(kind: str, amount: Decimal, at: datetime, expires_at: datetime | None) -> None:
    """Refuse entries that make no sense, with the fix in the message."""
    if kind in ("deposit", "grant") and amount <= 0:
        raise ConfigError(f"a {kind} must be a positive amount (got {amount}); use --adjust for corrections")
    if kind == "adjust" and amount == 0:
        raise ConfigError("an adjustment of 0 changes nothing; give a positive or negative amount")
    if kind == "grant" and expires_at is None:
        raise ConfigError("a grant needs its expiry: add --expires YYYY-MM-DD")
    if kind != "grant" and expires_at is not None:
        raise ConfigError("--expires applies to grants only (--grant AMOUNT --expires DATE)")
    if expires_at is not None and expires_at <= at:
        raise ConfigError(f"the grant expires ({expires_at:%Y-%m-%d}) before it starts ({at:%Y-%m-%d}); check --at")


def ledger_balance(entries: Sequence[LedgerEntry], series: Series | None, *, now: datetime) -> LedgerBalance | None:
    """The estimated balance of one account in one currency at `now`, or None when no entry has started yet."""
    started = deque(sorted((e for e in entries if e.at <= now), key=lambda e: (e.at, e.id)))
    if not started:
        return None
    result = LedgerBalance(currency=started[0].currency, amount=ZERO, deposits=ZERO, spent=ZERO, since=started[0].at)
    cash = ZERO
    for day in each_day(started[0].at.date(), now.date() + timedelta(days=1)):
        while started and started[0].at.date() <= day:
            entry = started.popleft()
            result.deposits += entry.amount
            if entry.kind == "grant" and entry.expires_at is not None:
                result.grants.append(GrantState(entry.id, entry.amount, entry.amount, entry.currency, entry.at,
                                                entry.expires_at, note=entry.note))
            else:
                cash += entry.amount
        _expire(result.grants, day_start(day))
        spent = series.on(day) if series else ZERO
        result.spent += spent
        cash -= _draw_from_grants(result.grants, spent)
    _expire(result.grants, now)
    result.amount = cash + sum((g.remaining for g in result.grants if not g.expired), ZERO)
    return result


def _expire(grants: list[GrantState], moment: datetime) -> None:
    for grant in grants:
        if not grant.expired and grant.expires_at <= moment:
            grant.expired = True


def _draw_from_grants(grants: list[GrantState], spent: Decimal) -> Decimal:
    """Pay `spent` from live grants, soonest expiry first; returns the part left for deposits to pay."""
    if spent <= 0:
        return spent
    for grant in sorted((g for g in grants if not g.expired), key=lambda g: g.expires_at):
        taken = min(grant.remaining, spent)
        grant.remaining -= taken
        spent -= taken
    return spent
