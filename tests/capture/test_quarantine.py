"""Quarantine, never block (issue 12): a poison event is kept aside with its reason and everything else is stored,
on both databases, through the writer, and across a restart that replays the journal."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, func, select, text

from creditgauge.capture.journal import QUARANTINE_FILE, Journal
from creditgauge.capture.writer import Backoff, EventWriter
from creditgauge.domain import UsageEvent
from creditgauge.limits import QUARANTINE_REASON
from creditgauge.store import schema
from creditgauge.store.events import StoreOutcome, store_checked
from creditgauge.store.quarantine import count_quarantined, recent_quarantined

TS = datetime(2026, 11, 20, 12, tzinfo=UTC)
PLANTED_KEY = "sk-proj-quarantineplanted0123456789abcdefXYZ"
POISON = {
    "tokens-1e30": {"input_tokens": 10**30},
    "tokens-2^63": {"output_tokens": 2**63},
    "cost-1e12": {"cost": Decimal("1e12")},
    "cost-1e400": {"cost": Decimal("1e400")},
    "negative-tokens": {"input_tokens": -7},
    "negative-cost": {"cost": Decimal("-0.5")},
    "long-model": {"model": "m" * 250},
    "long-request-id": {"request_id": "r" * 250},
    "nul-model": {"model": "gpt\x00-4o"},
    "unreadable-usage": {"extra": {QUARANTINE_REASON: "usage unreadable (OverflowError)"}},
}


def event(number: int, **changes: object) -> UsageEvent:
    base = UsageEvent(id=f"ev-{number:05d}", account="openai-main", provider="openai", ts=TS, model="gpt-4o",
                      endpoint="chat.completions", source="proxy", input_tokens=10, output_tokens=2,
                      cost=Decimal("0.001"))
    return replace(base, **changes)


def mixed_batch() -> list[UsageEvent]:
    batch = []
    for number, changes in enumerate(POISON.values()):
        batch += [event(2 * number), event(2 * number + 1, **changes)]
    return batch


def stored_ids(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(connection.execute(select(schema.usage_events.c.id)).scalars())


def test_poison_events_are_quarantined_and_the_rest_is_stored(engine: Engine) -> None:
    outcome = store_checked(engine, mixed_batch())
    assert outcome == StoreOutcome(stored=len(POISON), quarantined=len(POISON))
    assert stored_ids(engine) == {f"ev-{2 * n:05d}" for n in range(len(POISON))}
    assert count_quarantined(engine) == len(POISON)
    reasons = {row["reason"].split(":")[0] for row in recent_quarantined(engine)}
    assert {"input_tokens", "output_tokens", "cost", "model", "request_id", "usage unreadable (OverflowError)"} \
        <= reasons
    # the daily rollup holds only the stored events
    with engine.connect() as connection:
        assert connection.execute(select(func.sum(schema.usage_daily.c.events))).scalar_one() == len(POISON)
    # quarantining is idempotent: the same batch again (a replayed journal) adds nothing anywhere
    assert store_checked(engine, mixed_batch()) == StoreOutcome(stored=0, quarantined=len(POISON))
    assert count_quarantined(engine) == len(POISON)


def test_the_payload_keeps_the_event_readable_and_safe(engine: Engine) -> None:
    store_checked(engine, [event(1, model="gpt\x00-4o", tags={"team": "search"})])
    [row] = recent_quarantined(engine)
    assert "\x00" not in row["payload"] and row["account"] == "openai-main" and row["origin"] == "proxy"
    assert json.loads(row["payload"])["model"] == "gpt\x00-4o"


def test_an_event_the_database_refuses_is_found_by_splitting_the_batch(sqlite_engine: Engine) -> None:
    """A refusal no limit predicts (here a trigger): the batch is split until the refused event is alone."""
    with sqlite_engine.begin() as connection:
        connection.execute(text("CREATE TRIGGER refuse BEFORE INSERT ON usage_events WHEN NEW.model = 'refused' "
                                "BEGIN SELECT RAISE(ABORT, 'this model is refused'); END"))
    batch = [event(n, model="refused" if n == 37 else "gpt-4o") for n in range(100)]
    assert store_checked(sqlite_engine, batch) == StoreOutcome(stored=99, quarantined=1)
    assert "ev-00037" not in stored_ids(sqlite_engine) and len(stored_ids(sqlite_engine)) == 99
    [row] = recent_quarantined(sqlite_engine)
    assert row["reason"] == "refused by the database: this model is refused"


def test_the_writer_goes_on_after_poison_and_a_restart_does_not_replay_it_forever(engine: Engine,
                                                                                   tmp_path: Path) -> None:
    writer = EventWriter(engine, Journal(tmp_path / "journal"), batch_size=8, flush_interval=0.01).start()
    for item in mixed_batch():
        writer.submit(item)
    report = writer.flush(10)
    assert not report and report.pending == 0 and report.quarantined == len(POISON)
    for number in range(100, 200):  # after the poison, everything flows
        writer.submit(event(number))
    assert writer.flush(10).pending == 0
    writer.close()
    assert len(stored_ids(engine)) == len(POISON) + 100
    # a restart over a journal that still holds the poison (checkpoint lost): 100 new events are all stored
    (tmp_path / "journal" / "checkpoint").unlink()
    restarted = EventWriter(engine, Journal(tmp_path / "journal"), batch_size=8, flush_interval=0.01).start()
    for number in range(300, 400):
        restarted.submit(event(number))
    assert restarted.flush(10).pending == 0
    restarted.close()
    assert len(stored_ids(engine)) == len(POISON) + 200
    assert count_quarantined(engine) == len(POISON)


class FailsOn:
    """A store that fails on one event's content, as a crashing store helper would: not an outage."""

    def __init__(self, engine: Engine, poison_id: str) -> None:
        self.engine, self.poison_id = engine, poison_id

    def __call__(self, engine: Engine, events: Sequence[UsageEvent]) -> StoreOutcome:
        if any(item.id == self.poison_id for item in events):
            raise RecursionError("maximum recursion depth exceeded")
        return store_checked(self.engine, events)


