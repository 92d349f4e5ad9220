"""What the welfare stage finds in the demo district: every alarm, by kind, device class and
setting, over simulated hours.

The district the demo runs (:class:`simulators.district.District`, the demo's seed) is stepped
second by second by :class:`simulators.simulation.Simulation` under a scenario (``demo`` by
default: many presses, falls, dropouts and watches taken off) and every message but the
accelerometer windows (telemetry says as much of the wearer's movement, and the run is faster)
goes through :class:`ingest.welfare.WelfareStage`, with no broker and no database. The platform
and the simulator should agree: a device that reports as often as it should is never "not
checking in", and "all emergency devices silent" comes only for an elder whose devices'
connection the simulation dropped. Anything else printed is a disagreement to look at (it
found the care homes' call buttons checking in hourly where the platform expects every 10
minutes, and welfare checks about rooms' smoke detectors, on 2026-12-07).

    PYTHONPATH=. .venv/bin/python bench/demo_district_welfare.py [--hours 3] [--homes 60]
        [--care-homes 2] [--scenario demo]

Prints each (kind, finding, device kind, site kind) with its count and the minute it first
came, and the dropouts the simulation made; then the maintenance items (one per device, as the
store keeps them: ``store/batch.py``, with the alarms of a device's own fault, tamper or
"battery low", which the event rules raise) that opened, how many closed themselves when their device
was whole again (``restored``; nobody here takes an item) and how long they were open, those
still open at the end, and how many would ask a family to charge a watch gone flat (one per
item: ``alerts.lifecycle.tell_family_of_device``; the district's homes all have contacts);
and the wearers' trips from home (``Simulation.trips``: walks by day, nights at a son's or
daughter's flat that is one of their safe places, night wanders) against the ``wandering``
alarms, each put down to the trip it came in. The last line follows the home kits (every third
home's gateway, with its pendant and smoke detector behind it; ``--no-gateways`` leaves them
out): each cut of a gateway's line against the gateway's item, the welfare check of an elder
it left with nothing, and the family asked to see to it; the home smoke detectors taken down;
and the presses the cut lines held, and for how long."""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field

from ingest.codec import Decoder
from ingest.contract import Event, Status
from ingest.welfare import WelfareStage
from simulators.district import District
from simulators.scenario import SCENARIOS
from simulators.simulation import Simulation, Trip
from store.registry import SafePlace

START = 1_800_000_000.0
OWN_WORD = ("fault", "tamper", "battery_low")
SEED = 12349


@dataclass(slots=True)
class Upkeep:
    """Maintenance items as the store keeps them: one open per device, joined by its later
    problems, closed when the device is restored after its latest problem."""

    opened: int = 0
    own: int = 0
    """Alarms of the device's own word (a fault, a tamper, "battery low"): event rules raise
    them, not the welfare stage; the store puts them in the device's item all the same."""
    closed_s: list[float] = field(default_factory=list)
    open_since: dict[str, tuple[float, float]] = field(default_factory=dict)
    """device -> (opened at, its latest problem's time)."""
    asked: set[str] = field(default_factory=set)
    """Devices whose open item has asked the family to charge it."""
    family_asked: int = 0
    state_at_end: dict[str, str] = field(default_factory=dict)
    """device -> how device health saw it when the run ended (items still open only)."""

    def problem(self, device: str, at: float) -> None:
        began, _ = self.open_since.get(device, (at, at))
        self.opened += device not in self.open_since
        self.open_since[device] = (began, at)

    def restored(self, device: str, at: float) -> None:
        item = self.open_since.get(device)
        if item is not None and item[1] <= at:
            del self.open_since[device]
            self.asked.discard(device)
            self.closed_s.append(at - item[0])

    def ask_family(self, device: str) -> None:
        self.family_asked += device not in self.asked
        self.asked.add(device)


@dataclass(slots=True)
class Wanderings:
    """The ``wandering`` alarms, each put down to the trip of its watch under way when it came
    (or to none), and the trips."""

    trips: list[Trip] = field(default_factory=list)
    alarms: list[tuple[str, float, str]] = field(default_factory=list)
    """(watch, at, the place it said was left)."""

    def during(self, watch: str, at: float) -> Trip | None:
        return next((t for t in self.trips if t.watch == watch and t.start <= at <= t.end), None)


