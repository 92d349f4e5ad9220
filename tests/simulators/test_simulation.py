"""Simulators are fixtures: same seed, same bytes; everything they send passes the contract."""

from __future__ import annotations

import hashlib
import math
from collections import Counter

from ingest.codec import Decoder
from ingest.contract import Event, Topic
from simulators.district import District
from simulators.scenario import DEMO
from simulators.simulation import Simulation

START = 1_800_000_000.0


def _run(seed: int, seconds: int) -> tuple[list[bytes], Simulation]:
    district = District.generate(seed=seed, homes=30, care_homes=1)
    sim = Simulation(district, DEMO, seed=seed, start=START)
    out = []
    for _ in range(seconds):
        out += [m.topic.encode() + b" " + m.payload for m in sim.step()]
    return out, sim


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    a, _ = _run(3, 30)
    b, _ = _run(3, 30)
    c, _ = _run(4, 30)
    digest = lambda xs: hashlib.sha256(b"\n".join(xs)).hexdigest()  # noqa: E731
    assert digest(a) == digest(b)
    assert digest(a) != digest(c)


def test_every_message_passes_the_contract_and_sequences_increase() -> None:
    district = District.generate(seed=9, homes=30, care_homes=1)
    sim = Simulation(district, DEMO, seed=9, start=START)
    decoder = Decoder(clock=lambda: sim.now)
    last: dict[str, int] = {}
    kinds: Counter[str] = Counter()
    for _ in range(120):
        for m in sim.step():
            env = decoder.decode(m.topic, m.payload)
            assert env.seq > last.get(env.device, -1)
            last[env.device] = env.seq
            kinds[Topic.parse(m.topic).kind] += 1
    assert {"accel", "telemetry", "location", "status"} <= set(kinds)
    wearables = sum(1 for d in district.devices if d.kind == "wearable")
    # One window a second from every wearable, except during its drop-outs.
    assert 0.8 * 120 * wearables <= kinds["accel"] <= 120 * wearables


def test_a_long_demo_run_has_presses_cancels_falls_and_smoke_tests() -> None:
    district = District.generate(seed=1, homes=200, care_homes=2)
    sim = Simulation(district, DEMO, seed=1, start=START)
    events: Counter[str] = Counter()
    for _ in range(900):
        for m in sim.step():
            if m.topic.endswith("/event"):
                events[Decoder(clock=lambda: sim.now).decode(m.topic, m.payload).body.type] += 1  # type: ignore[union-attr]
    assert events["sos"] > 0 and events["cancel"] > 0 and events["test"] > 0
    assert sim.counts["falls"] > 0


def test_press_is_an_sos_from_that_device() -> None:
    district = District.generate(seed=2, homes=3, care_homes=0)
    sim = Simulation(district, DEMO, seed=2, start=START)
    [message] = sim.press("btn-0002")
    env = Decoder(clock=lambda: START).decode(message.topic, message.payload)
    assert env.device == "btn-0002" and isinstance(env.body, Event) and env.body.type == "sos"


