"""Registers the vitals detector with the shared detector checks."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from detection.drift import DriftConfig
from detection.vitals import VITALS_ANOMALY, VitalReading, VitalsConfig, VitalsDetector
from simulators.vitals import heart_rate_stream
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


def heart_rate_at_10_s(seed: int, hours: float = 14.0) -> list[list[VitalReading]]:
    """A simulated wearer's heart rate every 10 s, +20 bpm from hour 11 to 13; batches of 5 min."""
    shift = (START + 11 * 3600.0, START + 13 * 3600.0, 20.0)
    beats = heart_rate_stream(seed=seed, start=START, seconds=hours * 3600.0, shift=shift)
    readings = [VitalReading(timestamp=t, subject="r1", vital="heart_rate", value=float(hr),
                             at_rest=not walking) for t, hr, walking in beats]
    return [readings[i : i + 30] for i in range(0, len(readings), 30)]


def slow_rise(seed: int, days: int = 14) -> list[list[VitalReading]]:
    """A simulated wearer's heart rate every 2 minutes, resting rate +12 bpm over two
    days from 00:00 on day 12, and one more day at +12; batches of an hour."""
    day = 86400.0
    midnight = 1_699_977_600.0  # 2023-11-15 00:00 in Shanghai
    beats = heart_rate_stream(seed=seed, start=midnight, seconds=days * day, every=120.0,
                              drift=(midnight + 11 * day, midnight + 13 * day, 12.0))
    readings = [VitalReading(timestamp=t, subject="r1", vital="heart_rate", value=float(hr),
                             at_rest=not walking) for t, hr, walking in beats]
    return [readings[i : i + 30] for i in range(0, len(readings), 30)]


CONFIG = VitalsConfig(baseline_min_count=20)
# the unusual-pattern path on 2-minute periods, so that hours (not days) exercise it
PATTERN_CONFIG = VitalsConfig(
    anomaly_every=120.0, anomaly_min_readings=5,
    anomaly=replace(VITALS_ANOMALY, warmup=60, memory=150, history=150, report_at=2.0))

# the drift monitor on readings every 2 minutes: a 10-minute period needs 3 of them
DRIFT_CONFIG = VitalsConfig(anomaly_vitals=(), drift=DriftConfig(part_min_readings=3))

CASES = [
    DetectorCase(
        name="vitals",
        make=lambda: VitalsDetector(CONFIG),
        restore=VitalsDetector.restore,
        stream=two_residents,
        warmup=60,
    ),
    DetectorCase(
        name="vitals_pattern",
        make=lambda: VitalsDetector(PATTERN_CONFIG),
        restore=VitalsDetector.restore,
        stream=heart_rate_at_10_s,
        warmup=24,  # the first 2 hours: 60 periods of warm-up
    ),
    DetectorCase(
        name="vitals_drift",
        make=lambda: VitalsDetector(DRIFT_CONFIG),
        restore=VitalsDetector.restore,
        stream=slow_rise,
        warmup=240,  # days are judged from the eleventh
    ),
]