@dataclass(slots=True)
class Lines:
    """The home kits: each cut of a gateway's line (``Simulation.line_cuts``) against what it
    brought, and the smoke detectors taken down."""

    cuts: list[tuple[str, float, float]] = field(default_factory=list)
    area_cuts: list[tuple[str, float, tuple[str, ...]]] = field(default_factory=list)
    """Of the cuts, the provider's works that cut a whole community's lines at once
    (``Simulation.area_cuts``: community, at, gateways)."""
    area_items: list[tuple[str, float, tuple[str, ...]]] = field(default_factory=list)
    """(community, at, gateways down) of each ``area_outage`` alarm."""
    behind: dict[str, list[str]] = field(default_factory=dict)
    """gateway -> the elders whose devices go through it."""
    watched: set[str] = field(default_factory=set)
    """Elders with a watch of their own (4G: not behind the gateway)."""
    welfare: list[tuple[str, float, tuple[str, ...]]] = field(default_factory=list)
    """(elder, at, the gateways it names) of each welfare check."""
    gateway_items: list[tuple[str, float, tuple[str, ...], tuple[str, ...]]] = field(
        default_factory=list)
    """(gateway, at, behind, cut off) of each alarm about a gateway offline or silent."""
    family_asked: set[tuple[str, float, str]] = field(default_factory=set)
    """(gateway, its item's start, elder) whose family is asked to see to the gateway."""
    smoke_down_asked: int = 0
    """Home smoke detectors' own tampers whose family is asked to put them back."""
    smoke_back: int = 0
    """Items of a home smoke detector closed by its own word that it is back on its base."""
    presses: int = 0
    """Presses of the pendants behind a gateway."""
    late: list[float] = field(default_factory=list)
    """Of them, how late (s) each that reached the platform 30 s or more after it was made
    came (held in the gateway's spool while its line was cut)."""

    def cut_at(self, gateway: str, at: float) -> tuple[str, float, float] | None:
        return next((c for c in self.cuts if c[0] == gateway and c[1] <= at <= c[2] + 600),
                    None)


