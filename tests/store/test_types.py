"""The column types' own bind processing: the fast SQLite datetime text equals SQLAlchemy's, instant for instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import DateTime
from sqlalchemy.dialects import sqlite

from creditgauge.store.types import UTCDateTime

DIALECT = sqlite.dialect()
SQLALCHEMY = DateTime().dialect_impl(DIALECT).bind_processor(DIALECT)
OURS = UTCDateTime().dialect_impl(DIALECT).bind_processor(DIALECT)


@pytest.mark.parametrize("value", [
    datetime(2026, 11, 23, 9, 5, 0, tzinfo=UTC),  # no microseconds: still written with six digits
    datetime(2026, 11, 23, 9, 5, 7, 123456, tzinfo=UTC),
    datetime(2026, 11, 23, 9, 5, 7, 1),  # naive is taken as UTC
    datetime(1, 1, 1, 0, 0, tzinfo=UTC),
    datetime(2026, 1, 1, 1, 30, tzinfo=timezone(timedelta(hours=2))),  # another offset: converted to UTC
])
def test_sqlite_text_of_a_datetime_equals_sqlalchemys(value: datetime) -> None:
    utc_naive = value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)
    assert OURS(value) == SQLALCHEMY(utc_naive)


def test_sqlite_null_stays_null() -> None:
    assert OURS(None) is None
