"""The alerts overview: the configured rules, the state of each (rule, subject) and recent events, as
`creditgauge alerts list` and the Alerts page show them; each rule's current value against its threshold; and a
test notice through one channel (`creditgauge alerts test`, the page's "send a test")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from creditgauge.analysis.alerts.engine import Delivery, send_test_notice
from creditgauge.analysis.alerts.rules import active_rules, evaluate
from creditgauge.config import AlertRule, Config
from creditgauge.display import money
from creditgauge.service.names import load_names, named_text
from creditgauge.service.session import Session
from creditgauge.store.alerts import AlertEvent, AlertState, alert_history, alert_states


@dataclass(frozen=True, slots=True)
class AlertsOverview:
    rules: list[AlertRule]
    checks: list[RuleCheck]  # each rule over each subject now: its value against its threshold
    states: list[AlertState]
    history: list[AlertEvent]

    def to_dict(self) -> dict[str, Any]:
        """The document of `creditgauge alerts list --json` and GET /api/v1/alerts."""
        return {
            "rules": [rule.model_dump(mode="json") for rule in self.rules],
            "checks": [{"rule": c.rule, "kind": c.kind, "subject": c.subject, "subject_named": c.subject_named,
                        "value": c.value,
                        "threshold": c.threshold, "firing": c.firing, "message": c.message, "since": c.since}
                       for c in self.checks],
            "states": [{"rule": s.rule, "subject": s.subject, "state": s.state, "since": s.since,
                        "last_notified_at": s.last_notified_at, "message": s.message} for s in self.states],
            "history": [{"rule": e.rule, "subject": e.subject, "event": e.event, "at": e.at, "message": e.message,
                         "channels": e.channels} for e in self.history],
        }


def alerts_overview(session: Session, *, history: int = 50) -> AlertsOverview:
    """The rules (built-in ones included), each evaluated now (nothing sent), every stored state, and the newest
    `history` events."""
    return AlertsOverview(rules=active_rules(session.config), checks=rule_checks(session),
                          states=list(alert_states(session.engine).values()),
                          history=alert_history(session.engine, limit=history))


MONEY_KINDS = {"balance_below", "spend_today_above", "spend_month_above", "spend_anomaly", "leak_suspect"}


@dataclass(frozen=True, slots=True)
class RuleCheck:
    """One rule over one subject, evaluated now (nothing is sent): its value against the rule's threshold."""
    rule: str
    kind: str
    subject: str
    value: str  # for people: an amount in the subject's currency, days, a count, or "—" when the rule has none
    threshold: str
    firing: bool | None  # None: the rule covers nothing with data yet (no subject to compare)
    message: str
    since: datetime | None  # when the stored state last changed (None: never notified)
    subject_named: str  # the subject with the provider's name after each project or key id in it


def threshold_text(rule: AlertRule) -> str:
    """What the rule compares against, in the words of its kind."""
    if rule.kind == "balance_below":
        return f"below {rule.threshold}"
    if rule.kind in ("spend_today_above", "spend_month_above"):
        return f"above {rule.threshold}"
    if rule.kind == "runway_below":
        return f"under {rule.days} days"
    if rule.kind == "spend_anomaly":
        return (f"{rule.factor or 3}x the {int(rule.days or 7)}-day median, "
                f"at least {rule.threshold if rule.threshold is not None else 1}")
    if rule.kind == "reconcile_flagged":
        return f"any flagged day in {int(rule.days or 7)} days"
    if rule.kind == "leak_suspect":
        return f"any spend beyond tracking in {int(rule.days or 7)} days"
    if rule.kind == "sync_failing":
        return f"failing for {rule.hours or 24} h"
    if rule.kind == "unpriced_usage":
        return f"any unpriced request in {rule.hours or 24} h"
    return "any new item"


def _value_text(kind: str, subject: str, value: str | None) -> str:
    if value is None:
        return "—"
    if kind in MONEY_KINDS:
        currency = subject.split(" ", 1)[0].partition("/")[2] or None  # "account/USD ..." subjects name it
        return money(Decimal(value), currency, show_currency=currency is not None)
    if kind == "runway_below":
        return f"{value} days"
    if kind == "reconcile_flagged":
        return f"{value} flagged days"
    if kind == "unpriced_usage":
        return f"{value} requests"
    if kind == "quarantined_items":
        return "—"  # the value is the newest item's id, a bookmark rather than a measure
    return value


def rule_checks(session: Session) -> list[RuleCheck]:
    """Every active rule over every subject it covers, as `alerts check` would evaluate it now, without notifying."""
    rules = {rule.name: rule for rule in active_rules(session.config)}
    states = alert_states(session.engine)
    checks = []
    names = load_names(session.engine)
    findings = evaluate(session.config, session.engine, now=session.now())
    for finding in findings:
        rule, state = rules[finding.rule], states.get((finding.rule, finding.subject))
        checks.append(RuleCheck(finding.rule, rule.kind, finding.subject,
                                _value_text(rule.kind, finding.subject, finding.value), threshold_text(rule),
                                finding.firing, finding.message, None if state is None else state.since,
                                named_text(finding.subject, names)))
    covered = {finding.rule for finding in findings}
    for rule in rules.values():  # every rule is listed, also one whose scope matches no data
        if rule.name not in covered:
            checks.append(RuleCheck(rule.name, rule.kind, scope(rule), "—", threshold_text(rule), None,
                                    "no data in this rule's scope yet (not reported, not tracked)", None,
                                    scope(rule)))
    order = list(rules)
    return sorted(checks, key=lambda check: order.index(check.rule))  # in the config's order


def scope(rule: AlertRule) -> str:
    """Which accounts, project, key or tag a rule watches, in words."""
    parts = [rule.account or "every account", *([f"project {rule.project}"] if rule.project else []),
             *([f"key {rule.key}"] if rule.key else []), *([f"tag {rule.tag}"] if rule.tag else [])]
    return " ".join(parts)


def channel_names(session: Session) -> list[str]:
    """The channels a test can go through: the configured ones and the log."""
    return [*session.config.alerts.channels, *([] if "log" in session.config.alerts.channels else ["log"])]


async def send_test(config: Config, channel: str, *, now: datetime) -> Delivery:
    """One test notice through `channel` (the store is not needed); an unknown channel raises ConfigError naming
    the known ones. The delivery's error names the channel, never its URL or password."""
    return await send_test_notice(config, channel, now=now)
