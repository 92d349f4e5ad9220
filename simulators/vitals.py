"""A wearer's day and heart rate, as the simulated wearables produce them.

The wearable (:func:`simulators.devices.wearable_second`) draws its activity and heart rate
from these functions, so a test can replay days of a wearer's heart rate at the telemetry
cadence without synthesising every second of accelerometer data. Heart rate is a base rate, a
daily rhythm lowest before dawn (±6 bpm), +15 bpm while walking and Gaussian noise of 2 bpm.
On top of that a wearer has better and worse days and hours (:class:`DayToDay`,
:class:`WearerDays`): the district simulation and the welfare bench give every wearer one, the
seeded streams below only when asked, so their pinned positions stay as they were written.

>>> beats = heart_rate_stream(seed=1, start=0.0, seconds=60.0)
>>> [(t, hr) for t, hr, _ in beats][:2]
[(0.0, 70), (10.0, 66)]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

LOCAL_UTC_OFFSET_H = 8  # China Standard Time, for the elders' daily rhythm
DAY_ACTIVITIES = ("standing", "walking", "sitting", "lying")
DAY_WEIGHTS = (0.25, 0.25, 0.4, 0.1)
WALKING_BPM = 15.0
STREAM_DAYS_KEY = 7211
"""Second word of the seeded streams' :class:`WearerDays` key (the first is the seed), so their
day effects are drawn from a generator no other draw of that seed uses."""


def local_hour(t: float) -> float:
    return ((t / 3600.0) + LOCAL_UTC_OFFSET_H) % 24.0


def local_day(t: float) -> int:
    """The local day ``t`` falls on (days since the epoch, at local midnight)."""
    return int(((t / 3600.0) + LOCAL_UTC_OFFSET_H) // 24.0)


def next_activity(t: float, rng: np.random.Generator) -> tuple[str, float]:
    """The activity that starts at ``t`` and when it ends: asleep at night, by day a draw."""
    hour = local_hour(t)
    night = hour >= 22 or hour < 6
    activity = "sleeping" if night else str(rng.choice(DAY_ACTIVITIES, p=DAY_WEIGHTS))
    return activity, t + float(rng.uniform(30, 600))


def heart_rate(base: float, t: float, moving: bool, rng: np.random.Generator) -> float:
    rhythm = 6.0 * math.sin((local_hour(t) - 10.0) / 24.0 * 2 * math.pi)  # lowest before dawn
    return base + rhythm + (WALKING_BPM if moving else 0.0) + float(rng.normal(0, 2.0))


@dataclass(frozen=True, slots=True, kw_only=True)
class DayToDay:
    """How much a wearer's vitals vary from day to day and hour to hour, beyond each reading's
    own noise: a day effect shared by every hour of a waking day (from ``day_starts_h`` local,
    when the simulated wearers get up, to the same hour the next morning) and an AR(1) hour
    effect within it (correlation ``hour_rho`` from one hour to the next).

    Heart rate: Quer et al. (PLoS ONE 2020, 92,457 wearers of a wrist tracker) find daily
    resting heart rate stable for most people, with 20 % having a week in which it moved by
    10 bpm or more; ten adults aged 61 ± 12 with chest ECG show a between-day coefficient of
    variation of resting heart rate of 5–6 % (Digital Health 2025, doi
    10.1177/20552076251367506), about 3 bpm at these wearers' 72. Hence a day effect of 3 bpm.
    The hour effects (2 bpm, correlation 0.6) and SpO2's 0.5 % (half the simulated reading
    noise) are our assumptions; no source was found for them.
    """

    hr_day_sd: float = 3.0
    hr_hour_sd: float = 2.0
    spo2_day_sd: float = 0.5
    spo2_hour_sd: float = 0.5
    hour_rho: float = 0.6
    day_starts_h: float = 6.0


ORDINARY_DAYS = DayToDay()
"""The spreads above: what the district simulation gives every wearer."""


class WearerDays:
    """One wearer's day and hour effects (:class:`DayToDay`), heart rate in bpm and SpO2 in
    points, as a function of time. Each waking day's effects are drawn from a generator of their
    own, keyed by ``key`` and the day's number, so they do not depend on which times were asked
    for or in what order, and the wearer's other draws (activity, reading noise) are the ones
    they were without it.

    >>> days = WearerDays((1, 0), DayToDay())
    >>> days.offsets(3600.0) == days.offsets(3600.0 + 1800.0)  # the same local hour
    True
    >>> WearerDays((1, 0), DayToDay()).offsets(3600.0) == days.offsets(3600.0)
    True
    """

    __slots__ = ("_day", "_hr", "_key", "_spo2", "_spread")

    def __init__(self, key: Sequence[int], spread: DayToDay) -> None:
        self._key = [int(k) for k in key]
        self._spread = spread
        self._day: int | None = None
        self._hr = np.zeros(24)
        self._spo2 = np.zeros(24)

    def offsets(self, t: float) -> tuple[float, float]:
        """(heart rate, SpO2) to add to a reading taken at ``t``."""
        since = t / 3600.0 + LOCAL_UTC_OFFSET_H - self._spread.day_starts_h
        day = math.floor(since / 24.0)
        if day != self._day:
            self._draw(day)
        hour = int(since - 24.0 * day)
        return float(self._hr[hour]), float(self._spo2[hour])

    def apply(self, t: float, hr: float, spo2: float) -> tuple[float, float]:
        """A reading's heart rate and SpO2 at ``t`` with this wearer's effects added."""
        hr_effect, spo2_effect = self.offsets(t)
        return hr + hr_effect, spo2 + spo2_effect

    def _draw(self, day: int) -> None:
        s = self._spread
        rng = np.random.default_rng([*self._key, day])
        z = rng.standard_normal((2, 25))  # per vital: the day's effect, then 24 hours' shocks
        hours = np.empty((2, 24))
        hours[:, 0] = z[:, 1]  # the chain starts in its stationary distribution
        keep = math.sqrt(1.0 - s.hour_rho ** 2)
        for h in range(1, 24):
            hours[:, h] = s.hour_rho * hours[:, h - 1] + keep * z[:, h + 1]
        self._hr = s.hr_day_sd * z[0, 0] + s.hr_hour_sd * hours[0]
        self._spo2 = s.spo2_day_sd * z[1, 0] + s.spo2_hour_sd * hours[1]
        self._day = day


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
    drift: tuple[float, float, float] | None = None, days: DayToDay | None = None,
) -> list[tuple[float, int, bool]]:
    """(time, heart rate as the watch rounds it, walking) every ``every`` seconds. ``shift`` is
    (from, to, bpm): a sustained change injected between two times, whatever the activity;
    ``drift`` is (from, to, bpm): a slow change (:func:`ramp`), e.g. resting rate +12 bpm over
    two days; ``days`` adds the wearer's day and hour effects (:class:`WearerDays`, keyed by
    the seed). None of them draws from the generator: the same seed gives the same noise and
    activities."""
    rng = np.random.default_rng(seed)
    effects = WearerDays((seed, STREAM_DAYS_KEY), days) if days is not None else None
    activity, until = "standing", start
    out = []
    for i in range(int(seconds // every)):
        t = start + every * i
        if t >= until:
            activity, until = next_activity(t, rng)
        moving = activity == "walking"
        hr = heart_rate(base, t, moving, rng) + ramp(t, drift)
        if effects is not None:
            hr += effects.offsets(t)[0]
        if shift is not None and shift[0] <= t < shift[1]:
            hr += shift[2]
        out.append((t, round(hr), moving))
    return out


def spo2_stream(
    *, seed: int, start: float, seconds: float, every: float = 10.0,
    drift: tuple[float, float, float] | None = None, days: DayToDay | None = None,
) -> list[tuple[float, int]]:
    """(time, SpO2 in % as the watch reports it) every ``every`` seconds, drawn as
    :func:`simulators.devices.wearable_second` draws it (97 ± 1, whole percent, at most 100);
    ``drift`` is (from, to, points), see :func:`ramp`; ``days`` as for
    :func:`heart_rate_stream` (the SpO2 half of the effects, keyed by this seed)."""
    rng = np.random.default_rng(seed)
    effects = WearerDays((seed, STREAM_DAYS_KEY), days) if days is not None else None
    out = []
    for t in (start + every * i for i in range(int(seconds // every))):
        value = float(rng.normal(97, 1)) + ramp(t, drift)
        if effects is not None:
            value += effects.offsets(t)[1]
        out.append((t, saturation(value)))
    return out


def saturation(value: float) -> int:
    """SpO2 as a watch reports it: whole percent, at most 100."""
    return int(min(100, round(value)))
