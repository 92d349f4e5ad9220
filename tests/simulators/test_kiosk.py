"""Community kiosks in the simulated district: adding them changes nothing else a seed produced;
what they publish passes the contract, names residents of their own community, and is now and
then abnormal by the platform's own rules."""

from __future__ import annotations

from collections import Counter

import msgspec

from detection.checkup import Reading, evaluate
from ingest.codec import Decoder
from ingest.contract import Checkup
from simulators.district import District
from simulators.scenario import DEMO
from simulators.simulation import Simulation

START = 1_800_000_000.0


def test_day_cares_are_added_after_everything_else() -> None:
    plain = District.generate(seed=3, homes=30, care_homes=1)
    more = District.generate(seed=3, homes=30, care_homes=1, day_cares=True)
    assert more.sites[:len(plain.sites)] == plain.sites
    assert more.devices[:len(plain.devices)] == plain.devices
    assert more.residents == plain.residents and more.contacts == plain.contacts
    centres = more.sites[len(plain.sites):]
    assert [(s.kind, s.node_id) for s in centres] == [
        ("day_care", f"cm-{k:02d}") for k in range(1, 7)]
    assert {d.kind for d in more.devices[len(plain.devices):]} == {"kiosk"}


def test_kiosks_leave_every_other_message_as_it_was() -> None:
    plain = Simulation(District.generate(seed=5, homes=20, care_homes=1), DEMO, seed=5, start=START)
    more = Simulation(District.generate(seed=5, homes=20, care_homes=1, day_cares=True), DEMO,
                      seed=5, start=START)
    for _ in range(60):
        others = [m for m in more.step() if "/kiosk-" not in m.topic]
        assert others == plain.step()


def test_kiosk_check_ups_pass_the_contract_and_stay_in_their_community() -> None:
    district = District.generate(seed=9, homes=60, care_homes=0, day_cares=True)
    sim = Simulation(district, DEMO, seed=9, start=START)
    decoder = Decoder(clock=lambda: sim.now)
    node_of_site = {s.id: s.node_id for s in district.sites}
    node_of_resident = {r.id: node_of_site[r.site_id] for r in district.residents}
    found: Counter[str] = Counter()
    for _ in range(600):
        for m in sim.step():
            env = decoder.decode(m.topic, m.payload)
            if not isinstance(env.body, Checkup):
                continue
            assert node_of_resident[env.body.resident] == node_of_site[env.site]
            readings = [Reading(kind=k, value=float(v))
                        for k, v in msgspec.structs.asdict(env.body.readings).items()
                        if v is not None]
            found["abnormal" if evaluate(readings, history={}) else "normal"] += 1
    # DEMO: 30 an hour at each of 6 kiosks -> about 30 in 10 minutes, a tenth abnormal.
    assert 15 <= found["normal"] + found["abnormal"] <= 50
    assert found["normal"] > found["abnormal"]
    assert sim.counts["checkups"] == found["normal"] + found["abnormal"]
    assert found["abnormal"] == sim.counts["checkups_abnormal"]


def test_same_seed_same_check_ups() -> None:
    def run() -> list[bytes]:
        sim = Simulation(District.generate(seed=2, homes=10, care_homes=0, day_cares=True), DEMO,
                         seed=2, start=START)
        return [m.payload for _ in range(300) for m in sim.step() if m.topic.endswith("/checkup")]
    first = run()
    assert first and first == run()
