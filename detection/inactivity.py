"""Inactivity / welfare check: no movement for longer than this elder's normal for this hour.

Method: the day (``wake_hour`` to ``sleep_hour``, in the resident's time zone) and the night are
judged apart, because sleep is not a long daytime pause.

* By day, every silence (time between two movements) that lies wholly in the day is recorded in
  the time-of-day bin where it *began*. A silence now in progress is measured from its last
  movement, or from this morning's wake hour if it began in the night, and may last ``margin`` ×
  the 95th percentile of the silences that began in the same bin, clipped to [``floor``,
  ``ceiling``]; until that bin has ``min_silences`` of them, 4 h.
* At night the limit is 11 h of silence, learnt from nothing: so a night's sleep is normal, but
  nobody stirring by late morning is not (the day's 4 h count from 07:00).

Keying by the bin where a silence *began* is what makes a limit fit the silence it judges: a
silence that began at 22:10 is sleep, not one of the evening's short pauses that *ended*
between 22:00 and 24:00 (recording silences where they ended, as before, gave a bedtime bin
limit of about an hour, and an alarm in the first hour of sleep). The clock comes with the batch
(:class:`Clock`), because silence is what this detector looks for. One finding per silence;
movement re-arms it. While the resident is away from home (a geofence or the family app says
so) the watch may be in a drawer: no check runs, and the return counts as movement.
(The percentile-of-gaps idea follows the "activity of daily living" monitoring literature,
e.g. Cook et al., "Assessing the quality of activities in a smart environment", 2009.)

Alongside, each resident's active minutes per hour are scored against their own routine
(:class:`detection.routine.DayShape`, the general anomaly scorer on the residual from the usual
day). An unusual hour is reported as ``unusual_day`` — information, never an alarm by itself —
and its score rides on an ``inactivity`` finding that follows within ``unusual_context``.

>>> d = InactivityDetector()
>>> _ = d.update([Movement(timestamp=0.0, subject="r1")])  # 08:00 in Shanghai
>>> [f.kind for f in d.update([Clock(timestamp=5 * 3600.0)])]
['inactivity']
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from detection.routine import DayShape, RoutineConfig

HOUR = 3600.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Movement:
    """Steps, an accelerometer activity window, a PIR or door event: the resident moved."""

    timestamp: float
    subject: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Presence:
    """The resident left home (``at_home=False``) or came back."""

    timestamp: float
    subject: str
    at_home: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Clock:
    """The time now: checks every resident's silence."""

    timestamp: float


@dataclass(frozen=True, slots=True, kw_only=True)
class InactivityFinding:
    timestamp: float
    subject: str
    kind: str  # "inactivity" or "unusual_day"
    silent_for: float
    limit: float
    last_movement: float
    score: float | None = None
    """For ``unusual_day`` its anomaly score; for ``inactivity`` the score of an unusual day
    reported within ``unusual_context`` before it (None: the day looked ordinary)."""
    detail: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class InactivityConfig:
    tz: str = "Asia/Shanghai"
    day_limit: float = 4 * HOUR
    night_limit: float = 11 * HOUR
    sleep_hour: int = 22
    wake_hour: int = 7
    """Night is [sleep_hour, wake_hour) local time; by default the day limit counts from the
    wake hour, so a night's sleep does not eat into the morning's allowance."""
    bin_hours: int = 2
    min_silences: int = 10
    margin: float = 1.5
    floor: float = 2 * HOUR
    """Never alarm on a daytime silence shorter than this, however regular the resident: a nap,
    a film or a long call is ordinary, and a watch sees steps and brisk movement, not sitting
    still. At 1 h, 1.5 × the 95th percentile of simulated wearers' pauses (1.0–1.6 h) raised
    0.26 false alarms per wearer-day; at 2 h, 0.04 (bench/welfare_false_alarms.py)."""
    ceiling: float = 14 * HOUR
    """Never wait longer than this, however long the silences learnt."""
    remembered: int = 60
    """Silences kept per bin (about two months of one a day)."""
    learn_from: float = 10 * 60.0
    """Silences shorter than this are ordinary life, not worth remembering."""
    routine: RoutineConfig = field(default_factory=RoutineConfig)
    unusual_context: float = 12 * HOUR
    """How long an unusual-day report stays attached to inactivity findings."""


