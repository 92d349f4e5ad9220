"""The simulated district and the platform agree on how often each device reports: half an
hour of the demo district through the welfare stage (ingest/welfare.py) finds no device that
missed its check-in, and calls no one "all emergency devices silent" but the elders whose
devices' connection the simulation dropped (their last will says "offline")."""

from __future__ import annotations

from detection.device_health import OFFLINE_DELAY_S
from ingest.codec import Decoder
from ingest.contract import Status
from ingest.welfare import WelfareStage
from simulators.district import District
from simulators.scenario import DEMO
from simulators.simulation import Simulation
from store.registry import DeviceRef

START = 1_800_000_000.0


def test_half_an_hour_of_the_demo_district_misses_no_check_in() -> None:
    district = District.generate(seed=12349, homes=12, care_homes=1)
    sites = {s.id: s for s in district.sites}
    refs = {d.id: DeviceRef(id=d.id, site_id=d.site_id, kind=d.kind, resident_id=d.resident_id,
                            room_id=d.room_id, site_kind=sites[d.site_id].kind,
                            site_lat=sites[d.site_id].lat, site_lon=sites[d.site_id].lon)
            for d in district.devices if d.kind != "kiosk"}
    assert any(r.site_kind == "care_home" and r.kind == "button" for r in refs.values())
    sim = Simulation(district, DEMO, seed=12349, start=START)
    decoder = Decoder(clock=lambda: sim.now)
    stage = WelfareStage()
    stage.configure(refs)
    found, dropped = [], set()
    for _ in range(30 * 60):
        envelopes = [decoder.decode(m.topic, m.payload) for m in sim.step()
                     if not m.topic.endswith("/accel")]  # telemetry says as much, faster
        dropped |= {e.device for e in envelopes
                    if isinstance(e.body, Status) and e.body.state == "offline"}
        found += stage.process(envelopes, now=sim.now)
    problems = [(t.kind, t.details.get("problem"), t.device_id) for t in found]
    assert not [p for p in problems if p[1] == "no_checkin"], problems
    assert {d for kind, _, d in problems if kind == "welfare_check"} <= dropped, problems
    # and only about elders: a room's smoke detector dropping out is maintenance alone
    assert all(refs[d].resident_id for kind, _, d in problems if kind == "welfare_check")


def test_a_care_home_whose_network_goes_down_is_one_site_alarm() -> None:
    """A care home's network goes down (Scenario.site_outages_per_hour): every one of its
    devices' connections times out at the broker, whose last wills come over a minute. That
    is one ``site_silent`` alarm for the home, and no device's ``offline`` and no resident's
    "all emergency devices silent" while it lasts (each offline waits two minutes: by then the
    home is seen down), nor when it is back (its devices return over half a minute: what is
    still down is judged two minutes later). Before, the last wills were each reported at
    once, and the home was never seen down at all: a P3 for every resident."""
    import dataclasses

    district = District.generate(seed=12349, homes=4, care_homes=1)
    sites = {s.id: s for s in district.sites}
    refs = {d.id: DeviceRef(id=d.id, site_id=d.site_id, kind=d.kind, resident_id=d.resident_id,
                            room_id=d.room_id, site_kind=sites[d.site_id].kind)
            for d in district.devices if d.kind != "kiosk"}
    quiet = dataclasses.replace(DEMO, dropouts_per_hour=0.0, site_outages_per_hour=30.0,
                                site_outage_s=(16 * 60.0, 18 * 60.0))
    sim = Simulation(district, quiet, seed=3, start=START)
    decoder = Decoder(clock=lambda: sim.now)
    stage = WelfareStage()
    stage.configure(refs)
    found = []
    for _ in range(40 * 60):
        envelopes = [decoder.decode(m.topic, m.payload) for m in sim.step()
                     if not m.topic.endswith("/accel")]
        found += [(t.kind, refs[t.device_id].site_id) for t in stage.process(envelopes,
                                                                             now=sim.now)]
    home, _, back = sim.site_outages[0]
    assert back < START + 30 * 60, sim.site_outages  # down and back early enough to be judged
    # the next (if any) comes after the first's devices were all back and judged
    assert all(at > back + 30 + OFFLINE_DELAY_S for _, at, _ in sim.site_outages[1:])
    assert [f for f in found if f[1] == home] == [("site_silent", home)] * len(
        sim.site_outages), found


def test_a_night_at_a_safe_place_is_no_wandering_and_a_night_wander_is_one() -> None:
    """The district's wearers leave home (Scenario.outings_per_hour, stays_per_hour,
    night_wanders_per_hour) and the welfare stage, given the district's safe places as ingest
    reads them, raises a ``wandering`` for each night wander, while it is under way and naming
    home, and none for a walk by day or a night at a son's or daughter's flat."""
    import dataclasses

    from store.registry import SafePlace

    district = District.generate(seed=12349, homes=9, care_homes=0)
    sites = {s.id: s for s in district.sites}
    refs = {d.id: DeviceRef(id=d.id, site_id=d.site_id, kind=d.kind, resident_id=d.resident_id,
                            room_id=d.room_id, site_kind=sites[d.site_id].kind,
                            site_lat=sites[d.site_id].lat, site_lon=sites[d.site_id].lon)
            for d in district.devices}
    assert district.places, "every third wearer at home has a safe place besides home"
    away = dataclasses.replace(DEMO, sos_per_hour=0.0, accidental_per_hour=0.0,
                               falls_per_hour=0.0, dropouts_per_hour=0.0, watch_off_per_hour=0.0,
                               outings_per_hour=20.0, stays_per_hour=20.0,
                               night_wanders_per_hour=6.0)
    sim = Simulation(district, away, seed=5, start=START)  # 16:00 in Shanghai
    decoder = Decoder(clock=lambda: sim.now)
    stage = WelfareStage()
    stage.configure(refs, {p.resident_id: [SafePlace(name=p.name, lat=p.lat, lon=p.lon,
                                                     radius_m=p.radius_m)]
                           for p in district.places})
    wanderings = []
    for _ in range(int(7.5 * 3600)):  # to 23:30
        envelopes = [decoder.decode(m.topic, m.payload) for m in sim.step()
                     if not m.topic.endswith("/accel")]
        wanderings += [(t.device_id, t.occurred_ts, t.details["place"])
                       for t in stage.process(envelopes, now=sim.now) if t.kind == "wandering"]
    kinds = {t.kind for t in sim.trips}
    assert kinds == {"outing", "stay", "night_wander"}, sim.trips
    stays = [t for t in sim.trips if t.kind == "stay"]
    assert stays and all(t.end > sim.now for t in stays)  # at the flat still, in the night
    night = [t for t in sim.trips if t.kind == "night_wander" and t.start < sim.now - 1800]
    assert night
    for w, at, place in wanderings:
        under_way = [t.kind for t in sim.trips if t.watch == w and t.start <= at <= t.end]
        assert (under_way, place) == (["night_wander"], "home"), (w, at, sim.trips)
    for t in night:
        assert any(w == t.watch and t.start <= at <= t.end for w, at, _ in wanderings), t
