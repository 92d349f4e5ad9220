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


def _scored(t: float, score: float | None, subject: str = "r1") -> Finding:
    """A vitals ``deviation`` as the welfare stage hands it over: a plain z-score one, or an
    unusual pattern with its anomaly score (ranked by it)."""
    data: dict[str, object] = {"finding": "deviation", "t": t}
    if score is not None:
        data["anomaly_score"] = score
    return Finding(timestamp=t, subject=subject, kind="deviation", detail=f"at {t:g}", data=data,
                   severity=score or 0.0)


def test_regression_a_later_scored_finding_is_shown_not_only_counted() -> None:
    """A z-score deviation passed, and the unusual-pattern deviation 2 minutes later was held:
    its summary counted it but showed nothing of it (the anomaly score was lost)."""
    c = FlapControl(hold=600.0)
    assert [m.data for m in c.update([_scored(0, None), _scored(120, 0.83)])] == [
        {"finding": "deviation", "t": 0}]
    [summary] = c.update([Clock(timestamp=600.0)])
    assert (summary.count, summary.timestamp, summary.first_timestamp) == (1, 120.0, 120.0)
    assert summary.data == {"finding": "deviation", "t": 120, "anomaly_score": 0.83}
    assert (summary.detail, summary.severity) == ("at 120", 0.83)


def test_the_most_severe_held_finding_is_shown_and_the_latest_of_equals() -> None:
    c = FlapControl(hold=600.0)
    c.update([_scored(0, None), _scored(60, 0.7), _scored(120, 0.9), _scored(180, None),
              _scored(240, 0.9), _scored(300, 0.8)])
    [summary] = c.update([Clock(timestamp=700.0)])
    assert summary.count == 5  # nothing is lost from the count
    assert summary.data["t"] == 240  # 0.9 twice: the later one
    c.update([_scored(1000, None), _scored(1100, None), _scored(1200, None)])
    [plain] = c.update([Clock(timestamp=1700.0)])
    assert (plain.count, plain.data["t"]) == (2, 1200)  # all equal: the latest


def test_a_pass_after_the_hold_shows_a_held_finding_more_severe_than_itself() -> None:
    c = FlapControl(hold=600.0)
    c.update([_scored(0, None), _scored(100, 0.8)])
    [passed] = c.update([_scored(650, None)])
    assert (passed.timestamp, passed.count, passed.first_timestamp) == (650.0, 2, 100.0)
    assert passed.data["anomaly_score"] == 0.8
    [again] = c.update([_scored(1300, 0.5)])  # nothing held: it shows itself
    assert (again.count, again.data["t"]) == (1, 1300)


def test_sos_and_smoke_pass_with_their_own_details_whatever_is_held() -> None:
    c = FlapControl(hold=600.0)
    press = Finding(timestamp=5.0, subject="r1", kind="sos", data={"button": "b1"}, severity=0.0)
    c.update([_scored(0, 0.9, subject="r1"), _scored(2, 0.95, subject="r1")])
    out = c.update([press, press, Finding(timestamp=6.0, subject="r1", kind="smoke",
                                          data={"room": "203"})])
    assert [(m.kind, m.count, m.data) for m in out] == [
        ("sos", 1, {"button": "b1"}), ("sos", 1, {"button": "b1"}), ("smoke", 1, {"room": "203"})]


def test_regression_snapshot_from_before_data_and_severity_restores() -> None:
    """Runs in stored snapshots have five fields (no data, no severity)."""
    old = {"hold": 600.0, "never_held": ["smoke", "sos"],
           "runs": {"r1|deviation": [0.0, 2, 60.0, 120.0, "z +6"]}}
    c = FlapControl.restore(old)
    [summary] = c.update([Clock(timestamp=700.0)])
    assert (summary.count, summary.detail, summary.data) == (2, "z +6", {})
    c.update([_scored(800, None), _scored(900, 0.8)])
    again = FlapControl.restore(json.loads(json.dumps(c.snapshot())))
    [summary] = again.update([Clock(timestamp=1400.0)])
    assert summary.data["anomaly_score"] == 0.8


@pytest.mark.parametrize("module", ['detection.flap'])
def test_docstring_examples_run(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0
    assert result.failed == 0
