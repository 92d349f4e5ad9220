"""Personal baselines: rolling robust statistics, EWMA, and a baseline per time of day.

* :class:`RollingRobust` keeps the last ``size`` values and gives their median and MAD (scaled by
  1.4826 so it estimates σ for normal data; Rousseeuw & Croux, "Alternatives to the median
  absolute deviation", JASA 1993).
* :class:`Ewma` is the exponentially weighted mean and variance (Finch, "Incremental calculation
  of weighted mean and variance", 2009): ``m += α (x - m)``, ``v = (1 - α)(v + α (x - m_old)²)``.
* :class:`TimeOfDayBaseline` keeps one :class:`RollingRobust` per hour-of-day bin in the
  resident's own time zone, so 3 a.m. is compared with earlier nights, not with the afternoon.
* :func:`moderated_spread` combines a spread learnt from few values with a prior one, each
  weighted by what it is worth (Smyth's moderated variance).
* :class:`PeriodMeans` reduces a stream to one value per period (e.g. 10 minutes, an hour): the
  interquartile mean of its readings, which one optical artefact cannot move.

>>> b = TimeOfDayBaseline(tz="Asia/Shanghai", bin_hours=4, size=50, min_count=3)
>>> for day in range(5):
...     b.learn(day * 86400.0, 60.0 + day)  # 08:00 in Shanghai, every day
>>> round(b.z(5 * 86400.0, 75.0), 2)  # (75 - 62) / (1.4826 * 1)
8.77
"""

from __future__ import annotations

import math
from collections import deque
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

MAD_TO_SIGMA = 1.4826


class RollingRobust:
    """Median and scaled MAD of the last ``size`` values."""

    def __init__(self, size: int) -> None:
        self._values: deque[float] = deque(maxlen=size)

    def add(self, x: float) -> None:
        self._values.append(x)

    @property
    def count(self) -> int:
        return len(self._values)

    def values(self) -> list[float]:
        """The values kept, oldest first."""
        return list(self._values)

    # Plain sorting, not numpy: for the few hundred values kept it is several times faster
    # than building an array per call (the vitals check asks for both on every reading), and
    # gives the same numbers (the middle value, or the mean of the middle two).
    def median(self) -> float:
        return _median(sorted(self._values))

    def mad(self) -> float:
        return self.median_mad()[1]

    def median_mad(self) -> tuple[float, float]:
        """Both at the cost of one median."""
        m = self.median()
        return m, MAD_TO_SIGMA * _median(sorted([abs(x - m) for x in self._values]))

    def snapshot(self) -> dict[str, Any]:
        return {"size": self._values.maxlen, "values": list(self._values)}

    @classmethod
    def restore(cls, snap: dict[str, Any]) -> RollingRobust:
        found = cls(snap["size"])
        found._values.extend(snap["values"])
        return found


def _median(ordered: list[float]) -> float:
    n = len(ordered)
    if n == 0:
        return float("nan")
    half = n // 2
    return ordered[half] if n % 2 else (ordered[half - 1] + ordered[half]) / 2


def moderated_spread(spread: float, n: int, *, prior: float | None, prior_count: int) -> float:
    """``spread`` learnt from ``n`` values, moderated by a ``prior`` spread worth ``prior_count``
    values: the root of the weighted mean of the two variances, (n0 s0² + n s²) / (n0 + n).

    This is the posterior variance of Smyth's empirical-Bayes "moderated t" (Smyth, "Linear
    models and empirical Bayes methods for assessing differential expression in microarray
    experiments", Statistical Applications in Genetics and Molecular Biology 3, 2004), with
    counts of values in place of degrees of freedom and a prior that is set, not estimated from
    the population. A young baseline's spread then leans on the prior, and a mature one's on
    itself. Without a prior (None, or a weight of 0) the spread is returned as it is.

    >>> round(moderated_spread(2.0, 72, prior=5.0, prior_count=72), 2)
    3.81
    >>> round(moderated_spread(2.0, 200, prior=5.0, prior_count=72), 2)
    3.09
    >>> moderated_spread(2.0, 72, prior=None, prior_count=72)
    2.0
    """
    if prior is None or prior_count <= 0:
        return spread
    return math.sqrt((prior_count * prior * prior + n * spread * spread) / (prior_count + n))


