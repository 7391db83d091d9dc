"""Storing a batch of tracked events a client sent (the ingest API): what was new, what the database refused, and
a database that is down as StoreError, so the face answers 503 and the client sends the batch again."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine

from creditgauge.domain import UsageEvent
from creditgauge.errors import StoreError
from creditgauge.store.events import Refused, is_outage, store_isolating

__all__ = ["Refused", "store_isolating", "store_or_503"]


def store_or_503(engine: Engine, events: Sequence[UsageEvent]) -> tuple[int, list[Refused]]:
    """Store the events (store_isolating): (how many were new, the ones the database refused). A database that is
    down or unreachable is raised as StoreError (answered 503): the caller sends the batch again."""
    try:
        return store_isolating(engine, events)
    except Exception as exc:  # an outage comes as SQLAlchemy's, psycopg's or the driver's own error
        if not (is_outage(exc) or isinstance(exc, StoreError)):
            raise
        raise StoreError(f"the database did not take the batch ({type(exc).__name__}); nothing was stored: "
                         "send it again") from None
