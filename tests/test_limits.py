"""The limits at the edge: every poison value of issue 12 is refused with the field named, ordinary values pass."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import String

from creditgauge.domain import UsageEvent
from creditgauge.limits import (
    EVENT_TEXT_LIMITS,
    MAX_PROJECT,
    InvalidValue,
    check_amount,
    check_count,
    check_text,
    check_time,
    event_problem,
    time_from_unix,
)
from creditgauge.store import schema


def _event(**changes: object) -> UsageEvent:
    event = UsageEvent(id="01JEVENT", account="openai-main", provider="openai",
                       ts=datetime(2026, 11, 1, tzinfo=UTC), model="gpt-4o", endpoint="chat.completions",
                       source="proxy", input_tokens=10, output_tokens=5, cost=Decimal("0.0001"))
    return replace(event, **changes)


@pytest.mark.parametrize("value", [10**30, 2**63, -1, float("inf"), float("nan"), Decimal("Infinity"), 1.5, True,
                                   "12", None])
def test_counts_outside_the_range_are_refused(value: object) -> None:
    with pytest.raises(InvalidValue, match=r"^input_tokens: "):
        check_count(value, "input_tokens")


def test_counts_inside_the_range_pass_as_ints() -> None:
    assert check_count(0, "n") == 0
    assert check_count(10**12, "n") == 10**12
    assert check_count(Decimal("1E+3"), "n") == 1000
    assert check_count(100.0, "n") == 100


@pytest.mark.parametrize("value", [Decimal("1e12"), Decimal("1e400"), Decimal("-0.01"), Decimal("NaN"), 0.5, "abc"])
def test_amounts_outside_the_range_are_refused(value: object) -> None:
    with pytest.raises(InvalidValue, match=r"^cost: "):
        check_amount(value, "cost")


def test_amounts_are_exact_and_negative_only_when_allowed() -> None:
    assert check_amount("12.345", "a") == Decimal("12.345")
    assert check_amount(Decimal("-3.10"), "a", allow_negative=True) == Decimal("-3.10")
    assert check_amount(10**9, "a") == Decimal(10**9)


@pytest.mark.parametrize("value", ["m" * 201, "gpt\x00", "bad \ud800 text", 5])
def test_text_with_nul_surrogates_or_too_long_is_refused(value: object) -> None:
    with pytest.raises(InvalidValue, match=r"^model: "):
        check_text(value, "model")


def test_times_are_aware_and_inside_the_range() -> None:
    assert check_time(datetime(2026, 1, 1, tzinfo=UTC), "t").year == 2026
    for bad in (datetime(2026, 1, 1), datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC)):
        with pytest.raises(InvalidValue):
            check_time(bad, "t")
    assert time_from_unix(1_767_225_600, "t") == datetime(2026, 1, 1, tzinfo=UTC)
    for bad in (10**30, float("inf"), "soon", -1):
        with pytest.raises(InvalidValue, match=r"^t: "):
            time_from_unix(bad, "t")


@pytest.mark.parametrize(("changes", "field"), [
    ({"input_tokens": 10**30}, "input_tokens"), ({"output_tokens": 2**63}, "output_tokens"),
    ({"cached_input_tokens": -5}, "cached_input_tokens"), ({"cost": Decimal("1e12")}, "cost"),
    ({"cost": Decimal("1e400")}, "cost"), ({"cost": Decimal("-1")}, "cost"), ({"model": "m" * 201}, "model"),
    ({"request_id": "r" * 201}, "request_id"), ({"model": "gpt\x00"}, "model"),
    ({"tags": {"project": "p" * (MAX_PROJECT + 1)}}, "tags.project"), ({"latency_ms": 2**40}, "latency_ms"),
    ({"extra": {"deep": [[[[]]]] * 10_000}}, "extra"), ({"ts": datetime(1900, 1, 1, tzinfo=UTC)}, "ts"),
])
def test_a_poison_event_is_named_by_its_field(changes: dict[str, object], field: str) -> None:
    problem = event_problem(_event(**changes))
    assert problem is not None and problem.startswith(f"{field}: ")


def test_an_ordinary_event_has_no_problem() -> None:
    assert event_problem(_event(tags={"project": "search"}, extra={"service_tier": "default"})) is None


def test_the_text_limits_are_the_columns_lengths() -> None:
    for name, limit in EVENT_TEXT_LIMITS.items():
        column_type = schema.usage_events.c[name].type
        assert isinstance(column_type, String) and column_type.length == limit, name
    assert schema.usage_events.c["project"].type.length == MAX_PROJECT