def run(*, hours: float, homes: int, care_homes: int, scenario: str, gateways: bool = True
        ) -> tuple[Counter[tuple[str, str, str, str]], dict[tuple[str, str, str, str], float],
                   int, Upkeep, Wanderings, Lines]:
    """(alarms by kind/finding/device kind/site kind, the minute each first came, devices the
    simulation took offline, the maintenance items, the wanderings, the home kits' lines)."""
    district = District.generate(seed=SEED, homes=homes, care_homes=care_homes,
                                 home_gateways=gateways)
    refs = district.device_refs()
    lines = Lines()
    for d in district.devices:
        if d.via and d.resident_id and d.resident_id not in lines.behind.get(d.via, []):
            lines.behind.setdefault(d.via, []).append(d.resident_id)
        if d.kind == "wearable" and d.resident_id:
            lines.watched.add(d.resident_id)
    sim = Simulation(district, SCENARIOS[scenario], seed=SEED, start=START)
    decoder = Decoder(clock=lambda: sim.now)
    stage = WelfareStage()
    places: dict[str, list[SafePlace]] = {}
    for p in district.places:
        places.setdefault(p.resident_id, []).append(
            SafePlace(name=p.name, lat=p.lat, lon=p.lon, radius_m=p.radius_m))
    stage.configure(refs, places)
    wanderings = Wanderings()
    found: Counter[tuple[str, str, str, str]] = Counter()
    first: dict[tuple[str, str, str, str], float] = {}
    offline = 0
    upkeep = Upkeep()
    for _ in range(int(hours * 3600)):
        envelopes = [decoder.decode(m.topic, m.payload) for m in sim.step()
                     if not m.topic.endswith("/accel")]
        offline += sum(1 for e in envelopes
                       if isinstance(e.body, Status) and e.body.state == "offline")
        for e in envelopes:  # the event rules' maintenance alarms (detection/events.py)
            if isinstance(e.body, Event) and e.body.type in OWN_WORD and e.device in refs:
                upkeep.problem(e.device, e.ts)
                upkeep.own += 1
                ref = refs[e.device]
                if (e.body.type == "tamper" and ref.kind == "smoke" and ref.site_kind == "home"
                        and e.device not in upkeep.asked):  # once per item and family
                    upkeep.asked.add(e.device)
                    lines.smoke_down_asked += 1
            if isinstance(e.body, Event) and e.body.type == "sos" and e.device in refs \
                    and refs[e.device].via:
                lines.presses += 1
                if (sent := sim.now - 1.0) - e.ts >= 30:  # step() has moved the clock on
                    lines.late.append(sent - e.ts)
        for t in stage.process(envelopes, now=sim.now):
            ref = refs[t.device_id]
            key = (t.kind, str(t.details.get("problem") or t.details.get("finding") or ""),
                   ref.kind, ref.site_kind)
            found[key] += 1
            first.setdefault(key, (sim.now - START) / 60)
            if t.kind == "wandering":
                wanderings.alarms.append((t.device_id, t.occurred_ts, t.details["place"]))
            if t.kind == "welfare_check" and ref.resident_id:
                lines.welfare.append((ref.resident_id, t.occurred_ts,
                                      tuple(t.details.get("gateways_down", ()))))
            if t.kind == "area_outage":
                lines.area_items.append((t.details["area_outage"], t.occurred_ts,
                                         tuple(t.details.get("gateways_down", ()))))
            if t.kind == "maintenance" and t.details.get("behind"):
                behind, cut = tuple(t.details["behind"]), tuple(t.details.get("cut_off", ()))
                lines.gateway_items.append((t.device_id, t.occurred_ts, behind, cut))
                began = upkeep.open_since.get(t.device_id, (t.occurred_ts, 0.0))[0]
                lines.family_asked |= {(t.device_id, began, e) for e in behind if e not in cut}
            if t.kind == "maintenance":
                upkeep.problem(t.device_id, t.occurred_ts)
                if (t.device_id in t.details.get("flat_devices", ()) and ref.kind == "wearable"
                        and ref.site_kind == "home" and not t.details.get("elder_unprotected")
                        and t.details.get("problem") in ("offline", "no_checkin")):
                    upkeep.ask_family(t.device_id)
        for r in stage.restored:
            if r.area:  # a community's outage over, not the gateway's own item
                continue
            upkeep.restored(r.device, r.at)
            lines.smoke_back += "tamper" in r.over and refs[r.device].site_kind == "home"
        stage.restored.clear()
        stage.marks.clear()
    for device in upkeep.open_since:
        battery = stage.health.battery(device)
        said = "silent or offline" if stage.health.down(device) else "heard"
        standing = "".join(f", {p} standing" for p in stage.health.standing(device))
        upkeep.state_at_end[device] = (said + ("" if battery is None else f", {battery:.0f} %")
                                       + standing)
    wanderings.trips = sim.trips
    lines.cuts = sim.line_cuts
    lines.area_cuts = sim.area_cuts
    return found, first, offline, upkeep, wanderings, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--hours", type=float, default=3.0)
    parser.add_argument("--homes", type=int, default=60)
    parser.add_argument("--care-homes", type=int, default=2)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="demo")
    parser.add_argument("--no-gateways", action="store_true",
                        help="the district without its home kits (as before 2026-12-07)")
    args = parser.parse_args()
    began = time.perf_counter()
    found, first, offline, upkeep, wanderings, lines = run(
        hours=args.hours, homes=args.homes, care_homes=args.care_homes, scenario=args.scenario,
        gateways=not args.no_gateways)
    print(f"{args.hours:g} simulated hours, {args.homes} homes, {args.care_homes} care homes,"
          f" scenario {args.scenario}: {offline} devices taken offline by the simulation"
          f" ({time.perf_counter() - began:.0f} s)")
    for key, n in sorted(found.items(), key=lambda kv: (-kv[1], kv[0])):
        kind, finding, device, site = key
        print(f"  {n:5d}  {kind:15s} {finding:15s} {device:9s} {site:10s}"
              f" first at minute {first[key]:.1f}")
    if not found:
        print("  no alarms")
    closed = sorted(upkeep.closed_s)
    took = (f": open {statistics.median(closed) / 60:.0f} min in the median,"
            f" {closed[-1] / 3600:.1f} h at most" if closed else "")
    print(f"maintenance items: {upkeep.opened} opened ({upkeep.own} alarms of a device's own"
          f" fault, tamper or battery low among their alarms), {len(closed)} closed themselves{took};"
          f" {len(upkeep.open_since)} still open:"
          f" {', '.join(f'{d} ({upkeep.state_at_end[d]})' for d in sorted(upkeep.open_since))};"
          f" {upkeep.family_asked} asked a family to charge a watch gone flat")
    trips = Counter(t.kind for t in wanderings.trips)
    by_trip = Counter((trip.kind if (trip := wanderings.during(w, at)) else "none", place)
                      for w, at, place in wanderings.alarms)
    night = [t for t in wanderings.trips if t.kind == "night_wander"]
    missed = [t for t in night
              if not any(w == t.watch and t.start <= at <= t.end for w, at, _ in wanderings.alarms)]
    print(f"trips from home: {dict(sorted(trips.items()))}; wandering alarms by the trip under way"
          f" and the place left: {dict(sorted(by_trip.items()))}; night wanders found"
          f" {len(night) - len(missed)} of {len(night)}"
          + "".join(f"; not {t.watch}'s from minute {(t.start - START) / 60:.0f}, out to"
                    f" {t.farthest_m:.0f} m" for t in missed))

    print(lines_report(lines))


