"""Geofence and wandering: each resident's safe places, with GPS accuracy taken into account.

Method: a safe place is a circle (centre and radius): the resident's home, and any other place
their carers name where the resident may be at any hour (a daughter's flat they stay the night
at, the day-care centre); a place may be a stay with an end, after which it no longer counts. A
fix is *surely outside* when even the near edge of its accuracy circle is beyond every place's
radius plus a margin (``distance - accuracy > radius + margin``), and *surely inside* when its
far edge is within one place's radius (``distance + accuracy <= radius``); anything between
changes nothing (hysteresis, so a fix wobbling at the fence does not flap). ``confirm``
consecutive surely-outside fixes mean the resident has left. Leaving — or still being out —
during the resident's night hours is *wandering* (the dementia "exit-seeking" pattern; cf. Lin
et al., "Detecting wandering behavior based on GPS traces for elders with dementia", ICARCV
2012), reported once per excursion; by day leaving is only a ``left_zone`` note. A finding
names the place left (or returned to) and its distance from that place's centre, so an elder
who slips out of their daughter's flat at 2 a.m. is looked for there, not at home. Distances
are great-circle (haversine, mean Earth radius). The last fix of each resident is kept so an
SOS can carry a location.

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
HOME = "home"
DEFAULT_RADIUS_M = 300.0
"""The safe circle around a home whose resident's carers have not set one (migration 0031)."""
NIGHT = (21, 7)
"""The local hours out of a safe place is a wandering, for a resident without a night of their
own (``residents.asleep_from``, ``up_by``)."""


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
    night_from: int = NIGHT[0]
    night_until: int = NIGHT[1]
    name: str = HOME
    """``HOME`` for the home; any other place by the name its carers gave it. A subject's night
    and zone are its first place's (its home's)."""
    until: float | None = None
    """A stay's end (seconds since the epoch): from then on the place no longer counts, and an
    elder still there at night is out of every safe place. None: lasting (the home always)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GeofenceFinding:
    timestamp: float
    subject: str
    kind: str  # left_zone, wandering, returned
    distance_m: float
    """From the centre of ``place``."""
    fix: LocationFix
    place: str = HOME
    """The safe place left (``left_zone``, ``wandering``) or returned to (``returned``)."""
    ended: str | None = None
    """A place whose stay has ended and which the fix is still within: out because the stay is
    over, not because they walked off (ask the family they were staying with)."""


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
    place: str | None = None
    """The safe place the subject was last surely inside (None: not yet seen inside one)."""


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
    _by_subject: tuple[tuple[SafeZone, ...], dict[str, tuple[SafeZone, ...]]] = field(
        default=((), {}), repr=False, compare=False)
    """The places by subject, home first, and the ``zones`` they were made from (rebuilt when
    replaced)."""

    def update(self, batch: Sequence[LocationFix]) -> list[GeofenceFinding]:
        if self._by_subject[0] is not self.zones:
            self._rebuild()
        by_subject = self._by_subject[1]
        found: list[GeofenceFinding] = []
        for fix in batch:
            state = self._states.setdefault(fix.subject, _State())
            if state.last is not None and fix.timestamp <= state.last.timestamp:
                continue  # late fix: the newer one stays the last known location
            state.last = fix
            places = by_subject.get(fix.subject)
            if places is None or fix.accuracy_m > self.max_accuracy_m:
                continue
            found.extend(self._judge(places, state, fix))
        return found

    def _rebuild(self) -> None:
        """Group the new ``zones`` by subject. A subject out of its places whose places changed
        is judged afresh: a place taken away while they were out of every place (or added
        where they are) would otherwise leave them on an excursion that never ends, and never
        called again. A detector just restored compares nothing: its zones were the snapshot's."""
        grouped: dict[str, list[SafeZone]] = {}
        for z in self.zones:
            grouped.setdefault(z.subject, []).append(z)
        before = self._by_subject[1]
        after = {s: tuple(sorted(zs, key=lambda z: z.name != HOME)) for s, zs in grouped.items()}
        for subject, places in after.items():
            state = self._states.get(subject)
            if state is not None and state.outside and before.get(subject, places) != places:
                state.outside = state.wandering = False
                state.outside_run = 0
        self._by_subject = (self.zones, after)

    def last_location(self, subject: str) -> LocationFix | None:
        """The newest fix of ``subject`` (whatever its accuracy), to attach to an SOS."""
        state = self._states.get(subject)
        return state.last if state else None

    def _judge(self, places: tuple[SafeZone, ...], state: _State,
               fix: LocationFix) -> list[GeofenceFinding]:
        zone = places[0]  # the subject's night and time zone are its home's
        ended = [p for p in places if p.until is not None and fix.timestamp >= p.until]
        if ended:
            places = tuple(p for p in places if p not in ended)
        distances = [haversine_m(p.lat, p.lon, fix.lat, fix.lon) for p in places]
        inside = next((p for p, d in zip(places, distances, strict=True)
                       if d + fix.accuracy_m <= p.radius_m), None)
        surely_out = all(d - fix.accuracy_m > p.radius_m + self.margin_m
                         for p, d in zip(places, distances, strict=True))

        def finding(kind: str, place: SafeZone) -> GeofenceFinding:
            distance = distances[places.index(place)]
            within = next((p.name for p in ended
                           if haversine_m(p.lat, p.lon, fix.lat, fix.lon) <= p.radius_m), None)
            return GeofenceFinding(timestamp=fix.timestamp, subject=fix.subject, kind=kind,
                                   distance_m=distance, fix=fix, place=place.name, ended=within)

        if inside is not None:
            state.outside_run = 0
            state.place = inside.name
            was_out, state.outside, state.wandering = state.outside, False, False
            return [finding("returned", inside)] if was_out else []
        if not surely_out:
            return []
        # the place left: where they were last seen inside, else (never seen inside, or that
        # place since taken away or its stay ended) the nearest
        left = next((p for p in places if p.name == state.place),
                    min(places, key=lambda p: distances[places.index(p)] - p.radius_m))
        state.outside_run += 1
        out: list[GeofenceFinding] = []
        if not state.outside and state.outside_run >= self.confirm:
            state.outside = True
            if not _is_night(zone, fix.timestamp):
                out.append(finding("left_zone", left))
        if state.outside and not state.wandering and _is_night(zone, fix.timestamp):
            state.wandering = True
            out.append(finding("wandering", left))
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
                    "wandering": st.wandering, "last": asdict(st.last) if st.last else None,
                    "place": st.place}
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
                place=st.get("place"),  # a snapshot from before places: seen inside none yet
            )
        return detector


def _is_night(zone: SafeZone, timestamp: float) -> bool:
    hour = datetime.fromtimestamp(timestamp, UTC).astimezone(ZoneInfo(zone.tz)).hour
    if zone.night_from > zone.night_until:
        return hour >= zone.night_from or hour < zone.night_until
    return zone.night_from <= hour < zone.night_until
