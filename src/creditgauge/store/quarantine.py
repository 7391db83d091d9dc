"""The quarantine: items that could not be stored as they are, kept with the reason so they are visible and
counted, while everything else flows on. Idempotent by a hash of the item (a replayed journal quarantines an
item once). Reason and payload are made safe to store first (ASCII JSON, no NUL, bounded, keys redacted), so
quarantining itself cannot fail on the item's content."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.dialects import postgresql, sqlite

from creditgauge.domain import UsageEvent, utcnow
from creditgauge.redact import redact
from creditgauge.store import schema

MAX_PAYLOAD = 64 * 1024
MAX_REASON = 1000


@dataclass(frozen=True, slots=True)
class QuarantineItem:
    kind: str  # event | fact
    origin: str
    account: str | None
    reason: str
    payload: str  # JSON

    @property
    def key(self) -> str:
        return hashlib.sha256(f"{self.kind}\n{self.payload}".encode("ascii", "backslashreplace")).hexdigest()


def safe_text(text: str, limit: int) -> str:
    """Text any database keeps: keys masked, NUL and lone surrogates escaped, at most `limit` characters."""
    text = redact(text).replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[:limit - 3] + "..."


def as_payload(data: Any) -> str:
    """An item as ASCII JSON (Decimals and times as strings), cut to MAX_PAYLOAD; a value JSON cannot hold (too
    deep, say) is kept as its cut repr."""
    try:
        text = json.dumps(data, default=str, separators=(",", ":"), ensure_ascii=True)
    except (ValueError, TypeError, RecursionError):
        text = json.dumps(_cut_repr(data))
    return safe_text(text, MAX_PAYLOAD)


def event_item(event: UsageEvent, reason: str) -> QuarantineItem:
    data = {f.name: getattr(event, f.name) for f in fields(UsageEvent)}
    account = event.account if isinstance(event.account, str) else None
    return QuarantineItem("event", safe_text(str(event.source), 40), account and safe_text(account, 100),
                          safe_text(reason, MAX_REASON), as_payload(data))


def record_item(record: bytes, reason: str) -> QuarantineItem:
    """A capture journal's record that could not be read back into an event, as it was written (origin
    "journal"; its account when the record is an object that names one)."""
    text = record.decode("utf-8", "backslashreplace")
    try:
        data: Any = json.loads(text)
    except (ValueError, RecursionError):
        data = {"journal_record": text}
    account = data.get("account") if isinstance(data, dict) else None
    return QuarantineItem("event", "journal", safe_text(account, 100) if isinstance(account, str) else None,
                          safe_text(reason, MAX_REASON), as_payload(data))


def quarantine_items(connection: Connection, items: Sequence[QuarantineItem]) -> int:
    """Insert items not quarantined yet; returns how many were new."""
    if not items:
        return 0
    now = utcnow()
    rows = list({item.key: {"item_key": item.key, "kind": item.kind, "origin": item.origin,
                            "account": item.account, "reason": item.reason, "payload": item.payload,
                            "quarantined_at": now} for item in items}.values())
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(schema.quarantine).on_conflict_do_nothing(index_elements=["item_key"])
    return len(connection.execute(statement.returning(schema.quarantine.c.id), rows).all())


def count_quarantined(engine: Engine, *, since: datetime | None = None) -> int:
    """How many items are in quarantine (since a time, if given): for /metrics, `status` and alerts."""
    table = schema.quarantine
    query = select(func.count()).select_from(table)
    if since is not None:
        query = query.where(table.c.quarantined_at >= since)
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def quarantined_after(engine: Engine, after_id: int) -> tuple[int, int, dict[str, Any] | None]:
    """Items quarantined after the one with id `after_id` (0: all): (how many, the newest id, the newest item's
    origin, account and reason). Ids only grow, so this is "new since" without trusting any clock."""
    table = schema.quarantine
    newest = select(table.c.id, table.c.kind, table.c.origin, table.c.account, table.c.reason)
    with engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(table).where(table.c.id > after_id)).scalar_one()
        row = connection.execute(newest.order_by(table.c.id.desc()).limit(1)).mappings().first()
    return int(count), int(row["id"]) if row else 0, dict(row) if row else None


def quarantine_counts(engine: Engine) -> list[dict[str, Any]]:
    """How many items are in quarantine per kind and origin (for /metrics), largest first."""
    table = schema.quarantine
    count = func.count().label("count")
    query = (select(table.c.kind, table.c.origin, count).group_by(table.c.kind, table.c.origin)
             .order_by(count.desc(), table.c.kind, table.c.origin))
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def recent_quarantined(engine: Engine, *, limit: int = 50) -> list[dict[str, Any]]:
    """The newest quarantined items (origin, account, reason, payload, when), newest first."""
    table = schema.quarantine
    query = (select(table.c.kind, table.c.origin, table.c.account, table.c.reason, table.c.payload,
                    table.c.quarantined_at)
             .order_by(table.c.quarantined_at.desc(), table.c.id.desc()).limit(limit))
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def _cut_repr(data: Any) -> str:
    try:
        return repr(data)[:MAX_PAYLOAD]
    except (ValueError, RecursionError):
        return f"<unprintable {type(data).__name__}>"
