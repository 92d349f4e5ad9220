"""How many devices each ingest lane hears, per five-minute slot: what tells a district gone
half silent from a lane that is merely alive (alerts/intake.py judges it against the same slot
on the days before).

A lane that is connected and working can still hear far fewer devices than it should: a broker
ACL change, a mobile operator's outage or a gateway fleet's bad update silences part of the
district, and each device's own "no check-in" comes an hour (a watch) or 37 h (a button) later,
one maintenance item at a time. Counting the distinct devices heard in each slot is cheap (one
set per slot) and the count, unlike a message rate, does not care how chatty each device is.

Only whole slots are reported: the one a lane started in, and the one it stops in, are partial
and would look like a drop.

>>> a = Activity(slot_s=300.0, started=0.0)
>>> a.heard(10.0, ["watch-1", "watch-1"])  # two messages of one device
>>> a.heard(310.0, ["watch-2"])
>>> [(s.start, s.devices, s.messages) for s in a.pending]
[(0.0, 1, 2)]
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

SLOT_S = 300.0
KEEP = 288
"""Whole slots kept while they cannot be written (a day's)."""


@dataclass(frozen=True, slots=True)
class Slot:
    start: float
    """Epoch seconds, a multiple of the slot length."""
    devices: int
    messages: int


@dataclass(slots=True)
class Activity:
    slot_s: float = SLOT_S
    started: float = 0.0
    """When the lane began listening: the slot holding it is partial, and not reported."""
    pending: list[Slot] = field(default_factory=list)
    """Whole slots not yet written (the platform's heartbeat writes and drops them)."""
    _slot: int | None = None
    _devices: set[str] = field(default_factory=set)
    _messages: int = 0

    def heard(self, now: float, devices: Iterable[str]) -> None:
        """The lane took a message from each of ``devices`` (a device once per message) at
        ``now``, or none: the clock alone closes a slot."""
        slot = math.floor(now / self.slot_s)
        if slot != self._slot:
            if self._slot is not None and self._slot * self.slot_s >= self.started:
                self.pending.append(Slot(start=self._slot * self.slot_s,
                                         devices=len(self._devices), messages=self._messages))
                del self.pending[:-KEEP]  # the database away for a day: the latest day's slots
            self._slot, self._devices, self._messages = slot, set(), 0
        for device in devices:
            self._devices.add(device)
            self._messages += 1

    def written(self, count: int) -> None:
        """The first ``count`` pending slots are stored."""
        del self.pending[:count]
