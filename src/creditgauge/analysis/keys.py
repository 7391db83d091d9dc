"""Every API key: what the provider says of it, what it spent by the provider's report and by our own tracking, and
whether it looks leaked.

A tracked key is known only by its fingerprint (the proxy and the SDK hook keep nothing else), so the config links
a fingerprint to the provider's key: `[accounts.NAME.tracked_keys]` maps `"fp_…"` to the key's id or name (or to a
name of its own where the provider lists no keys). A provider key is a **leak suspect** when it spends on days the
account is tracked and none of its spend passed our tracking, or when on a day its reported spend runs ahead of its
tracked spend by more than the reconcile threshold (`[reconcile] min_difference` / `min_ratio`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from creditgauge.analysis.accounts import home_currency, measures_not_reported, select_accounts, stored_currencies
from creditgauge.analysis.key_links import fingerprint_links
from creditgauge.analysis.reconcile import tolerance
from creditgauge.config import AccountConfig, Config
from creditgauge.domain import ZERO, day_start
from creditgauge.store import queries
from creditgauge.store.names import Entity, entities

LEAK_EXPLANATION = "spent beyond what passed the proxy or hook: a key used outside tracking, or leaked"


@dataclass(frozen=True, slots=True)
class SuspectDay:
    day: date
    reported: Decimal
    tracked: Decimal

    @property
    def difference(self) -> Decimal:
        return self.reported - self.tracked


@dataclass(slots=True)
class KeyRow:
    """One key of one account in one currency. `reported` is None when the account's provider does not report
    spend per key; `tracked` is None when nothing of the account was tracked in the window (unknown, never 0)."""

    account: str
    provider: str
    api_key: str | None  # the provider's key id; None for a tracked key the provider does not list
    name: str | None
    currency: str
    details: dict[str, Any] = field(default_factory=dict)
    fingerprints: list[str] = field(default_factory=list)
    reported: Decimal | None = None
    tracked: Decimal | None = None
    usage: dict[str, int | None] = field(default_factory=dict)
    suspect_days: list[SuspectDay] = field(default_factory=list)
    daily: dict[date, tuple[Decimal | None, Decimal | None]] = field(default_factory=dict)  # reported, tracked

    @property
    def difference(self) -> Decimal | None:
        if self.reported is None or self.tracked is None:
            return None
        return self.reported - self.tracked

    @property
    def leak_suspect(self) -> bool:
        return bool(self.suspect_days)

    @property
    def suspect_amount(self) -> Decimal | None:
        return sum((d.difference for d in self.suspect_days), ZERO) if self.suspect_days else None


@dataclass(frozen=True, slots=True)
class _Side:
    """One side's spend per (account, key, currency) and day."""

    days: dict[tuple[str, str, str], dict[date, Decimal]]

    def total(self, key: tuple[str, str, str]) -> Decimal:
        return sum(self.days.get(key, {}).values(), ZERO)


def _side(rows: list[dict[str, Any]], column: str) -> _Side:
    days: dict[tuple[str, str, str], dict[date, Decimal]] = defaultdict(dict)
    for row in rows:
        if row[column] is not None:
            days[row["account"], row[column], row["currency"]][date.fromisoformat(row["day"])] = \
                row["amount"] or ZERO
    return _Side(dict(days))


def key_rows(config: Config, engine: Engine, *, since: date, until: date,
             accounts: Sequence[str] | None = None) -> list[KeyRow]:
    """Every key of the chosen accounts over the days [since, until): listed keys, keys the reports name, and
    tracked fingerprints no listed key claims."""
    chosen = select_accounts(config, accounts)
    if not chosen:
        return []
    window: dict[str, Any] = {"since": day_start(since), "until": day_start(until),
                              "accounts": [a.name for a in chosen]}
    reported = _side(queries.spend(engine, by=["account", "day", "api_key"], source="reported", **window),
                     "api_key")
    tracked = _side(queries.spend(engine, by=["account", "day", "key"], source="tracked", **window), "key")
    tokens = {(row["account"], row["api_key"]): row for row in
              queries.usage(engine, by=["account", "api_key"], source="reported",
                            not_reported=measures_not_reported(), **window)}
    listed: dict[str, list[Entity]] = defaultdict(list)
    for entity in entities(engine, ("api_key",)):
        listed[entity.account].append(entity)
    currencies = stored_currencies(engine)
    rows: list[KeyRow] = []
    for account in chosen:
        rows += _account_rows(config, account, home_currency(account, currencies), listed[account.name], reported,
                              tracked, tokens)
    return rows


