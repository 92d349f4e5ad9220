"""Registers the inactivity detector with the shared detector checks."""

from __future__ import annotations

import numpy as np

from detection.inactivity import Clock, InactivityConfig, InactivityDetector, Movement, Presence
from tests.detection.checks import DetectorCase

MIDNIGHT_SHANGHAI = 1_699_977_600.0  # 2023-11-15 00:00 +08:00


def week_of_days(seed: int, days: int = 7) -> list[list[Movement | Presence | Clock]]:
    """Two residents moving every ~20–60 min from 07:00 to 22:00; r2 stops moving on the last
    afternoon at 13:00. One batch per 15 minutes, each ending with a clock tick."""
    rng = np.random.default_rng(seed)
    batches: list[list[Movement | Presence | Clock]] = []
    next_move = {"r1": MIDNIGHT_SHANGHAI + 7 * 3600.0, "r2": MIDNIGHT_SHANGHAI + 7 * 3600.0}
    for step in range(days * 96):
        t0 = MIDNIGHT_SHANGHAI + 900.0 * step
        batch: list[Movement | Presence | Clock] = []
        for subject in ("r1", "r2"):
            while next_move[subject] < t0 + 900.0:
                t = next_move[subject]
                hour = ((t - MIDNIGHT_SHANGHAI) % 86400.0) / 3600.0
                stopped = subject == "r2" and t > MIDNIGHT_SHANGHAI + (days - 1) * 86400 + 13 * 3600
                if 7.0 <= hour < 22.0 and not stopped:
                    batch.append(Movement(timestamp=t, subject=subject))
                    next_move[subject] = t + float(rng.uniform(1200, 3600))
                else:
                    next_move[subject] = t + 900.0
        batch.append(Clock(timestamp=t0 + 900.0))
        batches.append(batch)
    return batches


CONFIG = InactivityConfig(min_silences=5)

CASES = [
    DetectorCase(
        name="inactivity",
        make=lambda: InactivityDetector(CONFIG),
        restore=InactivityDetector.restore,
        stream=week_of_days,
        warmup=96,
    ),
]

__all__ = ["CASES", "MIDNIGHT_SHANGHAI", "Presence", "week_of_days"]
