"""Registers flap control with the shared detector checks."""

from __future__ import annotations

import numpy as np

from detection.flap import Clock, Finding, FlapControl
from tests.detection.checks import DetectorCase


def flapping(seed: int, minutes: int = 240) -> list[list[Finding | Clock]]:
    """A battery warning flapping every few minutes for an hour (its level falling, lower is
    more severe), scattered SOS presses and smoke alarms, and a clock tick each minute."""
    rng = np.random.default_rng(seed)
    batches: list[list[Finding | Clock]] = []
    for minute in range(minutes):
        t = 60.0 * minute
        batch: list[Finding | Clock] = []
        if 30 <= minute < 90 and rng.random() < 0.4:
            level = 20 - minute // 10
            batch.append(Finding(timestamp=t, subject="btn-1", kind="low_battery",
                                 data={"battery_pct": level}, severity=20.0 - level))
        if rng.random() < 0.03:
            batch.append(Finding(timestamp=t + 1, subject="r1", kind="sos"))
        if rng.random() < 0.02:
            batch.append(Finding(timestamp=t + 2, subject="room-203", kind="smoke"))
        batch.append(Clock(timestamp=t + 59))
        batches.append(batch)
    return batches


CASES = [
    DetectorCase(
        name="flap",
        make=FlapControl,
        restore=FlapControl.restore,
        stream=flapping,
    ),
]