def _account_rows(config: Config, account: AccountConfig, own_currency: str, listed: list[Entity], reported: _Side,
                  tracked: _Side, tokens: dict[tuple[str, str], dict[str, Any]]) -> list[KeyRow]:
    name = account.name
    linked, own = fingerprint_links(account, listed)
    per_key = any(key[0] == name for key in reported.days)
    tracked_days = [day for key, days in tracked.days.items() if key[0] == name for day in days]
    first_tracked = min(tracked_days) if tracked_days else None
    known = {entity.entity_id: entity for entity in listed}
    per_key_usage = any(account_name == name and key_id is not None for account_name, key_id in tokens)
    currencies: dict[str, set[str]] = defaultdict(set)
    for account_name, key_id, currency in reported.days:
        if account_name == name:
            currencies[key_id].add(currency)
    # A tracked key that already is a provider key id (sent so through the ingest API) needs no link.
    linked |= {key: key for account_name, key, _currency in tracked.days
               if account_name == name and key not in linked and (key in known or key in currencies)}
    rows: list[KeyRow] = []
    for key_id in sorted(set(known) | set(currencies), key=lambda k: (known[k].name if k in known else k)):
        fingerprints = sorted(fp for fp, target in linked.items() if target == key_id)
        entity = known.get(key_id)
        for currency in sorted(currencies[key_id]) or [own_currency]:
            key = (name, key_id, currency)
            row = KeyRow(name, account.provider, key_id, entity.name if entity else None, currency,
                         dict(entity.details) if entity else {}, fingerprints,
                         reported.total(key) if per_key else None,
                         sum((tracked.total((name, fp, currency)) for fp in fingerprints), ZERO)
                         if first_tracked else None,
                         _usage(tokens.get((name, key_id)), per_key_usage, account.provider))
            mine = _tracked_days(tracked, name, fingerprints, currency)
            if per_key and first_tracked is not None:
                row.suspect_days = _suspect_days(config, reported.days.get(key, {}), mine, first_tracked)
            row.daily = _daily(reported.days.get(key, {}) if per_key else None,
                               mine if first_tracked else None)
            rows.append(row)
    for account_name, fingerprint, currency in sorted(tracked.days):
        if account_name == name and fingerprint not in linked:
            own_days = tracked.days[account_name, fingerprint, currency]
            rows.append(KeyRow(name, account.provider, None, own.get(fingerprint), currency, {}, [fingerprint],
                               None, tracked.total((name, fingerprint, currency)), daily=_daily(None, own_days)))
    return rows


def _daily(reported: dict[date, Decimal] | None,
           tracked: dict[date, Decimal] | None) -> dict[date, tuple[Decimal | None, Decimal | None]]:
    """Per day with spend on either side: (reported, tracked), None where that side does not know the key."""
    days = sorted(set(reported or {}) | set(tracked or {}))
    return {day: (None if reported is None else reported.get(day, ZERO),
                  None if tracked is None else tracked.get(day, ZERO)) for day in days}


def _usage(row: dict[str, Any] | None, per_key: bool, provider: str) -> dict[str, int | None]:
    """A key's reported tokens and requests: none used (0) when the account's usage report names keys and not this
    one; unknown (None) when the report names no keys at all, or the provider does not report that measure."""
    measures = ("input_tokens", "output_tokens", "requests")
    if row is not None:
        return {m: row.get(m) for m in measures}
    gaps = measures_not_reported()
    return {m: 0 if per_key and provider not in gaps.get(m, ()) else None for m in measures}


def _tracked_days(tracked: _Side, account: str, fingerprints: list[str], currency: str) -> dict[date, Decimal]:
    days: dict[date, Decimal] = defaultdict(lambda: ZERO)
    for fingerprint in fingerprints:
        for day, amount in tracked.days.get((account, fingerprint, currency), {}).items():
            days[day] += amount
    return dict(days)


def _suspect_days(config: Config, reported: dict[date, Decimal], tracked: dict[date, Decimal],
                  first_tracked: date) -> list[SuspectDay]:
    """The days (from the first day tracking saw the account) the key spent with none of it tracked, or with its
    reported spend ahead of its tracked spend by more than the reconcile threshold."""
    untracked = not any(tracked.values())
    found = []
    for day in sorted(reported):
        r, t = reported[day], tracked.get(day, ZERO)
        if day < first_tracked or r <= 0:
            continue
        if (untracked and t == 0) or r - t > tolerance(config, r, t):
            found.append(SuspectDay(day, r, t))
    return found


__all__ = ["LEAK_EXPLANATION", "KeyRow", "SuspectDay", "key_rows"]
