"""Simulated devices that speak the wire contract, stepped one second at a time.

Each device keeps its own sequence counter (boot time in ms in the high bits, so numbers grow
across restarts as the contract requires), battery and check-in schedule. Wearables stream 1 s
accelerometer windows from ``simulators.motion``; a fall replaces the stream with a synthetic fall
and what follows it. Everything draws from the simulation's seeded generator, in a fixed device
order, so the same seed and start time give the same bytes.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from ingest.codec import encode, pack_samples
from ingest.contract import (
    Accel,
    Body,
    Checkin,
    Event,
    EventType,
    Kind,
    Location,
    Status,
    Telemetry,
    topic,
)
from simulators import motion
from simulators.district import Device, Site
from simulators.scenario import Scenario
from simulators.vitals import WearerDays, heart_rate, local_day, next_activity, saturation

ACCEL_SCALE = 1.0 / 1024.0  # g per count: a +-8 g part read at 13 bits, like common wrist parts


@dataclass(frozen=True, slots=True)
class Outgoing:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False


@dataclass(slots=True)
class SimDevice:
    device: Device
    site: Site
    seq_base: int
    next_checkin: float
    battery: float
    device_class: str = ""
    """The class whose check-in interval and battery it keeps (Scenario.checkin_s): its kind,
    or "wall_button" for a care home's call button."""
    seq: int = 0
    silent_until: float = 0.0
    # wearables only
    rot: np.ndarray | None = None
    activity: str = "standing"
    activity_until: float = 0.0
    pending: deque[np.ndarray] = field(default_factory=deque)
    hr_base: float = 72.0
    days: WearerDays | None = None
    """The wearer's day and hour effects on heart rate and SpO2 (Scenario.day_to_day)."""
    steps: int = 0
    """Today's steps, as a watch counts them (docs/device-api.md: "today, cumulative")."""
    steps_day: int = -1
    """The local day ``steps`` counts (:func:`simulators.vitals.local_day`)."""
    worn: bool = True
    will: Outgoing | None = None
    """Its "offline" last will, set when it last connected, with that connect's seq and time:
    what the broker publishes for it when the connection is gone (docs/device-api.md)."""
    off_until: float = 0.0
    """Taken off (to charge, to wash) until then: ``worn`` false, the accelerometer still on a
    table, no vital signs, no steps, the battery charging."""
    warned: bool = False
    """Whether the watch has told its wearer its battery is low since it was last charged."""
    bridged: tuple[str, ...] = ()
    """A home gateway's: the devices it speaks for, listed in its "online" (``Status.devices``)
    as the gateway service does."""
    kit: bool = False
    """A home kit's gateway or smoke detector: its draws come from the kit's own stream, so a
    seed's other devices and incidents are as they were without the kits."""
    down: bool = False
    """A smoke detector taken off its base (it has said ``tamper``)."""
    route: tuple[tuple[float, float, float], ...] = ()
    """Where its wearer is going: (time, lat, lon) waypoints, straight lines between them; at
    the last they stay. Empty: at home. (The route moves only the fixes: the watch's activity
    and steps are drawn as at home.)"""

    def position(self, t: float) -> tuple[float, float]:
        """Where the wearer is at ``t``: on their route, else at home."""
        route = self.route
        if not route or t <= route[0][0]:
            return (self.site.lat, self.site.lon) if not route else (route[0][1], route[0][2])
        for (t0, lat0, lon0), (t1, lat1, lon1) in itertools.pairwise(route):
            if t <= t1:
                f = (t - t0) / (t1 - t0) if t1 > t0 else 1.0
                return lat0 + f * (lat1 - lat0), lon0 + f * (lon1 - lon0)
        return route[-1][1], route[-1][2]

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq_base + self.seq

    def message(self, kind: Kind, body: Body, *, retain: bool = False) -> Outgoing:
        return Outgoing(topic(self.site.id, self.device.id, kind), encode(body), 1, retain)


def _ms(t: float) -> int:
    return round(t * 1000)


def event(dev: SimDevice, t: float, kind: EventType, **detail: str | int | float | bool) -> Outgoing:
    return dev.message(Kind.EVENT, Event(seq=dev.next_seq(), ts=_ms(t), type=kind,
                                         detail=detail or None))


def double_press(dev: SimDevice, t: float) -> Outgoing:
    """A button reporting a double press (its firmware counts the clicks): a service request if
    the button is configured for it, an SOS otherwise."""
    return dev.message(Kind.EVENT, Event(seq=dev.next_seq(), ts=_ms(t), type=EventType.SOS,
                                         presses=2))


