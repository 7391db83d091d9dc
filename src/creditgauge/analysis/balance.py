"""Balance per account and currency, with its kind always stated.

verified    the newest snapshot of a provider balance endpoint (xAI, OpenRouter, DeepSeek, Moonshot); OpenAI credit
            grants read with a session key are verified too but come from an unofficial endpoint (official=False)
estimated   the ledger: deposits, unexpired grants and adjustments, minus spend since (see analysis.ledger)
limit_only  the config's monthly_limit minus month-to-date spend: what remains under your own limit, not money
unknown     none of the above: the account is listed apart, with no amount
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from creditgauge.analysis.accounts import home_currency, reports_spend, select_accounts, stored_currencies
from creditgauge.analysis.daily import Figure, Series, spend_series
from creditgauge.analysis.ledger import GrantState, ledger_balance
from creditgauge.analysis.windows import DayWindow, this_month
from creditgauge.config import AccountConfig, Config
from creditgauge.domain import BalanceKind
from creditgauge.store.ledger import LedgerEntry, list_entries
from creditgauge.store.snapshots import Snapshot, latest_balances
from creditgauge.store.sync_health import SyncHealth, sync_health
from creditgauge.store.types import money


@dataclass(frozen=True, slots=True)
class Balance:
    account: str
    provider: str
    currency: str
    kind: BalanceKind
    amount: Decimal | None
    as_of: datetime | None
    official: bool = True
    source: str | None = None  # the endpoint task of a verified balance, "ledger" or "monthly_limit"
    grants: tuple[GrantState, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)  # as the provider or the ledger gave it (JSON)

    def to_dict(self) -> dict[str, object]:
        return {
            "account": self.account, "provider": self.provider, "amount": self.amount, "currency": self.currency,
            "kind": self.kind, "as_of": self.as_of, "official": self.official, "source": self.source,
            "grants": [_grant_dict(g) for g in self.grants], "details": self.details,
        }


def _grant_dict(grant: GrantState) -> dict[str, object]:
    return {"id": grant.entry_id, "amount": grant.amount, "remaining": grant.remaining, "currency": grant.currency,
            "at": grant.at, "expires_at": grant.expires_at, "expired": grant.expired, "note": grant.note}


@dataclass(frozen=True, slots=True)
class BalanceReport:
    as_of: datetime
    rows: list[Balance]

    def to_dict(self) -> dict[str, Any]:  # JSON: as_of, rows (Balance.to_dict), unknown (names)
        known = [row for row in self.rows if row.kind != BalanceKind.UNKNOWN]
        unknown = [row.account for row in self.rows if row.kind == BalanceKind.UNKNOWN]
        return {"as_of": self.as_of, "rows": [row.to_dict() for row in known], "unknown": unknown}


def _snapshot_kind(snap: Snapshot) -> BalanceKind:
    """A connector marks a snapshot that is only what remains under a limit (a relay's hard limit minus usage)."""
    limit_only = (snap.details or {}).get("kind") == BalanceKind.LIMIT_ONLY
    return BalanceKind.LIMIT_ONLY if limit_only else BalanceKind.VERIFIED


def _verified(account: AccountConfig, snapshots: Sequence[Snapshot]) -> list[Balance]:
    """Newest snapshot per currency; a real balance wins over a limit-only one, and an official source over an
    unofficial one, whatever their ages."""
    chosen: dict[str, Snapshot] = {}
    for snap in sorted(snapshots, key=lambda s: (_snapshot_kind(s) == BalanceKind.VERIFIED, s.official, s.as_of)):
        chosen[snap.currency] = snap
    return [
        Balance(account.name, account.provider, snap.currency, _snapshot_kind(snap), money(snap.amount), snap.as_of,
                official=snap.official, source=snap.source, details=dict(snap.details or {}))
        for snap in chosen.values()
    ]


def _estimated(account: AccountConfig, entries: Sequence[LedgerEntry], series: dict[tuple[str, str], Series],
               skip: set[str], now: datetime) -> list[Balance]:
    rows = []
    for currency in sorted({e.currency for e in entries} - skip):
        mine = [e for e in entries if e.currency == currency]
        result = ledger_balance(mine, series.get((account.name, currency)), now=now)
        if result is not None:
            rows.append(Balance(
                account.name, account.provider, currency, BalanceKind.ESTIMATED, money(result.amount), now,
                source="ledger", grants=tuple(result.grants),
                details={"since": result.since, "credited": result.deposits, "spent": result.spent},
            ))
    return rows


def spend_in(series: Series | None, window: DayWindow, *, spend_known: bool) -> Figure:
    """The one spend figure of a window (the `--source best` blend): the series' figure, zero for an account with
    no spend in the window whose provider reports it, unknown (None) for one nothing reports or tracks."""
    if series is not None:
        return series.figure(window)
    return Figure(Decimal("0.00") if spend_known else None)


def month_to_date(series: Series | None, now: datetime, *, spend_known: bool = True) -> Decimal | None:
    return spend_in(series, this_month(now.date()), spend_known=spend_known).amount


def _limit_only(account: AccountConfig, currency: str, series: dict[tuple[str, str], Series], now: datetime,
                spend_known: bool) -> list[Balance]:
    if account.monthly_limit is None:
        return []
    spent = month_to_date(series.get((account.name, currency)), now, spend_known=spend_known)
    remaining = None if spent is None else money(account.monthly_limit - spent)  # unknown spend: unknown room
    return [Balance(account.name, account.provider, currency, BalanceKind.LIMIT_ONLY, remaining, now,
                    source="monthly_limit", details={"monthly_limit": account.monthly_limit, "month_to_date": spent})]


def account_balances(account: AccountConfig, *, currency: str, snapshots: Sequence[Snapshot],
                     entries: Sequence[LedgerEntry], series: dict[tuple[str, str], Series], now: datetime,
                     spend_known: bool = True) -> list[Balance]:
    """Every balance row of one account: verified per currency, the ledger for currencies with no snapshot,
    else what remains under the monthly limit, else one unknown row (those two in the account's `currency`)."""
    rows = _verified(account, snapshots)
    rows += _estimated(account, entries, series, {row.currency for row in rows}, now)
    rows = rows or _limit_only(account, currency, series, now, spend_known)
    return rows or [Balance(account.name, account.provider, currency, BalanceKind.UNKNOWN, None, None)]


def history_start(entries: Sequence[LedgerEntry], now: datetime, *, at_least_days: int = 0) -> date:
    """The first day spend is needed from: the oldest ledger entry, the start of last month, or the trailing
    window, whichever is earliest."""
    last_month = (now.date().replace(day=1) - timedelta(days=1)).replace(day=1)
    candidates = [last_month, now.date() - timedelta(days=at_least_days + 1)]
    candidates += [e.at.date() for e in entries]
    return min(candidates)


@dataclass(frozen=True, slots=True)
class MoneyFacts:
    """What balances are computed from, read once for a set of accounts."""

    accounts: list[AccountConfig]
    snapshots: list[Snapshot]
    entries: list[LedgerEntry]
    series: dict[tuple[str, str], Series]
    health: dict[str, SyncHealth] = field(default_factory=dict)
    currencies: dict[str, str] = field(default_factory=dict)  # per account, as the accounts table recorded it

    def currency_of(self, account: AccountConfig) -> str:
        return home_currency(account, self.currencies)

    def spend_known(self, account: AccountConfig) -> bool:
        """Whether a window without spend rows spent nothing (rather than: nobody can tell): the account is
        tracked, or its provider reports spend and it has synced."""
        if any(name == account.name for name, _currency in self.series):
            return True
        synced = account.name in self.health and self.health[account.name].last_success_at is not None
        return synced and reports_spend(account)

    def balances_of(self, account: AccountConfig, now: datetime) -> list[Balance]:
        return account_balances(
            account, currency=self.currency_of(account),
            snapshots=[s for s in self.snapshots if s.account == account.name],
            entries=[e for e in self.entries if e.account == account.name], series=self.series, now=now,
            spend_known=self.spend_known(account),
        )


def load_money_facts(config: Config, engine: Engine, *, now: datetime, accounts: Sequence[str] | None = None,
                     window_days: int = 0) -> MoneyFacts:
    chosen = select_accounts(config, accounts)
    names = [a.name for a in chosen]
    if not names:  # the store queries read every account when given none
        return MoneyFacts([], [], [], {})
    entries = list_entries(engine, names)
    series = spend_series(engine, since=history_start(entries, now, at_least_days=window_days),
                          until=now.date() + timedelta(days=1), accounts=names)
    return MoneyFacts(chosen, latest_balances(engine, names), entries, series, sync_health(engine, names),
                      stored_currencies(engine))


def balances(config: Config, engine: Engine, *, now: datetime, accounts: Sequence[str] | None = None) -> BalanceReport:
    facts = load_money_facts(config, engine, now=now, accounts=accounts)
    return BalanceReport(now, [row for account in facts.accounts for row in facts.balances_of(account, now)])