def test_a_batch_the_store_keeps_failing_on_is_split_and_the_poison_is_quarantined(engine: Engine,
                                                                                    tmp_path: Path) -> None:
    writer = EventWriter(engine, Journal(tmp_path / "journal"), batch_size=50, flush_interval=0.01,
                         backoff=Backoff(base=0.001, maximum=0.002), store=FailsOn(engine, "ev-00013")).start()
    for number in range(40):
        writer.submit(event(number))
    report = writer.flush(10)
    writer.close()
    assert report.pending == 0 and report.quarantined == 1 and not report
    assert len(stored_ids(engine)) == 39
    [item] = recent_quarantined(engine)
    assert (item["origin"], item["account"]) == ("proxy", "openai-main") and "recursion" in item["reason"]
    assert json.loads(item["payload"])["id"] == "ev-00013"
    assert not (tmp_path / "journal" / QUARANTINE_FILE).exists()


def test_an_unreadable_journal_record_is_quarantined_not_replayed_again(engine: Engine, tmp_path: Path) -> None:
    """A record written by a later version, or damaged, is listed by `creditgauge quarantine` (and counted by
    `status`) with the record as it was written; the events around it are stored."""
    journal = Journal(tmp_path / "journal")
    journal.append(b'{"id": "broken", "account": "openai-main", "ts": "not a time"}')
    journal.append(b"[1, \"torn")
    journal.append(f'{{"id": "leaky", "extra": {{"note": "{PLANTED_KEY}"}}}}'.encode())
    journal.close()
    for _ in range(2):  # the second start replays nothing: the records were quarantined once
        writer = EventWriter(engine, Journal(tmp_path / "journal"), flush_interval=0.01).start()
        writer.submit(event(1))
        assert writer.flush(10).pending == 0
        writer.close()
    assert stored_ids(engine) == {"ev-00001"} and count_quarantined(engine) == 3
    items = {item["account"]: item for item in recent_quarantined(engine) if "leaky" not in item["payload"]}
    assert set(items) == {"openai-main", None} and all(item["origin"] == "journal" for item in items.values())
    with engine.connect() as connection:  # a key in a record is masked before it is kept
        assert PLANTED_KEY not in str(connection.execute(text("SELECT * FROM quarantine")).all())
    assert "unreadable (ValueError)" in items["openai-main"]["reason"]
    assert json.loads(items["openai-main"]["payload"])["ts"] == "not a time"
    assert json.loads(items[None]["payload"]) == {"journal_record": '[1, "torn'}
    assert not (tmp_path / "journal" / QUARANTINE_FILE).exists()


def test_what_the_database_will_not_take_goes_to_the_quarantine_file(engine: Engine, tmp_path: Path) -> None:
    """The quarantine table gone (a schema not there yet): the unreadable record is kept in the journal
    directory's file instead, and counted as such."""
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE quarantine"))
    journal = Journal(tmp_path / "journal")
    journal.append(b'{"id": "broken", "ts": "not a time"}')
    journal.close()
    writer = EventWriter(engine, Journal(tmp_path / "journal"), flush_interval=0.01).start()
    writer.submit(event(1))
    report = writer.flush(10)
    writer.close()
    assert stored_ids(engine) == {"ev-00001"} and writer.stats.quarantined_to_file == 1 and report.quarantined == 1
    [line] = (tmp_path / "journal" / QUARANTINE_FILE).read_text().splitlines()
    assert "unreadable" in json.loads(line)["reason"] and "not a time" in json.loads(line)["record"]
