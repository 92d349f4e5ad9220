"""Flap control: repeats of one kind of finding for one subject merge into one with a count.

Method: the first finding of a (subject, kind) passes at once. Repeats within ``hold`` seconds
of the last one that passed are held back and counted; the first repeat after the hold passes
carrying that count (``count`` = held + 1, ``first_timestamp`` = when the run began), and a
:class:`Clock` tick closes a run that went quiet, emitting its summary if anything was held.
This is the classic alarm-flood "shelving by repetition" of ISA-18.2 / EEMUA 191, without
dropping information: every held finding is in a count. SOS presses and smoke alarms are never
held, merged or delayed — each passes at once with count 1, whatever came before.

What a merged finding shows (``detail``, ``data``, ``severity``) is the finding it stands for
with the highest ``severity``, the latest of equals: a later, more informative finding (an
unusual-pattern deviation with its anomaly score after a plain z-score one) is not only counted
but shown, and a later, plainer repeat does not hide it. ``data`` must be JSON-serialisable: held
findings are part of the snapshot.

>>> f = FlapControl(hold=600.0)
>>> raw = [Finding(timestamp=float(t), subject="r1", kind="low_battery") for t in (0, 60, 120)]
>>> [(m.count, m.timestamp) for m in f.update(raw)]
[(1, 0.0)]
>>> [(m.count, m.first_timestamp) for m in f.update([Clock(timestamp=700.0)])]
[(2, 60.0)]
>>> seen = [Finding(timestamp=800.0, subject="r1", kind="deviation", detail="z +6"),
...         Finding(timestamp=900.0, subject="r1", kind="deviation", detail="pattern",
...                 data={"anomaly_score": 0.8}, severity=0.8),
...         Finding(timestamp=950.0, subject="r1", kind="deviation", detail="z +5")]
>>> [(m.count, m.detail) for m in f.update(seen)]
[(1, 'z +6')]
>>> [(m.count, m.detail, m.data) for m in f.update([Clock(timestamp=1400.0)])]
[(2, 'pattern', {'anomaly_score': 0.8})]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

NEVER_HELD = frozenset({"sos", "smoke"})
"""Kinds that must reach a person at once, every time (DESIGN.md: "must never be lost or
muted"; smoke is highest priority)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """What flap control needs of any detector's finding."""

    timestamp: float
    subject: str
    kind: str
    detail: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)
    """What the alarm carries (JSON-serialisable)."""
    severity: float = 0.0
    """Ranks the findings of one run: the merged one shows the highest (the latest of equals)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Clock:
    timestamp: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Merged:
    timestamp: float
    subject: str
    kind: str
    count: int
    """Findings this one stands for (1: no repeats merged)."""
    first_timestamp: float
    detail: str
    data: Mapping[str, Any] = field(default_factory=dict)
    """The ``data`` of the finding shown: the most severe of those merged, the latest of equals."""
    severity: float = 0.0


@dataclass(slots=True)
class _Run:
    last_passed: float
    held: int = 0
    first_held: float = 0.0
    last_held: float = 0.0
    detail: str = ""
    """The held finding shown when the run is merged: ``detail``, ``data``, ``severity``."""
    data: dict[str, Any] = field(default_factory=dict)
    severity: float = 0.0

    def shown(self, f: Finding | None = None) -> tuple[str, Mapping[str, Any], float]:
        """What the merged finding shows: the held one, or ``f`` if it is at least as severe."""
        if f is not None and (self.held == 0 or f.severity >= self.severity):
            return f.detail, f.data, f.severity
        return self.detail, self.data, self.severity


@dataclass(slots=True)
class FlapControl:
    hold: float = 600.0
    never_held: frozenset[str] = NEVER_HELD
    _runs: dict[str, _Run] = field(default_factory=dict)

    def update(self, batch: Sequence[Finding | Clock]) -> list[Merged]:
        out: list[Merged] = []
        for item in batch:
            if isinstance(item, Clock):
                out.extend(self._close(item.timestamp))
            elif item.kind in self.never_held:
                out.append(Merged(timestamp=item.timestamp, subject=item.subject, kind=item.kind,
                                  count=1, first_timestamp=item.timestamp, detail=item.detail,
                                  data=item.data, severity=item.severity))
            else:
                out.extend(self._repeat(item))
        return out

    def _repeat(self, f: Finding) -> list[Merged]:
        key = f"{f.subject}|{f.kind}"
        run = self._runs.get(key)
        if run is not None and f.timestamp < run.last_passed:
            return []  # older than what already passed: it is part of that run's past
        if run is None or f.timestamp - run.last_passed >= self.hold:
            count = 1 + (run.held if run else 0)
            first = run.first_held if run and run.held else f.timestamp
            detail, data, severity = run.shown(f) if run else (f.detail, f.data, f.severity)
            self._runs[key] = _Run(last_passed=f.timestamp)
            return [Merged(timestamp=f.timestamp, subject=f.subject, kind=f.kind, count=count,
                           first_timestamp=first, detail=detail, data=data, severity=severity)]
        detail, data, severity = run.shown(f)
        if run.held == 0:
            run.first_held = f.timestamp
        run.held += 1
        run.last_held = f.timestamp
        run.detail, run.data, run.severity = detail, dict(data), severity
        return []

    def _close(self, now: float) -> list[Merged]:
        out = []
        for key, run in list(self._runs.items()):
            if now - run.last_passed < self.hold:
                continue
            if run.held:
                subject, kind = key.split("|", 1)
                out.append(Merged(timestamp=run.last_held, subject=subject, kind=kind,
                                  count=run.held, first_timestamp=run.first_held,
                                  detail=run.detail, data=run.data, severity=run.severity))
            del self._runs[key]  # quiet for a whole hold: the next finding starts afresh
        return out

    def snapshot(self) -> dict[str, Any]:
        return {
            "hold": self.hold,
            "never_held": sorted(self.never_held),
            "runs": {k: [r.last_passed, r.held, r.first_held, r.last_held, r.detail, r.data,
                         r.severity]
                     for k, r in self._runs.items()},
        }

    @classmethod
    def restore(cls, snap: dict[str, Any]) -> FlapControl:
        control = cls(hold=snap["hold"], never_held=frozenset(snap["never_held"]))
        # snapshots from before data and severity have 5 fields: the defaults fill the rest
        control._runs = {k: _Run(*v) for k, v in snap["runs"].items()}
        return control
