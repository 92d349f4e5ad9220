"""Inactivity / welfare check: no movement for longer than this elder's normal for this hour.

Method: for each resident, every silence (time between two movements) is recorded in the
time-of-day bin where it *ended*, in the resident's time zone. The limit for a bin is
``margin`` × the 95th percentile of its recorded silences, clipped to [``floor``, ``ceiling``];
until a bin has ``min_silences`` of them, the default applies — 4 h by day counted from the
wake hour (07:00), 11 h in the night — so a night's sleep is normal but nobody stirring by late
morning is not. The clock comes
with the batch (:class:`Clock`), because silence is what this detector looks for. One finding per
silence; movement re-arms it. While the resident is away from home (a geofence or the family app
says so) the watch may be in a drawer: no check runs, and the return counts as movement.
(The percentile-of-gaps idea follows the "activity of daily living" monitoring literature,
e.g. Cook et al., "Assessing the quality of activities in a smart environment", 2009.)

>>> d = InactivityDetector()
>>> _ = d.update([Movement(timestamp=0.0, subject="r1")])  # 08:00 in Shanghai
>>> [f.kind for f in d.update([Clock(timestamp=5 * 3600.0)])]
['inactivity']
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

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
    kind: str  # "inactivity"
    silent_for: float
    limit: float
    last_movement: float


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
    floor: float = 1 * HOUR
    """Never alarm on a silence shorter than this, however regular the resident."""
    ceiling: float = 14 * HOUR
    """Never wait longer than this, however long the silences learnt."""
    remembered: int = 60
    """Silences kept per bin (about two months of one a day)."""
    learn_from: float = 10 * 60.0
    """Silences shorter than this are ordinary life, not worth remembering."""


@dataclass(slots=True)
class _Resident:
    last_movement: float
    at_home: bool = True
    raised: bool = False
    silences: dict[int, deque[float]] = field(default_factory=dict)


@dataclass(slots=True)
class InactivityDetector:
    """Per-resident silence against a learnt, time-of-day-specific limit."""

    config: InactivityConfig = field(default_factory=InactivityConfig)
    _residents: dict[str, _Resident] = field(default_factory=dict)

    def update(self, batch: Sequence[Movement | Presence | Clock]) -> list[InactivityFinding]:
        found: list[InactivityFinding] = []
        for item in batch:
            if isinstance(item, Movement):
                self._moved(item.subject, item.timestamp)
            elif isinstance(item, Presence):
                self._presence(item)
            else:
                found.extend(self._check(item.timestamp))
        return found

    def limit(self, subject: str, timestamp: float) -> float:
        """The silence allowed at ``timestamp`` for ``subject`` (learnt, or the default)."""
        learnt = self._learnt(subject, timestamp)
        if learnt is not None:
            return learnt
        return self.config.night_limit if self._is_night(timestamp) else self.config.day_limit

    def _learnt(self, subject: str, timestamp: float) -> float | None:
        c = self.config
        resident = self._residents.get(subject)
        silences = resident.silences.get(self._bin(timestamp)) if resident else None
        if silences is None or len(silences) < c.min_silences:
            return None
        learnt = c.margin * float(np.quantile(np.fromiter(silences, dtype=np.float64), 0.95))
        return min(max(learnt, c.floor), c.ceiling)

    def _silence(self, subject: str, r: _Resident, now: float) -> float:
        """Silence measured the way its limit is: from the wake hour for the day default."""
        if self._learnt(subject, now) is not None or self._is_night(now):
            return now - r.last_movement
        local = self._local(now)
        woke = local.replace(hour=self.config.wake_hour, minute=0, second=0, microsecond=0)
        return now - max(r.last_movement, woke.timestamp())

    def _is_night(self, timestamp: float) -> bool:
        c = self.config
        hour = self._local(timestamp).hour
        if c.sleep_hour > c.wake_hour:
            return hour >= c.sleep_hour or hour < c.wake_hour
        return c.sleep_hour <= hour < c.wake_hour

    def _local(self, timestamp: float) -> datetime:
        return datetime.fromtimestamp(timestamp, UTC).astimezone(ZoneInfo(self.config.tz))

    def _moved(self, subject: str, timestamp: float) -> None:
        resident = self._residents.get(subject)
        if resident is None:
            self._residents[subject] = _Resident(last_movement=timestamp)
            return
        if timestamp <= resident.last_movement:
            return  # late: a newer movement is already known
        silence = timestamp - resident.last_movement
        if resident.at_home and silence >= self.config.learn_from:
            bin_ = self._bin(timestamp)
            resident.silences.setdefault(bin_, deque(maxlen=self.config.remembered)).append(silence)
        resident.last_movement = timestamp
        resident.raised = False

    def _presence(self, item: Presence) -> None:
        resident = self._residents.setdefault(item.subject,
                                              _Resident(last_movement=item.timestamp))
        resident.at_home = item.at_home
        if item.at_home:
            # back home: the silence restarts now, and the time away is not a silence
            resident.last_movement = max(resident.last_movement, item.timestamp)
            resident.raised = False

    def _check(self, now: float) -> list[InactivityFinding]:
        found = []
        for subject, r in self._residents.items():
            if r.raised or not r.at_home:
                continue
            silent = self._silence(subject, r, now)
            limit = self.limit(subject, now)
            if silent > limit:
                r.raised = True
                found.append(InactivityFinding(timestamp=now, subject=subject, kind="inactivity",
                                               silent_for=now - r.last_movement, limit=limit,
                                               last_movement=r.last_movement))
        return found

    def _bin(self, timestamp: float) -> int:
        return self._local(timestamp).hour // self.config.bin_hours

    def snapshot(self) -> dict[str, Any]:
        return {
            "config": asdict(self.config),
            "residents": {
                s: {"last_movement": r.last_movement, "at_home": r.at_home, "raised": r.raised,
                    "silences": {str(b): list(v) for b, v in r.silences.items()}}
                for s, r in self._residents.items()
            },
        }

    @classmethod
    def restore(cls, snap: dict[str, Any]) -> InactivityDetector:
        raw = snap["config"]
        config = InactivityConfig(**raw)
        detector = cls(config)
        for subject, r in snap["residents"].items():
            detector._residents[subject] = _Resident(
                last_movement=r["last_movement"], at_home=r["at_home"], raised=r["raised"],
                silences={int(b): deque(v, maxlen=config.remembered)
                          for b, v in r["silences"].items()},
            )
        return detector
