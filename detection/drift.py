"""Slow drift: a two-sided tabular CUSUM on standardised deviations, and the drift monitor that
feeds it one sample a day: the day's at-rest deviation of a vital sign from its usual hours.

Method: Page, "Continuous inspection schemes", Biometrika 41 (1954); the tabular form as in
Montgomery, *Introduction to Statistical Quality Control*, ch. 9. For standardised input ``z``
(deviation from the personal baseline in units of its spread)::

    S+ = max(0, S+ + z - k)      S- = max(0, S- - z - k)

and a drift is signalled when either sum exceeds ``h``; both sums then restart at 0. With the
usual ``k = 0.5`` and ``h = 5`` (Montgomery's ARL table for the tabular CUSUM with k = 1/2:
h = 5 gives an in-control ARL of 465 samples for the two-sided scheme, and detects a sustained
shift of 1 σ after 10.4 samples on average, 2 σ after 4.0) a false signal comes about once in
465 samples while the input really is independent N(0, 1). A single large deviation is not a
drift: ``z`` is clipped to ``±clip`` so one wild reading cannot trip it alone.

>>> c = Cusum(k=0.5, h=5.0)
>>> [c.update(1.5) for _ in range(6)][-1]
'up'
>>> c.update(0.0) is None
True

That ARL holds for independent samples only. Raw 10-second vital signs are nothing like it:
neighbouring readings share the wearer's activity, posture and daily rhythm, so a CUSUM on them
(with a 4-hour baseline bin) signalled dozens of times a day on ordinary simulated wearers.
Hourly at-rest means were the next step (until 2026-11-23), and are not independent either: a
feverish or anxious day lifts every hour of it, one hour leans on the last, and a baseline of
two weeks per local hour is itself noisy. ``bench/drift_arl.py`` measured that monitor on
synthetic hourly means: 159 judged hours between false drifts even with independent hours (the
estimated medians and spreads alone), 50–80 with a day effect or an hour-to-hour correlation of
0.3 — 50 to 170 false drifts per resident-year if every hour is judged.

:class:`SlowDrift` therefore judges *days*, the batch-means remedy for autocorrelated data
(Runger & Willemain, "Batch-means control charts for autocorrelated data", IIE Transactions
28, 1996). Each hour's at-rest mean (the mean of its 10-minute interquartile means,
:class:`detection.baseline.PeriodMeans`; an hour with fewer than ``min_parts`` such periods is
skipped) becomes a robust z-score against this resident's means for the same local hour over
the last two weeks (:class:`detection.baseline.TimeOfDayBaseline`, median and MAD, the spread
never believed below the vital's floor), so the daily rhythm is not a drift. The mean of a local
day's z-scores (at least ``day_min_hours`` of them) is one sample, standardised against the
resident's last four weeks of days (median and Rousseeuw and Croux's Qn, at least
``day_min_count`` days, the spread never below ``day_floor``; the deviation read as measured
in an estimated spread, :func:`normal_score`): a resident whose days swing widely needs a
larger change to drift than a very regular one. The CUSUM runs on those daily samples,
clipped to ±4, so one strange day never trips it and two in a row can. A day runs from 08:00
to 08:00 local time (``day_ends_at``), so a drift is reported as the day shift starts. After a
report the sums restart and the monitor skips a day, so a drift that persists is reported
every other day.

>>> d = SlowDrift(DriftConfig(), tz="UTC")
>>> day = 86400
>>> step = 10 * day + 8 * 3600  # 1 σ up from 08:00 on day 11, when a monitor's day begins
>>> found = [d.add(t, 60.0 if t < step else 63.0, floor=3.0) for t in range(0, 14 * day, 30)]
>>> [(r.direction, (r.timestamp - step) / 3600, r.mean, r.usual, r.hours)
...  for r in found if r is not None]
[('up', 48.0, 63.0, 60.0, 48.0)]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from scipy.optimize import brentq
from scipy.special import polygamma
from scipy.stats import norm
from scipy.stats import t as student_t

from detection.baseline import PeriodMeans, RollingRobust, TimeOfDayBaseline
from detection.snapshots import config_dict


@dataclass(frozen=True, slots=True, kw_only=True)
class CusumConfig:
    k: float = 0.5
    """Allowance, half the shift (in σ) worth detecting."""
    h: float = 5.0
    """Decision interval."""
    clip: float = 3.0


class Cusum:
    """Two-sided tabular CUSUM; ``update`` returns ``"up"``, ``"down"`` or None."""

    def __init__(self, *, k: float = 0.5, h: float = 5.0, clip: float = 3.0) -> None:
        self.config = CusumConfig(k=k, h=h, clip=clip)
        self.high = 0.0
        self.low = 0.0

    def update(self, z: float) -> str | None:
        c = self.config
        z = max(-c.clip, min(c.clip, z))
        self.high = max(0.0, self.high + z - c.k)
        self.low = max(0.0, self.low - z - c.k)
        signal = "up" if self.high > c.h else "down" if self.low > c.h else None
        if signal is not None:
            self.high = self.low = 0.0
        return signal

    def snapshot(self) -> dict[str, Any]:
        return {**config_dict(self.config), "high": self.high, "low": self.low}

    @classmethod
    def restore(cls, snap: dict[str, Any]) -> Cusum:
        found = cls(k=snap["k"], h=snap["h"], clip=snap["clip"])
        found.high, found.low = snap["high"], snap["low"]
        return found


DAY_SPREADS = ("qn", "mad")
"""The estimates of the day reference's spread :class:`DriftConfig` knows."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DriftConfig:
    every: float = 3600.0
    """Seconds of at-rest readings reduced to one hourly mean, compared with the same local
    hour's baseline; the hours' z-scores are then averaged over the monitor's day."""
    part: float = 600.0
    part_min_readings: int = 10
    """An hour's mean is the mean of its 10-minute interquartile means (each of at least 10
    at-rest readings, as the unusual-pattern path takes them): robust to an optical artefact,
    and the state holds one 10-minute period of readings, not an hour of them."""
    min_parts: int = 3
    """10-minute periods at rest an hour needs: a busier hour is skipped."""
    bin_hours: int = 1
    """Compare each hour with the same local hour: the daily rhythm (±6 bpm) is not a drift."""
    baseline_size: int = 14
    """Hourly means kept per local hour: two weeks of one a day."""
    baseline_min_count: int = 3
    """Days of a local hour seen before its z-score counts (the spread floor covers a young
    MAD)."""
    day_ends_at: int = 8
    """Local hour at which a day ends and is judged: a "day" runs from 08:00 to 08:00, so a
    drift is reported when the day shift starts, not at midnight to the night shift (a drift is
    never urgent; the bounds and the deviation path are for what is)."""
    day_min_hours: int = 6
    """Judged hours a local day needs to become a sample of the CUSUM; a sparser day is
    skipped."""
    day_history: int = 28
    """Daily samples kept for the day-to-day median and spread: four weeks."""
    day_min_count: int = 7
    """Days seen before a day is judged."""
    day_floor: float = 0.25
    """Smallest day-to-day spread of the daily mean z believed (24 independent hours give
    1/√24 ≈ 0.2): a very regular resident's tiny day-to-day spread must not make a small
    change a drift."""
    small_sample: bool = True
    """Read a day against its median and spread as what they are, estimates from 7–28 days
    (:func:`normal_score`); False, as until 2026-12-06, takes them for the true ones, which gave
    P(|z| > 3) = 2.4 % instead of 0.27 % on simulated wearers with ordinary day-to-day
    variation and twice the false drifts. Not applied while the floor is the spread (a fixed
    number is not an estimate). A monitor restored from a snapshot saved before then, which
    has no such setting, takes it up."""
    day_spread: str = "qn"
    """How the spread of the past days' samples is estimated: ``"qn"`` (Rousseeuw and Croux's Qn,
    :func:`qn_spread`; since 2026-12-06, fourth session), as robust as the MAD and worth nearly
    twice as many days, so a monitor's first weeks need less margin; or ``"mad"`` (1.4826 ×
    MAD, as before). A monitor restored from a snapshot saved before then takes up Qn. Beyond
    28 days (a longer ``day_history``) the MAD is used."""
    k: float = 0.5
    h: float = 5.0
    """k = 1/2, h = 5 (Montgomery's ARL table: 465 independent samples in control, 10.4 at
    1 σ), on daily samples."""
    clip: float = 4.0
    """A daily z is clipped to ±4: one strange day (3.5 after k) never trips the sum alone, two
    strange days in a row do."""
    quiet_days: int = 1
    """Days after a report during which the monitor only learns: a persisting drift is reported
    every other day, not every day."""

    def __post_init__(self) -> None:
        if self.day_spread not in DAY_SPREADS:
            raise ValueError(f"day_spread must be one of {DAY_SPREADS}, not {self.day_spread!r}")

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> DriftConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})