@dataclass(slots=True)
class _Resident:
    last_movement: float
    day: DayShape
    at_home: bool = True
    raised: bool = False
    silences: dict[int, deque[float]] = field(default_factory=dict)
    unusual: tuple[float, float] | None = None
    """(time, score) of the latest unusual-day report."""
    limit_memo: tuple[float, float] = (float("nan"), 0.0)
    """(began, limit) of the last limit worked out: it changes only when the silence's start
    does (a movement, which is also when silences are learnt, or a new morning)."""


@dataclass(slots=True)
class InactivityDetector:
    """Per-resident silence against a learnt, time-of-day-specific limit."""

    config: InactivityConfig = field(default_factory=InactivityConfig)
    _residents: dict[str, _Resident] = field(default_factory=dict)

    def update(self, batch: Sequence[Movement | Presence | Clock]) -> list[InactivityFinding]:
        found: list[InactivityFinding] = []
        for item in batch:
            if isinstance(item, Movement):
                found.extend(self._moved(item.subject, item.timestamp))
            elif isinstance(item, Presence):
                found.extend(self._presence(item))
            else:
                for subject, r in self._residents.items():
                    found.extend(self._day(subject, r, item.timestamp))
                found.extend(self._check(item.timestamp))
        return found

    def _resident(self, subject: str, timestamp: float) -> tuple[_Resident, bool]:
        """The resident's state, and whether it was created just now."""
        resident = self._residents.get(subject)
        if resident is not None:
            return resident, False
        day = DayShape(self.config.routine, self.config.tz)
        resident = self._residents[subject] = _Resident(last_movement=timestamp, day=day)
        return resident, True

    def _day(self, subject: str, r: _Resident, now: float) -> list[InactivityFinding]:
        """Close the hours before ``now`` in the resident's day shape; report the unusual ones."""
        found = []
        for u in r.day.advance(now, at_home=r.at_home):
            r.unusual = (now, u.score)
            found.append(InactivityFinding(
                timestamp=now, subject=subject, kind="unusual_day", silent_for=now - r.last_movement,
                limit=self._measure(subject, r, now)[1], last_movement=r.last_movement,
                score=u.score,
                detail=f"{u.active} active minutes in the hour from {u.local_hour:02d}:00, "
                       f"usually {u.usual:g}"))
        return found

    def limit(self, subject: str, began: float) -> float:
        """The silence allowed to ``subject`` from ``began`` on: at night the night limit, by
        day what the silences that began in that bin of the day taught (or the default)."""
        c = self.config
        if self._is_night(began):
            return c.night_limit
        resident = self._residents.get(subject)
        silences = resident.silences.get(self._bin(began)) if resident else None
        if silences is None or len(silences) < c.min_silences:
            return c.day_limit
        learnt = c.margin * float(np.quantile(np.fromiter(silences, dtype=np.float64), 0.95))
        return min(max(learnt, c.floor), c.ceiling)

    def _measure(self, subject: str, r: _Resident, now: float) -> tuple[float, float]:
        """(silence, its limit) now: at night the whole silence against the night limit; by day
        the silence since the last movement or this morning's wake hour, whichever is later."""
        if self._is_night(now):
            return now - r.last_movement, self.config.night_limit
        began = max(r.last_movement, self._woke(now))
        return now - began, self.limit(subject, began)

    def _woke(self, timestamp: float) -> float:
        """The latest wake hour at or before ``timestamp`` (local)."""
        local = self._local(timestamp)
        woke = local.replace(hour=self.config.wake_hour, minute=0, second=0, microsecond=0)
        return (woke if woke <= local else woke - timedelta(days=1)).timestamp()

    def _in_day(self, began: float, ended: float) -> bool:
        """Whether a silence lay wholly in the day (no part of it at night)."""
        if self._is_night(began) or self._is_night(ended):
            return False
        local = self._local(began)
        night = local.replace(hour=self.config.sleep_hour, minute=0, second=0, microsecond=0)
        night = night if night > local else night + timedelta(days=1)
        return ended < night.timestamp()

    def _is_night(self, timestamp: float) -> bool:
        c = self.config
        hour = self._local(timestamp).hour
        if c.sleep_hour > c.wake_hour:
            return hour >= c.sleep_hour or hour < c.wake_hour
        return c.sleep_hour <= hour < c.wake_hour

    def _local(self, timestamp: float) -> datetime:
        return datetime.fromtimestamp(timestamp, UTC).astimezone(ZoneInfo(self.config.tz))

    def _moved(self, subject: str, timestamp: float) -> list[InactivityFinding]:
        resident, new = self._resident(subject, timestamp)
        found = self._day(subject, resident, timestamp)
        resident.day.moved(timestamp)
        if new or timestamp <= resident.last_movement:
            return found  # first seen, or late: a newer movement is already known
        began, silence = resident.last_movement, timestamp - resident.last_movement
        if (resident.at_home and silence >= self.config.learn_from
                and self._in_day(began, timestamp)):
            bin_ = self._bin(began)
            resident.silences.setdefault(bin_, deque(maxlen=self.config.remembered)).append(silence)
        resident.last_movement = timestamp
        resident.raised = False
        return found

    def _presence(self, item: Presence) -> list[InactivityFinding]:
        resident, _ = self._resident(item.subject, item.timestamp)
        found = self._day(item.subject, resident, item.timestamp)
        resident.at_home = item.at_home
        if item.at_home:
            # back home: the silence restarts now, and the time away is not a silence
            resident.last_movement = max(resident.last_movement, item.timestamp)
            resident.raised = False
        else:
            resident.day.away()
        return found

    def _check(self, now: float) -> list[InactivityFinding]:
        # Once a second over every resident: what depends only on ``now`` is worked out once,
        # and each resident's limit only when its silence began anew (as ``_measure`` would).
        found = []
        night = self._is_night(now)
        woke = 0.0 if night else self._woke(now)
        for subject, r in self._residents.items():
            if r.raised or not r.at_home:
                continue
            if night:
                silent, limit = now - r.last_movement, self.config.night_limit
            else:
                began = max(r.last_movement, woke)
                if r.limit_memo[0] != began:
                    r.limit_memo = (began, self.limit(subject, began))
                silent, limit = now - began, r.limit_memo[1]
            if silent > limit:
                r.raised = True
                recent = r.unusual is not None and now - r.unusual[0] <= self.config.unusual_context
                found.append(InactivityFinding(timestamp=now, subject=subject, kind="inactivity",
                                               silent_for=now - r.last_movement, limit=limit,
                                               last_movement=r.last_movement,
                                               score=r.unusual[1] if r.unusual and recent else None))
        return found

    def _bin(self, timestamp: float) -> int:
        return self._local(timestamp).hour // self.config.bin_hours

    def snapshot(self) -> dict[str, Any]:
        return {
            "config": asdict(self.config),
            "silences_by": "start",
            "residents": {
                s: {"last_movement": r.last_movement, "at_home": r.at_home, "raised": r.raised,
                    "silences": {str(b): list(v) for b, v in r.silences.items()},
                    "day": r.day.snapshot(), "unusual": r.unusual}
                for s, r in self._residents.items()
            },
        }

    @classmethod
    def restore(cls, snap: dict[str, Any]) -> InactivityDetector:
        raw = snap["config"]
        routine = RoutineConfig.from_dict(raw["routine"]) if "routine" in raw else RoutineConfig()
        config = InactivityConfig(**{**raw, "routine": routine})
        detector = cls(config)
        # silences stored by the bin where they ended (snapshots before "silences_by") included
        # whole nights; relearning from the defaults is safer than judging by them
        keep = snap.get("silences_by") == "start"
        for subject, r in snap["residents"].items():
            # snapshots from before the day shape existed start it afresh
            day = (DayShape.restore(r["day"], routine, config.tz) if "day" in r
                   else DayShape(routine, config.tz))
            unusual = r.get("unusual")
            detector._residents[subject] = _Resident(
                last_movement=r["last_movement"], day=day, at_home=r["at_home"],
                raised=r["raised"],
                silences={int(b): deque(v, maxlen=config.remembered)
                          for b, v in r["silences"].items()} if keep else {},
                unusual=None if unusual is None else (unusual[0], unusual[1]),
            )
        return detector
