"""Price an observed event and hand it to the writer (journal + queue): cheap enough for the request path."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from creditgauge.capture.endpoints import RETRIEVALS
from creditgauge.capture.observed import with_usage
from creditgauge.capture.usage import Usage
from creditgauge.capture.writer import EventWriter
from creditgauge.domain import UsageEvent
from creditgauge.pricing import Pricer

log = logging.getLogger("creditgauge.capture")


class Recorder:
    """Prices an event and hands it to the writer (journal + queue). Cheap enough for the request path."""

    def __init__(self, pricer: Pricer, writer: EventWriter) -> None:
        self.pricer = pricer
        self.writer = writer
        # Called with each recorded event, e.g. the dashboard's Prometheus counters when both run in one process.
        self.observers: list[Callable[[UsageEvent], None]] = []

    def record(self, event: UsageEvent, *, usage: Usage | None = None) -> UsageEvent:
        """Record one observed answer. Some answers are not one event: batch results are one event per answer
        they hold, a background response still running is left for the poll or resumed stream that sees it
        finish, and a retrieval without usage (any other file, a stream resumed after its end) is no call."""
        if usage is not None and usage.parts:
            for part in usage.parts:
                self._store(with_usage(event, part, stable_id=True), part)
            return event
        if (usage is not None and usage.pending) or (usage is None and event.endpoint in RETRIEVALS):
            return event
        return self._store(event, usage)

    def record_many(self, events: Sequence[UsageEvent]) -> None:
        """Record events that each hold their usage (the OTLP receiver's spans): priced, then journaled with one
        write for the batch."""
        for event in events:
            self.pricer.apply(event)
        self.writer.submit_many(events)
        for event in events:
            self._observe(event)

    def _store(self, event: UsageEvent, usage: Usage | None) -> UsageEvent:
        # An unknown usage is unpriced, never $0: nothing to price from.
        if not event.extra.get("usage_missing"):
            self.pricer.apply(event, provider_cost=usage.provider_cost if usage else None)
        self.writer.submit(event)
        self._observe(event)
        return event

    def _observe(self, event: UsageEvent) -> None:
        for observe in self.observers:
            try:
                observe(event)
            except Exception:  # a counter must never fail a request
                log.exception("an event observer failed")

    def close(self, timeout: float = 30.0) -> bool:
        return self.writer.close(timeout)