def test_a_watch_taken_off_reads_still_says_so_and_charges_and_the_rest_stays_put() -> None:
    """Watches taken off (Scenario.watch_off_per_hour, here often): while off, their telemetry
    says ``worn: false`` with no vital signs and no new steps, their accelerometer reads a watch
    at rest on a table (too still to pass for a moving wearer: ingest.welfare.MOVING_SD_G), and
    their battery rises; then they go back on. Drawn from streams of their own: every message
    from the district's other devices is the same, byte for byte, as without them."""
    import dataclasses

    import numpy as np

    from ingest.codec import Envelope
    from ingest.contract import Accel, Telemetry
    from ingest.welfare import MOVING_SD_G

    district = District.generate(seed=6, homes=20, care_homes=0)
    runs = {}
    for name, rate in (("often", 300.0), ("never", 0.0)):
        sim = Simulation(district, dataclasses.replace(DEMO, watch_off_per_hour=rate,
                                                       watch_off_s=(60.0, 120.0)),
                         seed=6, start=START)
        runs[name] = (sim, [m for _ in range(300) for m in sim.step()])
    sim, messages = runs["often"]
    decoder = Decoder(clock=lambda: START + 300)
    envelopes = [decoder.decode(m.topic, m.payload) for m in messages]
    back_on = [(w, on, off) for w, on, off in sim.watches_off if off < START + 290]
    assert len(back_on) >= 3, sim.watches_off

    def during(device: str, since: float, until: float) -> list[Envelope]:
        return [e for e in envelopes if e.device == device and since <= e.ts < until]

    for watch, off, on in back_on:
        telemetry = [e.body for e in during(watch, off + 1, on) if isinstance(e.body, Telemetry)]
        assert telemetry and all(t.worn is False and t.hr is None and t.spo2 is None
                                 and t.skin_temp is None for t in telemetry)
        assert len({t.steps for t in telemetry}) == 1  # no steps while off
        assert telemetry[-1].battery is not None and telemetry[0].battery is not None
        assert telemetry[-1].battery >= telemetry[0].battery  # charging, not draining
        windows = [e.accel for e in during(watch, off + 1, on)
                   if isinstance(e.body, Accel) and e.accel is not None]
        assert max(float(np.linalg.norm(w, axis=1).std()) for w in windows) < MOVING_SD_G / 3
        after = [e.body for e in during(watch, on + 1, on + 20) if isinstance(e.body, Telemetry)]
        assert after and after[0].worn is True and after[0].hr is not None
    # the other devices' messages are the same, byte for byte
    others = {name: [(m.topic, m.payload) for m in run if "/watch-" not in m.topic]
              for name, (_, run) in runs.items()}
    assert others["often"] == others["never"]


def test_a_watch_counts_todays_steps_from_local_midnight() -> None:
    """The contract's ``steps`` is today's count (docs/device-api.md): the simulated watch starts
    again at 0 at the wearer's midnight. Before, it counted on from the start of the run, and a
    week of the realistic scenario took it past the contract's 200,000, when every telemetry of
    the watch, vital signs too, was refused (found by `bench/demo_district_welfare.py --hours
    168 --scenario realistic`, 2026-12-07)."""
    import numpy as np

    from ingest.contract import Telemetry
    from simulators.devices import SimDevice, wearable_second
    from simulators.vitals import local_day

    district = District.generate(seed=6, homes=8, care_homes=0)
    watch = next(d for d in district.devices if d.kind == "wearable")
    site = next(s for s in district.sites if s.id == watch.site_id)
    dev = SimDevice(device=watch, site=site, seq_base=0, next_checkin=float("inf"), battery=90.0,
                    activity="walking", activity_until=float("inf"))
    rng = np.random.default_rng(6)
    midnight = (local_day(START) + 1) * 86400.0 - 8 * 3600.0  # the wearer's next midnight
    decoder = Decoder(clock=lambda: midnight + 60)
    counts = []
    for t in np.arange(midnight - 60, midnight + 60, 1.0).tolist():
        for m in wearable_second(dev, t, rng, DEMO):
            env = decoder.decode(m.topic, m.payload)
            if isinstance(env.body, Telemetry):
                counts.append((env.ts, env.body.steps))
    before = [steps for ts, steps in counts if ts < midnight]
    after = [steps for ts, steps in counts if ts >= midnight]
    assert before[0] > 0 and before == sorted(before)  # walking: a count that rises
    assert after[0] is not None and before[-1] is not None
    assert after[0] < 25 < before[-1] and after == sorted(after)  # from 0 at midnight


