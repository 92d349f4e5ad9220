"""Inactivity: default limits, learnt limits per time of day, night, away from home."""

from __future__ import annotations

import doctest
import importlib
import json

import pytest

from detection.inactivity import (
    Clock,
    InactivityConfig,
    InactivityDetector,
    InactivityFinding,
    Movement,
    Presence,
)
from tests.detection.cases_inactivity import CONFIG, MIDNIGHT_SHANGHAI, week_of_days

H = 3600.0
DAY0 = MIDNIGHT_SHANGHAI


def _run(
    d: InactivityDetector, batches: list[list[Movement | Presence | Clock]]
) -> list[InactivityFinding]:
    return [f for b in batches for f in d.update(b)]


def test_daytime_default_is_four_hours() -> None:
    d = InactivityDetector()
    d.update([Movement(timestamp=DAY0 + 9 * H, subject="r1")])
    assert d.update([Clock(timestamp=DAY0 + 12.9 * H)]) == []
    found = d.update([Clock(timestamp=DAY0 + 13.1 * H)])
    assert [(f.subject, f.kind, round(f.limit / H, 1)) for f in found] == [("r1", "inactivity", 4.0)]
    assert d.update([Clock(timestamp=DAY0 + 14 * H)]) == []  # once per silence


def test_movement_rearms() -> None:
    d = InactivityDetector()
    d.update([Movement(timestamp=DAY0 + 9 * H, subject="r1"), Clock(timestamp=DAY0 + 13.5 * H)])
    d.update([Movement(timestamp=DAY0 + 14 * H, subject="r1")])
    assert [f.subject for f in d.update([Clock(timestamp=DAY0 + 18.5 * H)])] == ["r1"]


def test_night_sleep_is_not_inactivity_but_a_silent_morning_is() -> None:
    d = InactivityDetector()
    d.update([Movement(timestamp=DAY0 + 21.5 * H, subject="r1")])
    assert d.update([Clock(timestamp=DAY0 + 24 * H + 6.5 * H)]) == []  # 06:30, 9 h asleep
    # the day's 4 h count from 07:00: 10:55 is fine, 11:05 is not
    assert d.update([Clock(timestamp=DAY0 + 24 * H + 10.9 * H)]) == []
    found = d.update([Clock(timestamp=DAY0 + 24 * H + 11.1 * H)])
    assert [f.kind for f in found] == ["inactivity"]
    assert found[0].silent_for == 13.6 * H


def test_away_from_home_suspends_the_check() -> None:
    d = InactivityDetector()
    d.update([Movement(timestamp=DAY0 + 9 * H, subject="r1"),
              Presence(timestamp=DAY0 + 9.5 * H, subject="r1", at_home=False)])
    assert d.update([Clock(timestamp=DAY0 + 16 * H)]) == []
    d.update([Presence(timestamp=DAY0 + 17 * H, subject="r1", at_home=True)])
    assert d.update([Clock(timestamp=DAY0 + 20.5 * H)]) == []
    assert [f.kind for f in d.update([Clock(timestamp=DAY0 + 21.1 * H)])] == ["inactivity"]


def test_learnt_limit_tightens_for_a_regular_resident() -> None:
    d = InactivityDetector(InactivityConfig(min_silences=5))
    for day in range(10):
        for hour in range(8, 20):
            d.update([Movement(timestamp=DAY0 + day * 24 * H + hour * H, subject="r1")])
    # silences of one hour, margin 1.5: 1.5 h rather than the 4 h default
    assert d.limit("r1", DAY0 + 10 * 24 * H + 12 * H) == 1.5 * H
    assert d.limit("nobody", DAY0 + 12 * H) == 4 * H


def test_late_movement_does_not_rewind() -> None:
    d = InactivityDetector()
    d.update([Movement(timestamp=DAY0 + 9 * H, subject="r1"),
              Movement(timestamp=DAY0 + 8 * H, subject="r1")])
    assert d.update([Clock(timestamp=DAY0 + 12.5 * H)]) == []


def test_seeded_week_finds_r2_at_pinned_time() -> None:
    found = _run(InactivityDetector(CONFIG), week_of_days(7))
    assert [f.subject for f in found] == ["r2"]
    # r2's last movement is shortly before 13:00 on day 7; its learnt limit is well under 4 h
    hours_after_midnight = (found[0].timestamp - (DAY0 + 6 * 24 * H)) / H
    assert 13.0 < hours_after_midnight < 17.0
    assert found[0].limit < 4 * H


def test_restore_continues_identically() -> None:
    batches = week_of_days(3)
    straight = _run(InactivityDetector(CONFIG), batches)
    d = InactivityDetector(CONFIG)
    head = _run(d, batches[:400])
    again = InactivityDetector.restore(json.loads(json.dumps(d.snapshot())))
    assert head + _run(again, batches[400:]) == straight


@pytest.mark.parametrize("module", ['detection.inactivity'])
def test_docstring_examples_run(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0
    assert result.failed == 0
