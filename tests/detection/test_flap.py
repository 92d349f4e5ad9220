"""Flap control: merging with counts; SOS and smoke are never held."""

from __future__ import annotations

import doctest
import importlib
import json

import pytest

from detection.flap import Clock, Finding, FlapControl, Merged
from tests.detection.cases_flap import flapping


def _f(t: float, kind: str = "no_checkin", subject: str = "d1") -> Finding:
    return Finding(timestamp=t, subject=subject, kind=kind)


def _run(c: FlapControl, batches: list[list[Finding | Clock]]) -> list[Merged]:
    return [m for b in batches for m in c.update(b)]


def test_repeats_within_hold_merge_into_the_next_pass() -> None:
    c = FlapControl(hold=600.0)
    out = c.update([_f(t) for t in (0, 100, 200, 300, 650, 700)])
    assert [(m.timestamp, m.count, m.first_timestamp) for m in out] == [
        (0.0, 1, 0.0), (650.0, 4, 100.0)]


def test_clock_closes_a_quiet_run_with_its_count() -> None:
    c = FlapControl(hold=600.0)
    c.update([_f(0), _f(100), _f(200)])
    assert c.update([Clock(timestamp=500.0)]) == []
    out = c.update([Clock(timestamp=600.0)])
    assert [(m.timestamp, m.count, m.first_timestamp) for m in out] == [(200.0, 2, 100.0)]
    # the run is over: the next finding passes at once as a fresh one
    assert [m.count for m in c.update([_f(610)])] == [1]


def test_subjects_and_kinds_are_separate_runs() -> None:
    c = FlapControl(hold=600.0)
    out = c.update([_f(0), _f(1, subject="d2"), _f(2, kind="low_battery"), _f(3)])
    assert [(m.subject, m.kind) for m in out] == [
        ("d1", "no_checkin"), ("d2", "no_checkin"), ("d1", "low_battery")]


def test_sos_and_smoke_are_never_held_merged_or_delayed() -> None:
    c = FlapControl(hold=600.0)
    presses = [_f(t, kind="sos", subject="r1") for t in (0, 1, 2)]
    smoke = [_f(t, kind="smoke", subject="room-203") for t in (3, 4)]
    out = c.update(presses + smoke)
    assert [(m.kind, m.timestamp, m.count) for m in out] == [
        ("sos", 0.0, 1), ("sos", 1.0, 1), ("sos", 2.0, 1), ("smoke", 3.0, 1), ("smoke", 4.0, 1)]
    assert c.update([Clock(timestamp=10_000.0)]) == []


def test_nothing_is_lost_on_the_seeded_stream() -> None:
    batches = flapping(7)
    raw = [x for b in batches for x in b if isinstance(x, Finding)]
    merged = _run(FlapControl(), batches)
    for kind in ("low_battery", "sos", "smoke"):
        assert sum(m.count for m in merged if m.kind == kind) == sum(
            1 for f in raw if f.kind == kind)
    battery = [m for m in merged if m.kind == "low_battery"]
    raw_battery = [f for f in raw if f.kind == "low_battery"]
    # an hour of flapping: at most a pass and a summary per 10-minute hold
    assert len(raw_battery) >= 20
    assert len(battery) <= 12
    emergencies = [m for m in merged if m.kind in ("sos", "smoke")]
    assert [m.timestamp for m in emergencies] == [f.timestamp for f in raw
                                                  if f.kind in ("sos", "smoke")]


def test_restore_continues_identically() -> None:
    batches = flapping(3)
    straight = _run(FlapControl(), batches)
    c = FlapControl()
    head = _run(c, batches[:60])
    again = FlapControl.restore(json.loads(json.dumps(c.snapshot())))
    assert head + _run(again, batches[60:]) == straight


@pytest.mark.parametrize("module", ['detection.flap'])
def test_docstring_examples_run(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0
    assert result.failed == 0
