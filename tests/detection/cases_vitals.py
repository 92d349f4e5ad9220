"""Registers the vitals detector with the shared detector checks."""

from __future__ import annotations

import numpy as np

from detection.vitals import VitalReading, VitalsConfig, VitalsDetector
from tests.detection.checks import DetectorCase

START = 1_700_000_000.0


def two_residents(seed: int, days: int = 3) -> list[list[VitalReading]]:
    """Heart rate and SpO2 every 10 minutes for two residents; r2's SpO2 falls on day 3."""
    rng = np.random.default_rng(seed)
    batches = []
    for step in range(days * 144):
        t = START + 600.0 * step
        hour = (step % 144) / 6.0
        batch = []
        for subject in ("r1", "r2"):
            hr = 65.0 + 8.0 * np.sin(2 * np.pi * hour / 24) + rng.normal(0, 2)
            spo2 = 96.0 + rng.normal(0, 0.7)
            if subject == "r2" and step >= 2 * 144 + 60:
                spo2 -= 8.0
            batch.append(VitalReading(timestamp=t, subject=subject, vital="heart_rate",
                                      value=float(hr), worn=rng.random() > 0.05))
            batch.append(VitalReading(timestamp=t, subject=subject, vital="spo2",
                                      value=float(spo2)))
        batches.append(batch)
    return batches


CONFIG = VitalsConfig(baseline_min_count=20)

CASES = [
    DetectorCase(
        name="vitals",
        make=lambda: VitalsDetector(CONFIG),
        restore=VitalsDetector.restore,
        stream=two_residents,
        warmup=60,
    ),
]
