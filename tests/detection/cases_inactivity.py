"""Registers the inactivity detector with the shared detector checks."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from detection.inactivity import Clock, InactivityConfig, InactivityDetector, Movement, Presence
from detection.routine import DAY_SCORER, RoutineConfig
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


ROUTINE = (0, 0, 0, 0, 0, 0, 0.05, 0.3, 0.4, 0.35, 0.3, 0.25, 0.2, 0.1, 0.1, 0.25, 0.3, 0.3,
           0.35, 0.3, 0.2, 0.1, 0.02, 0)
"""Chance that r1 moves in a given minute of each local hour: up at seven, a quiet afternoon."""


def routine_days(seed: int, days: int = 12,
                 odd: dict[int, float] | None = None) -> list[list[Movement | Presence | Clock]]:
    """r1's movements minute by minute following :data:`ROUTINE` (each day 70–130 % as busy);
    on the last day the hours in ``odd`` have their own chance (default: up from 01:00 to
    04:00). One batch per 15 minutes, each ending with a clock tick."""
    odd = {1: 0.3, 2: 0.3, 3: 0.3} if odd is None else odd
    rng = np.random.default_rng(seed)
    batches: list[list[Movement | Presence | Clock]] = []
    busy = 1.0
    for step in range(days * 96):
        t0 = MIDNIGHT_SHANGHAI + 900.0 * step
        day, hour = divmod(step // 4, 24)
        if step % 96 == 0:
            busy = float(rng.uniform(0.7, 1.3))
        chance = odd.get(hour, ROUTINE[hour]) if day == days - 1 else ROUTINE[hour] * busy
        batch: list[Movement | Presence | Clock] = [
            Movement(timestamp=t0 + 60.0 * m + 30.0, subject="r1")
            for m in range(15) if rng.random() < chance]
        batch.append(Clock(timestamp=t0 + 900.0))
        batches.append(batch)
    return batches


CONFIG = InactivityConfig(min_silences=5)
# the day shape scores from day 5 (3 days for the usual hours, 2 of warm-up) instead of day 7
ROUTINE_CONFIG = InactivityConfig(
    min_silences=5, routine=RoutineConfig(scorer=replace(DAY_SCORER, warmup=48)))

CASES = [
    DetectorCase(
        name="inactivity",
        make=lambda: InactivityDetector(CONFIG),
        restore=InactivityDetector.restore,
        stream=week_of_days,
        warmup=96,
    ),
    DetectorCase(
        name="inactivity_routine",
        make=lambda: InactivityDetector(ROUTINE_CONFIG),
        restore=InactivityDetector.restore,
        stream=routine_days,
        warmup=3 * 96,  # the first learnt limits speak on day 4
    ),
]

__all__ = ["CASES", "MIDNIGHT_SHANGHAI", "ROUTINE_CONFIG", "Presence", "routine_days",
           "week_of_days"]
