"""A whole district stepped second by second: same seed and start, same messages.

>>> from simulators.district import District
>>> from simulators.scenario import DEMO
>>> d = District.generate(seed=3, homes=4, care_homes=0)
>>> a = Simulation(d, DEMO, seed=3, start=1_800_000_000.0)
>>> b = Simulation(d, DEMO, seed=3, start=1_800_000_000.0)
>>> [a.step() for _ in range(5)] == [b.step() for _ in range(5)]
True
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ingest.contract import EventType
from simulators import motion
from simulators.devices import (
    Outgoing,
    SimDevice,
    checkin,
    double_press,
    event,
    start_fall,
    status,
    wearable_second,
)
from simulators.district import District
from simulators.kiosk import Kiosks
from simulators.scenario import Scenario
from simulators.vitals import WearerDays, local_hour

METRES_PER_DEG_LAT = 111_195.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Trip:
    """A wearer away from home: ``kind`` outing, stay or night_wander; ``place`` the safe place
    stayed at (stays only); ``farthest_m`` how far from home a walk or wander went (0 for a
    stay)."""

    watch: str
    kind: str
    start: float
    end: float
    farthest_m: float
    place: str | None = None


WEARER_DAYS_KEY = 12350
FAULTS_THAT_PASS = 5
"""A simulated fault's code is 1-8 (E01-E08); those up to this pass of themselves (a dusty
chamber, a cold night), in code x 10 minutes, and the device says so (``fault_cleared``); the
rest stand until someone comes."""


def _emit(dev: SimDevice, kind: EventType, **detail: str) -> Callable[[float], list[Outgoing]]:
    return lambda t: [event(dev, t, kind, **detail)]


def _connect(dev: SimDevice, t: float) -> list[Outgoing]:
    """``dev`` connects: it sets its last will (this connect's seq and time), then says
    "online"."""
    dev.will = status(dev, t, "offline")
    return [status(dev, t, "online")]


def _will(dev: SimDevice) -> Callable[[float], list[Outgoing]]:
    """The broker finds ``dev``'s connection gone: it publishes the will set at its connect."""
    return lambda t: [dev.will] if dev.will is not None else [status(dev, t, "offline")]


def _reconnect(dev: SimDevice) -> Callable[[float], list[Outgoing]]:
    return lambda t: _connect(dev, t)


@dataclass(order=True, slots=True)
class _Later:
    at: float
    order: int
    action: Callable[[float], list[Outgoing]] = field(compare=False)


class Simulation:
    def __init__(self, district: District, scenario: Scenario, *, seed: int, start: float) -> None:
        self.scenario = scenario
        self.now = float(int(start))
        self._rng = np.random.default_rng(seed)
        # Service presses draw on their own stream: adding them left every other event of a
        # seed as it was.
        self._service_rng = np.random.default_rng([seed, 12349])
        # So do watches taken off, and what a watch on a table reads.
        self._watch_rng = np.random.default_rng([seed, 12351])
        self._site_rng = np.random.default_rng([seed, 12352])  # and care homes' outages
        self._trip_rng = np.random.default_rng([seed, 12353])  # and wearers' trips from home
        # and the home kits' gateways and smoke detectors (District.generate(home_gateways=...)),
        # from their first check-in on, with their lines cut and detectors taken down
        self._kit_rng = np.random.default_rng([seed, 12354])
        self._places = {p.resident_id: p for p in district.places}
        sites = {s.id: s for s in district.sites}
        seq_base = int(start * 1000) << 20  # boot time in the high bits: see docs/device-api.md
        self.devices: list[SimDevice] = []
        kits = 0  # kit devices so far: the wearers' day streams are keyed as without them
        for d in district.devices:
            if d.kind == "kiosk":
                continue  # simulators.kiosk's, on a random stream of its own
            cls = ("wall_button" if d.kind == "button" and sites[d.site_id].kind == "care_home"
                   else d.kind)
            interval = scenario.checkin_interval(cls)
            kit = d.kind == "gateway" or (d.kind == "smoke" and sites[d.site_id].kind == "home")
            rng = self._kit_rng if kit else self._rng
            dev = SimDevice(device=d, site=sites[d.site_id], seq_base=seq_base,
                            next_checkin=self.now + float(rng.uniform(0, interval)),
                            battery=float(rng.uniform(40, 100)), device_class=cls, kit=kit)
            if cls in ("wall_button", "gateway"):
                dev.battery = 100.0  # mains
            if d.kind == "wearable":
                dev.rot = motion.mount(self._rng)
                dev.hr_base = float(self._rng.normal(72, 6))
                if scenario.day_to_day is not None:
                    # a generator per wearer and day: the district's other draws stay as they were
                    dev.days = WearerDays((seed, WEARER_DAYS_KEY, len(self.devices) - kits),
                                          scenario.day_to_day)
            self.devices.append(dev)
            kits += kit
        self.by_id = {dev.device.id: dev for dev in self.devices}
        self._by_kind = {kind: [d for d in self.devices if d.device.kind == kind and not d.kit]
                         for kind in ("button", "smoke", "wearable")}
        self._gateways = [d for d in self.devices if d.device.kind == "gateway"]
        self._home_smoke = [d for d in self.devices if d.kit and d.device.kind == "smoke"]
        self._via = {d.id: d.via for d in district.devices if d.via}
        """device -> the gateway it reaches the platform through."""
        for gateway in self._gateways:
            gateway.bridged = tuple(sorted(d for d, g in self._via.items()
                                           if g == gateway.device.id))
        self._cut: dict[str, list[Outgoing]] = {}
        """gateway whose line is cut -> what the devices behind it said meanwhile, in order."""
        self._service_buttons = [d for d in self._by_kind["button"]
                                 if d.device.service_press == "double_press"]
        self._later: list[_Later] = []
        self._order = 0
        self.counts: Counter[str] = Counter()
        self.watches_off: list[tuple[str, float, float]] = []
        """(watch, taken off at, back on at) of each time a watch was taken off."""
        self.watches_flat: list[tuple[str, float, float]] = []
        """(watch, gone flat at, found and put on its charger at)."""
        self.site_outages: list[tuple[str, float, float]] = []
        """(care home, down from, back at) of each network outage of a care home."""
        self.line_cuts: list[tuple[str, float, float]] = []
        """(home gateway, cut at, back at) of each cut of a home gateway's line."""
        self.area_cuts: list[tuple[str, float, tuple[str, ...]]] = []
        """(community, cut at, its gateways cut) of each cut of a whole community's lines."""
        self.smokes_down: list[tuple[str, float, float]] = []
        """(home smoke detector, taken down at, put back at)."""
        self.trips: list[Trip] = []
        """Each time a wearer left home (Scenario.outings_per_hour, stays_per_hour,
        night_wanders_per_hour)."""
        self._care_homes: dict[str, list[SimDevice]] = {}
        for dev in self.devices:
            if dev.site.kind == "care_home":
                self._care_homes.setdefault(dev.site.id, []).append(dev)
        self._started = False
        self.kiosks = Kiosks(district, scenario, seed=seed, start=start, counts=self.counts)

    # -- scheduling ---------------------------------------------------------------------------

    def _schedule(self, at: float, action: Callable[[float], list[Outgoing]]) -> None:
        self._order += 1
        heapq.heappush(self._later, _Later(at, self._order, action))

    def _occurrences(self, per_hour: float) -> int:
        return int(self._rng.poisson(per_hour / 3600.0))

    def _pick(self, kind: str) -> SimDevice | None:
        pool = [d for d in self._by_kind[kind] if d.silent_until <= self.now]
        return pool[int(self._rng.integers(len(pool)))] if pool else None

    # -- what happens -------------------------------------------------------------------------

    def press(self, device_id: str, *, cancel_after: float | None = None) -> list[Outgoing]:
        """An SOS press now (optionally cancelled later): for tests and the demo's scripts."""
        dev = self.by_id[device_id]
        self.counts["sos"] += 1
        if cancel_after is not None:
            self._schedule(self.now + cancel_after,
                           lambda t: [event(dev, t, EventType.CANCEL)])
        return [event(dev, self.now, EventType.SOS)]

    def _smoke(self, dev: SimDevice) -> list[Outgoing]:
        self.counts["smoke"] += 1
        out = [event(dev, self.now, EventType.SMOKE)]
        room = dev.device.room_id or ""
        floor_rooms = [d for d in self._by_kind["smoke"]
                       if d.site.id == dev.site.id and d.device.room_id
                       and d.device.room_id[:-2] == room[:-2] and d is not dev]
        for neighbour in floor_rooms:
            if abs(int(neighbour.device.room_id[-2:]) - int(room[-2:])) == 1:  # type: ignore[index]
                delay = float(self._rng.uniform(20, 60))
                self._schedule(self.now + delay, _emit(neighbour, EventType.SMOKE))
                self._schedule(self.now + delay + float(self._rng.uniform(180, 600)),
                               _emit(neighbour, EventType.SMOKE_CLEARED))
        self._schedule(self.now + float(self._rng.uniform(180, 600)),
                       lambda t: [event(dev, t, EventType.SMOKE_CLEARED)])
        return out

    def _dropout(self, dev: SimDevice) -> list[Outgoing]:
        seconds = float(self._rng.uniform(60, 600))
        dev.silent_until = self.now + seconds
        self.counts["dropouts"] += 1
        # What the broker would publish for it as its last will, then "online" on return.
        self._schedule(dev.silent_until, _reconnect(dev))
        return _will(dev)(self.now)

    def _incidents(self) -> list[Outgoing]:
        s, out = self.scenario, []
        for _ in range(self._occurrences(s.sos_per_hour)):
            if (dev := self._pick("button")) is not None:
                out += self.press(dev.device.id)
        for _ in range(self._occurrences(s.accidental_per_hour)):
            if (dev := self._pick("button")) is not None:
                self.counts["accidental"] += 1
                out += self.press(dev.device.id, cancel_after=float(self._rng.uniform(5, 20)))
                self.counts["sos"] -= 1
        for _ in range(self._occurrences(s.falls_per_hour)):
            dev = self._pick("wearable")
            if dev is not None and start_fall(dev, self._rng, s):
                if dev.worn:
                    self.counts["falls"] += 1
                else:  # on the table: nothing to feel (its samples stand in for the fall's,
                    self.counts["falls_unworn"] += 1  # drawn all the same: wearable_second)
        for _ in range(self._occurrences(s.smoke_per_hour)):
            if (dev := self._pick("smoke")) is not None:
                out += self._smoke(dev)
        for _ in range(self._occurrences(s.smoke_tests_per_hour)):
            if (dev := self._pick("smoke")) is not None:
                self.counts["smoke_tests"] += 1
                out.append(event(dev, self.now, EventType.TEST))
        for _ in range(self._occurrences(s.faults_per_hour)):
            kind = ("smoke", "button")[int(self._rng.integers(2))]
            if (dev := self._pick(kind)) is not None:
                code = int(self._rng.integers(1, 9))
                out.append(event(dev, self.now, EventType.FAULT, code=f"E0{code}"))
                if code <= FAULTS_THAT_PASS:  # a passing trouble: over in code x 10 minutes
                    self._schedule(self.now + code * 600.0,
                                   _emit(dev, EventType.FAULT_CLEARED, code=f"E0{code}"))
        for _ in range(self._occurrences(s.dropouts_per_hour)):
            kind = ("button", "smoke", "wearable")[int(self._rng.integers(3))]
            if (dev := self._pick(kind)) is not None:
                out += self._dropout(dev)
        return (out + self._service_presses() + self._watches_off() + self._site_outages()
                + self._trips() + self._line_cuts() + self._smokes_down())

    def _line_cuts(self) -> list[Outgoing]:
        rng, s = self._kit_rng, self.scenario
        for _ in range(int(rng.poisson(s.line_cuts_per_hour / 3600.0))):
            up = [g for g in self._gateways if g.silent_until <= self.now]
            if up:
                self._cut_line(up[int(rng.integers(len(up)))],
                               self.now + float(rng.uniform(*s.line_cut_s)))
        for _ in range(int(rng.poisson(s.area_cuts_per_hour / 3600.0))):
            areas: dict[str, list[SimDevice]] = {}
            for g in self._gateways:
                if g.silent_until <= self.now:
                    areas.setdefault(g.site.community, []).append(g)
            crowded = sorted(a for a, gs in areas.items() if len(gs) >= 2)
            if crowded:
                area = crowded[int(rng.integers(len(crowded)))]
                self.counts["area_cuts"] += 1
                self.area_cuts.append((area, self.now, tuple(g.device.id for g in areas[area])))
                back = self.now + float(rng.uniform(*s.line_cut_s))
                for g in areas[area]:  # back within a few minutes of each other
                    self._cut_line(g, back + float(rng.uniform(0, 300)))
        return []

    def _cut_line(self, gateway: SimDevice, back: float) -> None:
        """Cut ``gateway``'s line until ``back``. The broker notices the connection gone 1-1.5
        keep-alives (30 s) later (bench/offline_delay.py: 24-48 s). The devices behind it go on
        as before on the zigbee side, and what they say waits in the gateway's spool
        (gateway/spool.py) until it is back and has said "online"."""
        self.counts["line_cuts"] += 1
        self.line_cuts.append((gateway.device.id, self.now, back))
        gateway.silent_until = back
        self._cut[gateway.device.id] = []
        self._schedule(self.now + float(self._kit_rng.uniform(24, 48)), _will(gateway))
        self._schedule(back, self._line_back(gateway))

    def _spool(self, out: list[Outgoing]) -> list[Outgoing]:
        """``out`` less what devices behind a cut line said: that waits for the line."""
        sent = []
        for m in out:
            held = self._cut.get(self._via.get(m.topic.rsplit("/", 2)[-2], ""))
            if held is None:
                sent.append(m)
            else:
                held.append(m)
        return sent

    def _line_back(self, gateway: SimDevice) -> Callable[[float], list[Outgoing]]:
        def act(t: float) -> list[Outgoing]:
            return _connect(gateway, t) + self._cut.pop(gateway.device.id)
        return act

    def _smokes_down(self) -> list[Outgoing]:
        rng, s, out = self._kit_rng, self.scenario, []
        for _ in range(int(rng.poisson(s.smoke_down_per_hour / 3600.0))):
            ready = [d for d in self._home_smoke if not d.down and d.silent_until <= self.now]
            if not ready:
                continue
            dev = ready[int(rng.integers(len(ready)))]
            back = self.now + float(rng.uniform(*s.smoke_down_s))
            dev.down = True
            self.counts["smoke_down"] += 1
            self.smokes_down.append((dev.device.id, self.now, back))
            out.append(event(dev, self.now, EventType.TAMPER))
            self._schedule(back, self._put_back(dev))
        return out

    @staticmethod
    def _put_back(dev: SimDevice) -> Callable[[float], list[Outgoing]]:
        def act(t: float) -> list[Outgoing]:
            dev.down = False
            return [event(dev, t, EventType.TAMPER_CLEARED)]
        return act

    def _site_outages(self) -> list[Outgoing]:
        rng, s = self._site_rng, self.scenario
        for _ in range(int(rng.poisson(s.site_outages_per_hour / 3600.0))):
            up = sorted(site for site, devs in self._care_homes.items()
                        if all(d.silent_until <= self.now for d in devs))
            if not up:
                continue
            site = up[int(rng.integers(len(up)))]
            back = self.now + float(rng.uniform(*s.site_outage_s))
            self.counts["site_outages"] += 1
            self.site_outages.append((site, self.now, back))
            for dev in self._care_homes[site]:
                # the broker notices each connection gone when its keep-alive runs out (1.5 x
                # 60 s at most), and each device is back a little apart from the others
                dev.silent_until = back + float(rng.uniform(0, 30))
                self._schedule(self.now + float(rng.uniform(30, 90)), _will(dev))
                self._schedule(dev.silent_until, _reconnect(dev))
        return []

    def _trips(self) -> list[Outgoing]:
        """Wearers leaving home: by day for a walk, in the afternoon to stay the night at a
        son's or daughter's flat, at night wandering. Each only in its hours, and only for a
        wearer at home (no route) whose watch is heard."""
        rng, s, now = self._trip_rng, self.scenario, self.now
        hour = local_hour(now)
        for kind, per_hour, hours in (("outing", s.outings_per_hour, (8, 17)),
                                      ("stay", s.stays_per_hour, (15, 19)),
                                      ("night_wander", s.night_wanders_per_hour, (22, 28))):
            for _ in range(int(rng.poisson(per_hour / 3600.0))):
                if not hours[0] <= (hour if hour >= 8 else hour + 24) < hours[1]:
                    continue
                home = [d for d in self._by_kind["wearable"]
                        if not d.route and d.silent_until <= now and d.site.kind == "home"
                        and (kind != "stay" or d.device.resident_id in self._places)]
                if home:
                    self._leave(home[int(rng.integers(len(home)))], kind, rng)
        return []

    def _leave(self, dev: SimDevice, kind: str, rng: np.random.Generator) -> None:
        now, home = self.now, (dev.site.lat, dev.site.lon)
        bearing = float(rng.uniform(0, 2 * np.pi))

        def out_to(metres: float) -> tuple[float, float]:
            north, east = metres * math.cos(bearing), metres * math.sin(bearing)
            return (home[0] + north / METRES_PER_DEG_LAT,
                    home[1] + east / (METRES_PER_DEG_LAT * math.cos(math.radians(home[0]))))

        place = None
        if kind == "stay":
            p = self._places[str(dev.device.resident_id)]
            place, there = p.name, (p.lat, p.lon)
            arrive = now + float(rng.uniform(20, 40)) * 60
            next_day = now + 24 * 3600 - (local_hour(now) - float(rng.uniform(8, 11))) * 3600
            end = next_day + float(rng.uniform(20, 40)) * 60
            route = ((now, *home), (arrive, *there), (next_day, *there), (end, *home))
            farthest = 0.0
        else:
            farthest = float(rng.uniform(500 if kind == "outing" else 400, 1500))
            going = float(rng.uniform(10, 30)) * 60
            away = (float(rng.uniform(*self.scenario.outing_s)) - 2 * going if kind == "outing"
                    else float(rng.uniform(10, 40)) * 60)
            there = out_to(farthest)
            end = now + 2 * going + max(away, 0.0)
            route = ((now, *home), (now + going, *there), (end - going, *there), (end, *home))
        dev.route = route
        self.counts[kind] += 1
        self.trips.append(Trip(watch=dev.device.id, kind=kind, start=now, end=end,
                               farthest_m=farthest, place=place))
        self._schedule(end, self._home_again(dev))

    @staticmethod
    def _home_again(dev: SimDevice) -> Callable[[float], list[Outgoing]]:
        def act(t: float) -> list[Outgoing]:
            dev.route = ()
            return []
        return act

    def _watches_off(self) -> list[Outgoing]:
        rng, s = self._watch_rng, self.scenario
        for _ in range(int(rng.poisson(s.watch_off_per_hour / 3600.0))):
            ready = [d for d in self._by_kind["wearable"]
                     if d.worn and not d.pending and d.silent_until <= self.now]
            if ready:
                dev = ready[int(rng.integers(len(ready)))]
                dev.worn, dev.off_until = False, self.now + float(rng.uniform(*s.watch_off_s))
                self.counts["watch_off"] += 1
                self.watches_off.append((dev.device.id, self.now, dev.off_until))
        return []

    def _service_presses(self) -> list[Outgoing]:
        rng, out = self._service_rng, []
        for _ in range(int(rng.poisson(self.scenario.service_presses_per_hour / 3600.0))):
            ready = [d for d in self._service_buttons if d.silent_until <= self.now]
            if ready:
                self.counts["service"] += 1
                out.append(double_press(ready[int(rng.integers(len(ready)))], self.now))
        return out

    def _flat_or_low(self, dev: SimDevice) -> bool:
        """A worn watch's battery: at ``low_warn_pct`` it tells its wearer, who mostly puts it
        on its charger a while later; at 0 it goes flat, silent until it is found (True)."""
        rng, s = self._watch_rng, self.scenario
        if dev.battery <= 0.0:
            dev.battery = 0.0
            found = self.now + float(rng.uniform(*s.flat_found_s))
            dev.silent_until = found
            self.counts["watch_flat"] += 1
            self.watches_flat.append((dev.device.id, self.now, found))
            # the broker notices the connection gone when its keep-alive runs out
            self._schedule(self.now + float(rng.uniform(30, 90)), _will(dev))
            self._schedule(found, self._on_charger(dev, reconnect=True))
            return True
        if dev.battery <= s.low_warn_pct and not dev.warned:
            dev.warned = True
            if rng.random() < s.low_charged_share:
                self._schedule(self.now + float(rng.uniform(*s.low_charge_after_s)),
                               self._on_charger(dev, reconnect=False))
        return False

    def _on_charger(self, dev: SimDevice, *, reconnect: bool
                    ) -> Callable[[float], list[Outgoing]]:
        """The wearer puts ``dev`` on its charger (a flat one comes on and connects again)."""
        def act(t: float) -> list[Outgoing]:
            if not reconnect and (not dev.worn or dev.silent_until > t):
                return []  # already off the wrist, or gone flat meanwhile
            dev.worn = False
            dev.off_until = t + float(self._watch_rng.uniform(*self.scenario.recharge_s))
            self.counts["watch_charged"] += 1
            self.watches_off.append((dev.device.id, t, dev.off_until))
            return _connect(dev, t) if reconnect else []
        return act

    def step(self) -> list[Outgoing]:
        """Everything the district publishes during the next second."""
        out: list[Outgoing] = []
        if not self._started:
            self._started = True
            out += [m for dev in self.devices for m in _connect(dev, self.now)]
        while self._later and self._later[0].at <= self.now:
            out += heapq.heappop(self._later).action(self.now)
        out += self._incidents()
        for dev in self.devices:
            if dev.silent_until > self.now:
                continue
            kind = dev.device.kind
            if kind == "wearable" and not dev.worn:
                dev.battery = min(100.0, dev.battery + self.scenario.charge_per_hour / 3600.0)
                dev.warned = dev.warned and dev.battery <= self.scenario.low_warn_pct
            else:
                dev.battery -= self.scenario.drain(dev.device_class) / 3600.0
                if kind == "wearable" and self._flat_or_low(dev):
                    continue
            if self.now >= dev.next_checkin:
                dev.next_checkin += self.scenario.checkin_interval(dev.device_class)
                out.append(checkin(dev, self.now, self._kit_rng if dev.kit else self._rng))
                if dev.battery < 15 and int(dev.battery * 10) % 10 == 0:
                    out.append(event(dev, self.now, EventType.BATTERY_LOW))
            if kind == "wearable":
                out += wearable_second(dev, self.now, self._rng, self.scenario,
                                       off_rng=self._watch_rng)
        out += self.kiosks.step(self.now)
        if self._cut:
            out = self._spool(out)
        self.counts["messages"] += len(out)
        self.now += 1.0
        return out
