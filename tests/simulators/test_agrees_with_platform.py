"""The simulated district and the platform agree on how often each device reports: half an
hour of the demo district through the welfare stage (ingest/welfare.py) finds no device that
missed its check-in, and calls no one "all emergency devices silent" but the elders whose
devices' connection the simulation dropped (their last will says "offline")."""

from __future__ import annotations

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
