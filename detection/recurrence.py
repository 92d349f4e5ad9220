"""Has an outlier this large been seen at this time of day before? A daily-recurrence memory.

A value far from a series' median is news the first time; when one as large came at the same
time yesterday or the day before, it is a routine — a nightly backup's load, a daily batch
job, a care home's morning round — and an operator does not want it reported every day. The
memory keeps the largest value of each ``slot``-second slot of the last ``days`` days (a ring
of slot maxima, so its size does not grow with the sample rate) and answers whether, on at least
one of those days, the same time of day within ``span`` slots either way held a value at least
``ratio`` times the one asked about. Slots are of UTC time, so a change of daylight-saving time
moves a local routine by one slot-hour for a day.

:class:`detection.anomaly.AnomalyScorer` asks it about its level measure (the robust z-score):
the level outlier of a routine does not report; the shape measures, which compare patterns, and
the range measure, which sees only new extremes, are not gated.

>>> memory = DailyRecurrence(days=3, slot=600.0, span=3, ratio=0.5)
>>> memory.add(3_600.0, 8.0)                      # 01:00 on day one: a z-score of 8
>>> memory.seen_before(86_400.0 + 3_900.0, 10.0)  # 01:05 next day: 10, and 8 >= 0.5 x 10
True
>>> memory.seen_before(86_400.0 + 3_900.0, 20.0)  # twice as large as anything before: news
False
>>> memory.seen_before(86_400.0 + 20_000.0, 10.0) # another time of day
False
"""

from __future__ import annotations

import math
from typing import Any

DAY = 86_400.0


class DailyRecurrence:
    """The largest value per time slot over the last ``days`` days; see the module docstring."""

    def __init__(self, *, days: int, slot: float, span: int, ratio: float) -> None:
        if days < 1 or slot <= 0 or span < 0 or not 0 < ratio <= 1 or DAY % slot:
            raise ValueError(f"bad daily recurrence: days {days}, slot {slot}, span {span}, "
                             f"ratio {ratio} (slot must divide a day)")
        self.days, self.slot, self.span, self.ratio = days, slot, span, ratio
        self._per_day = int(DAY // slot)
        # one entry per slot of days + 1 days, indexed by the absolute slot number modulo the
        # ring's size; an entry is valid only while it still holds that slot's number
        self._size = (days + 1) * self._per_day
        self._slots = [-1] * self._size
        self._maxima = [0.0] * self._size

    def seen_before(self, timestamp: float, value: float) -> bool:
        """True when some day of the last ``days`` had, within ``span`` slots of this time of
        day, a value of at least ``ratio * value``."""
        here = math.floor(timestamp / self.slot)
        need = self.ratio * value
        for day in range(1, self.days + 1):
            centre = here - day * self._per_day
            for s in range(centre - self.span, centre + self.span + 1):
                k = s % self._size
                if self._slots[k] == s and self._maxima[k] >= need:
                    return True
        return False

    def add(self, timestamp: float, value: float) -> None:
        s = math.floor(timestamp / self.slot)
        k = s % self._size
        if self._slots[k] != s:
            self._slots[k], self._maxima[k] = s, value
        elif value > self._maxima[k]:
            self._maxima[k] = value

    def snapshot(self) -> dict[str, Any]:
        kept = [(s, m) for s, m in zip(self._slots, self._maxima, strict=True) if s >= 0]
        return {"slots": [s for s, _ in kept], "maxima": [m for _, m in kept]}

    def restore_from(self, snap: dict[str, Any]) -> None:
        for s, m in zip(snap["slots"], snap["maxima"], strict=True):
            k = int(s) % self._size
            self._slots[k], self._maxima[k] = int(s), float(m)