def test_a_watch_warns_low_is_mostly_charged_and_else_goes_flat_until_found() -> None:
    """A watch drains on the wrist. At ``low_warn_pct`` it tells its wearer; one who puts it on
    the charger keeps it alive (taken off, charging, back on). One who does not has it go flat
    at 0 %: it sends nothing at all, the broker publishes its last will a keep-alive later, and
    when it is found it connects again ("online") and charges off the wrist. Before
    2026-12-07 a simulated watch went on sending at 0 % for ever, and no district had a flat
    watch in it. (The drain is sped up: a watch's day in a minute.)"""
    import dataclasses

    from ingest.contract import Status, Telemetry

    district = District.generate(seed=6, homes=6, care_homes=0)
    fast = dataclasses.replace(
        DEMO, watch_off_per_hour=0.0, dropouts_per_hour=0.0, falls_per_hour=0.0,
        battery_drain_per_hour=(("button", 0.0), ("smoke", 0.0), ("wearable", 3600.0),
                                ("wall_button", 0.0)),
        charge_per_hour=3 * 3600.0, low_charge_after_s=(5.0, 5.0), recharge_s=(40.0, 40.0),
        flat_found_s=(120.0, 120.0))
    for share, ends_flat in ((1.0, False), (0.0, True)):
        sim = Simulation(district, dataclasses.replace(fast, low_charged_share=share), seed=6,
                         start=START)
        watch = next(d for d in sim.devices if d.device.kind == "wearable")
        watch.battery = 20.0
        decoder = Decoder(clock=lambda: START + 400)
        mine = [(sim.now, decoder.decode(m.topic, m.payload)) for _ in range(200)
                for m in sim.step() if f"/{watch.device.id}/" in m.topic]
        flat = [(at, found) for w, at, found in sim.watches_flat if w == watch.device.id]
        assert bool(flat) is ends_flat, sim.watches_flat
        if not ends_flat:  # warned at 15 %, off to charge 5 s later, back on 40 s after
            charges = [(off, on) for w, off, on in sim.watches_off if w == watch.device.id]
            assert len(charges) >= 2, charges  # once at the start, again when it ran low
            off, on = charges[0]
            assert START + 5 <= off <= START + 11 and on == off + 40, (off, on)
            assert all(not (isinstance(e.body, Status) and e.body.state == "offline")
                       for _, e in mine)
            continue
        (went, found), = flat
        assert START + 19 <= went <= START + 21  # 20 % at 1 % a second
        assert found == went + 120
        silent = [e for t, e in mine if went < t < found]
        wills = [e for e in silent if isinstance(e.body, Status)]
        assert [w.body.state for w in wills] == ["offline"] and len(silent) == 1  # the will only
        after = [e.body for t, e in mine if t >= found]
        assert isinstance(after[0], Status) and after[0].state == "online"
        charging = [b for b in after if isinstance(b, Telemetry)][:3]  # 40 s at one each 10 s
        assert charging and all(b.worn is False for b in charging)
        assert charging[-1].battery is not None and charging[-1].battery > 0


def _device_of(topic: str) -> str:
    return Topic.parse(topic).device


def test_home_kits_leave_the_rest_of_a_seed_as_it_was() -> None:
    """District.generate(home_gateways=True) adds a gateway and a smoke detector to every third
    home and puts its pendant behind the gateway; the kits draw on a stream of their own, so
    until a line is cut every other device sends what it sent without them."""
    import dataclasses

    plain = District.generate(seed=9, homes=30, care_homes=1)
    kits = District.generate(seed=9, homes=30, care_homes=1, home_gateways=True)
    added = {d.id for d in kits.devices} - {d.id for d in plain.devices}
    assert added == {f"{k}{i:04d}" for i in range(2, 31, 3) for k in ("gw-", "smoke-h")}
    assert {d.id: d.via for d in kits.devices if d.via} == {
        f"{k}{i:04d}": f"gw-{i:04d}" for i in range(2, 31, 3) for k in ("btn-", "smoke-h")}
    uncut = dataclasses.replace(DEMO, line_cuts_per_hour=0.0, area_cuts_per_hour=0.0)
    a = Simulation(plain, uncut, seed=9, start=START)
    b = Simulation(kits, uncut, seed=9, start=START)
    heard: Counter[str] = Counter()
    for _ in range(1200):
        mine = b.step()
        heard.update(_device_of(m.topic) for m in mine if _device_of(m.topic) in added)
        assert [m for m in mine if _device_of(m.topic) not in added] == a.step()
    assert set(heard) == added  # each has connected, at least
    assert b.counts["smoke_down"] > 0  # taken down, on the kits' stream


