"""How syncing goes: recent runs, each source's state, current problems, and the tracked items kept in quarantine,
for the Sync page, GET /api/v1/sync, `creditgauge quarantine` and /metrics."""

from __future__ import annotations

from typing import Any

from creditgauge.redact import redact
from creditgauge.service.session import Session
from creditgauge.store import quarantine, sync_log


def sync_states(session: Session) -> list[dict[str, Any]]:
    """Per account and source: the last success, the last attempt and any failure not yet resolved."""
    return sync_log.sync_states(session.engine)


def quarantine_counts(session: Session) -> list[dict[str, Any]]:
    """How many items are in quarantine, per kind and origin."""
    return quarantine.quarantine_counts(session.engine)


def quarantined(session: Session, *, limit: int = 50) -> tuple[int, list[dict[str, Any]]]:
    """How many items are in quarantine, and the newest `limit` of them, masked again on the way out (they were
    masked when stored, by the keys known then)."""
    items = [{key: redact(value) if key in ("reason", "payload") else value for key, value in row.items()}
             for row in quarantine.recent_quarantined(session.engine, limit=limit)]
    return quarantine.count_quarantined(session.engine), items


def quarantined_overview(session: Session, limit: int = 50) -> dict[str, Any]:
    """The quarantine without the items' payloads (`creditgauge quarantine --json` has them)."""
    total, items = quarantined(session, limit=limit)
    return {"total": total, "items": [{k: v for k, v in item.items() if k != "payload"} for item in items]}


def sync_overview(session: Session, limit: int = 50) -> dict[str, Any]:
    """The document of GET /api/v1/sync and the Sync page."""
    engine = session.engine
    return {"runs": sync_log.recent_runs(engine, limit), "sources": sync_log.sync_states(engine),
            "problems": sync_log.current_problems(engine), "quarantined": quarantined_overview(session, limit)}
