"""Geofence: accuracy margins, hysteresis, night wandering, last location; haversine reference."""

from __future__ import annotations

import doctest
import importlib
import json

import numpy as np
import pytest

from detection.geofence import GeofenceDetector, GeofenceFinding, LocationFix, SafeZone, haversine_m
from tests.detection.cases_geofence import (
    HOME,
    METRES_PER_DEG_LAT,
    NOON_SHANGHAI,
    ZONES,
    day_and_night_walks,
)

ZONE = SafeZone(subject="r1", lat=HOME[0], lon=HOME[1], radius_m=300.0)


def _fix(north_m: float, *, t: float, accuracy: float = 10.0) -> LocationFix:
    return LocationFix(timestamp=t, subject="r1", lat=HOME[0] + north_m / METRES_PER_DEG_LAT,
                       lon=HOME[1], accuracy_m=accuracy)


def _run(d: GeofenceDetector, batches: list[list[LocationFix]]) -> list[GeofenceFinding]:
    return [f for b in batches for f in d.update(b)]


def test_haversine_matches_a_vector_reference() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        lat1, lat2 = rng.uniform(-80, 80, 2)
        lon1, lon2 = rng.uniform(-180, 180, 2)
        def unit(lat: float, lon: float) -> np.ndarray:
            la, lo = np.radians(lat), np.radians(lon)
            return np.array([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])
        a, b = unit(lat1, lon1), unit(lat2, lon2)
        # central angle from the chord, stable for small and large angles alike
        angle = 2 * np.arcsin(np.linalg.norm(a - b) / 2)
        assert haversine_m(lat1, lon1, lat2, lon2) == pytest.approx(6_371_008.8 * angle, rel=1e-9)


def test_leaving_by_day_needs_two_sure_fixes_and_is_not_wandering() -> None:
    d = GeofenceDetector(zones=(ZONE,))
    assert d.update([_fix(500, t=NOON_SHANGHAI)]) == []
    found = d.update([_fix(520, t=NOON_SHANGHAI + 60)])
    assert [f.kind for f in found] == ["left_zone"]
    assert [f.kind for f in d.update([_fix(0, t=NOON_SHANGHAI + 120)])] == ["returned"]


def test_poor_accuracy_near_the_fence_is_not_an_exit() -> None:
    d = GeofenceDetector(zones=(ZONE,))
    # 400 m out but ±80 m: the near edge (320 m) is within radius + margin (350 m)
    assert _run(d, [[_fix(400, t=NOON_SHANGHAI + i * 60, accuracy=80)] for i in range(5)]) == []
    # a cell-tower guess 5 km away says nothing
    assert d.update([_fix(5000, t=NOON_SHANGHAI + 600, accuracy=2000)]) == []


def test_wobble_at_the_fence_does_not_flap() -> None:
    d = GeofenceDetector(zones=(ZONE,))
    fixes = [_fix(d_, t=NOON_SHANGHAI + i * 60) for i, d_ in
             enumerate([400, 400, 295, 400, 295, 400, 295])]
    assert [f.kind for f in _run(d, [[f] for f in fixes])] == ["left_zone"]


def test_being_out_as_night_falls_is_wandering_once() -> None:
    d = GeofenceDetector(zones=(ZONE,))
    evening = NOON_SHANGHAI + 8.5 * 3600  # 20:30
    fixes = [_fix(800, t=evening + i * 600) for i in range(8)]  # until 21:40
    kinds = [(f.kind, round((f.timestamp - NOON_SHANGHAI) / 3600, 2)) for f in
             _run(d, [[f] for f in fixes])]
    assert kinds == [("left_zone", 8.67), ("wandering", 9.0)]


def test_last_location_is_kept_even_for_vague_or_unzoned_fixes() -> None:
    d = GeofenceDetector(zones=(ZONE,))
    vague = _fix(5000, t=NOON_SHANGHAI, accuracy=2000)
    d.update([vague, _fix(0, t=NOON_SHANGHAI - 60)])  # the second is late and ignored
    assert d.last_location("r1") == vague
    other = LocationFix(timestamp=1.0, subject="no-zone", lat=0.0, lon=0.0)
    d.update([other])
    assert d.last_location("no-zone") == other
    assert d.last_location("nobody") is None


