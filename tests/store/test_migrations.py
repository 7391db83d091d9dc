"""Every earlier revision migrates to head with its data: a database is created at each revision Alembic knows,
filled with plain SQL the way that revision's code stored things, migrated, and checked. The migrations carry
their own SQL, so this holds whatever today's store code becomes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, select, text

from creditgauge.store import rollup, schema
from creditgauge.store.engine import MIGRATIONS, current_revision, head_revision, make_engine, migrate

SEPARATOR = "\x1f"


def _alembic_config() -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


EARLIER = [script.revision for script in reversed(list(ScriptDirectory.from_config(_alembic_config())
                                                             .walk_revisions()))][:-1]


def _ts(connection: Connection, moment: str) -> str:
    """A UTC time as each database held it: naive text on SQLite, an explicit offset for timestamptz."""
    return f"{moment}.000000" if connection.dialect.name == "sqlite" else f"{moment}+00:00"


OPENAI_DIMS = ("openai-main", "openai", "gpt-4o-mini", None, "fp-0a1b2c", "chat.completions", "proxy", "USD")
ANTHROPIC_DIMS = ("anthropic-main", "anthropic", "claude-sonnet-4-6", "proj_1", None, "messages", "sdk", "USD")
EVENTS = [  # (id, ts, dimensions, input, cached, cache write, output, reasoning, requests, cost in nano-units)
    ("ev-1", "2026-11-20 12:00:00", OPENAI_DIMS, 1200, 1000, 0, 300, 0, 1, 123_000),
    ("ev-2", "2026-11-20 23:59:59", OPENAI_DIMS, 100, 0, 0, 10, 4, 1, 400),
    ("ev-3", "2026-11-21 00:00:00", OPENAI_DIMS, 50, 0, 0, 5, 0, 2, None),  # unpriced: never $0
    ("ev-4", "2026-11-20 08:00:00", ANTHROPIC_DIMS, 900, 0, 100, 40, 0, 1, 1_500_000_000),
]
# usage_daily as it must read after migrating: (UTC day, dimensions, cost, unpriced requests, events, measures)
ROLLUP = {
    (datetime(2026, 11, 20, tzinfo=UTC), OPENAI_DIMS): (Decimal("0.0001234"), 0, 2, 1300, 1000, 0, 310, 4, 2),
    (datetime(2026, 11, 21, tzinfo=UTC), OPENAI_DIMS): (Decimal(0), 2, 1, 50, 0, 0, 5, 0, 2),
    (datetime(2026, 11, 20, tzinfo=UTC), ANTHROPIC_DIMS): (Decimal("1.5"), 0, 1, 900, 0, 100, 40, 0, 1),
}


def _rows(connection: Connection) -> dict[str, list[dict[str, Any]]]:
    """Realistic rows for every table, in the form the code of the time wrote them (money in nano-units)."""
    at = _ts(connection, "2026-11-21 06:00:00")
    events = [{"id": event_id, "ts": _ts(connection, ts), **dict(zip(rollup.DIMENSIONS, dims, strict=True)),
               "input_tokens": tokens[0], "cached_input_tokens": tokens[1], "cache_write_tokens": tokens[2],
               "output_tokens": tokens[3], "reasoning_tokens": tokens[4], "requests": tokens[5], "cost": cost,
               "status_code": 200, "incomplete": False, "tags": '{"team":"search"}', "stored_at": at}
              for event_id, ts, dims, *tokens, cost in EVENTS]
    daily = [{"day": _ts(connection, f"{day:%Y-%m-%d} 00:00:00"), "dims_key": SEPARATOR.join(v or "" for v in dims),
              **dict(zip(rollup.DIMENSIONS, dims, strict=True)), "cost": int(sums[0] * 10**9),
              **dict(zip(rollup.SUMS[1:], sums[1:], strict=True))}
             for (day, dims), sums in ROLLUP.items()]
    return {
        "accounts": [{"name": "openai-main", "provider": "openai", "currency": "USD", "first_seen_at": at}],
        "usage_events": events,
        "event_tags": [{"event_id": event["id"], "key": "team", "value": "search"} for event in events],
        "usage_daily": daily,
        "cost_buckets": [{"account": "openai-main", "source": "costs",
                          "start_time": _ts(connection, "2026-11-20 00:00:00"),
                          "end_time": _ts(connection, "2026-11-21 00:00:00"), "dims_key": "gpt-4o-mini",
                          "model": "gpt-4o-mini", "amount": 895_874_000, "currency": "USD", "official": True,
                          "fetched_at": at}],
        "balance_snapshots": [{"account": "openai-main", "source": "credit_grants", "as_of": at,
                               "amount": 12_345_678_900_000, "currency": "USD", "official": True}],
        "ledger_entries": [{"account": "openai-main", "kind": "deposit", "amount": 50_000_000_000, "currency": "USD",
                            "at": _ts(connection, "2026-11-01 00:00:00"), "note": "card top-up", "created_at": at}],
        "sync_state": [{"account": "openai-main", "source": "costs", "high_water": at, "last_success_at": at}],
        "alert_state": [{"rule": "low-balance", "subject": "openai-main/USD", "state": "firing", "since": at,
                         "message": "balance 12.34 USD"}],
        "quarantine": [{"item_key": "q-1", "kind": "event", "origin": "proxy", "account": "openai-main",
                        "reason": "usage unreadable", "payload": "{}", "quarantined_at": at}],
        "sync_problems": [{"run_id": "01JD0000000000000000000000", "account": "openai-main", "source": "costs",
                           "endpoint": "/v1/organization/costs", "field": "amount.value", "detail": "not a number",
                           "seen_at": at}],
    }


def _snapshot(connection: Connection, rows: dict[str, list[dict[str, Any]]]) -> dict[str, list[tuple[Any, ...]]]:
    """The given rows' columns as the database returns them, in a stable order."""
    return {table: sorted((tuple(row) for row in connection.execute(text(
        f"SELECT {', '.join(items[0])} FROM {table}"))), key=repr) for table, items in rows.items()}


@pytest.fixture
def database(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("revision", EARLIER)
def test_a_database_at_every_earlier_revision_migrates_with_its_data(database: Engine, revision: str) -> None:
    with database.begin() as connection:
        cfg = _alembic_config()
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
    with database.begin() as connection:
        tables = set(inspect(connection).get_table_names())
        rows = {table: items for table, items in _rows(connection).items() if table in tables}
        for table, items in rows.items():
            columns = list(items[0])
            connection.execute(text(f"INSERT INTO {table} ({', '.join(columns)}) "
                                    f"VALUES ({', '.join(':' + column for column in columns)})"), items)
        before = _snapshot(connection, rows)
    assert current_revision(database) == revision

    migrate(database)

    assert current_revision(database) == head_revision()
    with database.connect() as connection:
        assert _snapshot(connection, rows) == before
        daily = _rollup(connection)
        assert daily == ROLLUP
        rollup.rebuild(connection)  # today's code agrees with what the migrations left
        assert _rollup(connection) == daily
        connection.rollback()


def _rollup(connection: Connection) -> dict[tuple[datetime, tuple[Any, ...]], tuple[Any, ...]]:
    table = schema.usage_daily
    result = {}
    for row in connection.execute(select(table)).mappings():
        assert row["dims_key"] == SEPARATOR.join("" if row[name] is None else row[name] for name in rollup.DIMENSIONS)
        result[row["day"], tuple(row[name] for name in rollup.DIMENSIONS)] = tuple(row[name] for name in rollup.SUMS)
    return result