def status(dev: SimDevice, t: float, state: str) -> Outgoing:
    online = state == "online"
    listed = list(dev.bridged) if online and dev.device.kind == "gateway" else None
    return dev.message(Kind.STATUS, Status(seq=dev.next_seq(), ts=_ms(t),
                                           state="online" if online else "offline",
                                           devices=listed),
                       retain=True)


def checkin(dev: SimDevice, t: float, rng: np.random.Generator) -> Outgoing:
    mains = dev.device.kind == "gateway"  # nothing to report: it has no battery
    return dev.message(Kind.CHECKIN, Checkin(seq=dev.next_seq(), ts=_ms(t),
                                             battery=None if mains else max(0, int(dev.battery)),
                                             rssi=int(rng.integers(-95, -40))))


def wearable_second(dev: SimDevice, t: float, rng: np.random.Generator,
                    scenario: Scenario, *, off_rng: np.random.Generator | None = None
                    ) -> list[Outgoing]:
    """One second of a wearable: an accel window, and telemetry/location when due. While it is
    off the wrist (``off_until``) its samples are a still watch on a table, drawn from
    ``off_rng``; the wearer's own draws from ``rng`` go on as if it were worn, so a seed's
    other events stay where they were."""
    hz = scenario.accel_hz
    out: list[Outgoing] = []
    if not dev.worn and t >= dev.off_until:
        dev.worn = True  # back on the wrist
    if dev.pending:
        samples = dev.pending.popleft()
        moving = False
    else:
        if t >= dev.activity_until:
            dev.activity, dev.activity_until = next_activity(t, rng)
        samples = motion.synth_activity(dev.activity, 1.0, hz, rng, rot=dev.rot)
        moving = dev.activity == "walking"
    if not dev.worn:
        samples = motion.synth_activity("on_table", 1.0, hz, off_rng or rng, rot=dev.rot)
    steps = int(rng.poisson(1.8)) if moving else 0
    if (today := local_day(t)) != dev.steps_day:
        dev.steps, dev.steps_day = 0, today  # a new day's count from midnight
    if dev.worn:
        dev.steps += steps
    out.append(dev.message(Kind.ACCEL, Accel(
        seq=dev.next_seq(), ts=_ms(t), hz=hz, range_g=8, scale=ACCEL_SCALE, n=len(samples),
        data=pack_samples(samples, ACCEL_SCALE))))
    second = int(t)
    if second % int(scenario.telemetry_s) == 0:
        hr = heart_rate(dev.hr_base, t, moving, rng)
        spo2 = float(rng.normal(97, 1))
        skin = round(float(rng.normal(33.2, 0.3)), 1)  # drawn worn or not: see the docstring
        if dev.days is not None:
            hr, spo2 = dev.days.apply(t, hr, spo2)
        out.append(dev.message(Kind.TELEMETRY, Telemetry(
            seq=dev.next_seq(), ts=_ms(t), hr=round(hr) if dev.worn else None,
            spo2=saturation(spo2) if dev.worn else None, skin_temp=skin if dev.worn else None,
            steps=dev.steps, battery=max(0, int(dev.battery)), worn=dev.worn)))
    if second % int(scenario.location_s) == 0:
        lat, lon = dev.position(t)
        out.append(dev.message(Kind.LOCATION, Location(
            seq=dev.next_seq(), ts=_ms(t),
            lat=round(lat + float(rng.normal(0, 0.0001)), 6),
            lon=round(lon + float(rng.normal(0, 0.0001)), 6),
            acc=round(float(rng.uniform(8, 30)), 1), source="gps")))
    return out


def start_fall(dev: SimDevice, rng: np.random.Generator, scenario: Scenario) -> bool:
    """Queue a fall (and its aftermath) into a wearable's stream; False if one is under way."""
    if dev.pending:
        return False
    hz = scenario.accel_hz
    gets_up = bool(rng.random() < scenario.fall_gets_up_share)
    samples, _ = motion.synth_fall(hz, rng, gets_up=gets_up, before_s=2.0, after_s=60.0,
                                   rot=dev.rot)
    step = int(hz)
    whole = len(samples) // step
    for i in range(whole):
        dev.pending.append(samples[i * step:(i + 1) * step])
    dev.activity = "walking" if gets_up else "lying"
    return True
