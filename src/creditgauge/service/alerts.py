"""The alerts overview: the configured rules, the state of each (rule, subject) and recent events, as
`creditgauge alerts list` and the Alerts page show them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from creditgauge.analysis.alerts.rules import active_rules
from creditgauge.config import AlertRule
from creditgauge.service.session import Session
from creditgauge.store.alerts import AlertEvent, AlertState, alert_history, alert_states


@dataclass(frozen=True, slots=True)
class AlertsOverview:
    rules: list[AlertRule]
    states: list[AlertState]
    history: list[AlertEvent]

    def to_dict(self) -> dict[str, Any]:
        """The document of `creditgauge alerts list --json` and GET /api/v1/alerts."""
        return {
            "rules": [rule.model_dump(mode="json") for rule in self.rules],
            "states": [{"rule": s.rule, "subject": s.subject, "state": s.state, "since": s.since,
                        "last_notified_at": s.last_notified_at, "message": s.message} for s in self.states],
            "history": [{"rule": e.rule, "subject": e.subject, "event": e.event, "at": e.at, "message": e.message,
                         "channels": e.channels} for e in self.history],
        }


def alerts_overview(session: Session, *, history: int = 50) -> AlertsOverview:
    """The rules (built-in ones included), every stored state, and the newest `history` events."""
    return AlertsOverview(rules=active_rules(session.config), states=list(alert_states(session.engine).values()),
                          history=alert_history(session.engine, limit=history))
