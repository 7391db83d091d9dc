"""The alert engine: findings become notices only when something changes.

A finding that starts firing is sent once ("fired"); while it keeps firing it is sent again every `remind_hours`
("reminded"); when it stops, a resolution is sent ("resolved"). State lives in the store, so a restart neither
repeats an alert nor forgets one. Notices are delivered before the state is saved: a crash in between repeats a
notice rather than losing it. A channel that fails after its retries is recorded and reported; the other channels
of the same notice are still served.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from creditgauge.analysis.alerts.channels import LOG_CHANNEL, Notice, deliver
from creditgauge.analysis.alerts.rules import Finding, active_rules, evaluate
from creditgauge.analysis.status import StatusReport
from creditgauge.config import AlertRule, ChannelConfig, Config
from creditgauge.errors import ConfigError
from creditgauge.store.alerts import AlertState, alert_states, record_event, save_state


@dataclass(frozen=True, slots=True)
class Delivery:
    channel: str
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class Transition:
    rule: str
    subject: str
    event: str  # fired | reminded | resolved
    message: str
    deliveries: list[Delivery] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CheckReport:
    at: datetime
    findings: list[Finding]
    transitions: list[Transition]

    @property
    def failures(self) -> list[tuple[Transition, Delivery]]:
        return [(t, d) for t in self.transitions for d in t.deliveries if not d.ok]

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "firing": [{"rule": f.rule, "subject": f.subject, "message": f.message, "value": f.value}
                       for f in self.findings if f.firing],
            "transitions": [{"rule": t.rule, "subject": t.subject, "event": t.event, "message": t.message,
                             "deliveries": [{"channel": d.channel, "ok": d.ok, "error": d.error}
                                            for d in t.deliveries]} for t in self.transitions],
            "failures": len(self.failures),
        }


def channel_config(config: Config, name: str) -> ChannelConfig:
    if name in config.alerts.channels:
        return config.alerts.channels[name]
    if name == "log":
        return LOG_CHANNEL
    known = ", ".join(["log", *config.alerts.channels])
    raise ConfigError(f"no alert channel named {name!r} (channels: {known}); add [alerts.channels.{name}]")


def _event(finding: Finding, previous: AlertState | None, rule: AlertRule, now: datetime) -> str | None:
    was_firing = previous is not None and previous.state == "firing"
    if finding.firing and not was_firing:
        return "fired"
    if finding.firing and previous is not None:
        last = previous.last_notified_at or previous.since
        remind = rule.remind_hours
        if remind is not None and remind > 0 and now - last >= timedelta(seconds=int(remind * 3600)):
            return "reminded"
        return None
    return "resolved" if was_firing else None


def _next_state(finding: Finding, previous: AlertState | None, event: str, now: datetime) -> AlertState:
    since = now if event in ("fired", "resolved") or previous is None else previous.since
    return AlertState(finding.rule, finding.subject, "firing" if finding.firing else "ok", since, now,
                      finding.message, finding.value)


async def _notify(config: Config, rule: AlertRule, notice: Notice, retry_delay: float,
                  env: Mapping[str, str] | None) -> list[Delivery]:
    async def one(name: str) -> Delivery:
        try:
            channel = channel_config(config, name)
        except ConfigError as exc:
            return Delivery(name, str(exc))
        return Delivery(name, await deliver(name, channel, notice, retry_delay=retry_delay, env=env))

    return list(await asyncio.gather(*(one(name) for name in rule.channels)))


async def check_alerts(config: Config, engine: Engine, *, now: datetime, report: StatusReport | None = None,
                       retry_delay: float = 1.0, env: Mapping[str, str] | None = None) -> CheckReport:
    """Evaluate every rule, notify on state changes and reminders, save the new states. `serve` calls this after
    each sync with the status it already computed; `creditgauge alerts check` calls it from cron."""
    findings = await asyncio.to_thread(evaluate, config, engine, now=now, report=report)
    rules = {rule.name: rule for rule in active_rules(config)}
    states = await asyncio.to_thread(alert_states, engine)
    transitions = []
    for finding in findings:
        previous = states.get((finding.rule, finding.subject))
        event = _event(finding, previous, rules[finding.rule], now)
        if event is None:
            continue
        notice = Notice(finding.rule, finding.subject, event, finding.message, now, finding.value)
        deliveries = await _notify(config, rules[finding.rule], notice, retry_delay, env)
        transition = Transition(finding.rule, finding.subject, event, finding.message, deliveries)
        await asyncio.to_thread(_save, engine, transition, _next_state(finding, previous, event, now), now)
        transitions.append(transition)
    return CheckReport(now, findings, transitions)


def _save(engine: Engine, transition: Transition, state: AlertState, now: datetime) -> None:
    with engine.begin() as connection:
        save_state(connection, state)
        record_event(connection, rule=transition.rule, subject=transition.subject, event=transition.event, at=now,
                     message=transition.message, channels=[d.channel for d in transition.deliveries if d.ok])
        for delivery in transition.deliveries:
            if not delivery.ok:
                record_event(connection, rule=transition.rule, subject=transition.subject, event="channel_failed",
                             at=now, message=delivery.error or "", channels=[delivery.channel])


async def send_test_notice(config: Config, name: str, *, now: datetime, retry_delay: float = 1.0,
                       env: Mapping[str, str] | None = None) -> Delivery:
    """Send one test notice through a channel (`creditgauge alerts test CHANNEL`)."""
    channel = channel_config(config, name)
    notice = Notice("test", name, "test", f"creditgauge test message for channel {name!r}", now)
    return Delivery(name, await deliver(name, channel, notice, retry_delay=retry_delay, env=env))
