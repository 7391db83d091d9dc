"""Events are stored once, with their tags and their rollup, however a batch overlaps what is stored. On
PostgreSQL a batch of new events goes in by COPY and anything else falls back to INSERT ... ON CONFLICT; these
tests take each way, on both databases (the same assertions hold for SQLite's single way)."""

from datetime import UTC, datetime

from sqlalchemy import Engine, func, select, text

from creditgauge.domain import UsageEvent
from creditgauge.store import schema
from creditgauge.store.events import store_events

TS = datetime(2026, 12, 1, 12, tzinfo=UTC)


def event(number: int, team: str = "search") -> UsageEvent:
    return UsageEvent(id=f"ev-{number}", account="openai-main", provider="openai", ts=TS, model="gpt-4o",
                      endpoint="chat", source="ingest", input_tokens=100, output_tokens=10,
                      tags={"team": team, "service.name": "api"})


def counts(engine: Engine) -> tuple[int, int, int, int]:
    """(events, tag rows, the rollup's events, the rollup's input tokens)."""
    with engine.connect() as connection:
        events = connection.execute(select(func.count()).select_from(schema.usage_events)).scalar_one()
        tags = connection.execute(select(func.count()).select_from(schema.event_tags)).scalar_one()
        rolled, tokens = connection.execute(select(func.coalesce(func.sum(schema.usage_daily.c.events), 0),
                                                   func.coalesce(func.sum(schema.usage_daily.c.input_tokens), 0))
                                            ).one()
    return events, tags, int(rolled), int(tokens)


def test_a_batch_of_new_events_is_stored_whole(engine: Engine) -> None:
    assert store_events(engine, [event(n) for n in range(50)]) == 50
    assert counts(engine) == (50, 100, 50, 5000)


def test_a_batch_that_overlaps_stored_events_adds_only_the_new_ones(engine: Engine) -> None:
    """A retried batch with more behind it (an exporter's retry, a journal replay after a crash): the stored half
    is skipped, the rest is stored with its tags, and nothing is counted twice."""
    store_events(engine, [event(n) for n in range(20)])
    assert store_events(engine, [event(n) for n in range(40)]) == 20
    assert counts(engine) == (40, 80, 40, 4000)
    assert store_events(engine, [event(n) for n in range(40)]) == 0
    assert counts(engine) == (40, 80, 40, 4000)


def test_a_batch_that_repeats_an_event_stores_it_once(engine: Engine) -> None:
    assert store_events(engine, [event(1), event(2), event(1)]) == 2
    assert counts(engine) == (2, 4, 2, 200)


def test_a_tag_row_left_behind_does_not_stop_its_event(engine: Engine) -> None:
    """A tag row whose event is gone (deleted by hand, say) takes the tags' fallback; the event and its other tag
    are stored, and the batch's other events with theirs."""
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO event_tags (event_id, key, value) VALUES ('ev-3', 'team', 'old')"))
    assert store_events(engine, [event(n, team="ads") for n in range(5)]) == 5
    assert counts(engine) == (5, 10, 5, 500)
    with engine.connect() as connection:
        teams = dict(connection.execute(text("SELECT event_id, value FROM event_tags WHERE key = 'team'")).all())
    assert teams == {"ev-0": "ads", "ev-1": "ads", "ev-2": "ads", "ev-3": "old", "ev-4": "ads"}
