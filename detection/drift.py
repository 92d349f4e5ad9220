"""Slow drift: a two-sided tabular CUSUM on standardised deviations, and the drift monitor that
feeds it hourly at-rest means of a vital sign.

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
:class:`SlowDrift` therefore runs the CUSUM on samples that are close to independent and in
control on an ordinary day: the mean of each hour's *at-rest* readings (the mean of its 10-minute
interquartile means, :class:`detection.baseline.PeriodMeans`; an hour with fewer than
``min_parts`` such periods is skipped), standardised against this resident's own means for the
same local hour over the last two weeks (:class:`detection.baseline.TimeOfDayBaseline`, median
and MAD, the spread never believed below the vital's floor). After a report the sums restart and
the monitor is quiet for ``quiet`` samples (a day), so a drift that persists is reported once a
day, not every few hours.

>>> d = SlowDrift(DriftConfig(), tz="UTC")
>>> day = 86400
>>> found = [d.add(t, 60.0 if t < 6 * day else 63.0, floor=1.0)  # 3 σ up on day 7
...          for t in range(0, 7 * day, 30)]
>>> [(r.direction, (r.timestamp - 6 * day) / 3600, r.mean, r.usual, r.hours)
...  for r in found if r is not None]
[('up', 3.0, 63.0, 60.0, 3.0)]
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from detection.baseline import PeriodMeans, TimeOfDayBaseline
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


@dataclass(frozen=True, slots=True, kw_only=True)
class DriftConfig:
    every: float = 3600.0
    """Seconds of at-rest readings reduced to one sample. An hour: its mean is steady, and hours
    are far closer to independent than 10-second readings or 10-minute means, which share a
    posture or a meal. A slow drift is days long; finding it within hours is soon enough."""
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
    """Samples kept per bin: two weeks of one a day."""
    baseline_min_count: int = 3
    """Days of a local hour seen before it is judged (the spread floor covers a young MAD)."""
    k: float = 0.5
    h: float = 5.0
    """k = 1/2, h = 5 from Montgomery's ARL table: ARL 465 samples in control, 10.4 at 1 σ."""
    clip: float = 3.0
    quiet: int = 24
    """Samples after a report during which the monitor only learns: a persisting drift is
    reported once a day."""

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> DriftConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})


@dataclass(frozen=True, slots=True, kw_only=True)
class DriftReport:
    timestamp: float
    """When it was found: the reading that closed the hour that tipped the sum."""
    direction: str  # "up" or "down"
    mean: float
    """That hour's at-rest mean."""
    usual: float
    """The resident's median for that local hour over the baseline."""
    hours: float
    """How long the sum had been growing: roughly since when the drift is visible."""


class SlowDrift:
    """Page's CUSUM on a vital's hourly at-rest means against the same local hour's baseline."""

    def __init__(self, config: DriftConfig, tz: str) -> None:
        c = self.config = config
        self.parts = PeriodMeans(every=c.part, min_readings=c.part_min_readings)
        self.hour: int | None = None
        """The sample period (``timestamp // every``) whose part means are being collected."""
        self.hour_parts: list[float] = []
        self.baseline = TimeOfDayBaseline(tz=tz, bin_hours=c.bin_hours, size=c.baseline_size,
                                          min_count=c.baseline_min_count)
        self.cusum = Cusum(k=c.k, h=c.h, clip=c.clip)
        self.since: float | None = None
        """Start of the first sample of the current excursion of the sums from zero."""
        self.quiet = 0

    def add(self, timestamp: float, x: float, *, floor: float) -> DriftReport | None:
        """An at-rest reading; the report when the hour it closes completes a drift."""
        sample = self._sample(timestamp, x)
        if sample is None:
            return None
        start, mean = sample
        usual = self.baseline.median(start)
        z = self.baseline.z(start, mean, floor=floor)
        self.baseline.learn(start, mean)
        if z is None or usual is None:
            return None
        if self.quiet > 0:
            self.quiet -= 1
            return None
        direction = self.cusum.update(z)
        if direction is None and self.cusum.high == 0.0 and self.cusum.low == 0.0:
            self.since = None
            return None
        began = start if self.since is None else self.since
        if direction is None:
            self.since = began
            return None
        self.since, self.quiet = None, self.config.quiet
        return DriftReport(timestamp=timestamp, direction=direction, mean=mean,
                           usual=round(usual, 2),
                           hours=round((start + self.config.every - began) / 3600.0, 1))

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
                "baseline": self.baseline.snapshot(), "cusum": self.cusum.snapshot(),
                "since": self.since, "quiet": self.quiet}

    @classmethod
    def restore(cls, snap: dict[str, Any]) -> SlowDrift:
        baseline = TimeOfDayBaseline.restore(snap["baseline"])
        found = cls(DriftConfig.from_dict(snap["config"]), baseline.tz)
        found.parts.load(snap["parts"])
        found.hour, found.hour_parts = snap["hour"], list(snap["hour_parts"])
        found.baseline, found.cusum = baseline, Cusum.restore(snap["cusum"])
        found.since, found.quiet = snap["since"], snap["quiet"]
        return found