def test_seeded_walks_give_pinned_findings() -> None:
    found = _run(GeofenceDetector(zones=ZONES), day_and_night_walks(7))
    kinds = [(f.subject, f.kind, round((f.timestamp - NOON_SHANGHAI) / 3600, 2)) for f in found]
    assert kinds == [
        ("r1", "left_zone", 2.08),
        ("r1", "returned", 3.0),
        ("r2", "wandering", 11.08),
    ]


def test_restore_continues_identically() -> None:
    batches = day_and_night_walks(3)
    straight = _run(GeofenceDetector(zones=ZONES), batches)
    d = GeofenceDetector(zones=ZONES)
    head = _run(d, batches[:30])
    again = GeofenceDetector.restore(json.loads(json.dumps(d.snapshot())))
    assert head + _run(again, batches[30:]) == straight
    assert again.last_location("r1") == batches[-1][0]


FLAT_NORTH_M = 3000.0
FLAT = SafeZone(subject="r1", lat=HOME[0] + FLAT_NORTH_M / METRES_PER_DEG_LAT, lon=HOME[1],
                radius_m=200.0, name="flat")


def test_a_night_at_another_safe_place_is_no_wandering_and_leaving_it_is() -> None:
    d = GeofenceDetector(zones=(FLAT, ZONE))  # home is taken first whatever the order
    evening = NOON_SHANGHAI + 6 * 3600  # 18:00
    found = _run(d, [[_fix(north, t=evening + i * 600)] for i, north in
                     enumerate([0, 800, 1500, 2500, FLAT_NORTH_M, FLAT_NORTH_M + 20])])
    assert [(f.kind, f.place) for f in found] == [("left_zone", "home"), ("returned", "flat")]
    night = NOON_SHANGHAI + 14 * 3600  # 02:00
    assert _run(d, [[_fix(FLAT_NORTH_M - 30 + 10 * i, t=evening + 3600 + i * 900)]
                    for i in range(20)]) == []  # 19:00 to 23:45
    out = _run(d, [[_fix(FLAT_NORTH_M + metres, t=night + i * 60)]
                   for i, metres in enumerate([100, 400, 700, 900])])
    assert [(f.kind, f.place, round(f.distance_m)) for f in out] == [("wandering", "flat", 700)]


def test_a_fix_is_in_when_it_is_surely_in_one_place_and_out_only_when_surely_out_of_all() -> None:
    d = GeofenceDetector(zones=(ZONE, FLAT))
    # surely out of home, but 400 m from the flat with 200 m of doubt: maybe at the flat's gate
    vague = [_fix(FLAT_NORTH_M - 400, t=NOON_SHANGHAI + i * 60, accuracy=200) for i in range(4)]
    assert _run(d, [[f] for f in vague]) == []
    found = _run(d, [[_fix(1500, t=NOON_SHANGHAI + 600 + i * 60)] for i in range(2)])
    assert [(f.kind, f.place) for f in found] == [("left_zone", "home")]
    # 150 m from the flat's centre with ±60 m: not surely in (210 > 200) nor surely out
    assert d.update([_fix(FLAT_NORTH_M - 150, t=NOON_SHANGHAI + 900, accuracy=60)]) == []
    back = d.update([_fix(FLAT_NORTH_M - 150, t=NOON_SHANGHAI + 960, accuracy=40)])
    assert [(f.kind, f.place, round(f.distance_m)) for f in back] == [("returned", "flat", 150)]


