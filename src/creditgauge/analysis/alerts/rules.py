"""Alert rules: each configured rule, evaluated for each subject it covers, says firing or not, and why.

A subject is what the rule watches: an account and currency for money rules ("oa/USD"), an account for sync and
unpriced usage, a tag or project value for scoped budgets ("oa/USD tag team=search").
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any

from sqlalchemy import Engine

from creditgauge.analysis.daily import split_by_dimension
from creditgauge.analysis.keys import LEAK_EXPLANATION, key_rows
from creditgauge.analysis.reconcile import ReconcileReport, reconcile
from creditgauge.analysis.status import AccountStatus, StatusReport, status
from creditgauge.config import AlertRule, Config
from creditgauge.display import money
from creditgauge.domain import BalanceKind, day_start
from creditgauge.errors import ConfigError
from creditgauge.redact import redact
from creditgauge.store.alerts import AlertState, alert_states
from creditgauge.store.names import entities
from creditgauge.store.quarantine import quarantined_after
from creditgauge.store.queries import spend
from creditgauge.store.sync_health import SyncHealth, sync_health


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    subject: str
    firing: bool
    message: str  # what is true now, in one line: the alert text when firing, the resolution when not
    value: str | None = None


class Facts:
    """What rules read, computed once per check and only when a rule needs it."""

    def __init__(self, config: Config, engine: Engine, now: datetime, report: StatusReport | None = None) -> None:
        self.config, self.engine, self.now = config, engine, now
        if report is not None:  # a caller that already has the status (serve, after a sync) lends it
            self.__dict__["status"] = report

    @cached_property
    def status(self) -> StatusReport:
        return status(self.config, self.engine, now=self.now)

    @cached_property
    def sync(self) -> dict[str, SyncHealth]:
        return sync_health(self.engine, list(self.config.accounts))

    @cached_property
    def alert_states(self) -> dict[tuple[str, str], AlertState]:
        return alert_states(self.engine)

    def reconcile(self, days: int) -> ReconcileReport:
        return reconcile(self.config, self.engine, since=self.now.date() - timedelta(days=days), now=self.now)

    def tracked_spend(self, since: datetime, until: datetime, by: Sequence[str]) -> list[dict[str, Any]]:
        return spend(self.engine, since=since, until=until, by=["account", *by], source="tracked",
                     accounts=list(self.config.accounts))


def _need(rule: AlertRule, field: str) -> Decimal:
    value: Decimal | None = getattr(rule, field)
    if value is None:
        raise ConfigError(f"alerts.rules {rule.name!r}: a {rule.kind} rule needs {field} = \"...\"; add it")
    return value


def _rows(rule: AlertRule, facts: Facts) -> list[AccountStatus]:
    return [r for r in facts.status.rows if rule.account in (None, r.account)]


def _subject(row: AccountStatus) -> str:
    return f"{row.account}/{row.currency}"


def _hours(hours: Decimal) -> timedelta:
    return timedelta(seconds=int(hours * 3600))


def _money(amount: Decimal, currency: str) -> str:
    """An amount in a message people read: to the currency's minor unit (the finding's value keeps every digit)."""
    return money(amount, currency, show_currency=True)


def balance_below(rule: AlertRule, facts: Facts) -> list[Finding]:
    threshold = _need(rule, "threshold")
    found = []
    for row in _rows(rule, facts):
        amount = row.balance.amount
        if amount is None:
            continue
        what = "remaining under the monthly limit" if row.balance.kind == BalanceKind.LIMIT_ONLY else (
            f"{row.balance.kind.value} balance")
        firing = amount < threshold
        relation = "is below" if firing else "is back at or above"
        found.append(Finding(rule.name, _subject(row), firing,
                             f"{row.account}: {what} {_money(amount, row.currency)} {relation} {threshold}",
                             str(amount)))
    return found


def runway_below(rule: AlertRule, facts: Facts) -> list[Finding]:
    days = _need(rule, "days")
    found = []
    for row in _rows(rule, facts):
        runway = row.runway
        if runway.basis is None:
            continue
        firing = runway.days is not None and runway.days < days
        text = (f"runway {runway.days} days (until {runway.date})" if runway.days is not None
                else "runway beyond the horizon")
        relation = f"is under {days} days" if firing else f"is {days} days or more"
        found.append(Finding(rule.name, _subject(row), firing, f"{row.account}: {text} {relation}",
                             None if runway.days is None else str(runway.days)))
    return found


def _budget(rule: AlertRule, facts: Facts, period: str) -> list[Finding]:
    threshold = _need(rule, "threshold")
    today = facts.now.date()
    since = today if period == "today" else today.replace(day=1)
    spent: dict[str, tuple[Decimal | None, str, str]] = {}  # subject -> (amount, currency, what it is)
    if rule.tag:
        key, _, wanted = rule.tag.partition("=")
        for tagged in facts.tracked_spend(day_start(since), facts.now, [f"tag:{key}"]):
            value = tagged[f"tag:{key}"]
            if rule.account in (None, tagged["account"]) and value is not None and wanted in ("", value):
                spent[f"{tagged['account']}/{tagged['currency']} tag {key}={value}"] = (
                    tagged["amount"], tagged["currency"], f"tag {key}={value} on {tagged['account']} (tracked)")
    elif rule.project:
        accounts = [rule.account] if rule.account else list(facts.config.accounts)
        names = {(e.account, e.entity_id): e.name for e in entities(facts.engine, ("project",))}
        split = split_by_dimension(facts.engine, since=since, until=today + timedelta(days=1), dimension="project",
                                   accounts=accounts)
        for (account, currency, project), in_project in split.items():
            name = names.get((account, project or ""))
            if rule.project in (project, name):  # the project's id or the name the provider gives it
                label = f"project {name} ({project})" if name else f"project {project}"
                spent[f"{account}/{currency} project {project}"] = (in_project, currency, f"{label} on {account}")
    elif rule.key:
        for row in key_rows(facts.config, facts.engine, since=since, until=today + timedelta(days=1),
                            accounts=[rule.account] if rule.account else None):
            if rule.key in (row.api_key, row.name, *row.fingerprints):  # its name, the provider's id or a fingerprint
                ident = row.api_key or row.fingerprints[0]
                # Reported per key where the provider reports it, else what tracking saw of the key.
                amount = row.reported if row.reported is not None else row.tracked
                label = f"key {row.name} ({ident})" if row.name else f"key {ident}"
                spent[f"{row.account}/{row.currency} key {ident}"] = (amount, row.currency, f"{label} on {row.account}")
    else:
        for status in _rows(rule, facts):
            spent[_subject(status)] = (status.today if period == "today" else status.month_to_date, status.currency,
                                       status.account)
    when = "today" if period == "today" else "this month"
    found = []
    for subject, (known, currency, label) in spent.items():
        if known is None:  # unknown spend (not reported, not tracked, unpriced) is neither above nor within
            continue
        amount = known
        firing = amount > threshold
        relation = "is above" if firing else "is within"
        found.append(Finding(rule.name, subject, firing,
                             f"{label}: spend {when} {_money(amount, currency)} {relation} the budget of {threshold}",
                             str(amount)))
    return found


def spend_today_above(rule: AlertRule, facts: Facts) -> list[Finding]:
    return _budget(rule, facts, "today")


def spend_month_above(rule: AlertRule, facts: Facts) -> list[Finding]:
    return _budget(rule, facts, "month")


def spend_anomaly(rule: AlertRule, facts: Facts) -> list[Finding]:
    """Tracked spend so far today against k times the median of the trailing days up to the same hour."""
    factor = rule.factor if rule.factor is not None else Decimal(3)
    days = int(rule.days) if rule.days is not None else 7
    floor = rule.threshold if rule.threshold is not None else Decimal(1)
    midnight = day_start(facts.now)
    elapsed = facts.now - midnight

    def by_account(start: datetime) -> dict[tuple[str, str], Decimal]:
        rows = facts.tracked_spend(start, start + elapsed, [])
        return {(r["account"], r["currency"]): r["amount"] for r in rows}

    today = by_account(midnight)
    history = [by_account(midnight - timedelta(days=n)) for n in range(1, days + 1)]
    found = []
    for (account, currency), amount in sorted(today.items()):
        if rule.account not in (None, account):
            continue
        median = statistics.median(h.get((account, currency), Decimal(0)) for h in history)
        firing = amount >= floor and amount > factor * median
        relation = "is above" if firing else "is within"
        found.append(Finding(rule.name, f"{account}/{currency}", firing,
                             f"{account}: {_money(amount, currency)} spent today by {facts.now:%H:%M} UTC {relation} "
                             f"{factor}x the {days}-day median of {_money(median, currency)}", str(amount)))
    return found


def reconcile_flagged(rule: AlertRule, facts: Facts) -> list[Finding]:
    days = int(rule.days) if rule.days is not None else 7
    report = facts.reconcile(days)
    found = []
    for account in sorted({row.account for row in report.rows}):
        if rule.account not in (None, account):
            continue
        flagged = [r for r in report.flagged if r.account == account]
        text = ", ".join(f"{r.day} {r.difference:+} {r.currency}" for r in flagged)
        found.append(Finding(rule.name, account, bool(flagged),
                             f"{account}: reported and tracked spend differ on {text}" if flagged
                             else f"{account}: reported and tracked spend agree over the last {days} days",
                             str(len(flagged))))
    return found


def leak_suspect(rule: AlertRule, facts: Facts) -> list[Finding]:
    """Per key that spent in the last `days` (default 7): firing when it spent with none of it tracked, or ahead of
    its tracked spend by more than the reconcile threshold (analysis.keys), with the days and the amount."""
    days = int(rule.days) if rule.days is not None else 7
    today = facts.now.date()
    rows = key_rows(facts.config, facts.engine, since=today - timedelta(days=days), until=today + timedelta(days=1),
                    accounts=[rule.account] if rule.account else None)
    found = []
    for row in rows:
        if row.api_key is None or row.reported is None:
            continue
        label = f"{row.account}: key {row.name or row.api_key}" + (
            f" ({row.details['redacted']})" if row.details.get("redacted") else "")
        amount = row.suspect_amount
        if amount is not None:
            when = ", ".join(str(d.day) for d in row.suspect_days)
            message = f"{label} spent {_money(amount, row.currency)} beyond tracking on {when}: {LEAK_EXPLANATION}"
        else:
            message = f"{label}: its spend over the last {days} days passed tracking"
        found.append(Finding(rule.name, f"{row.account} key {row.api_key}", amount is not None, message,
                             None if amount is None else str(amount)))
    return found


def sync_failing(rule: AlertRule, facts: Facts) -> list[Finding]:
    hours = rule.hours if rule.hours is not None else Decimal(24)
    cutoff = facts.now - _hours(hours)
    found = []
    for account, health in sorted(facts.sync.items()):
        if rule.account not in (None, account):
            continue
        firing = health.failing_since is not None and health.failing_since <= cutoff
        message = (f"{account}: sync failing since {health.failing_since:%Y-%m-%d %H:%M} UTC "
                   f"({', '.join(health.failing_sources)}): {redact(health.last_error or 'unknown error')}"
                   if firing and health.failing_since else f"{account}: sync is healthy again")
        found.append(Finding(rule.name, account, firing, message))
    return found


def unpriced_usage(rule: AlertRule, facts: Facts) -> list[Finding]:
    hours = rule.hours if rule.hours is not None else Decimal(24)
    rows = facts.tracked_spend(facts.now - _hours(hours), facts.now, ["model"])
    counts: dict[str, dict[str, int]] = {}
    for row in rows:
        models = counts.setdefault(row["account"], {})
        if row["unpriced_requests"]:
            models[str(row["model"])] = row["unpriced_requests"]
    found = []
    for account, models in sorted(counts.items()):
        if rule.account not in (None, account):
            continue
        listed = ", ".join(f"{model} ({n})" for model, n in sorted(models.items()))
        found.append(Finding(rule.name, account, bool(models),
                             f"{account}: unpriced requests in the last {hours} h: {listed}; add a price override"
                             if models else f"{account}: every tracked request is priced", str(sum(models.values()))))
    return found


QUARANTINE_SUBJECT = "quarantine"


def quarantined_items(rule: AlertRule, facts: Facts) -> list[Finding]:
    """Fires when items were quarantined since this rule last notified (or resolved; at its first check, any item
    in quarantine), and resolves at the first check that finds none newer. The finding's value, kept with the
    alert's state, is the newest quarantined item's id: the mark the next check counts from."""
    previous = facts.alert_states.get((rule.name, QUARANTINE_SUBJECT))
    value = None if previous is None else previous.value
    mark = int(value) if value is not None and value.isdigit() else 0
    new, newest_id, newest = quarantined_after(facts.engine, mark)
    if not new or newest is None:
        return [Finding(rule.name, QUARANTINE_SUBJECT, False, "no tracked item quarantined since the last alert",
                        str(newest_id))]
    items = "item was" if new == 1 else "items were"
    where = f"{newest['origin']} {newest['kind']}" + (f" of {newest['account']}" if newest["account"] else "")
    message = (f"{new:,} tracked {items} quarantined (not counted); newest: {where}: "
               f"{redact(newest['reason'])[:200]}; `creditgauge quarantine` lists them")
    return [Finding(rule.name, QUARANTINE_SUBJECT, True, message, str(newest_id))]


EVALUATORS: dict[str, Callable[[AlertRule, Facts], list[Finding]]] = {
    "balance_below": balance_below,
    "runway_below": runway_below,
    "spend_today_above": spend_today_above,
    "spend_month_above": spend_month_above,
    "spend_anomaly": spend_anomaly,
    "reconcile_flagged": reconcile_flagged,
    "leak_suspect": leak_suspect,
    "sync_failing": sync_failing,
    "unpriced_usage": unpriced_usage,
    "quarantined_items": quarantined_items,
}
# On without any configuration: quarantined items are counted in no figure, so someone must hear of them.
BUILTIN_RULES = (AlertRule(name="quarantined-items", kind="quarantined_items"),)


def active_rules(config: Config) -> list[AlertRule]:
    """The configured rules, plus each built-in rule whose kind and name no configured rule takes (configure a
    `quarantined_items` rule to choose its channels, or `channels = []` to silence it)."""
    taken = {rule.kind for rule in config.alerts.rules} | {rule.name for rule in config.alerts.rules}
    return [*config.alerts.rules, *(rule for rule in BUILTIN_RULES if not {rule.kind, rule.name} & taken)]


def evaluate(config: Config, engine: Engine, *, now: datetime, report: StatusReport | None = None) -> list[Finding]:
    """Every rule over every subject it covers, firing or not."""
    facts = Facts(config, engine, now, report)
    return [finding for rule in active_rules(config) for finding in EVALUATORS[rule.kind](rule, facts)]
