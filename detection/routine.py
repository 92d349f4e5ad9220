"""A resident's day against their own routine: active minutes per hour, scored for anomalies.

Method: every hour becomes one number, the minutes in it with any movement (0–60; minutes, not
movements, so a watch reporting steps every 10 s and a PIR reporting once a minute count alike).
The sample given to the general scorer (:class:`detection.anomaly.AnomalyScorer`) is that count
against the same local hour on the resident's last ``days`` days at home, as a robust z-score
(median and MAD, floored at ``spread_floor`` minutes): the routine — up at seven, a nap after
lunch, nothing at night — is taken out (seasonal differencing; Hyndman & Athanasopoulos,
*Forecasting: principles and practice*, §9), and so is the fact that a busy morning varies more
than a sleeping night. What is left is how this day departs from the resident's own. The
scorer's level measure flags a residual far outside the last week's, its shape measures a run
of them: up for three hours at 02:00 when the resident never is, a morning without the usual
activity. Hours spent (even partly) away from home are neither scored nor learnt: the watch may
be in a drawer.

An unusual day is *information*, not an alarm: people have visitors, doctor's appointments and
bad nights. The inactivity detector reports it as ``unusual_day`` and attaches its score to an
inactivity finding that follows within hours, so the operator who calls sees the context.

>>> from dataclasses import replace
>>> shape = DayShape(RoutineConfig(scorer=replace(DAY_SCORER, warmup=48)), tz="UTC")
>>> def day(d: int, active_hours: range) -> list[Unusual]:
...     found = []
...     for minute in range(0, 24 * 60, 3):  # a clock tick every 3 minutes, moving if active
...         t = d * 86400.0 + minute * 60.0
...         found += shape.advance(t, at_home=True)
...         if minute // 60 in active_hours:
...             shape.moved(t)
...     return found
>>> [u for d in range(6) for u in day(d, range(8, 20))]  # six ordinary days
[]
>>> [(u.local_hour, u.active, u.usual) for u in day(6, range(2, 20))]  # up at 02:00
[(2, 20, 0.0)]
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from detection.anomaly import AnomalyConfig, AnomalyScorer, Sample
from detection.baseline import MAD_TO_SIGMA

HOUR = 3600.0

DAY_SCORER = AnomalyConfig(warmup=180, window=168, block=3, memory=336, history=168,
                           measures=("level", "shape", "slow_shape"), level_weight=1.0,
                           recent_fraction=1.0, report_at=2.0, quiet=24, recurring_days=0)
"""One sample an hour. The level measure's median/MAD and every normalising quantile look back
one week (168 h), and the warm-up (180 h, after the ``min_days`` the routine itself needs) is
longer than that, so the noisy residuals of the first days have left the quantiles before
anything is reported: nothing before day 10. Slow shape on 3-hour means (an embedding of 6
spans half a day); nearest neighbours searched over two weeks. The range measure is off: on a
residual series it reported every small new extreme. Report at twice the 99.5 % quantile, at
most once a day: on 8 simulated routines over 28 days the ordinary maximum was 1.7; three hours
up at night reached 1.3–3.6 (7 of 8 reported), a morning without activity 1.5–2.1 (3 of 8).
No daily-recurrence gate (``recurring_days=0``): the residuals are already against the same
hour of other days, and an elder unusually idle at the same hour two days running is a pattern
to see, not a routine to hide."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RoutineConfig:
    days: int = 14
    """Days of each hour behind its usual count (the median)."""
    min_days: int = 3
    """Days of an hour needed before it is compared with its usual."""
    spread_floor: float = 2.0
    """Smallest spread of an hour's count believed, in minutes: an hour that is always 0 must
    not make 1 minute of movement in it an anomaly."""
    max_gap_hours: int = 6
    """No clock for longer than this means the platform was down, not that the resident was
    still: the hours in between are skipped rather than counted as zero."""
    scorer: AnomalyConfig = DAY_SCORER

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> RoutineConfig:
        return cls(**{**raw, "scorer": AnomalyConfig.from_dict(raw["scorer"])})


@dataclass(frozen=True, slots=True, kw_only=True)
class Unusual:
    """An hour whose activity is unusual for this resident."""

    hour_start: float
    local_hour: int
    active: int
    """Minutes with movement in the hour."""
    usual: float
    """The median of the same hour on earlier days."""
    score: float


@dataclass(slots=True)
class DayShape:
    """One resident's active minutes per hour, scored against their own routine."""

    config: RoutineConfig
    tz: str
    scorer: AnomalyScorer = field(init=False)
    _usual: list[deque[int]] = field(init=False)
    _hour: int | None = None
    """The hour being counted (hours since the epoch)."""
    _active: int = 0
    _last_minute: int = -1
    _away: bool = False
    """Part of the open hour was spent away from home."""

    def __post_init__(self) -> None:
        self.scorer = AnomalyScorer(self.config.scorer)
        self._usual = [deque(maxlen=self.config.days) for _ in range(24)]

    def advance(self, now: float, *, at_home: bool) -> list[Unusual]:
        """Close every hour before ``now``'s and score it; ``at_home`` is where the resident has
        been since the last call."""
        hour = int(now // HOUR)
        if self._hour is not None and hour <= self._hour:
            return []
        found: list[Unusual] = []
        if self._hour is not None and hour - self._hour <= self.config.max_gap_hours:
            for h in range(self._hour, hour):
                if not (self._away or not at_home):
                    found.extend(self._close(h, self._active))
                self._active, self._away = 0, not at_home
        self._hour, self._active, self._last_minute = hour, 0, -1
        self._away = not at_home
        return found

    def moved(self, timestamp: float) -> None:
        """Count the minute of ``timestamp`` if it lies in the open hour (call ``advance`` first)."""
        minute = int(timestamp // 60.0)
        if self._hour is not None and int(minute // 60) == self._hour and minute > self._last_minute:
            self._active += 1
            self._last_minute = minute

    def away(self) -> None:
        self._away = True

    def _close(self, hour: int, active: int) -> list[Unusual]:
        local = datetime.fromtimestamp(hour * HOUR, UTC).astimezone(ZoneInfo(self.tz)).hour
        usual = self._usual[local]
        found = []
        if len(usual) >= self.config.min_days:
            counts = np.fromiter(usual, dtype=np.float64)
            typical = float(np.median(counts))
            spread = max(MAD_TO_SIGMA * float(np.median(np.abs(counts - typical))),
                         self.config.spread_floor)
            z = round((active - typical) / spread, 2)  # 0.01 σ is plenty, and short in JSON
            sample = Sample(timestamp=hour * HOUR, value=z)
            found = [Unusual(hour_start=hour * HOUR, local_hour=local, active=active,
                             usual=typical, score=s.score) for s in self.scorer.update([sample])]
        usual.append(active)
        return found

    def snapshot(self) -> dict[str, Any]:
        """About 8 kB of JSON: the scorer's 357 residuals and 3 × 168 measure values, and
        24 × 14 counts."""
        return {"scorer": self.scorer.snapshot(), "usual": [list(u) for u in self._usual],
                "hour": self._hour, "active": self._active, "last_minute": self._last_minute,
                "away": self._away}

    @classmethod
    def restore(cls, snap: dict[str, Any], config: RoutineConfig, tz: str) -> DayShape:
        shape = cls(config, tz)
        shape.scorer = AnomalyScorer.restore(snap["scorer"])
        shape._usual = [deque(u, maxlen=config.days) for u in snap["usual"]]
        shape._hour, shape._active = snap["hour"], snap["active"]
        shape._last_minute, shape._away = snap["last_minute"], snap["away"]
        return shape
