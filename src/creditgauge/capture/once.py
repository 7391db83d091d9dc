"""One call counted once: a traced call that another capture path (the proxy, the SDK hook, the ingest API)
already recorded is not stored a second time from its span.

The rule: a span event is the same call as a stored event of another source of the same provider when
- both carry a response id and the ids are equal, or
- the span has no response id and the stored event has the same model, input and output tokens, and its time lies
  within `SLACK` (a second) of the span's start to end.
The stored event is the one kept: the proxy's record knows the key's fingerprint and the status. Spans normally
arrive after the proxy's record (exporters batch for seconds, the proxy's writer commits within a quarter of one);
`SLACK` bounds how far apart the two hosts' clocks may be.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Engine, select

from creditgauge.capture.genai_attributes import MODEL_CALL_OPERATIONS
from creditgauge.domain import UsageEvent, day_start
from creditgauge.store import schema
from creditgauge.store.events import StoreOutcome, store_checked

SLACK = timedelta(seconds=1)
SPAN_SOURCE = "otlp"


def span_start(event: UsageEvent) -> datetime:
    return event.ts - timedelta(milliseconds=event.latency_ms or 0)


def _days(low: datetime, high: datetime) -> list[datetime]:
    days, day = [], day_start(low)
    while day <= high:
        days.append(day)
        day += timedelta(days=1)
    return days


def already_recorded(engine: Engine, spans: Sequence[UsageEvent]) -> set[str]:
    """The ids of the span events another capture path has already stored."""
    if not spans:
        return set()
    low = min(span_start(event) for event in spans) - SLACK
    high = max(event.ts for event in spans) + SLACK
    providers = sorted({event.provider for event in spans})
    daily, table = schema.usage_daily, schema.usage_events
    # The daily rollup (small) says first whether another path recorded these providers on these days at all:
    # when only traces arrive, as is usual, no event rows are read.
    others = (select(daily.c.provider).where(daily.c.day.in_(_days(low, high)), daily.c.provider.in_(providers),
                                             daily.c.source != SPAN_SOURCE).limit(1))
    query = (select(table.c.provider, table.c.request_id, table.c.model, table.c.input_tokens,
                    table.c.output_tokens, table.c.ts)
             .where(table.c.ts >= low, table.c.ts <= high, table.c.source != SPAN_SOURCE,
                    table.c.provider.in_(providers)))
    with engine.connect() as connection:
        if connection.execute(others).first() is None:
            return set()
        rows = connection.execute(query).all()
    by_id = {(row.provider, row.request_id) for row in rows if row.request_id}
    duplicates = set()
    for event in spans:
        if event.request_id:
            if (event.provider, event.request_id) in by_id:
                duplicates.add(event.id)
            continue
        start, end = span_start(event) - SLACK, event.ts + SLACK
        if any(row.provider == event.provider and row.model == event.model
               and row.input_tokens == event.input_tokens and row.output_tokens == event.output_tokens
               and start <= row.ts <= end for row in rows):
            duplicates.add(event.id)
    return duplicates


def store_once(engine: Engine, events: Sequence[UsageEvent]) -> StoreOutcome:
    """The OTLP writer's store: the batch less the calls already recorded by another path, stored like any
    captured batch (quarantining what cannot be stored)."""
    unique: dict[str, UsageEvent] = {}
    for event in events:  # one call traced twice (two instrumentations) in one batch: stored and rolled up once
        unique.setdefault(event.id, event)
    spans = [event for event in unique.values()
             if event.source == SPAN_SOURCE and event.endpoint in MODEL_CALL_OPERATIONS]
    duplicates = already_recorded(engine, spans)
    return store_checked(engine, [event for event in unique.values() if event.id not in duplicates])
