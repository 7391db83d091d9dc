"""Our ULIDs against python-ulid, the reference implementation: same text for the same value, time first."""

from __future__ import annotations

import random
import time

import pytest
from ulid import ULID

from creditgauge.ids import MAX_ULID, new_ulid, ulid_at, ulid_of


@pytest.mark.parametrize("value", [0, 1, 31, 32, 1023, 1 << 80, (1 << 127) + 12345, MAX_ULID])
def test_text_equals_the_reference_for_edge_values(value: int) -> None:
    assert ulid_of(value) == str(ULID.from_int(value))


def test_text_equals_the_reference_for_random_values() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        value = rng.getrandbits(128)
        assert ulid_of(value) == str(ULID.from_int(value))


def test_a_new_ulid_carries_the_current_millisecond_and_parses() -> None:
    before = time.time_ns() // 1_000_000
    text = new_ulid()
    after = time.time_ns() // 1_000_000
    parsed = ULID.from_str(text)
    assert len(text) == 26 and str(parsed) == text
    assert before <= parsed.milliseconds <= after


def test_ulids_sort_by_time_and_do_not_repeat() -> None:
    ids = [ulid_at(ms, random.getrandbits(80)) for ms in (1_700_000_000_000, 1_700_000_000_001, 1_800_000_000_000)]
    assert ids == sorted(ids)
    assert len({new_ulid() for _ in range(50_000)}) == 50_000


@pytest.mark.parametrize("value", [-1, MAX_ULID + 1])
def test_values_outside_128_bits_are_refused(value: int) -> None:
    with pytest.raises(ValueError, match="128-bit"):
        ulid_of(value)
