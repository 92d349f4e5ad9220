"""The daily-recurrence memory behind the anomaly scorer's level gate."""

from __future__ import annotations

import doctest
import json

import pytest

import detection.recurrence
from detection.recurrence import DAY, DailyRecurrence


def _memory(**overrides: float) -> DailyRecurrence:
    settings = {"days": 3, "slot": 600.0, "span": 3, "ratio": 0.5, **overrides}
    return DailyRecurrence(days=int(settings["days"]), slot=settings["slot"],
                           span=int(settings["span"]), ratio=settings["ratio"])


def test_the_docstring_examples_hold() -> None:
    assert doctest.testmod(detection.recurrence).failed == 0


@pytest.mark.parametrize(("minutes_apart", "matched"), [
    (0, True), (-30, True), (30, True), (35, True),  # within 3 slots of 10 min of its slot
    (-45, False), (45, False), (120, False),
])
def test_a_value_matches_only_near_the_same_time_of_day(minutes_apart: int, matched: bool) -> None:
    memory = _memory()
    at = 1_000 * DAY + 3 * 3600.0  # 03:00, on a slot boundary
    memory.add(at, 10.0)
    assert memory.seen_before(at + DAY + 60.0 * minutes_apart, 10.0) is matched


@pytest.mark.parametrize(("days_later", "matched"), [(1, True), (3, True), (4, False)])
def test_the_memory_looks_back_its_days_and_no_further(days_later: int, matched: bool) -> None:
    memory = _memory()
    memory.add(5 * DAY + 100.0, 10.0)
    assert memory.seen_before(5 * DAY + 100.0 + days_later * DAY, 10.0) is matched


def test_the_same_day_never_matches() -> None:
    memory = _memory()
    memory.add(5 * DAY + 100.0, 10.0)
    assert not memory.seen_before(5 * DAY + 200.0, 1.0)


def test_only_a_large_enough_value_matches_and_each_slot_keeps_its_largest() -> None:
    memory = _memory(ratio=0.5)
    memory.add(5 * DAY, 4.0)
    memory.add(5 * DAY + 60.0, 6.0)  # the same slot: its maximum is now 6
    memory.add(5 * DAY + 120.0, 1.0)
    assert memory.seen_before(6 * DAY, 12.0)  # 6 >= 0.5 x 12
    assert not memory.seen_before(6 * DAY, 12.5)


def test_a_slot_overwritten_by_a_later_day_is_not_mistaken_for_its_old_day() -> None:
    """The ring holds days + 1 days; a slot reused by a later day must not answer for the day it
    replaced, nor a stale slot for a day it never saw."""
    memory = _memory(days=1)
    memory.add(10 * DAY, 10.0)
    memory.add(12 * DAY, 1.0)  # the same ring entry (two days later, ring of two days)
    assert not memory.seen_before(11 * DAY, 10.0)  # day 10's 10 was replaced
    assert not memory.seen_before(13 * DAY, 10.0)  # day 12 had only 1
    assert memory.seen_before(13 * DAY, 2.0)


def test_snapshot_restores_what_was_seen() -> None:
    memory = _memory()
    for day in range(5):
        memory.add(day * DAY + 3600.0, float(day + 1))
    again = _memory()
    again.restore_from(json.loads(json.dumps(memory.snapshot())))
    for value in (1.0, 4.0, 8.0, 10.0, 11.0):
        assert again.seen_before(5 * DAY + 3600.0, value) == memory.seen_before(
            5 * DAY + 3600.0, value)
    assert again.seen_before(5 * DAY + 3600.0, 10.0)  # day 4 held 5
    assert not again.seen_before(5 * DAY + 3600.0, 10.5)


@pytest.mark.parametrize("bad", [
    {"days": 0}, {"slot": 0.0}, {"slot": 7.0}, {"span": -1}, {"ratio": 0.0}, {"ratio": 1.5},
])
def test_bad_settings_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="bad daily recurrence"):
        _memory(**bad)