def test_a_cut_line_silences_the_gateway_and_spools_what_is_behind_it() -> None:
    """A cut line: the gateway's last will 24-48 s later (its 30 s keep-alive: see
    bench/offline_delay.py), then nothing from it or the devices behind it until it is back.
    They go on meanwhile on the zigbee side (a smoke detector is taken down, put back, checks
    in), and what they said comes, in order and with its own times, right after the gateway's
    "online" (gateway/spool.py keeps it)."""
    import dataclasses

    district = District.generate(seed=4, homes=12, care_homes=0, home_gateways=True)
    cuts = dataclasses.replace(DEMO, line_cuts_per_hour=6.0, line_cut_s=(600.0, 900.0),
                               smoke_down_per_hour=12.0, smoke_down_s=(300.0, 1200.0))
    sim = Simulation(district, cuts, seed=4, start=START)
    decoder = Decoder(clock=lambda: sim.now)
    said: list[tuple[float, float, str, str]] = []  # (published at, its own time, device, what)
    for _ in range(2 * 3600):
        at = sim.now
        for m in sim.step():
            env = decoder.decode(m.topic, m.payload)
            what = getattr(env.body, "state", None) or getattr(env.body, "type", None) or (
                Topic.parse(m.topic).kind)
            said.append((at, env.ts, env.device, str(what)))
    behind = {d.id: d.via for d in district.devices if d.via}
    over = [c for c in sim.line_cuts if c[2] < sim.now - 60]
    assert len(over) >= 3, sim.line_cuts
    spooled = 0
    for gateway, start, back in over:
        will = [at for at, _, d, w in said if d == gateway and w == "offline" and at >= start]
        assert 24 <= will[0] - start <= 48
        mine = {gateway} | {d for d, g in behind.items() if g == gateway}
        assert not [s for s in said if s[2] in mine and start < s[0] < back and s[0] != will[0]]
        then = [s for s in said if s[0] == math.ceil(back) and s[2] in mine]
        assert then[0][2:] == (gateway, "online")
        assert [s[1] for s in then[1:]] == sorted(s[1] for s in then[1:])
        assert all(start <= ts <= math.ceil(back) for _, ts, _, _ in then[1:])
        spooled += sum(1 for _, ts, _, _ in then if ts < back)
    assert spooled > 0
    down = [(d, t0, t1) for d, t0, t1 in sim.smokes_down if t1 < sim.now - 1200]
    assert down
    for device, taken, put in down:
        assert any(ts == taken and d == device and w == "tamper" for _, ts, d, w in said)
        assert any(ts == math.ceil(put) and d == device and w == "tamper_cleared"
                   for _, ts, d, w in said)


def test_a_providers_works_cut_every_kit_of_one_community_at_once() -> None:
    """Scenario.area_cuts_per_hour: every home gateway of one community (two or more) loses its
    line at the same moment, each back within five minutes of the others."""
    import dataclasses

    district = District.generate(seed=3, homes=30, care_homes=0, home_gateways=True)
    works = dataclasses.replace(DEMO, line_cuts_per_hour=0.0, area_cuts_per_hour=20.0)
    sim = Simulation(district, works, seed=3, start=START)
    while not sim.line_cuts:
        sim.step()
    community = {s.id: s.community for s in district.sites}
    site = {d.id: d.site_id for d in district.devices}
    cut = {g for g, _, _ in sim.line_cuts}
    areas = {community[site[g]] for g in cut}
    assert len(areas) == 1 and len(cut) >= 2 and sim.counts["area_cuts"] == 1
    (area,) = areas
    assert cut == {d.id for d in district.devices
                   if d.kind == "gateway" and community[d.site_id] == area}
    assert len({start for _, start, _ in sim.line_cuts}) == 1
    backs = [back for _, _, back in sim.line_cuts]
    assert max(backs) - min(backs) <= 300
