"""A wearer's day and heart rate, as the simulated wearables produce them.

The wearable (:func:`simulators.devices.wearable_second`) draws its activity and heart rate
from these functions, so a test can replay days of a wearer's heart rate at the telemetry
cadence without synthesising every second of accelerometer data. Heart rate is a base rate, a
daily rhythm lowest before dawn (±6 bpm), +15 bpm while walking and Gaussian noise of 2 bpm.

>>> beats = heart_rate_stream(seed=1, start=0.0, seconds=60.0)
>>> [(t, hr) for t, hr, _ in beats][:2]
[(0.0, 70), (10.0, 66)]
"""

from __future__ import annotations

import math

import numpy as np

LOCAL_UTC_OFFSET_H = 8  # China Standard Time, for the elders' daily rhythm
DAY_ACTIVITIES = ("standing", "walking", "sitting", "lying")
DAY_WEIGHTS = (0.25, 0.25, 0.4, 0.1)
WALKING_BPM = 15.0


def local_hour(t: float) -> float:
    return ((t / 3600.0) + LOCAL_UTC_OFFSET_H) % 24.0


def next_activity(t: float, rng: np.random.Generator) -> tuple[str, float]:
    """The activity that starts at ``t`` and when it ends: asleep at night, by day a draw."""
    hour = local_hour(t)
    night = hour >= 22 or hour < 6
    activity = "sleeping" if night else str(rng.choice(DAY_ACTIVITIES, p=DAY_WEIGHTS))
    return activity, t + float(rng.uniform(30, 600))


def heart_rate(base: float, t: float, moving: bool, rng: np.random.Generator) -> float:
    rhythm = 6.0 * math.sin((local_hour(t) - 10.0) / 24.0 * 2 * math.pi)  # lowest before dawn
    return base + rhythm + (WALKING_BPM if moving else 0.0) + float(rng.normal(0, 2.0))


def ramp(t: float, change: tuple[float, float, float] | None) -> float:
    """A slow drift (from, to, total): 0 before ``from``, rising linearly to ``total`` at ``to``
    and held there.

    >>> [ramp(t, (10.0, 20.0, 4.0)) for t in (0.0, 15.0, 30.0)]
    [0.0, 2.0, 4.0]
    """
    if change is None or t <= change[0]:
        return 0.0
    begin, end, total = change
    return total * min(1.0, (t - begin) / (end - begin))


def heart_rate_stream(
    *, seed: int, start: float, seconds: float, every: float = 10.0, base: float = 72.0,
    shift: tuple[float, float, float] | None = None,
    drift: tuple[float, float, float] | None = None,
) -> list[tuple[float, int, bool]]:
    """(time, heart rate as the watch rounds it, walking) every ``every`` seconds. ``shift`` is
    (from, to, bpm): a sustained change injected between two times, whatever the activity;
    ``drift`` is (from, to, bpm): a slow change (:func:`ramp`), e.g. resting rate +12 bpm over
    two days. Neither draws from the generator: the same seed gives the same noise and days."""
    rng = np.random.default_rng(seed)
    activity, until = "standing", start
    out = []
    for i in range(int(seconds // every)):
        t = start + every * i
        if t >= until:
            activity, until = next_activity(t, rng)
        moving = activity == "walking"
        hr = heart_rate(base, t, moving, rng) + ramp(t, drift)
        if shift is not None and shift[0] <= t < shift[1]:
            hr += shift[2]
        out.append((t, round(hr), moving))
    return out


def spo2_stream(
    *, seed: int, start: float, seconds: float, every: float = 10.0,
    drift: tuple[float, float, float] | None = None,
) -> list[tuple[float, int]]:
    """(time, SpO2 in % as the watch reports it) every ``every`` seconds, drawn as
    :func:`simulators.devices.wearable_second` draws it (97 ± 1, whole percent, at most 100);
    ``drift`` is (from, to, points), see :func:`ramp`."""
    rng = np.random.default_rng(seed)
    return [(t, int(min(100, round(float(rng.normal(97, 1)) + ramp(t, drift)))))
            for t in (start + every * i for i in range(int(seconds // every)))]
