"""A journal per database (issue 12): two configurations on one machine, one journal directory setting. Events
journaled for configuration A (its database down, the proxy killed) are never replayed into B's database, stay
while B runs, and reach A's database when A starts again."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from creditgauge.capture.codec import encode_event
from creditgauge.capture.journal import Journal, JournalForOtherDatabase
from creditgauge.capture.runtime import build_recorder, database_identity, journal_root
from creditgauge.config import Config, parse_config
from creditgauge.domain import UsageEvent
from creditgauge.errors import ConfigError
from creditgauge.store import schema


def config_for(database: Path, journal_dir: Path) -> Config:
    return parse_config({"database_url": f"sqlite:///{database}", "proxy": {"journal_dir": str(journal_dir)},
                         "accounts": {"openai-main": {"provider": "openai"}}}, None)


def event(number: int) -> UsageEvent:
    return UsageEvent(id=f"a-{number:03d}", account="openai-main", provider="openai",
                      ts=datetime(2026, 11, 20, tzinfo=UTC), model="gpt-4o", endpoint="chat.completions",
                      source="proxy", input_tokens=10, output_tokens=3)


def stored(database: Path) -> set[str]:
    if not database.exists():
        return set()
    engine = create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            return set(connection.execute(select(schema.usage_events.c.id)).scalars())
    finally:
        engine.dispose()


def test_two_configurations_on_one_machine_never_share_a_journal(tmp_path: Path) -> None:
    shared_dir = tmp_path / "journals"  # both configurations name the same journal directory
    config_a, config_b = config_for(tmp_path / "a.db", shared_dir), config_for(tmp_path / "b.db", shared_dir)
    dir_a, dir_b = journal_root(config_a) / "proxy", journal_root(config_b) / "proxy"
    assert dir_a != dir_b and dir_a.parent.parent == dir_b.parent.parent == shared_dir

    # A's proxy journaled 10 calls while its database was down, then was killed
    identity_a = database_identity(config_a.resolved_database_url())
    journal = Journal(dir_a, database=identity_a)
    for number in range(10):
        journal.append(encode_event(event(number)))
    journal.close()

    # B starts, records its own call, and stops: none of A's events reach B's database
    recorder_b = build_recorder(config_b, dir_b)
    recorder_b.writer.submit(_b_event())
    assert recorder_b.writer.flush(10)
    recorder_b.close()
    assert stored(tmp_path / "b.db") == {"b-000"}

    # B cannot be pointed at A's journal by mistake either
    with pytest.raises(JournalForOtherDatabase, match="holds events for the database") as refused:
        Journal(dir_a, database=database_identity(config_b.resolved_database_url()))
    assert isinstance(refused.value, ConfigError)

    # A starts again: its 10 calls reach its own database
    recorder_a = build_recorder(config_a, dir_a)
    assert recorder_a.writer.flush(10)
    recorder_a.close()
    assert stored(tmp_path / "a.db") == {f"a-{number:03d}" for number in range(10)}
    assert stored(tmp_path / "b.db") == {"b-000"}


def _b_event() -> UsageEvent:
    item = event(0)
    item.id = "b-000"
    return item


def test_the_identity_names_the_database_without_its_password(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    identity = database_identity("postgresql+psycopg://cg:s3cret-pass@db.example:5432/creditgauge")
    assert identity == "postgresql://cg:***@db.example:5432/creditgauge"
    # a relative SQLite path is the file it names from here: two working directories, two databases
    monkeypatch.chdir(tmp_path)
    assert database_identity("sqlite:///cg.db") == f"sqlite:///{tmp_path / 'cg.db'}"
    # the password can change without stranding the journal
    assert database_identity("postgresql://cg:other@db.example:5432/creditgauge") == identity


def test_the_journal_records_its_database_and_keeps_no_password(tmp_path: Path) -> None:
    identity = database_identity("postgresql://cg:s3cret-pass@db.example/creditgauge")
    journal = Journal(tmp_path / "j", database=identity)
    journal.close()
    reopened = Journal(tmp_path / "j", database=identity)  # by its own database
    assert reopened.database == identity
    reopened.close()
    assert "s3cret-pass" not in (tmp_path / "j" / "database").read_text()
