"""The simulated district and the platform agree on how often each device reports: half an
hour of the demo district through the welfare stage (ingest/welfare.py) finds no device that
missed its check-in, and calls no one "all emergency devices silent" but the elders whose
devices' connection the simulation dropped (their last will says "offline")."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from alerts.raising import AlarmTrigger
from detection.device_health import OFFLINE_DELAY_S
from ingest.codec import Decoder, Envelope
from ingest.contract import Status
from ingest.welfare import WelfareStage
from simulators.district import District
from simulators.scenario import DEMO, Scenario
from simulators.simulation import Simulation
from store.registry import SafePlace

START = 1_800_000_000.0


def _welfare(sim: Simulation, district: District, *, seconds: float,
             places: dict[str, list[SafePlace]] | None = None
             ) -> Iterator[tuple[list[Envelope], list[AlarmTrigger]]]:
    """Each second of ``sim`` (of ``district``): what it sent (but the accelerometer windows:
    telemetry says as much of the wearer's movement, faster) and what the welfare stage,
    given the registry as ingest reads it, raised of it."""
    decoder = Decoder(clock=lambda: sim.now)
    stage = WelfareStage()
    stage.configure(district.device_refs(), places)
    for _ in range(int(seconds)):
        envelopes = [decoder.decode(m.topic, m.payload) for m in sim.step()
                     if not m.topic.endswith("/accel")]
        yield envelopes, stage.process(envelopes, now=sim.now)


@pytest.mark.parametrize("kits", [False, True], ids=["without home kits", "with home kits"])
def test_half_an_hour_of_the_demo_district_misses_no_check_in(kits: bool) -> None:
    district = District.generate(seed=12349, homes=12, care_homes=1, home_gateways=kits)
    refs = district.device_refs()
    assert any(r.site_kind == "care_home" and r.kind == "button" for r in refs.values())
    assert any(r.kind == "gateway" for r in refs.values()) == kits
    found, dropped = [], set()
    sim = Simulation(district, DEMO, seed=12349, start=START)
    for envelopes, raised in _welfare(sim, district, seconds=30 * 60):
        dropped |= {e.device for e in envelopes
                    if isinstance(e.body, Status) and e.body.state == "offline"}
        found += raised
    problems = [(t.kind, t.details.get("problem"), t.device_id) for t in found]
    assert not [p for p in problems if p[1] == "no_checkin"], problems
    dropped |= {d for d, ref in refs.items() if ref.via in dropped}  # a cut line's, too
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
    district = District.generate(seed=12349, homes=4, care_homes=1)
    refs = district.device_refs()
    quiet = dataclasses.replace(DEMO, dropouts_per_hour=0.0, site_outages_per_hour=30.0,
                                site_outage_s=(16 * 60.0, 18 * 60.0))
    found = []
    sim = Simulation(district, quiet, seed=3, start=START)
    for _, raised in _welfare(sim, district, seconds=40 * 60):
        found += [(t.kind, refs[t.device_id].site_id) for t in raised]
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
    district = District.generate(seed=12349, homes=9, care_homes=0)
    assert district.places, "every third wearer at home has a safe place besides home"
    away = dataclasses.replace(DEMO, sos_per_hour=0.0, accidental_per_hour=0.0,
                               falls_per_hour=0.0, dropouts_per_hour=0.0, watch_off_per_hour=0.0,
                               outings_per_hour=20.0, stays_per_hour=20.0,
                               night_wanders_per_hour=6.0)
    places = {p.resident_id: [SafePlace(name=p.name, lat=p.lat, lon=p.lon, radius_m=p.radius_m)]
              for p in district.places}
    wanderings = []
    sim = Simulation(district, away, seed=5, start=START)  # 16:00 in Shanghai
    for _, raised in _welfare(sim, district, seconds=7.5 * 3600, places=places):  # to 23:30
        wanderings += [(t.device_id, t.occurred_ts, t.details["place"])
                       for t in raised if t.kind == "wandering"]
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


def _only(**rates: object) -> Scenario:
    """The demo scenario with nothing happening but ``rates`` (the home kits' line cuts)."""
    quiet = {name: 0.0 for name in (
        "sos_per_hour", "accidental_per_hour", "falls_per_hour", "smoke_per_hour",
        "smoke_tests_per_hour", "faults_per_hour", "dropouts_per_hour", "watch_off_per_hour",
        "site_outages_per_hour", "smoke_down_per_hour", "line_cuts_per_hour",
        "area_cuts_per_hour")}
    return dataclasses.replace(DEMO, **{**quiet, **rates})  # type: ignore[arg-type]


def _kits(homes: int, scenario: Scenario, *, seed: int, hours: float
          ) -> tuple[District, Simulation, list[tuple[AlarmTrigger, float]]]:
    """``homes`` homes, every third with a kit, run ``hours`` through the welfare stage: what
    it raised, each with the simulated time it was raised at."""
    district = District.generate(seed=12349, homes=homes, care_homes=0, home_gateways=True)
    sim = Simulation(district, scenario, seed=seed, start=START)
    found = []
    for _, raised in _welfare(sim, district, seconds=hours * 3600):
        found += [(t, sim.now) for t in raised]
    return district, sim, found


def test_a_home_gateway_whose_line_is_cut_leaves_its_elder_cut_off_within_minutes() -> None:
    """The district's home kits (District.generate(home_gateways=True)): a pendant and a smoke
    detector speak zigbee to a home gateway, the only one of them on the broker. A cut line
    (Scenario.line_cuts_per_hour) is the gateway's last will and silence from all three. The
    welfare stage, given which devices go through which gateway as ingest reads the registry,
    calls the elder who has nothing else a welfare check naming the gateway within minutes,
    not when the pendant misses its daily check-in; an elder with a watch of their own gets
    none, and their family is told of the gateway instead (the item says who is behind it).
    The devices behind say nothing of their own meanwhile (held as the gateway's)."""
    district, sim, found = _kits(9, _only(line_cuts_per_hour=4.0,
                                          line_cut_s=(15 * 60.0, 20 * 60.0)), seed=7, hours=2)
    refs = district.device_refs()
    cuts = [c for c in sim.line_cuts if c[2] < sim.now - 600]  # over, and judged after
    assert len({g for g, _, _ in cuts}) >= 2, sim.line_cuts
    watched = {d.resident_id for d in district.devices if d.kind == "wearable"}
    kinds = set()
    for gateway, start, end in cuts:
        elder = refs[gateway.replace("gw-", "btn-")].resident_id
        during = [t for t, at in found if start <= at <= end]
        item = [t for t in during if t.device_id == gateway]
        assert [t.details["problem"] for t in item] == ["offline"], (gateway, during)
        assert item[0].details["behind"] == [elder]
        welfare = [t for t in during
                   if t.kind == "welfare_check" and refs[t.device_id].resident_id == elder]
        if elder in watched:
            kinds.add("watched")
            assert welfare == [] and item[0].details["cut_off"] == [], (gateway, during)
        else:
            kinds.add("cut off")
            assert item[0].details["cut_off"] == [elder]
            assert [t.details["gateways_down"] for t in welfare] == [[gateway]], during
            # raised on the elder's pendant, not on the smoke detector heard last
            assert [refs[t.device_id].kind for t in welfare] == ["button"], welfare
            assert welfare[0].occurred_ts - start < 4 * 60, (start, welfare)
        # the pendant and smoke detector behind it: no item of their own (the welfare check
        # lands on the pendant, as on any elder's call button)
        assert not [t for t in during if refs[t.device_id].via == gateway
                    and t.kind != "welfare_check"], during
    assert kinds == {"watched", "cut off"}, cuts
    assert not [t for t, _ in found if t.details.get("problem") == "no_checkin"], found


def test_a_communitys_lines_cut_together_are_one_area_outage() -> None:
    """A provider's works cut every kit's line of a community at once
    (Scenario.area_cuts_per_hour). Where three homes or more are cut, the welfare stage raises
    one ``area_outage`` naming the community, its gateways and the elders behind them, instead
    of a maintenance item per gateway; every elder it leaves with nothing still gets their
    own welfare check, which says it is part of the community's outage. Two homes cut are
    each their own item, as any cut line."""
    district, sim, found = _kits(36, _only(area_cuts_per_hour=1.5,
                                           line_cut_s=(20 * 60.0, 25 * 60.0)), seed=3, hours=3)
    refs = district.device_refs()
    cuts = [c for c in sim.area_cuts if c[1] < sim.now - 30 * 60]
    watched = {d.resident_id for d in district.devices if d.kind == "wearable"}
    sizes = set()
    for community, start, gateways in cuts:
        during = [t for t, at in found if start <= at <= start + 20 * 60]
        own = [t for t in during if t.device_id in gateways and t.kind == "maintenance"]
        outage = [t for t in during if t.kind == "area_outage"]
        elders = sorted(refs[g.replace("gw-", "btn-")].resident_id or "" for g in gateways)
        if len(gateways) < 3:
            sizes.add("two")
            assert outage == [] and len(own) == len(gateways), (community, during)
            continue
        sizes.add("three or more")
        assert own == [], (community, own)
        assert [t.details["area_outage"] for t in outage] == [community], during
        assert outage[0].device_id in gateways and outage[0].occurred_ts - start < 4 * 60
        assert outage[0].details["behind"] == elders
        assert outage[0].details["cut_off"] == [e for e in elders if e not in watched]
        welfare = {refs[t.device_id].resident_id: t for t in during if t.kind == "welfare_check"}
        assert sorted(welfare) == [e for e in elders if e not in watched], during
        assert {t.details.get("area_outage") for t in welfare.values()} <= {community}
    assert sizes == {"two", "three or more"}, cuts
