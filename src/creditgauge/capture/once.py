"""One call counted once: a call both traced (an OTLP span) and recorded by another capture path (the proxy, the
SDK hook) is stored once, whichever of the two arrives first.

The rule: a span and an event of another source of the same provider are the same call when
- the span carries a response id and the event carries the same one, or
- the span has no response id and the event has the same model, input and output tokens, and its time lies
  within `SLACK` (a second) of the span's start to end.
Both writers apply it at store time against what is already stored: the OTLP writer drops a span another path has
recorded, and the proxy's (and SDK hook's) writer drops an event whose span is already stored. So the first to be
stored is the one kept: usually the proxy's record (it knows the key's fingerprint and the status), as exporters
batch for seconds and the proxy's writer commits within a quarter of one. `SLACK` bounds how far apart the two
hosts' clocks may be.

Spans also win over token metrics of the same service: a service's `gen_ai.client.token.usage` buckets that cover
the time of its spans are taken out when the spans are stored. The metric reader ignores the metrics of a service
it has seen spans from, which covers a long-running application (its spans go out every few seconds, its metrics
every minute). A short one, a script or a job, exports both at exit, and OpenTelemetry's SDKs (Traceloop's among
them) may flush the meter before the tracer: its buckets are stored first and its spans, a moment later, would
count each call twice. So once spans are stored, the metric buckets of their service (its `service.name` tag)
whose time, from the bucket's start (the event's `ts`) to its end (`extra.bucket_end`), comes within `SLACK` of
the spans' are deleted, and the daily rollup with them (a series' first bucket starts at its first measurement,
taken as the call ended: just after its span's end). A bucket that covers no span's time stays: it counts calls
no span does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Engine, select

from creditgauge.capture.genai_attributes import MODEL_CALL_OPERATIONS, SERVICE_NAME, TOKEN_USAGE_METRIC
from creditgauge.domain import UsageEvent, as_utc, day_start
from creditgauge.limits import Checked
from creditgauge.store import schema
from creditgauge.store.events import StoreOutcome, delete_events, row_event, store_checked

SLACK = timedelta(seconds=1)
LONGEST_CALL = timedelta(hours=1)  # how long before its span ends a call recorded elsewhere may have ended
SPAN_SOURCE = "otlp"
BUCKET_END = "bucket_end"  # the metric event's `extra` key for its bucket's end (ISO 8601, UTC)
LONGEST_BUCKET = timedelta(days=1)  # how long before a span a bucket that covers it may have started


class Sighting(NamedTuple):
    """What the rule compares of an event or a stored row."""

    provider: str
    request_id: str | None
    model: str | None
    input_tokens: int | None
    output_tokens: int | None
    ts: datetime
    latency_ms: int | None

    @property
    def start(self) -> datetime:
        return _shifted(self.ts, -timedelta(milliseconds=self.latency_ms or 0))

    def same_call_as(self, other: Sighting) -> bool:
        """Whether `other` (recorded by another path) is this span's call, by the rule above."""
        if self.request_id:
            return other.request_id == self.request_id and other.provider == self.provider
        return (other.provider == self.provider and other.model == self.model
                and other.input_tokens == self.input_tokens and other.output_tokens == self.output_tokens
                and _shifted(self.start, -SLACK) <= other.ts <= _shifted(self.ts, SLACK))


def sighting(item: Any) -> Sighting:
    return Sighting(item.provider, item.request_id, item.model, item.input_tokens, item.output_tokens, item.ts,
                    item.latency_ms)


def is_span(event: UsageEvent) -> bool:
    return event.source == SPAN_SOURCE and event.endpoint in MODEL_CALL_OPERATIONS


def _shifted(moment: datetime, delta: timedelta) -> datetime:
    """`moment + delta`, held at the calendar's ends (an event's time is checked only later, by store_checked)."""
    try:
        return moment + delta
    except OverflowError:
        return (datetime.max if delta > timedelta(0) else datetime.min).replace(tzinfo=moment.tzinfo)


def _stored(engine: Engine, low: datetime, high: datetime, providers: Iterable[str], *,
            spans: bool) -> list[Sighting]:
    """The stored spans (`spans`) or the other paths' stored events of these providers between `low` and `high`.
    The daily rollup (small) says first whether any were recorded on these days at all: when only one path
    records, as is usual, no event rows are read."""
    daily, table = schema.usage_daily, schema.usage_events
    providers = sorted(set(providers))
    daily_source: ColumnElement[bool] = daily.c.source == SPAN_SOURCE if spans else daily.c.source != SPAN_SOURCE
    source: ColumnElement[bool] = (table.c.source == SPAN_SOURCE) & table.c.endpoint.in_(MODEL_CALL_OPERATIONS) \
        if spans else table.c.source != SPAN_SOURCE
    any_recorded = (select(daily.c.provider).where(daily.c.day >= day_start(low), daily.c.day <= high,
                                                   daily.c.provider.in_(providers), daily_source).limit(1))
    query = (select(table.c.provider, table.c.request_id, table.c.model, table.c.input_tokens,
                    table.c.output_tokens, table.c.ts, table.c.latency_ms)
             .where(table.c.ts >= low, table.c.ts <= high, table.c.provider.in_(providers), source))
    with engine.connect() as connection:
        if connection.execute(any_recorded).first() is None:
            return []
        return [sighting(row) for row in connection.execute(query)]


