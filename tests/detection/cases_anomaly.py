"""Registers the streaming anomaly scorer with the shared detector checks."""

from __future__ import annotations

import numpy as np

from detection.anomaly import AnomalyConfig, AnomalyScorer, Sample
from tests.detection.checks import DetectorCase

BATCH = 20


def seasonal_with_spike(seed: int, n: int = 800, spike_at: int = 600) -> list[list[Sample]]:
    """A noisy 48-sample cycle every 5 minutes, with one spike; batches of 20 samples."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    values = 20.0 + 5.0 * np.sin(2 * np.pi * t / 48) + rng.normal(0.0, 0.5, n)
    values[spike_at] += 40.0
    samples = [Sample(timestamp=1.4e9 + 300.0 * i, value=float(v)) for i, v in enumerate(values)]
    return [samples[i : i + BATCH] for i in range(0, n, BATCH)]


DAY_SAMPLES = 288  # 5-minute samples


def daily_spikes(*, first_day: int = 1, big_day: int | None = None) -> list[Sample]:
    """Five days of a calm 4-hour cycle every 5 minutes (from midnight UTC) with a spike at
    03:00 on every day from ``first_day`` (0-based), three times as large on ``big_day``."""
    rng = np.random.default_rng(1)
    n = 5 * DAY_SAMPLES
    t = np.arange(n)
    values = 20.0 + 2.0 * np.sin(2 * np.pi * t / 48) + rng.normal(0.0, 0.5, n)
    for day in range(first_day, 5):
        values[day * DAY_SAMPLES + 36] += 90.0 if day == big_day else 30.0
    midnight = 1.4e9 - 1.4e9 % 86_400
    return [Sample(timestamp=midnight + 300.0 * i, value=float(v)) for i, v in enumerate(values)]


# stricter than the NAB-tuned default, which reports the top ~1 % of plain noise
CONFIG = AnomalyConfig(warmup=150, memory=500, history=500, report_at=1.5)

CASES = [
    DetectorCase(
        name="anomaly",
        make=lambda: AnomalyScorer(CONFIG),
        restore=AnomalyScorer.restore,
        stream=seasonal_with_spike,
        warmup=150 // BATCH,
    ),
]
