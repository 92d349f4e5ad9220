"""Geofence and wandering: each resident's safe zone, with GPS accuracy taken into account.

Method: the safe zone is a circle (home centre and radius). A fix is *surely outside* when even
the near edge of its accuracy circle is beyond the radius plus a margin
(``distance - accuracy > radius + margin``), and *surely inside* when its far edge is within the
radius (``distance + accuracy <= radius``); anything between changes nothing (hysteresis, so a
fix wobbling at the fence does not flap). ``confirm`` consecutive surely-outside fixes mean the
resident has left. Leaving — or still being out — during the resident's night hours is
*wandering* (the dementia "exit-seeking" pattern; cf. Lin et al., "Detecting wandering behavior
based on GPS traces for elders with dementia", ICARCV 2012), reported once per excursion; by day
leaving is only a ``left_zone`` note. Distances are great-circle (haversine, mean Earth radius).
The last fix of each resident is kept so an SOS can carry a location.

>>> g = GeofenceDetector(zones=(SafeZone(subject="r1", lat=31.2304, lon=121.4737, radius_m=300),))
>>> far = [LocationFix(timestamp=1_700_000_000.0 + 60 * i, subject="r1", lat=31.2404, lon=121.4737,
...                    accuracy_m=20.0) for i in range(2)]
>>> [f.kind for f in g.update(far)]  # 06:13 in Shanghai
['wandering']
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

EARTH_RADIUS_M = 6_371_008.8  # IUGG mean radius


@dataclass(frozen=True, slots=True, kw_only=True)
class LocationFix:
    timestamp: float
    subject: str
    lat: float
    lon: float
    accuracy_m: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class SafeZone:
    subject: str
    lat: float
    lon: float
    radius_m: float
    tz: str = "Asia/Shanghai"
    night_from: int = 21
    night_until: int = 7


@dataclass(frozen=True, slots=True, kw_only=True)
class GeofenceFinding:
    timestamp: float
    subject: str
    kind: str  # left_zone, wandering, returned
    distance_m: float
    fix: LocationFix


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


@dataclass(slots=True)
class _State:
    outside: bool = False
    outside_run: int = 0
    wandering: bool = False
    last: LocationFix | None = None


@dataclass(slots=True)
class GeofenceDetector:
    """Safe-zone exits per resident; wandering at night; the last location of each."""

    zones: tuple[SafeZone, ...] = ()
    margin_m: float = 50.0
    """Beyond the radius, so a walk to the gate is not an exit."""
    max_accuracy_m: float = 500.0
    """Fixes vaguer than this (cell-tower guesses) tell nothing about a 300 m fence."""
    confirm: int = 2
    _states: dict[str, _State] = field(default_factory=dict)
    _by_subject: tuple[tuple[SafeZone, ...], dict[str, SafeZone]] = field(
        default=((), {}), repr=False, compare=False)
    """The zones by subject, and the ``zones`` they were made from (rebuilt when replaced)."""

    def update(self, batch: Sequence[LocationFix]) -> list[GeofenceFinding]:
        if self._by_subject[0] is not self.zones:
            self._by_subject = (self.zones, {z.subject: z for z in self.zones})
        by_subject = self._by_subject[1]
        found: list[GeofenceFinding] = []
        for fix in batch:
            state = self._states.setdefault(fix.subject, _State())
            if state.last is not None and fix.timestamp <= state.last.timestamp:
                continue  # late fix: the newer one stays the last known location
            state.last = fix
            zone = by_subject.get(fix.subject)
            if zone is None or fix.accuracy_m > self.max_accuracy_m:
                continue
            found.extend(self._judge(zone, state, fix))
        return found

    def last_location(self, subject: str) -> LocationFix | None:
        """The newest fix of ``subject`` (whatever its accuracy), to attach to an SOS."""
        state = self._states.get(subject)
        return state.last if state else None

    def _judge(self, zone: SafeZone, state: _State, fix: LocationFix) -> list[GeofenceFinding]:
        distance = haversine_m(zone.lat, zone.lon, fix.lat, fix.lon)
        surely_out = distance - fix.accuracy_m > zone.radius_m + self.margin_m
        surely_in = distance + fix.accuracy_m <= zone.radius_m

        def finding(kind: str) -> GeofenceFinding:
            return GeofenceFinding(timestamp=fix.timestamp, subject=fix.subject, kind=kind,
                                   distance_m=distance, fix=fix)

        if surely_in:
            state.outside_run = 0
            was_out, state.outside, state.wandering = state.outside, False, False
            return [finding("returned")] if was_out else []
        if not surely_out:
            return []
        state.outside_run += 1
        out: list[GeofenceFinding] = []
        if not state.outside and state.outside_run >= self.confirm:
            state.outside = True
            if not _is_night(zone, fix.timestamp):
                out.append(finding("left_zone"))
        if state.outside and not state.wandering and _is_night(zone, fix.timestamp):
            state.wandering = True
            out.append(finding("wandering"))
        return out

    def snapshot(self) -> dict[str, Any]:
        return {**self.snapshot_head(), "states": self.snapshot_part(self.snapshot_keys())}

    def snapshot_head(self) -> dict[str, Any]:
        """The snapshot without its states (:meth:`snapshot_part`): for a snapshot taken in
        parts, between which the caller lets other work run (``ingest.welfare``)."""
        return {"zones": [asdict(z) for z in self.zones], "margin_m": self.margin_m,
                "max_accuracy_m": self.max_accuracy_m, "confirm": self.confirm}

    def snapshot_keys(self) -> list[str]:
        """The keys of the snapshot's ``states``, as they are now."""
        return list(self._states)

    def snapshot_part(self, subjects: Iterable[str]) -> dict[str, Any]:
        """The snapshot's ``states`` for ``subjects`` (those no longer kept are left out)."""
        states = self._states
        return {s: {"outside": st.outside, "outside_run": st.outside_run,
                    "wandering": st.wandering, "last": asdict(st.last) if st.last else None}
                for s in subjects if (st := states.get(s)) is not None}

    @classmethod
    def restore(cls, snap: dict[str, Any]) -> GeofenceDetector:
        detector = cls(zones=tuple(SafeZone(**z) for z in snap["zones"]),
                       margin_m=snap["margin_m"], max_accuracy_m=snap["max_accuracy_m"],
                       confirm=snap["confirm"])
        for subject, st in snap["states"].items():
            detector._states[subject] = _State(
                outside=st["outside"], outside_run=st["outside_run"], wandering=st["wandering"],
                last=LocationFix(**st["last"]) if st["last"] else None,
            )
        return detector


def _is_night(zone: SafeZone, timestamp: float) -> bool:
    hour = datetime.fromtimestamp(timestamp, UTC).astimezone(ZoneInfo(zone.tz)).hour
    if zone.night_from > zone.night_until:
        return hour >= zone.night_from or hour < zone.night_until
    return zone.night_from <= hour < zone.night_until
