"""Status per account and currency: balance with its kind, spend this month and today, the monthly limit and
what remains under it, burn, runway with its date and state, the month-end forecast, and sync freshness.

This is the hub the CLI, the dashboard, the guard and the alert rules share: one computation, one set of figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Engine

from creditgauge.analysis.balance import Balance, MoneyFacts, load_money_facts, spend_in
from creditgauge.analysis.burn import Burn, burn_rate
from creditgauge.analysis.forecast import Forecast, month_forecast
from creditgauge.analysis.runway import Basis, Runway, Thresholds, runway
from creditgauge.analysis.windows import LAST_DAYS_SHOWN, last_days, this_month, today_window
from creditgauge.config import AccountConfig, Config
from creditgauge.domain import BalanceKind
from creditgauge.fx import combine
from creditgauge.store.quarantine import count_quarantined
from creditgauge.store.snapshots import Snapshot, latest_limits
from creditgauge.store.sync_health import SyncHealth

BASIS: dict[BalanceKind, Basis] = {BalanceKind.VERIFIED: "balance", BalanceKind.ESTIMATED: "balance",
                                   BalanceKind.LIMIT_ONLY: "limit"}


@dataclass(frozen=True, slots=True)
class AccountStatus:
    account: str
    provider: str
    currency: str
    balance: Balance
    month_to_date: Decimal | None  # None: unknown (no source has any day of it), never 0
    today: Decimal | None
    last_30_days: Decimal | None
    not_posted: tuple[date, ...]  # days of the last 30 no source has a figure for yet
    unpriced_requests: int  # tracked requests of the last 30 days with no price (not counted as $0)
    spend_known: bool  # False: the provider reports no spend and nothing tracks the account
    monthly_limit: Decimal | None  # the user's own limit, in the account's home currency
    under_limit: Decimal | None  # what remains under it: not a balance
    burn: Burn | None
    runway: Runway
    forecast: Forecast
    reported_through: date | None  # days after it are counted from tracked data
    sync: SyncHealth | None
    provider_limits: tuple[Snapshot, ...]

    @property
    def state(self) -> str:
        return self.runway.state

    @property
    def spend_source(self) -> str | None:
        """Where this row's spend figures come from (None: nowhere, they are unknown)."""
        if not self.spend_known:
            return None
        return "reported" if self.reported_through is not None else "tracked"

    def to_dict(self) -> dict[str, object]:
        return {
            "account": self.account, "provider": self.provider, "currency": self.currency,
            "balance": {k: v for k, v in self.balance.to_dict().items() if k not in ("account", "provider")},
            "month_to_date": self.month_to_date, "today": self.today, "last_30_days": self.last_30_days,
            "not_posted": list(self.not_posted), "unpriced_requests": self.unpriced_requests,
            "spend_source": self.spend_source,
            "monthly_limit": self.monthly_limit, "under_limit": self.under_limit,
            "burn": self.burn.to_dict() if self.burn else None,
            "runway": self.runway.to_dict(), "state": self.state,
            "forecast": self.forecast.to_dict(),
            "reported_through": self.reported_through,
            "last_sync_at": self.sync.last_success_at if self.sync else None,
            "sync_failing_since": self.sync.failing_since if self.sync else None,
            "provider_limits": [
                {"name": s.name, "amount": s.amount, "currency": s.currency, "as_of": s.as_of, "official": s.official}
                for s in self.provider_limits
            ],
        }


@dataclass(frozen=True, slots=True)
class StatusReport:
    as_of: datetime
    rows: list[AccountStatus]
    combined: dict[str, object] | None = None  # balance and month to date across currencies, at the [fx] rates
    quarantined: int = 0  # tracked items kept aside, not stored as they came (so in no figure): all accounts

    def to_dict(self) -> dict[str, object]:
        return {"as_of": self.as_of, "rows": [row.to_dict() for row in self.rows], "combined": self.combined,
                "quarantined": self.quarantined}


def _rows_for(account: AccountConfig, balances: list[Balance], facts: MoneyFacts, config: Config, now: datetime,
              limits: tuple[Snapshot, ...]) -> list[AccountStatus]:
    home = facts.currency_of(account)
    series = facts.series
    spent_in = {currency for (name, currency) in series if name == account.name}
    by_currency = {b.currency: b for b in balances if b.kind != BalanceKind.UNKNOWN}
    missing = sorted(spent_in - set(by_currency))
    if not by_currency and not missing:
        missing = [home]
    for currency in missing:
        by_currency[currency] = Balance(account.name, account.provider, currency, BalanceKind.UNKNOWN, None, None)
    thresholds = Thresholds.of(account, config.burn)
    known = facts.spend_known(account)
    today = now.date()
    rows = []
    for currency, balance in sorted(by_currency.items()):
        daily = series.get((account.name, currency))
        burn = burn_rate(daily, today=today, config=config.burn) if daily else None
        month, recent = (spend_in(daily, window, spend_known=known)
                         for window in (this_month(today), last_days(LAST_DAYS_SHOWN, today)))
        spent = month.amount
        has_limit = account.monthly_limit is not None and currency == home
        rows.append(AccountStatus(
            account=account.name, provider=account.provider, currency=currency, balance=balance,
            month_to_date=spent, today=spend_in(daily, today_window(today), spend_known=known).amount,
            last_30_days=recent.amount, not_posted=recent.unknown_days, unpriced_requests=recent.unpriced_requests,
            spend_known=known,
            monthly_limit=account.monthly_limit if has_limit else None,
            under_limit=account.monthly_limit - spent
            if has_limit and account.monthly_limit is not None and spent is not None else None,
            burn=burn, runway=runway(balance.amount, BASIS.get(balance.kind), burn, thresholds, now=now,
                                     spend_known=known),
            forecast=month_forecast(daily, burn, currency, now=now, spend_known=known),
            reported_through=daily.reported_through if daily else None, sync=facts.health.get(account.name),
            provider_limits=tuple(s for s in limits if s.currency == currency),
        ))
    return rows


def status(config: Config, engine: Engine, *, now: datetime, accounts: Sequence[str] | None = None) -> StatusReport:
    facts = load_money_facts(config, engine, now=now, accounts=accounts,
                             window_days=max(config.burn.window_days, LAST_DAYS_SHOWN))
    names = [a.name for a in facts.accounts]
    limits = latest_limits(engine, names) if names else []
    rows: list[AccountStatus] = []
    for account in facts.accounts:
        rows += _rows_for(account, facts.balances_of(account, now), facts, config, now,
                          tuple(s for s in limits if s.account == account.name))
    return StatusReport(now, rows, _combined(rows, config), count_quarantined(engine))


def _combined(rows: list[AccountStatus], config: Config) -> dict[str, object] | None:
    """The [fx] view: balances (of every kind that has an amount) and month-to-date spend in one currency."""
    balance = combine(((r.balance.amount, r.currency) for r in rows if r.balance.amount is not None), config.fx)
    spent = combine(((r.month_to_date, r.currency) for r in rows if r.month_to_date is not None), config.fx)
    if balance is None and spent is None:
        return None
    return {"balance": balance, "month_to_date": spent}
