"""The one splitting store path (store_isolating) that the capture writer and ingest share: a database that is
down, or whose tables are gone, is an outage, raised for the caller to retry, never taken for refused (poison)
events."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from creditgauge.domain import UsageEvent
from creditgauge.store.events import is_outage, store_isolating

TS = datetime(2026, 11, 20, 12, tzinfo=UTC)


def event(number: int) -> UsageEvent:
    return UsageEvent(id=f"ev-{number}", account="openai-main", provider="openai", ts=TS, model="gpt-4o",
                      endpoint="chat.completions", source="ingest", input_tokens=10, output_tokens=2)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_database_that_is_down_is_raised_as_an_outage_not_refused_events(kind: str, tmp_path: Path) -> None:
    url = (f"sqlite:///{tmp_path / 'no-such-dir' / 'gone.db'}" if kind == "sqlite"
           else "postgresql+psycopg://postgres@127.0.0.1:9/gone?connect_timeout=2")  # nothing listens on port 9
    engine = create_engine(url)
    with pytest.raises(Exception) as raised:
        store_isolating(engine, [event(n) for n in range(8)])
    assert is_outage(raised.value)
    engine.dispose()


def test_a_missing_table_is_an_outage_not_poison(engine: Engine) -> None:
    """A database whose events table was dropped (a restore gone wrong, a schema not migrated) refuses every event
    alike: raised as an outage, nothing quarantined, the events kept for the retry."""
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE event_tags"))
        connection.execute(text("DROP TABLE usage_events"))
    with pytest.raises(Exception) as raised:
        store_isolating(engine, [event(n) for n in range(8)])
    assert is_outage(raised.value)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM quarantine")).scalar() == 0
