"""Reconciliation: the provider's reported spend against the spend we tracked ourselves, per account and day.

Only days old enough for the provider's data delay are compared, and only from the first day tracking saw the
account to the last day the provider reported. A day is flagged when the difference exceeds the larger of
`min_difference` and `min_ratio` of the day's spend: reported above tracked means traffic we did not see (an
untracked client, a leaked key) or a pricing error; tracked above reported points to a pricing error.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, TypedDict

from sqlalchemy import Engine

from creditgauge.analysis.accounts import select_accounts
from creditgauge.analysis.burn import estimate
from creditgauge.analysis.key_links import fingerprint_links
from creditgauge.config import AccountConfig, Config
from creditgauge.domain import ZERO, day_start
from creditgauge.store.names import Entity, entities
from creditgauge.store.queries import Source, spend
from creditgauge.store.types import money

DEFAULT_DELAY_HOURS = 48  # providers post costs 1 to 48 hours late
Direction = Literal["reported_above_tracked", "tracked_above_reported"]
EXPLAIN: dict[Direction, str] = {
    "reported_above_tracked": "untracked traffic, a leaked key or a pricing error",
    "tracked_above_reported": "a pricing error (our prices above the provider's)",
}
# Dimension name in the report -> (column in reported data, column in tracked data). A tracked key is a
# fingerprint: the account's `tracked_keys` turns it into the provider's key id it is linked to.
BREAKDOWNS = {"model": ("model", "model"), "key": ("api_key", "key"), "project": ("project", "project")}
NAMED = {"key": "api_key", "project": "project"}  # breakdown dimension -> kind of entity_names
ORDER = {name: index for index, name in enumerate(BREAKDOWNS)}


@dataclass(frozen=True, slots=True)
class Part:
    dimension: str
    value: str
    reported: Decimal
    tracked: Decimal

    @property
    def difference(self) -> Decimal:
        return self.reported - self.tracked

    def to_dict(self) -> dict[str, Any]:
        return {"dimension": self.dimension, "value": self.value, "reported": self.reported,
                "tracked": self.tracked, "difference": self.difference}


@dataclass(frozen=True, slots=True)
class DayComparison:
    account: str
    provider: str
    day: date
    currency: str
    reported: Decimal
    tracked: Decimal
    unpriced_requests: int
    tolerance: Decimal
    breakdown: list[Part] = field(default_factory=list)

    @property
    def difference(self) -> Decimal:
        return self.reported - self.tracked

    @property
    def ratio(self) -> Decimal | None:
        """The difference as a fraction of the reported spend."""
        return estimate(self.difference / self.reported) if self.reported else None

    @property
    def direction(self) -> Direction | None:
        if abs(self.difference) <= self.tolerance:
            return None
        return "reported_above_tracked" if self.difference > 0 else "tracked_above_reported"

    @property
    def explanation(self) -> str | None:
        """The likely cause of a flagged day. Tracked requests without a price make the tracked figure a lower
        bound (they are never priced at 0): said first, as the likelier cause of a reported figure above it."""
        direction = self.direction
        if direction is None:
            return None
        if direction == "reported_above_tracked" and self.unpriced_requests:
            return (f"{self.unpriced_requests} tracked requests have no price, so tracked is a lower bound (set "
                    f"[accounts.{self.account}.prices], then `creditgauge reprice`); else {EXPLAIN[direction]}")
        return EXPLAIN[direction]

    def to_dict(self) -> dict[str, Any]:
        direction = self.direction
        return {
            "account": self.account, "provider": self.provider, "day": self.day, "currency": self.currency,
            "reported": self.reported, "tracked": self.tracked, "difference": self.difference, "ratio": self.ratio,
            "flagged": direction is not None, "direction": direction,
            "explanation": self.explanation, "tolerance": self.tolerance,
            "unpriced_requests": self.unpriced_requests, "breakdown": [p.to_dict() for p in self.breakdown],
        }


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    since: date
    until: date
    rows: list[DayComparison]
    skipped: dict[str, str]  # account -> why it could not be compared
    names: dict[str, dict[str, str]] = field(default_factory=dict)  # dimension -> value -> the provider's name

    @property
    def flagged(self) -> list[DayComparison]:
        return [row for row in self.rows if row.direction is not None]

    def totals_by(self, dimension: str) -> list[dict[str, Any]]:
        """The breakdown over the whole window: per account, currency and value of `dimension` (model, key or
        project), with its name, the sums of reported, tracked and difference, and the flagged days it differs on."""
        sums: dict[tuple[str, str, str], dict[str, Any]] = {}
        for row in self.rows:
            for part in row.breakdown:
                if part.dimension != dimension:
                    continue
                entry = sums.setdefault((row.account, row.currency, part.value), {
                    "account": row.account, dimension: part.value,
                    f"{dimension}_name": self.names.get(dimension, {}).get(part.value), "currency": row.currency,
                    "reported": ZERO, "tracked": ZERO, "difference": ZERO, "flagged_days": []})
                entry["reported"] += part.reported
                entry["tracked"] += part.tracked
                entry["difference"] += part.difference
                if row.direction is not None and abs(part.difference) > row.tolerance:
                    entry["flagged_days"].append(row.day)
        for entry in sums.values():
            entry.update({name: money(entry[name]) for name in ("reported", "tracked", "difference")})
        return sorted(sums.values(), key=lambda e: (-abs(e["difference"]), e["account"], e[dimension]))

    def to_dict(self) -> dict[str, Any]:
        return {"since": self.since, "until": self.until, "rows": [row.to_dict() for row in self.rows],
                "flagged": len(self.flagged), "skipped": self.skipped, "names": self.names,
                "by": {name: self.totals_by(name) for name in BREAKDOWNS}}


def data_delay_hours(account: AccountConfig, config: Config) -> int:
    if account.data_delay_hours is not None:
        return account.data_delay_hours
    return config.reconcile.data_delay_hours.get(account.provider, DEFAULT_DELAY_HOURS)


def _by_day(rows: list[dict[str, Any]]) -> dict[tuple[str, date, str], dict[str, Any]]:
    return {(r["account"], date.fromisoformat(r["day"]), r["currency"]): r for r in rows}


def tolerance(config: Config, reported: Decimal, tracked: Decimal) -> Decimal:
    minimum = config.reconcile.min_difference if config.reconcile.min_difference is not None else Decimal(1)
    ratio = config.reconcile.min_ratio if config.reconcile.min_ratio is not None else Decimal("0.10")
    return max(minimum, estimate(ratio * max(reported, tracked)))


def reconcile(config: Config, engine: Engine, *, since: date, until: date | None = None, now: datetime,
              accounts: Sequence[str] | None = None) -> ReconcileReport:
    chosen = select_accounts(config, accounts)
    until = min(until or now.date(), now.date())
    names = [a.name for a in chosen]
    window: _Window = {"since": day_start(since), "until": day_start(until), "accounts": names}
    reported = _by_day(spend(engine, by=["account", "day"], source="reported", **window)) if names else {}
    tracked = _by_day(spend(engine, by=["account", "day"], source="tracked", **window)) if names else {}
    rows: list[DayComparison] = []
    skipped: dict[str, str] = {}
    for account in chosen:
        # The last day whose end lies at least the provider's data delay in the past.
        settled = (now - timedelta(hours=data_delay_hours(account, config))).date()
        mine_r = {k: v for k, v in reported.items() if k[0] == account.name and k[1] < settled}
        mine_t = {k: v for k, v in tracked.items() if k[0] == account.name and k[1] < settled}
        if not mine_r or not mine_t:
            skipped[account.name] = ("no tracked spend in the window (route its traffic through the proxy, SDK hook "
                                     "or ingest API)" if mine_r else "no reported spend old enough to compare")
            continue
        first, last = min(k[1] for k in mine_t), max(k[1] for k in mine_r)
        for key in sorted(set(mine_r) | set(mine_t)):
            if first <= key[1] <= last:
                r, t = mine_r.get(key, {}), mine_t.get(key, {})
                # Tracked is what was priced; unpriced requests are counted beside it, never priced at $0.
                amount_r, amount_t = r.get("amount", ZERO), t.get("amount") or ZERO
                rows.append(DayComparison(account.name, account.provider, key[1], key[2], amount_r, amount_t,
                                          int(t.get("unpriced_requests", 0)), tolerance(config, amount_r, amount_t)))
    listed = entities(engine, tuple(NAMED.values())) if rows else []
    rows = _with_breakdowns(engine, rows, window, _key_links(chosen, listed))
    named = {dimension: {e.entity_id: e.name for e in listed if e.kind == kind} for dimension, kind in NAMED.items()}
    return ReconcileReport(since, until, rows, skipped, named)


class _Window(TypedDict):
    """The window both sides of a comparison are read over (spend()'s keyword arguments)."""

    since: datetime
    until: datetime
    accounts: Sequence[str] | None


def _key_links(chosen: Sequence[AccountConfig], listed: list[Entity]) -> dict[tuple[str, str], str]:
    """(account, fingerprint) -> the provider key id the account's `tracked_keys` links it to."""
    return {(account.name, fingerprint): key_id for account in chosen
            for fingerprint, key_id in fingerprint_links(account, listed)[0].items()}


def _with_breakdowns(engine: Engine, rows: list[DayComparison], window: _Window,
                     links: dict[tuple[str, str], str]) -> list[DayComparison]:
    """Attach per-model, per-key and per-project differences to each day where both sides carry that dimension."""
    if not rows:
        return rows
    parts: dict[tuple[str, date, str], list[Part]] = defaultdict(list)
    for name, (reported_column, tracked_column) in BREAKDOWNS.items():
        sides: dict[Source, dict[tuple[str, date, str], dict[Any, Decimal]]] = {}
        pairs: tuple[tuple[Source, str], ...] = (("reported", reported_column), ("tracked", tracked_column))
        for source, column in pairs:
            sides[source] = defaultdict(lambda: defaultdict(lambda: ZERO))
            for row in spend(engine, by=["account", "day", column], source=source, **window):
                if row[column] is not None:
                    key = (row["account"], date.fromisoformat(row["day"]), row["currency"])
                    value = links.get((row["account"], row[column]), row[column]) if name == "key" else row[column]
                    sides[source][key][value] += row["amount"] or ZERO
        for key in set(sides["reported"]) & set(sides["tracked"]):
            left, right = sides["reported"][key], sides["tracked"][key]
            parts[key] += [Part(name, value, left.get(value, ZERO), right.get(value, ZERO))
                           for value in sorted(set(left) | set(right))]
    return [replace(row, breakdown=sorted(parts.get((row.account, row.day, row.currency), []),
                                          key=lambda p: (ORDER[p.dimension], -abs(p.difference), p.value)))
            for row in rows]
