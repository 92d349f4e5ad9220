"""The day shape: active minutes per hour against the resident's own routine, scored by the
general anomaly scorer; an unusual day is information that rides on inactivity findings."""

from __future__ import annotations

import doctest
import importlib
import json
from dataclasses import replace

import pytest

from detection.inactivity import (
    Clock,
    InactivityConfig,
    InactivityDetector,
    InactivityFinding,
    Movement,
    Presence,
)
from detection.routine import DAY_SCORER, DayShape, RoutineConfig
from tests.detection.cases_inactivity import MIDNIGHT_SHANGHAI, routine_days

H = 3600.0
DEFAULT = InactivityConfig(min_silences=5)


def _unusual(found: list[InactivityFinding]) -> list[tuple[float, float | None, str]]:
    return [(round((f.timestamp - MIDNIGHT_SHANGHAI) / H, 2), f.score, f.detail)
            for f in found if f.kind == "unusual_day"]


def _run(config: InactivityConfig,
         batches: list[list[Movement | Presence | Clock]]) -> list[InactivityFinding]:
    d = InactivityDetector(config)
    return [f for b in batches for f in d.update(b)]


def test_up_at_night_after_two_weeks_of_routine_is_an_unusual_day_at_its_pinned_hour() -> None:
    found = _unusual(_run(DEFAULT, routine_days(7, days=14)))
    # up from 01:00 to 04:00 on day 14; the hour from 01:00 is reported when it closes
    assert [(t, detail) for t, _, detail in found] == [
        (13 * 24 + 2.0, "23 active minutes in the hour from 01:00, usually 0")]
    assert found[0][1] is not None and found[0][1] > 2.0 / 3.0  # report_at 2 as a score


def test_ordinary_days_are_not_unusual() -> None:
    for seed in (1, 7):
        assert _unusual(_run(DEFAULT, routine_days(seed, days=14, odd={}))) == []


def test_nothing_is_reported_before_the_routine_and_the_warm_up_are_learnt() -> None:
    # the same night on day 8: 3 days to learn each hour, then 180 hours of warm-up
    assert _unusual(_run(DEFAULT, routine_days(7, days=8))) == []


def test_an_inactivity_finding_after_an_unusual_night_carries_its_score() -> None:
    quiet_morning = {1: 0.3, 2: 0.3, 3: 0.3} | {h: 0.0 for h in range(4, 24)}
    found = _run(DEFAULT, routine_days(7, days=14, odd=quiet_morning))
    night = [f for f in found if f.kind == "unusual_day"]
    late = [f for f in found if f.kind == "inactivity"
            and f.timestamp > MIDNIGHT_SHANGHAI + 13 * 24 * H]
    assert night and late
    assert late[0].score == night[0].score


def test_an_unusual_day_alone_is_information_and_old_context_expires() -> None:
    found = _run(replace(DEFAULT, unusual_context=1 * H),
                 routine_days(7, days=14, odd={1: 0.3, 2: 0.3, 3: 0.3} | {
                     h: 0.0 for h in range(4, 24)}))
    late = [f for f in found if f.kind == "inactivity"
            and f.timestamp > MIDNIGHT_SHANGHAI + 13 * 24 * H]
    assert late and late[0].score is None


def test_hours_away_from_home_are_neither_scored_nor_learnt() -> None:
    shape = DayShape(RoutineConfig(), tz="UTC")
    shape.advance(0.0, at_home=True)
    shape.moved(60.0)
    shape.away()  # left during the first hour
    shape.advance(3 * H, at_home=False)  # away for two more, and still away at 03:00
    shape.advance(5 * H, at_home=True)  # home since shortly after 03:00: 04:00 counts
    assert [len(u) for u in shape._usual[:5]] == [0, 0, 0, 0, 1]


def test_a_long_gap_without_any_clock_is_skipped_not_counted_as_still() -> None:
    shape = DayShape(RoutineConfig(max_gap_hours=6), tz="UTC")
    shape.advance(0.0, at_home=True)
    shape.advance(5 * H, at_home=True)  # 5 hours: ordinary, counted as 5 quiet hours
    shape.advance(20 * H, at_home=True)  # 15 hours: the platform was down
    assert sum(len(u) for u in shape._usual) == 5


def test_late_movements_and_repeated_minutes_count_once() -> None:
    shape = DayShape(RoutineConfig(), tz="UTC")
    shape.advance(H, at_home=True)
    for t in (H + 10, H + 20, H + 70, H + 65, 30.0):  # two in minute 0, one late, one earlier
        shape.moved(t)
    assert shape._active == 2


def test_restore_continues_identically_and_old_snapshots_start_afresh() -> None:
    batches = routine_days(7, days=14)
    config = replace(DEFAULT, routine=RoutineConfig(scorer=replace(DAY_SCORER, warmup=48)))
    straight = _run(config, batches)
    d = InactivityDetector(config)
    head = [f for b in batches[:700] for f in d.update(b)]
    snap = json.loads(json.dumps(d.snapshot()))
    again = InactivityDetector.restore(snap)
    assert head + [f for b in batches[700:] for f in again.update(b)] == straight
    # a snapshot from before the day shape existed: no routine config, no day per resident
    del snap["config"]["routine"], snap["config"]["unusual_context"]
    for r in snap["residents"].values():
        del r["day"], r["unusual"]
    old = InactivityDetector.restore(snap)
    assert old.config.routine == RoutineConfig()
    assert old._residents["r1"].day.scorer._seen == 0


@pytest.mark.parametrize("module", ["detection.routine", "detection.inactivity"])
def test_docstring_examples_run(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0
    assert result.failed == 0
