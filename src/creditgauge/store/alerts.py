"""Alert state and history, so a restart neither repeats nor forgets an alert."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, select

from creditgauge.store import schema
from creditgauge.store.upsert import upsert


@dataclass(frozen=True, slots=True)
class AlertState:
    rule: str
    subject: str
    state: str  # ok | firing
    since: datetime
    last_notified_at: datetime | None
    message: str | None
    value: str | None


@dataclass(frozen=True, slots=True)
class AlertEvent:
    id: int
    rule: str
    subject: str
    event: str  # fired | reminded | resolved | channel_failed
    at: datetime
    message: str
    channels: list[str] | None


def alert_states(engine: Engine) -> dict[tuple[str, str], AlertState]:
    with engine.connect() as connection:
        rows = connection.execute(select(schema.alert_state))
        return {(row.rule, row.subject): AlertState(**row._mapping) for row in rows}


def save_state(connection: Connection, state: AlertState) -> None:
    upsert(connection, schema.alert_state, [
        {"rule": state.rule, "subject": state.subject, "state": state.state, "since": state.since,
         "last_notified_at": state.last_notified_at, "message": state.message, "value": state.value}
    ], keys=["rule", "subject"], update=["state", "since", "last_notified_at", "message", "value"])


def record_event(connection: Connection, *, rule: str, subject: str, event: str, at: datetime, message: str,
                 channels: Sequence[str] | None = None) -> None:
    connection.execute(schema.alert_history.insert().values(
        rule=rule, subject=subject, event=event, at=at, message=message,
        channels=None if channels is None else list(channels),
    ))


def alert_history(engine: Engine, *, limit: int = 50) -> list[AlertEvent]:
    table = schema.alert_history
    statement = select(table).order_by(table.c.at.desc(), table.c.id.desc()).limit(limit)
    with engine.connect() as connection:
        return [AlertEvent(**row._mapping) for row in connection.execute(statement)]