MAD_EFFICIENCY = 0.37
"""Asymptotic efficiency of the MAD as an estimate of a normal spread, 36.75 % (Rousseeuw &
Croux, "Alternatives to the median absolute deviation", JASA 88, 1993): the MAD of n values
is worth about as much as a standard deviation of 0.37 n."""


QN_FACTORS = {
    2: 0.7068, 3: 1.6982, 4: 1.0012, 5: 1.6532, 6: 1.2532, 7: 1.7624, 8: 1.4056, 9: 1.8340,
    10: 1.5325, 11: 1.8887, 12: 1.6240, 13: 1.9346, 14: 1.6932, 15: 1.9675, 16: 1.7475,
    17: 1.9942, 18: 1.7929, 19: 2.0160, 20: 1.8312, 21: 2.0322, 22: 1.8605, 23: 2.0484,
    24: 1.8886, 25: 2.0618, 26: 1.9117, 27: 2.0722, 28: 1.9316,
}
"""What Qn's order statistic of n values is multiplied by, so that its square estimates σ² for
normal data; from 200,000 simulated normal samples of each n (:func:`qn_constants`, seed 2026).
It alternates because the order statistic taken, C(n // 2 + 1, 2), steps every other n."""

QN_DF = {
    2: 1.0, 3: 0.93, 4: 1.96, 5: 1.98, 6: 3.16, 7: 3.19, 8: 4.48, 9: 4.56, 10: 5.79, 11: 5.98,
    12: 7.2, 13: 7.36, 14: 8.66, 15: 8.81, 16: 10.08, 17: 10.29, 18: 11.53, 19: 11.84,
    20: 13.06, 21: 13.25, 22: 14.41, 23: 14.84, 24: 16.11, 25: 16.3, 26: 17.63, 27: 17.9,
    28: 19.03,
}
"""What Qn of n values is worth, in a standard deviation's degrees of freedom: the ν whose
scaled χ has the same variance of its logarithm, ψ′(ν/2)/4, as Qn's (same simulation). About
0.7 (n − 1); the MAD's, by the same rule, is about 0.4 (n − 1)."""