class Ewma:
    """Exponentially weighted mean and variance with smoothing ``alpha``."""

    def __init__(self, alpha: float, mean: float | None = None, var: float = 0.0) -> None:
        self.alpha = alpha
        self.mean = mean
        self.var = var

    def add(self, x: float) -> None:
        if self.mean is None:
            self.mean = x
            return
        delta = x - self.mean
        self.mean += self.alpha * delta
        self.var = (1.0 - self.alpha) * (self.var + self.alpha * delta * delta)

    def snapshot(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "mean": self.mean, "var": self.var}

    @classmethod
    def restore(cls, snap: dict[str, Any]) -> Ewma:
        return cls(snap["alpha"], snap["mean"], snap["var"])


class TimeOfDayBaseline:
    """One rolling robust baseline per ``bin_hours`` of the local day."""

    def __init__(self, *, tz: str, bin_hours: int = 4, size: int = 200, min_count: int = 20) -> None:
        if 24 % bin_hours:
            raise ValueError("bin_hours must divide 24")
        self.tz, self.bin_hours, self.size, self.min_count = tz, bin_hours, size, min_count
        self._zone = ZoneInfo(tz)
        self._bins = [RollingRobust(size) for _ in range(24 // bin_hours)]

    def bin_of(self, timestamp: float) -> int:
        return datetime.fromtimestamp(timestamp, UTC).astimezone(self._zone).hour // self.bin_hours

    def learn(self, timestamp: float, x: float) -> None:
        self._bins[self.bin_of(timestamp)].add(x)

    def median(self, timestamp: float) -> float | None:
        """The median of ``timestamp``'s bin; None while the bin is too young."""
        bin_ = self._bins[self.bin_of(timestamp)]
        return bin_.median() if bin_.count >= self.min_count else None

    def z(self, timestamp: float, x: float, *, floor: float = 1.0, prior: float | None = None,
          prior_count: int = 0) -> float | None:
        """Robust z-score of ``x`` in its time-of-day bin; None while the bin is too young.
        ``floor`` is the smallest spread believed (a steady 60 bpm must not make 62 an alarm);
        ``prior`` and ``prior_count`` moderate the bin's spread (:func:`moderated_spread`)."""
        bin_ = self._bins[self.bin_of(timestamp)]
        if bin_.count < self.min_count:
            return None
        median, mad = bin_.median_mad()
        spread = moderated_spread(mad, bin_.count, prior=prior, prior_count=prior_count)
        return (x - median) / max(spread, floor)

    def snapshot(self) -> dict[str, Any]:
        return {
            "tz": self.tz,
            "bin_hours": self.bin_hours,
            "size": self.size,
            "min_count": self.min_count,
            "bins": [b.snapshot() for b in self._bins],
        }

    @classmethod
    def restore(cls, snap: dict[str, Any]) -> TimeOfDayBaseline:
        found = cls(tz=snap["tz"], bin_hours=snap["bin_hours"], size=snap["size"],
                    min_count=snap["min_count"])
        found._bins = [RollingRobust.restore(b) for b in snap["bins"]]
        return found


class PeriodMeans:
    """The interquartile mean of the readings of each ``every`` seconds (UTC-aligned periods).

    ``add`` returns ``(start of the period, its mean)`` when a reading opens the next period and
    the closed one had at least ``min_readings``; a sparser period is dropped, because its mean
    would be too noisy to compare. Means are rounded to 2 decimals (far below any sensor's
    resolution), which keeps snapshots short.

    >>> p = PeriodMeans(every=60.0, min_readings=3)
    >>> [p.add(10.0 * i, v) for i, v in enumerate([60.0, 61.0, 140.0, 62.0, 61.0, 60.0, 70.0])][-1]
    (0.0, 61.0)
    """

    def __init__(self, *, every: float, min_readings: int) -> None:
        self.every, self.min_readings = every, min_readings
        self.period: int | None = None
        self.readings: list[float] = []

    def add(self, timestamp: float, x: float) -> tuple[float, float] | None:
        period = int(timestamp // self.every)
        closed = None
        if self.period is not None and period != self.period:
            if len(self.readings) >= self.min_readings:
                ordered = sorted(self.readings)
                q = len(ordered) // 4
                mean = round(float(np.mean(ordered[q : len(ordered) - q])), 2)
                closed = (self.period * self.every, mean)
            self.readings = []
        self.period = period
        self.readings.append(x)
        return closed

    def snapshot(self) -> dict[str, Any]:
        return {"period": self.period, "readings": list(self.readings)}

    def load(self, snap: dict[str, Any]) -> None:
        self.period, self.readings = snap["period"], list(snap["readings"])