def _minutes(values: list[float]) -> str:
    return (f"{statistics.median(values) / 60:.1f} min in the median, {max(values) / 60:.1f} at"
            " most" if values else "-")


def lines_report(lines: Lines) -> str:
    """Each cut of a home gateway's line against what came of it."""
    reported, cut_off, welfare, watched, asked, in_area = [], 0, [], 0, 0, 0
    for gateway, start, end in lines.cuts:
        item = next((at for g, at, _, _ in lines.gateway_items if g == gateway
                     and start <= at <= end + 600), None)
        area = next((at for _, at, gs in lines.area_items if gateway in gs
                     and start <= at <= end + 600), None)
        if item is not None or area is not None:
            reported.append(min(at for at in (item, area) if at is not None) - start)
        for elder in lines.behind.get(gateway, []):
            if elder in lines.watched:
                if area is not None and item is None:
                    in_area += 1  # the area's alarm stands for the gateway: nobody asked
                    continue
                watched += 1
                asked += any(g == gateway and e == elder and start <= began <= end + 600
                             for g, began, e in lines.family_asked)
                continue
            cut_off += 1
            came = next((at for e, at, named in lines.welfare
                         if e == elder and gateway in named and start <= at <= end), None)
            if came is not None:
                welfare.append(came - start)
    wrong = sum(1 for e, at, named in lines.welfare for g in named if lines.cut_at(g, at) is None)
    big = [(a, at, gs) for a, at, gs in lines.area_cuts if len(gs) >= 3]
    one = [next((i - at for c, i, _ in lines.area_items if c == a and at <= i <= at + 3600), None)
           for a, at, _ in big]
    found = [m for m in one if m is not None]
    chance = sum(1 for c, i, _ in lines.area_items
                 if not any(c == a and at <= i <= at + 3600 for a, at, _ in big))
    return (f"home gateways' lines cut: {len(lines.cuts)} ({len(lines.area_cuts)} times a whole"
            f" community's at once, {len(big)} of them three homes or more: an area outage for"
            f" {len(found)} ({_minutes(found)} after the cut), {len(lines.area_items)} area"
            f" outages in all, {chance} of them not a provider's cut of three homes but"
            " separate cuts within a quarter of an hour); the gateway reported offline or"
            " silent, or in its community's"
            f" outage, for {len(reported)} ({_minutes(reported)} after the cut); elders left"
            f" with nothing: {cut_off}, a welfare check naming the gateway for {len(welfare)}"
            f" ({_minutes(welfare)}); {wrong} welfare checks named a gateway not cut;"
            f" elders still able to call on a watch: {watched + in_area}, {in_area} of them in"
            f" an area outage (nobody asked to see to the gateway), the others' family asked to"
            f" see to it for {asked} of {watched}; home smoke detectors' own tampers: families"
            f" asked to put one back {lines.smoke_down_asked} times, items closed by the"
            f" detector's word that it is back {lines.smoke_back}; presses of pendants behind a"
            f" gateway: {lines.presses}, of them held by a cut line {len(lines.late)}"
            + (f" ({min(lines.late) / 60:.1f}-{max(lines.late) / 60:.1f} min)" if lines.late
               else ""))


if __name__ == "__main__":
    main()