def qn_spread(values: Sequence[float]) -> float:
    """Rousseeuw and Croux's Qn ("Alternatives to the median absolute deviation", JASA 88,
    1993) of at most 28 values, as an estimate of σ: the C(h, 2)-th smallest of the distances
    |xᵢ − xⱼ| (i < j), h = n // 2 + 1, times :data:`QN_FACTORS`. Like the MAD it ignores up to
    half the values however wild; unlike it, it does not measure from the median, and is worth
    nearly twice as many values (:data:`QN_DF`).

    >>> round(qn_spread([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]), 3)  # the 6th of 21 distances is 1
    1.762
    """
    n = len(values)
    if n not in QN_FACTORS:
        raise ValueError(f"Qn is tabulated for 2 to 28 values, not {n}")
    h = n // 2 + 1
    distances = sorted(abs(a - b) for i, a in enumerate(values) for b in values[i + 1:])
    return distances[h * (h - 1) // 2 - 1] * QN_FACTORS[n]


def qn_constants(n: int, *, draws: int, seed: int) -> tuple[float, float]:
    """(factor, degrees of freedom) of Qn for ``n`` values, from ``draws`` simulated normal
    samples: how :data:`QN_FACTORS` and :data:`QN_DF` were made (200,000 draws, seed 2026, in
    chunks of 20,000), and how the tests check them."""
    rng = np.random.default_rng(seed)
    h = n // 2 + 1
    k = h * (h - 1) // 2
    i, j = np.triu_indices(n, 1)
    raw: list[np.ndarray] = []
    for done in range(0, draws, 20_000):
        x = rng.standard_normal((min(20_000, draws - done), n))
        raw.append(np.partition(np.abs(x[:, i] - x[:, j]), k - 1, axis=1)[:, k - 1])
    q = np.concatenate(raw)
    log_var = float(np.var(np.log(q)))
    df = brentq(lambda nu: float(polygamma(1, nu / 2.0)) / 4.0 - log_var, 0.05, 1e4)
    return 1.0 / math.sqrt(float(np.mean(q * q))), float(df)


def normal_score(deviation: float, *, spread: float, n: int, df: float | None = None) -> float:
    """The normal score of ``deviation`` from the median of ``n`` past values, measured in their
    (1.4826 × MAD) ``spread``: the z-score a known median and spread would give it the same tail
    probability.

    Divided by an *estimated* spread, a deviation is a Student-t statistic, not a normal one:
    with 7–28 days its tails are several times heavier, and a CUSUM calibrated for N(0, 1) input
    (Montgomery's ARL of 465) false-alarms accordingly. Here the median's own error is added
    (its variance π/2n of the spread's square) and the spread's error is read as that of a
    standard deviation with MAD_EFFICIENCY × (n − 1) degrees of freedom (or ``df``, for
    another estimate of the spread, e.g. :data:`QN_DF` for Qn); the t tail probability
    is then mapped back to the normal. That effective-degrees-of-freedom reading is our
    approximation; ``bench/drift_arl.py`` measures the monitor with it at an ARL of 479 days on
    independent hours, Montgomery's 465 within its sampling error, against 336 without it.

    >>> round(normal_score(3.0, spread=1.0, n=7), 2)  # one week: 3 "σ" is not that rare
    1.64
    >>> round(normal_score(3.0, spread=1.0, n=28), 2)
    2.42
    >>> round(normal_score(3.0, spread=1.0, n=100_000), 2)  # a known spread: z itself
    3.0
    """
    t = deviation / (spread * math.sqrt(1.0 + math.pi / (2.0 * n)))
    worth = MAD_EFFICIENCY * (n - 1) if df is None else df
    tail = float(student_t.sf(abs(t), max(1.0, worth)))
    return math.copysign(min(float(norm.isf(tail)), 40.0), t)  # 40 σ: far past any clip


@dataclass(frozen=True, slots=True, kw_only=True)
class DriftReport:
    timestamp: float
    """When it was found: the reading that closed the day that tipped the sum."""
    direction: str  # "up" or "down"
    mean: float
    """That day's at-rest mean (the mean of its judged hours' means)."""
    usual: float
    """The resident's usual for the same hours (the mean of those local hours' medians)."""
    hours: float
    """How long the sum had been growing: roughly since when the drift is visible (whole days,
    from the start of the first day of the excursion to the end of the day that tipped it)."""


class SlowDrift:
    """Page's CUSUM on a vital's daily at-rest deviation: each hour's at-rest mean as a robust
    z-score against the same local hour's baseline, averaged over a day (08:00 to 08:00), standardised
    against the resident's own day-to-day spread."""

    def __init__(self, config: DriftConfig, tz: str) -> None:
        c = self.config = config
        self.parts = PeriodMeans(every=c.part, min_readings=c.part_min_readings)
        self.hour: int | None = None
        """The sample period (``timestamp // every``) whose part means are being collected."""
        self.hour_parts: list[float] = []
        self.baseline = TimeOfDayBaseline(tz=tz, bin_hours=c.bin_hours, size=c.baseline_size,
                                          min_count=c.baseline_min_count)
        self._zone = ZoneInfo(tz)
        self.days = RollingRobust(c.day_history)
        """Past days' mean hourly z-scores."""
        self.day: str | None = None
        """The local date (ISO) on which the day whose hours are being collected began."""
        self.day_hours: list[tuple[float, float, float, float]] = []
        """(start, z, mean, usual) of each judged hour of ``day``."""
        self.cusum = Cusum(k=c.k, h=c.h, clip=c.clip)
        self.since: float | None = None
        """Start of the first day of the current excursion of the sums from zero."""
        self.quiet = 0

    def add(self, timestamp: float, x: float, *, floor: float) -> DriftReport | None:
        """An at-rest reading; the report when the hour it closes ends a day that completes a
        drift (a day is judged with its last hour, or, if that hour was not at rest, with the
        first hour of the next day that is)."""
        sample = self._sample(timestamp, x)
        if sample is None:
            return None
        start, mean = sample
        usual = self.baseline.median(start)
        z = self.baseline.z(start, mean, floor=floor)
        self.baseline.learn(start, mean)
        date = self._day_of(start)
        report = None
        if self.day is not None and date != self.day:
            report = self._close_day(timestamp)
        self.day = date
        if z is not None and usual is not None:
            # 4 decimals of a z-score are plenty, and keep the snapshot small
            self.day_hours.append((start, round(z, 4), mean, usual))
        if self._day_of(start + self.config.every) != date:  # the day's last hour
            report = self._close_day(timestamp) or report
        return report

    def _day_of(self, timestamp: float) -> str:
        """The local date of the day (``day_ends_at`` to ``day_ends_at``) ``timestamp`` is in,
        by its start."""
        local = datetime.fromtimestamp(timestamp, UTC).astimezone(self._zone)
        return (local - timedelta(hours=self.config.day_ends_at)).date().isoformat()

    def _close_day(self, timestamp: float) -> DriftReport | None:
        """Judge the collected day, and start the next; the report if the day tips the sum."""
        c = self.config
        hours, self.day, self.day_hours = self.day_hours, None, []
        if len(hours) < c.day_min_hours:
            return None
        daily = round(sum(z for _, z, _, _ in hours) / len(hours), 4)
        judged = self.days.count >= c.day_min_count
        daily_z = 0.0
        if judged:
            median, spread, df = self._day_spread()
            if c.small_sample and spread > c.day_floor:
                daily_z = normal_score(daily - median, spread=spread, n=self.days.count, df=df)
            else:
                daily_z = (daily - median) / max(spread, c.day_floor)
        self.days.add(daily)
        if not judged:
            return None
        if self.quiet > 0:
            self.quiet -= 1
            return None
        direction = self.cusum.update(daily_z)
        if direction is None and self.cusum.high == 0.0 and self.cusum.low == 0.0:
            self.since = None
            return None
        began = hours[0][0] if self.since is None else self.since
        if direction is None:
            self.since = began
            return None
        self.since, self.quiet = None, c.quiet_days
        mean = sum(m for _, _, m, _ in hours) / len(hours)
        usual = sum(u for _, _, _, u in hours) / len(hours)
        end = hours[-1][0] + c.every
        return DriftReport(timestamp=timestamp, direction=direction, mean=round(mean, 2),
                           usual=round(usual, 2), hours=round((end - began) / 3600.0, 1))

    def _day_spread(self) -> tuple[float, float, float | None]:
        """(median, spread, its degrees of freedom) of the past days' samples: Qn and its
        tabulated worth (``day_spread="qn"``, at most 28 days), else 1.4826 × MAD and None (the
        MAD's own worth, :data:`MAD_EFFICIENCY`)."""
        n = self.days.count
        if self.config.day_spread == "qn" and n in QN_FACTORS:
            return self.days.median(), qn_spread(self.days.values()), QN_DF[n]
        median, mad = self.days.median_mad()
        return median, mad, None

    def _sample(self, timestamp: float, x: float) -> tuple[float, float] | None:
        """(start, mean) of the hour this reading completes, if it completes one."""
        c = self.config
        part = self.parts.add(timestamp, x)
        if part is None:
            return None
        part_start, part_mean = part
        hour = int(part_start // c.every)
        sample = None
        if self.hour is not None and hour != self.hour:  # the last parts were too sparse
            sample = self._close()
        self.hour = hour
        self.hour_parts.append(part_mean)
        if part_start + c.part >= (hour + 1) * c.every:  # the hour's last part: close it now
            sample = self._close()
        return sample

    def _close(self) -> tuple[float, float] | None:
        parts, self.hour_parts = self.hour_parts, []
        if self.hour is None or len(parts) < self.config.min_parts:
            return None
        return self.hour * self.config.every, round(sum(parts) / len(parts), 2)

    def snapshot(self) -> dict[str, Any]:
        return {"config": config_dict(self.config), "parts": self.parts.snapshot(),
                "hour": self.hour, "hour_parts": list(self.hour_parts),
                "baseline": self.baseline.snapshot(), "days": self.days.snapshot(),
                "day": self.day, "day_hours": [list(h) for h in self.day_hours],
                "cusum": self.cusum.snapshot(),
                "since": self.since, "quiet": self.quiet}

    @classmethod
    def restore(cls, snap: dict[str, Any]) -> SlowDrift:
        baseline = TimeOfDayBaseline.restore(snap["baseline"])
        found = cls(DriftConfig.from_dict(snap["config"]), baseline.tz)
        found.parts.load(snap["parts"])
        found.hour, found.hour_parts = snap["hour"], list(snap["hour_parts"])
        found.baseline = baseline
        if "days" not in snap:
            # an hourly monitor's snapshot (before 2026-11-23, fourth session): its hourly
            # baseline carries over, its sums were of hours and start again from zero
            return found
        found.days = RollingRobust.restore(snap["days"])
        found.day = snap["day"]
        found.day_hours = [(t, z, m, u) for t, z, m, u in snap["day_hours"]]
        found.cusum = Cusum.restore(snap["cusum"])
        found.since, found.quiet = snap["since"], snap["quiet"]
        return found
