"""Registers the fall detector with the shared detector checks (``checks.py``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from detection.fall import AccelWindow, FallDetector
from simulators.motion import mount, synth_activity, synth_fall, synth_sit_down_hard
from tests.detection.checks import DetectorCase, deep_equal

HZ = 50.0
T0 = 1_700_000_000.0


def _windows(device_id: str, x: np.ndarray, hz: float, t0: float) -> list[AccelWindow]:
    n = int(hz)
    return [
        AccelWindow(device_id=device_id, t0=t0 + i, hz=hz, accel=x[i * n : (i + 1) * n])
        for i in range(len(x) // n)
    ]


def fall_stream(seed: int) -> Sequence[list[AccelWindow]]:
    """Three devices at two rates, one batch per second: a fall, a hard sit-down, a quiet walk.

    Each stream opens with 4 s of standing so the detector's warm-up (1.5 s) has passed.
    """
    rng = np.random.default_rng(seed)
    rot = mount(rng)
    lead = synth_activity("standing", 4.0, HZ, rng, rot=rot)
    fall, _ = synth_fall(HZ, rng, rot=rot, after_s=14.0)
    sit = synth_sit_down_hard(100.0, rng, seconds=20.0)
    walk = synth_activity("walking", 20.0, 25.0, rng)
    streams = [
        _windows("fall", np.concatenate([lead, fall])[: int(24 * HZ)], HZ, T0),
        _windows("sit", np.concatenate([synth_activity("standing", 4, 100.0, rng), sit]), 100.0, T0),
        _windows("walk", walk, 25.0, T0),
    ]
    length = max(len(s) for s in streams)
    return [[s[i] for s in streams if i < len(s)] for i in range(length)]


CASES: list[DetectorCase] = [
    DetectorCase(
        name="fall",
        make=FallDetector,
        restore=FallDetector.restore,
        stream=fall_stream,
        warmup=2,
        expect_findings=True,
        same=deep_equal,
    ),
]