def already_recorded(engine: Engine, events: Sequence[UsageEvent]) -> set[str]:
    """The ids of the events whose call is already stored from the other side of the rule: spans another path
    recorded, and other paths' events whose span is stored. The window read covers every event of the batch (the
    earliest time less the longest call, for spans); sightings are made only when something was stored in it."""
    spans = [event for event in events if is_span(event)]
    others = [event for event in events if event.source != SPAN_SOURCE]
    duplicates: set[str] = set()
    if spans:
        longest = timedelta(milliseconds=max(event.latency_ms or 0 for event in spans))
        rows = _stored(engine, _shifted(min(event.ts for event in spans), -(longest + SLACK)),
                       _shifted(max(event.ts for event in spans), SLACK), {span.provider for span in spans},
                       spans=False)
        duplicates |= _matching(spans, rows, span_side=True)
    if others:
        rows = _stored(engine, _shifted(min(other.ts for other in others), -SLACK),
                       _shifted(max(other.ts for other in others), LONGEST_CALL + SLACK),
                       {other.provider for other in others}, spans=True)
        duplicates |= _matching(others, rows, span_side=False)
    return duplicates


def _matching(events: Sequence[UsageEvent], stored: Sequence[Sighting], *, span_side: bool) -> set[str]:
    """The ids of new `events` that are the same call as a `stored` one; `span_side`: the new ones are spans."""
    if not stored:
        return set()
    by_id = {(row.provider, row.request_id) for row in stored if row.request_id}
    found = set()
    for event_id, item in ((event.id, sighting(event)) for event in events):
        if item.request_id and (item.provider, item.request_id) in by_id:
            found.add(event_id)
        elif span_side and not item.request_id:
            if any(item.same_call_as(row) for row in stored):
                found.add(event_id)
        elif not span_side and any(not row.request_id and row.same_call_as(item) for row in stored):
            found.add(event_id)
    return found


def store_once(engine: Engine, events: Sequence[UsageEvent]) -> StoreOutcome:
    """A capture writer's store: the batch less the calls already recorded from the other side of the rule,
    stored like any captured batch (quarantining what cannot be stored); then the token-metric buckets its spans
    cover are taken out."""
    unique: dict[str, UsageEvent] = {}
    for event in events:  # one call traced twice (two instrumentations) in one batch: stored and rolled up once
        unique.setdefault(event.id, event)
    duplicates = already_recorded(engine, list(unique.values()))
    kept = [event for event in unique.values() if event.id not in duplicates]
    outcome = store_checked(engine, Checked(kept) if isinstance(events, Checked) else kept)
    drop_superseded_metrics(engine, kept)  # after storing: a bucket stored in this same batch is covered too
    return outcome


def bucket_end(event: UsageEvent) -> datetime:
    """A metric event's bucket end; its `ts` for an event stored before the end was kept (or with an end that is
    not a time: an edited row must not stop the spans behind it)."""
    end = event.extra.get(BUCKET_END) if event.extra else None
    try:
        return as_utc(datetime.fromisoformat(end)) if isinstance(end, str) else event.ts
    except ValueError:
        return event.ts


def drop_superseded_metrics(engine: Engine, stored: Sequence[UsageEvent]) -> int:
    """Delete the metric buckets that the spans among `stored` cover (see the module's rule); how many."""
    if not any(map(is_span, stored)):  # the proxy's batches: nothing to look for
        return 0
    daily, table = schema.usage_daily, schema.usage_events
    times = [event.ts for event in stored]
    any_metrics = select(daily.c.day).where(daily.c.day >= day_start(min(times) - LONGEST_BUCKET),
                                            daily.c.day <= _shifted(max(times), SLACK), daily.c.source == SPAN_SOURCE,
                                            daily.c.endpoint == TOKEN_USAGE_METRIC).limit(1)
    with engine.begin() as connection:
        if connection.execute(any_metrics).first() is None:  # the usual case: no metrics stored these days
            return 0
        windows = _span_windows(stored)
        if not windows:
            return 0
        low = min(first for first, _ in windows.values()) - LONGEST_BUCKET
        high = _shifted(max(last for _, last in windows.values()), SLACK)
        candidates = select(table).where(table.c.ts >= low, table.c.ts <= high, table.c.source == SPAN_SOURCE,
                                         table.c.endpoint == TOKEN_USAGE_METRIC)
        covered = []
        for row in connection.execute(candidates).mappings():
            bucket = row_event(row)
            service = bucket.tags.get(SERVICE_NAME) if bucket.tags else None
            window = windows.get(service) if isinstance(service, str) else None
            # a call's tokens are measured as it ends, just before or after its span does: a second's slack
            if window is not None and bucket.ts <= _shifted(window[1], SLACK) \
                    and bucket_end(bucket) >= _shifted(window[0], -SLACK):
                covered.append(bucket)
        delete_events(connection, covered)
    return len(covered)


def _span_windows(stored: Sequence[UsageEvent]) -> dict[str, tuple[datetime, datetime]]:
    """service -> (first span end, last span end) of the spans among `stored` that name their service."""
    windows: dict[str, tuple[datetime, datetime]] = {}
    for event in stored:
        service = event.tags.get(SERVICE_NAME) if event.tags and is_span(event) else None
        if service:
            first, last = windows.get(service, (event.ts, event.ts))
            windows[service] = (min(first, event.ts), max(last, event.ts))
    return windows
