"""Column types that keep money exact and time in UTC on SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Text
from sqlalchemy.types import TypeDecorator

from creditgauge.domain import as_utc

NANOS_PER_UNIT = 10**9


def to_nanos(amount: Decimal) -> int:
    """An amount as an integer count of 10^-9 currency units (sub-nano digits are rounded half-even). Shifting the
    exponent is exact and twice as fast as dividing by 10^-9."""
    return int(amount.scaleb(9).to_integral_value(ROUND_HALF_EVEN))


def from_nanos(nanos: int | None) -> Decimal | None:
    if nanos is None:
        return None
    return (Decimal(int(nanos)) / NANOS_PER_UNIT).normalize() if nanos else Decimal(0)


def money(value: Decimal | None) -> Decimal:
    """An exact amount with at least two decimal places, the way people read money (None, an empty sum, is 0)."""
    if value is None:
        return Decimal("0.00")
    value = value.normalize()
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        return value.quantize(Decimal("0.01"))
    return value


class Nanos(TypeDecorator[Decimal]):
    """Decimal in Python, BIGINT of nano-units in the database: exact on both backends, summable in SQL."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Any) -> int | None:
        return None if value is None else to_nanos(value)

    def bind_processor(self, dialect: Any) -> Any:
        """to_nanos itself when the integer column needs no processing of its own: one call an amount, not
        three (this runs for every stored event)."""
        if self.impl_instance.bind_processor(dialect) is not None:
            return super().bind_processor(dialect)

        def process(value: Decimal | None) -> int | None:
            return None if value is None else to_nanos(value)

        return process

    def process_result_value(self, value: int | None, dialect: Any) -> Decimal | None:
        return from_nanos(value)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in Python; naive UTC in SQLite, timestamptz in PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Any) -> Any:
        """On SQLite, datetimes are written as SQLAlchemy's own text form ("2026-11-23 09:05:00.000000") by
        datetime's C code: SQLAlchemy formats it field by field in Python, which was the biggest single cost of
        storing an event batch. Anything else takes the usual way."""
        usual = super().bind_processor(dialect)
        if dialect.name != "sqlite" or usual is None:
            return usual

        def process(value: Any) -> Any:
            if isinstance(value, datetime):
                if value.tzinfo is UTC:  # the usual case: no conversion
                    return value.isoformat(" ", "microseconds")[:26]
                if value.tzinfo is None:
                    return value.isoformat(" ", "microseconds")
                return value.astimezone(UTC).isoformat(" ", "microseconds")[:26]  # without "+00:00"
            return usual(value)

        return process

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else as_utc(value)


class JSONText(TypeDecorator[Any]):
    """JSON kept as text with Decimals written as strings, so nothing becomes a float on the way."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        return None if value is None else json.loads(value, parse_float=Decimal)
