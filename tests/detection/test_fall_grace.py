"""The grace period state machine: alarm unless the wearer recovers or cancels in time."""

from __future__ import annotations

import json

import numpy as np
import pytest

from detection.fall import AccelWindow, FallDetector, FallFinding
from detection.fall_grace import FallAlarm, FallGrace, GraceConfig, LoggedFall, Outcome
from simulators.motion import mount, synth_activity, synth_fall

HZ = 50.0
T0 = 1_700_000_000.0


def windows(x: np.ndarray, device: str = "w1", t0: float = T0) -> list[AccelWindow]:
    n = int(HZ)
    return [
        AccelWindow(device_id=device, t0=t0 + i, hz=HZ, accel=x[i * n : (i + 1) * n])
        for i in range(len(x) // n)
    ]


def run(
    grace: FallGrace,
    wins: list[AccelWindow],
    *,
    cancel_at: float | None = None,
    detector: FallDetector | None = None,
) -> tuple[list[FallFinding], list[Outcome]]:
    """Drive detector and grace period together, one second at a time, like the platform."""
    det = detector or FallDetector()
    findings: list[FallFinding] = []
    out: list[Outcome] = []
    for w in wins:
        now = w.t0 + 1.0
        found = det.update([w])
        findings += found
        cancels = [(w.device_id, now)] if cancel_at is not None and now == cancel_at else []
        out += grace.step(now, windows=[w], findings=found, cancels=cancels)
    return findings, out


def fall(seed: int = 0, *, gets_up: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rot = mount(rng)
    lead = synth_activity("standing", 10.0, HZ, rng, rot=rot)
    x, _ = synth_fall(HZ, rng, gets_up=gets_up, rot=rot, after_s=40.0)
    return np.concatenate([lead, x])


def finding(device: str = "w1", impact: float = T0 + 20.0) -> FallFinding:
    return FallFinding(
        device_id=device,
        impact_ts=impact,
        detected_ts=impact + 1.5,
        confidence=0.9,
        peak_g=4.0,
        posture_change_deg=85.0,
        stillness=0.95,
        pre_gravity=(0.0, 0.0, 1.0),
    )


def test_lying_still_becomes_an_alarm_when_grace_ends_with_its_snippet() -> None:
    findings, out = run(FallGrace(), windows(fall(0)))
    assert len(findings) == 1
    assert len(out) == 1
    alarm = out[0]
    assert isinstance(alarm, FallAlarm)
    impact = findings[0].impact_ts
    assert alarm.alarmed_ts == pytest.approx(impact + 30.0, abs=1.0)
    assert alarm.alarmed_ts >= impact + 30.0
    # 10 s before to 20 s after the impact, every sample, in order.
    assert alarm.snippet.shape == (round(30 * HZ), 3)
    assert alarm.snippet_t[0] == pytest.approx(impact - 10.0, abs=1 / HZ)
    assert alarm.snippet_t[-1] == pytest.approx(impact + 20.0, abs=1 / HZ)
    assert np.all(np.diff(alarm.snippet_t) > 0)
    assert np.linalg.norm(alarm.snippet, axis=1).max() == pytest.approx(findings[0].peak_g)


def test_getting_up_and_walking_on_is_logged_not_alarmed() -> None:
    findings, out = run(FallGrace(), windows(fall(3, gets_up=True)))
    assert len(findings) == 1
    assert len(out) == 1
    logged = out[0]
    assert isinstance(logged, LoggedFall)
    assert logged.reason == "recovered"
    assert logged.resolved_ts < findings[0].impact_ts + 30.0


def test_cancel_inside_the_grace_period_is_logged() -> None:
    wins = windows(fall(0))
    cancel_at = T0 + 30.0
    _findings, out = run(FallGrace(), wins, cancel_at=cancel_at)
    assert out == [LoggedFall(finding=_findings[0], resolved_ts=cancel_at, reason="cancelled")]


def test_cancel_after_the_grace_period_does_not_undo_the_alarm() -> None:
    grace = FallGrace()
    f = finding()
    assert grace.step(f.detected_ts, findings=[f]) == []
    out = grace.step(f.impact_ts + 31.0, cancels=[("w1", f.impact_ts + 31.0)])
    assert [type(o) for o in out] == [FallAlarm]


def test_grace_is_configurable_per_resident() -> None:
    grace = FallGrace(GraceConfig(grace_s=30.0))
    grace.set_grace("slow", 60.0)
    a, b = finding("w1"), finding("slow")
    grace.step(a.detected_ts, findings=[a, b])
    first = grace.step(a.impact_ts + 30.0)
    assert [o.finding.device_id for o in first] == ["w1"]
    assert grace.step(a.impact_ts + 59.0) == []
    assert [o.finding.device_id for o in grace.step(a.impact_ts + 60.0)] == ["slow"]


def test_short_grace_alarms_at_once_with_what_has_streamed() -> None:
    grace = FallGrace(GraceConfig(grace_s=5.0))
    _findings, out = run(grace, windows(fall(0)))
    alarm = out[0]
    assert isinstance(alarm, FallAlarm)
    assert alarm.snippet_t[-1] <= alarm.alarmed_ts
    assert alarm.snippet_t[-1] - alarm.finding.impact_ts < 6.0


def test_standing_still_after_the_fall_is_not_recovery() -> None:
    """Upright but not moving (e.g. propped against a wall) still alarms."""
    grace = FallGrace()
    f = finding()
    grace.step(f.detected_ts, findings=[f])
    still = synth_activity("standing", 40.0, HZ, np.random.default_rng(1))
    out: list[Outcome] = []
    for w in windows(still, t0=f.impact_ts + 2.0):
        out += grace.step(w.t0 + 1.0, windows=[w])
    assert [type(o) for o in out] == [FallAlarm]


def test_no_pre_fall_reference_means_only_cancel_helps() -> None:
    grace = FallGrace()
    f = FallFinding(
        device_id="w1",
        impact_ts=T0,
        detected_ts=T0 + 1.5,
        confidence=0.9,
        peak_g=4.0,
        posture_change_deg=85.0,
        stillness=0.9,
    )
    grace.step(f.detected_ts, findings=[f])
    walk = synth_activity("walking", 40.0, HZ, np.random.default_rng(1))
    out: list[Outcome] = []
    for w in windows(walk, t0=T0 + 2.0):
        out += grace.step(w.t0 + 1.0, windows=[w])
    assert [type(o) for o in out] == [FallAlarm]


def test_second_finding_while_open_is_ignored() -> None:
    grace = FallGrace()
    a = finding(impact=T0)
    b = finding(impact=T0 + 5.0)
    grace.step(T0 + 2.0, findings=[a])
    grace.step(T0 + 7.0, findings=[b])
    assert grace.pending() == [a]


def test_snapshot_restore_mid_grace_gives_the_same_outcome() -> None:
    wins = windows(fall(0))
    det, straight_grace = FallDetector(), FallGrace()
    _, straight = run(straight_grace, wins, detector=det)
    det2, grace = FallDetector(), FallGrace()
    half = 25  # after the fall (impact ~16 s), inside the grace period
    _f1, first = run(grace, wins[:half], detector=det2)
    assert grace.pending()
    restored = FallGrace.restore(json.loads(json.dumps(grace.snapshot())))
    _f2, second = run(restored, wins[half:], detector=det2)
    assert len(first + second) == len(straight) == 1
    a, b = straight[0], (first + second)[0]
    assert isinstance(a, FallAlarm)
    assert isinstance(b, FallAlarm)
    assert a.finding == b.finding
    np.testing.assert_array_equal(a.snippet, b.snippet)
    np.testing.assert_array_equal(a.snippet_t, b.snippet_t)


def test_history_is_bounded() -> None:
    grace = FallGrace()
    walk = synth_activity("walking", 120.0, HZ, np.random.default_rng(2))
    for w in windows(walk):
        grace.step(w.t0 + 1.0, windows=[w])
    kept = grace.snapshot()["devices"]["w1"]["windows"]
    assert len(kept) <= 16  # snippet_before_s + margin, in 1 s windows


def test_does_not_keep_a_reference_to_the_callers_buffer() -> None:
    grace = FallGrace()
    buf = np.ones((50, 3), np.float32)
    grace.step(T0 + 1.0, windows=[AccelWindow(device_id="w1", t0=T0, hz=HZ, accel=buf)])
    buf[:] = 9.0
    f = finding(impact=T0 + 0.5)
    grace.step(T0 + 2.0, findings=[f])
    alarm = grace.step(T0 + 31.0)[0]
    assert isinstance(alarm, FallAlarm)
    assert float(alarm.snippet.max()) == 1.0
