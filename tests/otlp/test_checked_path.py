"""The OTLP receiver's fast path keeps every guarantee: a `Checked` batch is not checked again in full by the store,
but what pricing set after the check still is, an unchecked batch is checked as before, and the journal's array
records replay exactly (and the object records older journals hold still do)."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from creditgauge.capture.codec import RECORD_FIELDS, decode_event, encode_event, encode_record
from creditgauge.capture.journal import Journal
from creditgauge.capture.once import store_once
from creditgauge.capture.otlp_receiver import shares_a_database
from creditgauge.capture.writer import EventWriter
from creditgauge.domain import UsageEvent
from creditgauge.limits import Checked
from creditgauge.store import schema
from creditgauge.store.engine import open_engine
from creditgauge.store.events import store_checked
from creditgauge.store.quarantine import recent_quarantined


def span_event(index: int, **changes: object) -> UsageEvent:
    event = UsageEvent(id=f"otlp-{index:04d}", account="openai-main", provider="openai",
                       ts=datetime(2026, 11, 20, 12, 0, index, tzinfo=UTC), model="gpt-4o-mini", endpoint="chat",
                       source="otlp", input_tokens=100 + index, output_tokens=index, cost=Decimal("0.000123456789"),
                       tags={"service.name": "checkout", "team": "ünï"}, latency_ms=12, request_id=f"resp-{index}")
    return replace(event, **changes)  # type: ignore[arg-type]  # test helper: any field, as the cases need


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return open_engine(f"sqlite:///{tmp_path}/checked.db")


def counts(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as connection:
        return tuple(connection.execute(select(func.count()).select_from(table)).scalar() or 0  # type: ignore[return-value]
                     for table in (schema.usage_events, schema.event_tags, schema.quarantine))


def test_a_checked_batch_still_has_its_prices_checked(engine: Engine) -> None:
    """Pricing runs after the readers' check: a cost beyond the limit set then is quarantined, not stored."""
    outcome = store_checked(engine, Checked([span_event(1), span_event(2, cost=Decimal(10**7))]))
    assert (outcome.stored, outcome.quarantined) == (1, 1)
    assert counts(engine) == (1, 2, 1)


def test_an_unchecked_batch_is_checked_in_full(engine: Engine) -> None:
    outcome = store_checked(engine, [span_event(1), span_event(2, model="x" * 201), span_event(3, input_tokens=-1)])
    assert (outcome.stored, outcome.quarantined) == (1, 2)


def test_store_once_keeps_the_mark_and_stores_once(engine: Engine) -> None:
    batch = Checked([span_event(1), span_event(1), span_event(2)])
    assert store_once(engine, batch).stored == 2
    assert store_once(engine, batch).stored == 0  # a retried export request
    assert counts(engine) == (2, 4, 0)


def test_spans_take_out_the_metric_buckets_of_their_service_that_they_cover(engine: Engine) -> None:
    """The buckets a short program's meter sent before its spans: the covering ones go (whatever their end says,
    a damaged one included), the rollup with them; another service's, or one ended long before, stays."""
    def bucket(name: str, start: str, end: object, service: str = "checkout") -> UsageEvent:
        return span_event(0, id=name, endpoint="gen_ai.client.token.usage", ts=datetime.fromisoformat(start),
                          tags={"service.name": service}, request_id=None, latency_ms=None, extra={"bucket_end": end})
    store_checked(engine, [bucket("covering", "2026-11-20T12:00:00+00:00", "2026-11-20T12:00:09+00:00"),
                           bucket("damaged-end", "2026-11-20T12:00:05+00:00", "not a time"),
                           bucket("other-service", "2026-11-20T12:00:00+00:00", "2026-11-20T12:00:09+00:00",
                                  service="billing"),
                           bucket("long-before", "2026-11-20T11:58:00+00:00", "2026-11-20T11:59:00+00:00")])
    assert store_once(engine, Checked([span_event(3), span_event(4)])).stored == 2
    with engine.connect() as connection:
        left = set(connection.execute(select(schema.usage_events.c.id)).scalars())
        daily = connection.execute(select(func.sum(schema.usage_daily.c.events))).scalar()
    assert left == {"otlp-0003", "otlp-0004", "other-service", "long-before"}
    assert daily == 4


def test_tags_are_stored_as_json_text_the_same_as_before(engine: Engine) -> None:
    store_checked(engine, Checked([span_event(1)]))
    with engine.connect() as connection:
        row = connection.execute(select(schema.usage_events.c.tags, schema.usage_events.c.stored_at)).one()
        tags = dict(connection.execute(select(schema.event_tags.c.key, schema.event_tags.c.value)).all())
    assert row.tags == {"service.name": "checkout", "team": "ünï"} == tags
    assert row.stored_at is not None


def test_the_array_record_layout_is_the_events_fields() -> None:
    """A new field on UsageEvent needs a new RECORD_FORMAT (journals outlive the process that wrote them)."""
    assert tuple(field.name for field in fields(UsageEvent)) == RECORD_FIELDS


@pytest.mark.parametrize("extra", [{}, {"service_tier": "default"}, {"huge": 2**70}])
def test_journal_records_round_trip_exactly(extra: dict[str, object]) -> None:
    original = span_event(7, extra=extra, incomplete=True)
    record = encode_record(original)
    assert record.startswith(b"[1," if not extra.get("huge") else b"{")  # what orjson refuses: the object form
    assert decode_event(record) == original
    assert decode_event(encode_event(original)) == original  # an older journal's object record


def test_an_unknown_record_format_is_quarantined_on_replay(tmp_path: Path, engine: Engine) -> None:
    journal = Journal(tmp_path / "j")
    journal.append(encode_record(span_event(1)))
    journal.append(b'[99,"from a later version"]')
    journal.close()
    writer = EventWriter(engine, Journal(tmp_path / "j")).start()
    report = writer.flush(10)
    writer.close()
    assert report.quarantined == 1 and report.pending == 0
    assert counts(engine)[0] == 1
    [item] = recent_quarantined(engine)
    assert "unreadable" in item["reason"] and "from a later version" in item["payload"]


@pytest.mark.parametrize(("url", "shared"), [("sqlite:///var/creditgauge.db", True), ("sqlite://", False),
                                             ("sqlite:///:memory:", False),
                                             ("postgresql://creditgauge@db.internal/usage", True)])
def test_the_store_process_is_used_only_where_another_process_sees_the_database(url: str, shared: bool) -> None:
    assert shares_a_database(url) is shared