def test_a_subject_out_when_their_places_change_is_judged_afresh() -> None:
    """Called wandering at the flat before it was a place, then the flat named: she is in it,
    and walking out of it later is a wandering from it. Out of the flat on a wandering, then the
    flat taken away: a new wandering from home. The same places read again change nothing."""
    night = NOON_SHANGHAI + 14 * 3600  # 02:00
    d = GeofenceDetector(zones=(ZONE,))
    first = _run(d, [[_fix(FLAT_NORTH_M, t=night + i * 60)] for i in range(2)])
    assert [(f.kind, f.place) for f in first] == [("wandering", "home")]
    d.zones = (ZONE,)  # read again with the registry: the same excursion
    assert _run(d, [[_fix(FLAT_NORTH_M, t=night + 300 + i * 60)] for i in range(2)]) == []
    d.zones = (ZONE, FLAT)
    assert _run(d, [[_fix(FLAT_NORTH_M, t=night + 600 + i * 60)] for i in range(2)]) == []
    out = _run(d, [[_fix(FLAT_NORTH_M + 700, t=night + 900 + i * 60)] for i in range(2)])
    assert [(f.kind, f.place, round(f.distance_m)) for f in out] == [("wandering", "flat", 700)]
    d.zones = (ZONE, FLAT)  # a new tuple of the same places
    assert _run(d, [[_fix(FLAT_NORTH_M + 700, t=night + 1200 + i * 60)] for i in range(2)]) == []
    d.zones = (ZONE,)
    again = _run(d, [[_fix(FLAT_NORTH_M + 700, t=night + 1500 + i * 60)] for i in range(2)])
    assert [(f.kind, f.place, round(f.distance_m)) for f in again] == [
        ("wandering", "home", round(FLAT_NORTH_M + 700))]


def test_a_stay_that_has_ended_no_longer_counts_and_the_alarm_says_so() -> None:
    """The daughter's flat is a stay until 20:00 the next day: the night there is quiet; past
    the stay's end she is out of every safe place, and at 21:00 it is a wandering from home
    that says she is still within the stay that ended. Home again before the end, the end
    changes nothing; a stay ending in the night is a wandering at once."""
    evening = NOON_SHANGHAI + 6 * 3600  # 18:00
    ends = evening + 26 * 3600  # 20:00 the next day
    stay = SafeZone(subject="r1", lat=FLAT.lat, lon=FLAT.lon, radius_m=200.0, name="flat",
                    until=ends)
    d = GeofenceDetector(zones=(ZONE, stay))
    there = [[_fix(FLAT_NORTH_M + (i % 3) * 20, t=evening + i * 1800)] for i in range(60)]
    found = _run(d, there)  # 18:00 to 23:30 the next day
    assert [(f.kind, f.place, f.ended, round((f.timestamp - NOON_SHANGHAI) / 3600, 1))
            for f in found] == [("left_zone", "home", "flat", 32.5),
                                ("wandering", "home", "flat", 33.0)]
    assert round(found[-1].distance_m) == round(FLAT_NORTH_M)  # from home, where she is not
    # the same stay, but she went home at noon: its end is nothing to her
    d = GeofenceDetector(zones=(ZONE, stay))
    back = [[_fix(FLAT_NORTH_M, t=evening + i * 1800)] for i in range(36)]  # to 11:30
    back += [[_fix(0, t=evening + 18 * 3600 + i * 1800)] for i in range(24)]  # noon to 23:30
    assert _run(d, back) == []
    # a stay that ends at 02:00 while she sleeps there: a wandering from the second fix after
    night_end = NOON_SHANGHAI + 14 * 3600
    d = GeofenceDetector(zones=(ZONE, SafeZone(subject="r1", lat=FLAT.lat, lon=FLAT.lon,
                                               radius_m=200.0, name="flat", until=night_end)))
    late = _run(d, [[_fix(FLAT_NORTH_M, t=night_end - 1200 + i * 600)] for i in range(5)])
    assert [(f.kind, f.ended, f.timestamp - night_end) for f in late] == [("wandering", "flat", 600)]
    # and it survives a restart: the end is in the snapshot
    again = GeofenceDetector.restore(json.loads(json.dumps(d.snapshot())))
    assert again.zones == d.zones


def test_a_snapshot_from_before_places_restores_to_home() -> None:
    d = GeofenceDetector(zones=(ZONE,))
    _run(d, [[_fix(0, t=NOON_SHANGHAI)]])
    snap = json.loads(json.dumps(d.snapshot()))
    for zone in snap["zones"]:
        del zone["name"], zone["until"]
    for state in snap["states"].values():
        del state["place"]
    again = GeofenceDetector.restore(snap)
    assert again.zones == (ZONE,)
    night = NOON_SHANGHAI + 10 * 3600
    out = _run(again, [[_fix(900, t=night + i * 60)] for i in range(2)])
    assert [(f.kind, f.place) for f in out] == [("wandering", "home")]


@pytest.mark.parametrize("module", ['detection.geofence'])
def test_docstring_examples_run(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0
    assert result.failed == 0
