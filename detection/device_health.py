"""Device health: missed check-ins, offline devices, low batteries, and elders left unprotected.

Method: every device class has an expected check-in interval (a table, configurable); any
message from a device counts as a check-in. A device silent for ``grace`` × its interval is
``no_checkin`` — distinct from ``offline``, which the broker says on the device's behalf (its MQTT
last will). An ``offline`` is reported once it has lasted ``offline_delay`` (2 min; an on-delay,
as ISA-18.2 has for chattering alarms): a device back within it was a blip, and the devices of a
site whose network went down, whose last wills come over a minute or so as the broker times
each connection out, are seen together as the site's outage first (below). A battery at or
below its class's level is ``low_battery`` once, re-armed only after it climbs ``hysteresis``
points above (a fresh battery), so a reading that dithers at 20/21 % does not flap. When every
emergency device (button, smoke detector, wearable) of one elder is silent or offline (as
reported), the elder gets a ``welfare_check``: nothing could raise their alarm now; when one of
them is heard again, ``protected_again`` (its alarm is marked, not closed: an operator still
calls, knowing the devices are back). A device whose own problem was reported (``no_checkin``,
``offline``, ``low_battery``) and that is whole again (heard, its battery, if it has one, above
its level plus ``hysteresis``) is ``restored``, once: its maintenance item closes itself (a button
back after a radio dropout, a watch charged after going flat) and the maintenance list holds what
is wrong now, not every dropout since the list was last cleared by hand. A fault or tamper
the device says of itself holds its restore until it says that is over too (a smoke detector's
trouble gone, a detector back on its base); a device whose item the store holds open at start
(:meth:`DeviceHealthDetector.still_open`) is restored when next heard whole, whatever the
snapshot remembered. A device
that falls silent having last reported ``flat_pct`` (5 %) of battery or less has probably gone
flat: its findings say so (``HealthFinding.flat``, and the last battery it reported), so the
operator asks for it to be charged rather than a technician for its radio. (Check-in
supervision as in EN 50136-1's "supervision of the transmission path" and the periodic test
signals of social-alarm standard EN 50134-7.)

Many devices of one site falling silent together is one fault, not many: a care home's network
or gateway is down. When at least ``outage_min`` of a site's devices are silent or offline,
their silences began within ``outage_window`` of each other, and they are at least
``outage_share`` of the site's devices that could have been heard since (those silent, plus
those heard after the first of these silences began: a battery button that reports once a day
says nothing either way), the site gets one ``site_silent`` finding (and ``site_heard_again``
when it no longer holds: no alarm, its alarm is marked), and while it lasts its devices'
``no_checkin`` and ``offline`` and its elders' ``welfare_check`` are held back: the
site's finding stands for them (the parent-and-child rule of network monitoring, Nagios'
"unreachable", inferred here from the timing, since the registry does not say which devices
sit behind which gateway). When the site is heard again, what is still true of the held ones
``offline_delay`` later is reported then (its devices come back over a minute or so, and the
first few back must not turn the rest into one finding each).

The same holds one level up, for the gateways of many homes: a provider's works or a street
cabinet's fault cut the lines of a whole community at once. When the gateways (class ``hub``)
of at least ``area_min`` (3) homes of one community (``DeviceEvent.area``) are silent or
offline, their silences begun within ``outage_window`` of each other, the community gets one
``area_outage`` finding (subject ``area:<community>``, raised on the first of them;
``area_heard_again`` when fewer are down) and while it lasts those gateways' own ``offline``
and ``no_checkin`` are held back and released, if still true, ``offline_delay`` after it ends,
as a site's are. No share of the community's gateways is asked for: three homes' lines cut
within a quarter of an hour is not chance (the realistic district cuts one line of a home's
in about nine months), and a cabinet may serve a few streets of a community, not all of it.
Unlike a care home's outage it holds back no elder's ``welfare_check``: each elder at home it
leaves with no way to call is alone, and is called one by one; their checks name the gateway,
and the welfare stage adds the community's outage (:meth:`DeviceHealthDetector.area_down`).

>>> d = DeviceHealthDetector()
>>> _ = d.update([DeviceEvent(timestamp=0.0, device="b1", subject="r1", device_class="button")])
>>> [f.kind for f in d.update([Clock(timestamp=40 * 3600.0)])]  # 1.5 x 25 h
['no_checkin', 'welfare_check']
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, NamedTuple

HOUR = 3600.0
DEVICE_PROBLEMS = frozenset({"no_checkin", "offline", "low_battery"})
"""A device's own findings: what it is ``restored`` from."""
OWN_PROBLEMS = ("fault", "tamper")
"""What a device says of itself (its own events) that being heard does not end: only its word
that it is over (``fault_cleared``, ``tamper_cleared``) does."""
OFFLINE_DELAY_S = 120.0
FLAT_PCT = 5.0
"""A device silent after reporting this battery or less has probably gone flat: watches shut
down at a few percent, and a watch drains about 2 % an hour, so 5 % is within its last few
hours."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceClass:
    name: str
    checkin_s: float
    low_battery_pct: float | None
    """None for mains-powered classes."""
    emergency: bool
    """Can raise an elder's alarm (SOS, smoke, fall)."""


DEVICE_CLASSES = (
    DeviceClass(name="hub", checkin_s=10 * 60, low_battery_pct=None, emergency=False),
    DeviceClass(name="wall_button", checkin_s=10 * 60, low_battery_pct=None, emergency=True),
    DeviceClass(name="button", checkin_s=25 * HOUR, low_battery_pct=20.0, emergency=True),
    DeviceClass(name="smoke_detector", checkin_s=25 * HOUR, low_battery_pct=20.0, emergency=True),
    DeviceClass(name="wearable", checkin_s=1 * HOUR, low_battery_pct=15.0, emergency=True),
)


_UNITS = {"s": 1.0, "min": 60.0, "h": HOUR}
_MAX_CHECKIN_S = 7 * 24 * HOUR


def with_checkins(text: str, classes: tuple[DeviceClass, ...] = DEVICE_CLASSES
                  ) -> tuple[DeviceClass, ...]:
    """``classes`` with the check-in intervals ``text`` sets, as ``ELDERCARE_CHECKIN`` gives
    them: ``button=12h,hub=5min`` (a class name, ``=``, a number and ``s``, ``min`` or ``h``);
    a class not named keeps its interval. A centre whose pendants report every 12 hours should
    not wait 37.5 hours (1.5 x the default 25 h) to learn one has gone quiet.

    >>> {c.name: c.checkin_s / 60 for c in with_checkins("button=12h, hub=5min")}  # minutes
    {'hub': 5.0, 'wall_button': 10.0, 'button': 720.0, 'smoke_detector': 1500.0, 'wearable': 60.0}
    """
    known = {c.name: c for c in classes}
    given: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = (x.strip() for x in part.partition("="))
        if not sep or name not in known:
            raise ValueError(f"{part!r}: expected one of {', '.join(known)}, '=' and an interval")
        number, unit = value.rstrip("abcdefghijklmnopqrstuvwxyz"), value.lstrip("0123456789. ")
        try:
            seconds = float(number) * _UNITS[unit]
        except (ValueError, KeyError):
            raise ValueError(f"{part!r}: the interval is a number and s, min or h,"
                             " e.g. 25h or 10min") from None
        if not 60.0 <= seconds <= _MAX_CHECKIN_S:
            raise ValueError(f"{part!r}: between 1 min and 7 days")
        given[name] = seconds
    return tuple(replace(c, checkin_s=given.get(c.name, c.checkin_s)) for c in classes)


class DeviceEvent(NamedTuple):
    """Any message from (or, for ``offline``/``online``, about) one device (a NamedTuple: one
    is made for every message, at a quarter of a frozen dataclass's cost)."""

    timestamp: float
    device: str
    subject: str
    """The elder (or care-home room) the device protects."""
    device_class: str
    status: str = "message"  # message, offline (last will), online
    battery_pct: float | None = None
    site: str = ""
    """Where the device is (the site outage check; "" for none)."""
    elder: bool = True
    """Whether ``subject`` is an elder: only an elder gets a ``welfare_check`` (a care-home
    room's smoke detector, silent, is a maintenance item, not an elder left unprotected)."""
    says_low: bool = False
    """The message is the device's own "battery low" event: its maintenance item holds the
    event, and it is ``restored`` (the item closes itself) only once a reading shows a fresh
    battery, never by its being heard."""
    via: str = ""
    """The gateway it reaches the platform through ("" none: it connects by itself). While the
    gateway is offline or silent the device is cut off: it counts as silent for its elder's
    protection, its own silence is the gateway's (held), and the time does not count against
    its check-in."""
    area: str = ""
    """The community its site is in ("" none): for a gateway, the area outage check."""
    says: str = ""
    """The message is the device's own word on a problem of :data:`OWN_PROBLEMS`: ``fault`` or
    ``tamper`` (its maintenance item holds the event; it is not ``restored`` while one stands),
    or ``fault_cleared`` / ``tamper_cleared`` (over: a smoke detector's trouble gone, a
    detector put back on its base)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Clock:
    timestamp: float


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthFinding:
    timestamp: float
    subject: str
    device: str | None  # None for an elder-level finding
    kind: str  # no_checkin, offline, low_battery, restored, welfare_check, protected_again,
    # site_silent, site_heard_again, area_outage, area_heard_again
    detail: str
    battery_pct: float | None = None
    """For a device's ``no_checkin`` or ``offline``: the battery it last reported (None: it
    never said)."""
    flat: tuple[str, ...] = ()
    """The devices of the finding that have probably gone flat (silent after reporting
    ``flat_pct`` or less): a ``no_checkin``'s or ``offline``'s own device, or those of an
    elder's ``welfare_check``."""
    fresh_battery: bool = False
    """For ``restored``: its battery was read above its class's low level plus ``hysteresis``
    (so a "battery low" the device said of itself is over, too)."""
    gateways: tuple[str, ...] = ()
    """For a ``welfare_check``: the gateways whose being offline or silent cut the elder's
    devices off (the operator calls about the home's line, not a device); for an
    ``area_outage``: the gateways down in the community."""
    over: tuple[str, ...] = ()
    """For ``restored``: the problems of its own (:data:`OWN_PROBLEMS`) the device said were
    over since it was last restored: its item's alarms for them may close with it."""


@dataclass(slots=True)
class _Device:
    subject: str
    device_class: str
    last_seen: float
    offline: bool = False
    overdue: bool = False
    low: bool = False
    site: str = ""
    elder: bool = True
    offline_at: float = 0.0
    """When its last will came (while ``offline``)."""
    offline_said: bool = True
    """Whether its ``offline`` has been reported (False while it waits ``offline_delay``)."""
    battery: float | None = None
    """The battery it last reported (None: never; snapshots from before 2026-12-07)."""
    reported: bool = False
    """Whether a problem of its own has been reported and it has not been ``restored`` since
    (a snapshot from before the fourteenth session has none: False, so an item open then is
    closed by hand)."""
    said_low: bool = False
    """Whether it said its battery was low (its own event) and no fresh battery has been read
    since."""
    said_low_battery: float | None = None
    """The battery it had last reported when it said so (None: none): a fresh battery reads
    ``hysteresis`` above it as well as above its class's low level."""
    via: str = ""
    """The gateway it reaches the platform through ("": by itself)."""
    said: list[str] = field(default_factory=list)
    """Problems of its own (:data:`OWN_PROBLEMS`) it said and has not said are over."""
    ended: list[str] = field(default_factory=list)
    """Problems of its own it said are over since it was last restored (snapshots from before
    the seventeenth session have neither: none)."""
    area: str = ""
    """Its site's community, for a gateway ("": none, or a snapshot from before 2026-12-08)."""

    def down(self) -> bool:
        """Silent or offline, as far as an elder's protection goes."""
        return (self.offline and self.offline_said) or self.overdue


@dataclass(slots=True)
class DeviceHealthDetector:
    """Per-device supervision and the per-elder "all emergency devices silent" check."""

    classes: tuple[DeviceClass, ...] = DEVICE_CLASSES
    grace: float = 1.5
    """Multiples of the interval before a silence counts (one lost check-in is normal radio)."""
    hysteresis: float = 10.0
    outage_min: int = 5
    outage_share: float = 0.6
    outage_window: float = 15 * 60.0
    area_min: int = 3
    """Homes whose gateways must be down together for their community's ``area_outage``."""
    flat_pct: float = FLAT_PCT
    offline_delay: float = OFFLINE_DELAY_S
    """How long a last will must stand before ``offline`` (and an elder's ``welfare_check``) is
    reported: the broker times connections out at 1.5 x their keep-alive, so a site's devices'
    last wills come within about a minute of each other."""
    _devices: dict[str, _Device] = field(default_factory=dict)
    _unprotected: set[str] = field(default_factory=set)
    _by_subject: dict[str, set[str]] = field(default_factory=dict)
    """subject -> its devices: the welfare check looks at one elder's devices, not all of them
    (scanning every device on every message made a district's ingest quadratic)."""
    _judged: tuple[DeviceClass, ...] | None = field(default=None, repr=False, compare=False)
    """The classes every elder was last judged with (None: not yet, e.g. after a restore)."""
    _by_site: dict[str, set[str]] = field(default_factory=dict)
    _sites_down: dict[str, float] = field(default_factory=dict)
    """Site -> when the silence its ``site_silent`` finding stands for began."""
    _releasing: dict[str, float] = field(default_factory=dict)
    """Site heard again -> when what is still true of its held findings is reported."""
    _held: set[str] = field(default_factory=set)
    """Devices whose ``no_checkin`` or ``offline`` a site's outage holds back."""
    _by_area: dict[str, set[str]] = field(default_factory=dict)
    """community -> its gateways."""
    _areas_down: dict[str, tuple[float, str]] = field(default_factory=dict)
    """Community -> when the silence its ``area_outage`` stands for began, and the gateway the
    finding was raised on (its alarm's device: ``area_heard_again`` names it too)."""
    _areas_releasing: dict[str, tuple[float, str]] = field(default_factory=dict)
    """Community heard again -> when what is still true of its gateways' held findings is
    reported, and the gateway its finding was raised on."""
    _excused_until: float = -math.inf
    """The end of the last time the platform itself could not hear (:meth:`excuse`)."""
    _behind: dict[str, set[str]] = field(default_factory=dict)
    """gateway -> the devices that reach the platform through it."""
    _owed: dict[str, tuple[bool, bool, tuple[str, ...]]] = field(default_factory=dict)
    """device -> what the store holds open for it (:meth:`still_open`), taken up at its next
    message."""

    def update(self, batch: Sequence[DeviceEvent | Clock]) -> list[HealthFinding]:
        found: list[HealthFinding] = []
        table = {c.name: c for c in self.classes}
        for item in batch:
            if isinstance(item, Clock):
                overdue = self._overdue(item.timestamp, table)
                sites = {self._devices[f.device].site for f in overdue if f.device}
                outages = self._outages(item.timestamp, sites | set(self._sites_down))
                found.extend(outages)
                gone = [self._devices[f.device] for f in overdue if f.device]
                areas = {g.area for g in gone if g.device_class == "hub"}
                found.extend(self._area_outages(item.timestamp, areas | set(self._areas_down)))
                found.extend(self._mark(self._hold(overdue)))
                back = [s for s, at in self._releasing.items() if item.timestamp >= at]
                for site in back:
                    del self._releasing[site]
                    found.extend(self._mark(self._release(item.timestamp, site)))
                for area in [a for a, (at, _) in self._areas_releasing.items()
                             if item.timestamp >= at]:
                    del self._areas_releasing[area]
                    found.extend(self._mark(self._release(item.timestamp, "", area=area)))
                # Only devices that just fell silent change an elder's protection; all elders
                # are judged after a restore or a change of classes, and a site's when its
                # held findings are released.
                everyone = self._judged is not self.classes
                self._judged = self.classes
                touched = {f.subject for f in overdue} | {
                    self._devices[i].subject for s in back for i in self._by_site.get(s, ())} | {
                    self._devices[i].subject for f in overdue if f.device is not None
                    for i in self._behind.get(f.device, ())}
                found.extend(self._welfare(item.timestamp, table,
                                           None if everyone else touched))
            elif item.device_class in table:
                d = self._devices.get(item.device)
                before = None if d is None else (d.offline, d.overdue, d.subject)
                found.extend(self._mark(self._hold(self._event(item, table[item.device_class]))))
                d = self._devices[item.device]
                if before != (d.offline, d.overdue, d.subject):
                    # Only a device's silence, return or move changes its elder's protection:
                    # a routine message from a device already heard says nothing new.
                    touched = {item.subject} if before is None else {item.subject, before[2]}
                    touched |= {self._devices[i].subject  # a gateway: what is behind it
                                for i in self._behind.get(item.device, ())}
                    found.extend(self._welfare(item.timestamp, table, touched))
        return found

    def _event(self, e: DeviceEvent, cls: DeviceClass) -> list[HealthFinding]:
        d = self._devices.get(e.device)
        if d is None:
            d = self._devices[e.device] = _Device(e.subject, e.device_class, e.timestamp)
        elif e.timestamp < d.last_seen:
            return []  # late: says nothing about the device's state now
        if d.subject != e.subject:
            self._by_subject.get(d.subject, set()).discard(e.device)
        self._by_subject.setdefault(e.subject, set()).add(e.device)
        if d.site != e.site:
            self._by_site.get(d.site, set()).discard(e.device)
        if e.site:
            self._by_site.setdefault(e.site, set()).add(e.device)
        if d.area != e.area:
            self._by_area.get(d.area, set()).discard(e.device)
            d.area = e.area
        if e.area and e.device_class == "hub":
            self._by_area.setdefault(e.area, set()).add(e.device)
        if d.via != e.via:
            self._behind.get(d.via, set()).discard(e.device)
            d.via = e.via
        if e.via:
            self._behind.setdefault(e.via, set()).add(e.device)
        if e.status != "offline" and d.down() and e.device in self._behind:
            # a gateway heard again: the time it was down does not count against the check-ins
            # of the devices behind it (they could not be heard)
            self._excuse_behind(e.device, d.offline_at if d.offline else d.last_seen,
                                e.timestamp)
        d.last_seen, d.subject, d.site, d.elder = e.timestamp, e.subject, e.site, e.elder
        found: list[HealthFinding] = []
        if e.status == "offline":
            if not d.offline:  # reported once it has stood offline_delay (_overdue)
                d.offline, d.offline_at, d.offline_said = True, e.timestamp, False
            return found
        d.offline = d.overdue = False
        d.offline_said = True
        self._held.discard(e.device)
        owed = self._owed.pop(e.device, None)
        if owed is not None:
            self._take_up(d, cls, *owed)
        problem, _, cleared = e.says.partition("_")  # "fault", "fault_cleared", ...
        if problem in OWN_PROBLEMS and not cleared:
            if problem not in d.said:
                d.said.append(problem)
            d.reported = True
            return found  # its own event is its item's alarm: no finding of ours beside it
        if problem in d.said:  # it says the problem is over
            d.said.remove(problem)
            d.ended.append(problem)
        if e.says_low and cls.low_battery_pct is not None:
            # its own event is its maintenance item's alarm: no finding of ours beside it, but
            # it is whole again only with a fresh battery read, not by being heard
            if not d.said_low:
                d.said_low, d.said_low_battery = True, d.battery
            d.low = d.reported = True
            return found
        if e.battery_pct is not None:
            d.battery = e.battery_pct
        fresh = False
        if e.battery_pct is not None and cls.low_battery_pct is not None:
            fresh = e.battery_pct > cls.low_battery_pct + self.hysteresis and (
                not d.said_low or d.said_low_battery is None
                or e.battery_pct > d.said_low_battery + self.hysteresis)
            if e.battery_pct <= cls.low_battery_pct and not d.low:
                d.low = True
                found.append(self._finding(e.timestamp, d, e.device, "low_battery",
                                           f"battery {e.battery_pct:.0f} %"))
            elif fresh:
                d.low = d.said_low = False
                d.said_low_battery = None
        if d.reported and not d.low and not d.said:
            d.reported = False
            said = "" if d.battery is None else f"; battery {d.battery:.0f} %"
            over = "".join(f"; {p} over" for p in d.ended)
            found.append(HealthFinding(timestamp=e.timestamp, subject=d.subject, device=e.device,
                                       kind="restored", detail=f"heard again{said}{over}",
                                       battery_pct=d.battery, fresh_battery=fresh,
                                       over=tuple(d.ended)))
            d.ended = []
        return found

    def still_open(self, device: str, *, low: bool = False, said_low: bool = False,
                   said: Iterable[str] = ()) -> None:
        """The store holds a maintenance item of ``device`` open (read at start): it is
        ``restored`` when it is next heard whole, whatever the snapshot says. ``low``: the item
        holds a low battery (it is whole only with a fresh battery read); ``said_low``: one the
        device said itself; ``said``: problems of its own (:data:`OWN_PROBLEMS`) it holds, over
        only when the device says so. Taken up at the device's next message.

        What the store holds is the truth: a snapshot taken between a restore's finding and
        its write (ingest died in between), or one from before ``reported`` was kept, would
        otherwise leave the item open until the device's next problem."""
        self._owed[device] = (low or said_low, said_low,
                              tuple(p for p in said if p in OWN_PROBLEMS))

    def _take_up(self, d: _Device, cls: DeviceClass, low: bool, said_low: bool,
                 said: tuple[str, ...]) -> None:
        d.reported = True
        if cls.low_battery_pct is not None and low:
            d.low = True  # a low battery is over with a fresh battery read, not by being heard
            if said_low and not d.said_low:
                d.said_low, d.said_low_battery = True, d.battery
        for problem in said:
            if problem not in d.said:
                d.said.append(problem)

    def wire(self, via: Mapping[str, str]) -> None:
        """The registry's word on which gateway each device goes through (device -> gateway,
        "" for none), for the devices already heard: a relation set or changed takes effect
        now, not at the device's next message (a day away for a battery button). Every elder
        is judged again at the next :class:`Clock`."""
        changed = False
        for device, gateway in via.items():
            d = self._devices.get(device)
            if d is None or d.via == gateway:
                continue
            self._behind.get(d.via, set()).discard(device)
            d.via = gateway
            if gateway:
                self._behind.setdefault(gateway, set()).add(device)
            changed = True
        if changed:
            self._judged = None

    def behind(self, gateway: str) -> tuple[str, ...]:
        """The elders with an emergency device that reaches the platform through ``gateway``."""
        table = {c.name: c for c in self.classes}
        return tuple(sorted({d.subject for i in self._behind.get(gateway, ())
                             if (d := self._devices[i]).elder
                             and (c := table.get(d.device_class)) is not None and c.emergency}))

    def stranded(self, gateways: Iterable[str]) -> tuple[str, ...]:
        """The elders behind ``gateways`` whom those gateways being down leave with no
        emergency device heard (each has, or will have, their own ``welfare_check``)."""
        down = set(gateways)
        table = {c.name: c for c in self.classes}
        found = set()
        for elder in {e for g in down for e in self.behind(g)}:
            guards = [d for i in self._by_subject.get(elder, ())
                      if (d := self._devices[i]).subject == elder and d.elder
                      and (c := table.get(d.device_class)) is not None and c.emergency]
            if guards and all(d.down() or d.via in down for d in guards):
                found.add(elder)
        return tuple(sorted(found))

    def _cut_off(self, d: _Device) -> bool:
        """Whether ``d`` is behind a gateway that is offline or silent, as reported."""
        gateway = self._devices.get(d.via) if d.via else None
        return gateway is not None and gateway.down()

    def _excuse_behind(self, gateway: str, start: float, end: float) -> None:
        """The devices behind ``gateway`` could not be heard from ``start`` to ``end``: as
        :meth:`excuse`, for them alone; one that went overdue meanwhile (held) is judged
        afresh on the time left."""
        for i in self._behind.get(gateway, ()):
            d = self._devices[i]
            if d.last_seen < end:
                d.last_seen += end - max(start, d.last_seen)
            if d.overdue and i in self._held:
                d.overdue = False
                self._held.discard(i)

    def _mark(self, found: list[HealthFinding]) -> list[HealthFinding]:
        """``found``, each device it reports a problem of marked as having one (so that it is
        ``restored`` when it is whole again)."""
        for f in found:
            if f.device is not None and f.kind in DEVICE_PROBLEMS:
                self._devices[f.device].reported = True
        return found

    def standing(self, device: str) -> tuple[str, ...]:
        """The faults and tampers ``device`` said of itself and has not said are over."""
        d = self._devices.get(device)
        return () if d is None else tuple(d.said)

    def healthy(self, device: str) -> bool:
        """Whether ``device`` is heard and whole, no problem of its own reported since it was
        last ``restored`` (False for a device never heard)."""
        d = self._devices.get(device)
        return d is not None and not (d.offline or d.overdue or d.low or d.reported)

    def _overdue(self, now: float, table: dict[str, DeviceClass]) -> list[HealthFinding]:
        """The devices that just went silent too long, and those whose last will has stood
        ``offline_delay``."""
        found = []
        for name, d in self._devices.items():
            if d.offline and not d.offline_said and now - d.offline_at >= self.offline_delay:
                d.offline_said = True
                found.append(self._silent(now, d, name, "offline",
                                          "the broker published its last will"
                                          f" {(now - d.offline_at) / 60:.0f} min ago"))
                continue
            limit = self.grace * table[d.device_class].checkin_s
            if not d.offline and not d.overdue and now - d.last_seen > limit:
                d.overdue = True
                found.append(self._silent(now, d, name, "no_checkin",
                                          f"silent {(now - d.last_seen) / HOUR:.1f} h"))
        return found

    def excuse(self, start: float, end: float) -> None:
        """The platform could not hear any device from ``start`` to ``end`` (ingest had lost
        the broker): that time does not count against any device's check-in. Each silence is
        shortened by its overlap with it, so a 20-minute broker outage does not turn every
        wall button into a ``no_checkin`` (and every care home into a ``site_silent``) the
        moment the broker is back. Overlapping calls (two lanes losing the broker together)
        excuse each moment once. Call it before the first :class:`Clock` after ``end``; no
        :class:`Clock` should be given while the platform cannot hear."""
        start = max(start, self._excused_until)
        if end <= start:
            return
        for d in self._devices.values():
            if d.last_seen < end:
                d.last_seen += end - max(start, d.last_seen)
        self._excused_until = end

    def _outages(self, now: float, sites: set[str]) -> list[HealthFinding]:
        """``site_silent`` for each of ``sites`` that just went down; a site heard again has
        its held findings reported ``offline_delay`` later (:meth:`_release`)."""
        found = []
        for site in sorted(s for s in sites if s):
            devices = [(i, self._devices[i]) for i in self._by_site.get(site, ())]
            silent = [(i, d) for i, d in devices if d.offline or d.overdue]
            began = None
            if len(silent) >= self.outage_min:
                latest = max(d.last_seen for _, d in silent)
                cluster = [(i, d) for i, d in silent if d.last_seen >= latest - self.outage_window]
                start = min(d.last_seen for _, d in cluster)
                heard = sum(1 for _, d in devices
                            if not (d.offline or d.overdue) and d.last_seen > start)
                if (len(cluster) >= self.outage_min
                        and len(cluster) >= self.outage_share * (len(cluster) + heard)):
                    began = start
            if began is not None and site not in self._sites_down:
                # what was reported before the site went down stays reported; what falls silent
                # from now on is held (_hold)
                self._sites_down[site] = began
                self._releasing.pop(site, None)  # down again before its release
                first = min(i for i, d in silent if d.last_seen >= began)
                found.append(HealthFinding(
                    timestamp=now, subject=f"site:{site}", device=first, kind="site_silent",
                    detail=f"{len(silent)} of {len(devices)} devices silent or offline, together"
                           f" for {(now - began) / 60:.0f} min"))
            elif began is None and site in self._sites_down:
                del self._sites_down[site]
                self._releasing[site] = now + self.offline_delay
                # no alarm: the site's open one is marked (an operator still calls the home)
                found.append(HealthFinding(
                    timestamp=now, subject=f"site:{site}", device=None, kind="site_heard_again",
                    detail=f"{len(devices) - len(silent)} of {len(devices)} devices heard"))
        return found

    def _area_outages(self, now: float, areas: set[str]) -> list[HealthFinding]:
        """``area_outage`` for each of ``areas`` whose homes' gateways just went down together;
        ``area_heard_again`` for one down that no longer is (its held findings are reported
        ``offline_delay`` later, :meth:`_release`)."""
        found = []
        for area in sorted(a for a in areas if a):
            silent = sorted((d.last_seen, i) for i in self._by_area.get(area, ())
                            if (d := self._devices[i]).offline or d.overdue)
            if area in self._areas_down:
                # down, it stays so while the gateways of area_min homes are (one coming back
                # first, or another line cut later, does not end it)
                lead = self._areas_down[area][1]
                if len({self._devices[i].site for _, i in silent}) >= self.area_min:
                    continue
                del self._areas_down[area]
                self._areas_releasing[area] = (now + self.offline_delay, lead)
                found.append(HealthFinding(
                    timestamp=now, subject=f"area:{area}", device=lead, kind="area_heard_again",
                    detail=f"{len(self._by_area.get(area, ())) - len(silent)} of"
                           f" {len(self._by_area.get(area, ()))} gateways heard"))
                continue
            if not silent:
                continue
            latest = silent[-1][0]
            cluster = [(t, i) for t, i in silent if t >= latest - self.outage_window]
            homes = {self._devices[i].site for _, i in cluster}
            if len(homes) < self.area_min:
                continue
            began, lead = cluster[0]
            self._areas_down[area] = (began, lead)
            self._areas_releasing.pop(area, None)  # down again before its release
            found.append(HealthFinding(
                timestamp=now, subject=f"area:{area}", device=lead, kind="area_outage",
                detail=f"gateways of {len(homes)} homes silent or offline, together for"
                       f" {(now - began) / 60:.0f} min",
                gateways=tuple(sorted(i for _, i in cluster))))
        return found

    def area_down(self, gateway: str) -> str | None:
        """The community whose ``area_outage`` stands for ``gateway`` being down now (None:
        none)."""
        d = self._devices.get(gateway)
        return d.area if d is not None and d.area in self._areas_down else None

    def _area_out(self, d: _Device) -> bool:
        """Whether ``d`` is a gateway of a community down, or back but its held findings not
        yet reported."""
        return d.device_class == "hub" and bool(d.area) and (
            d.area in self._areas_down or d.area in self._areas_releasing)

    def last_seen(self, device: str) -> float | None:
        """When ``device`` was last heard (None: never)."""
        d = self._devices.get(device)
        return None if d is None else d.last_seen

    def down(self, device: str) -> bool:
        """Whether ``device`` is silent past its check-in or offline, as reported."""
        d = self._devices.get(device)
        return d is not None and d.down()

    def _out(self, site: str) -> bool:
        """Whether ``site`` is down, or back but its held findings not yet reported."""
        return site in self._sites_down or site in self._releasing

    def _hold(self, found: list[HealthFinding]) -> list[HealthFinding]:
        """``found`` without the device findings a site's outage stands for (they are held)."""
        kept = []
        for f in found:
            device = f.device
            d = None if device is None else self._devices.get(device)
            if (device is not None and d is not None and f.kind in ("no_checkin", "offline")
                    and (self._out(d.site) or self._cut_off(d) or self._area_out(d))):
                self._held.add(device)
            else:
                kept.append(f)
        return kept

    def _release(self, now: float, site: str, *, area: str = "") -> list[HealthFinding]:
        """The held findings of a site (or, with ``area``, a community's gateways) heard again
        that are still true."""
        found = []
        members = self._by_area.get(area, set()) if area else self._by_site.get(site, set())
        for i in sorted(self._held & members):
            d = self._devices[i]
            if self._cut_off(d) or self._out(d.site) or self._area_out(d):
                continue  # its gateway, site or community is still down: that holds it now
            self._held.discard(i)
            if d.offline:
                whose = "community" if area else "site"
                found.append(self._silent(now, d, i, "offline", f"still offline after its {whose}"
                                          " was heard again"))
            elif d.overdue:
                found.append(self._silent(now, d, i, "no_checkin", f"silent"
                                          f" {(now - d.last_seen) / HOUR:.1f} h"))
        return found

    def _welfare(self, now: float, table: dict[str, DeviceClass],
                 touched: set[str] | None) -> list[HealthFinding]:
        subjects = touched if touched is not None else {d.subject for d in self._devices.values()}
        found = []
        for subject in sorted(subjects):
            guards = {i: d for i in self._by_subject.get(subject, ())
                      if (d := self._devices[i]).subject == subject and d.elder
                      and table[d.device_class].emergency}
            cut = {i: d.via for i, d in guards.items() if not d.down() and self._cut_off(d)}
            silent = bool(guards) and all(d.down() or i in cut for i, d in guards.items())
            if silent and all(self._out(d.site) for d in guards.values()):
                continue  # the site's outage stands for it; judged again when it is heard
            if silent and subject not in self._unprotected:
                self._unprotected.add(subject)
                flat = tuple(sorted(i for i, d in guards.items() if self._flat(d)))
                said = f"; probably flat: {', '.join(flat)}" if flat else ""
                gateways = tuple(sorted(set(cut.values())))
                if gateways:
                    said += f"; cut off by gateway {', '.join(gateways)} offline or silent"
                found.append(HealthFinding(
                    timestamp=now, subject=subject, device=None, kind="welfare_check",
                    detail=f"all {len(guards)} emergency devices silent or offline{said}",
                    flat=flat, gateways=gateways))
            elif not silent and subject in self._unprotected:
                self._unprotected.discard(subject)
                found.append(HealthFinding(
                    timestamp=now, subject=subject, device=None, kind="protected_again",
                    detail="an emergency device is heard again"))
        return found

    def unprotected(self, subject: str) -> bool:
        """Whether every emergency device of the elder ``subject`` is silent or offline, as
        reported (their ``welfare_check`` stands)."""
        return subject in self._unprotected

    def battery(self, device: str) -> float | None:
        """The battery ``device`` last reported (None: never, or not known)."""
        d = self._devices.get(device)
        return None if d is None else d.battery

    def _flat(self, d: _Device) -> bool:
        """Whether ``d``, silent, has probably gone flat."""
        return d.battery is not None and d.battery <= self.flat_pct

    def _silent(self, t: float, d: _Device, device: str, kind: str, detail: str
                ) -> HealthFinding:
        """A device's ``no_checkin`` or ``offline``, with the battery it last reported."""
        flat = self._flat(d)
        if flat:
            detail += f"; last battery {d.battery:.0f} %: probably flat"
        return HealthFinding(timestamp=t, subject=d.subject, device=device, kind=kind,
                             detail=detail, battery_pct=d.battery, flat=(device,) if flat else ())

    @staticmethod
    def _finding(t: float, d: _Device, device: str, kind: str, detail: str) -> HealthFinding:
        return HealthFinding(timestamp=t, subject=d.subject, device=device, kind=kind,
                             detail=detail)

    def snapshot(self) -> dict[str, Any]:
        return {**self.snapshot_head(), "devices": self.snapshot_part(self.snapshot_keys())}

    def snapshot_head(self) -> dict[str, Any]:
        """The snapshot without its devices (:meth:`snapshot_part`): for a snapshot taken in
        parts, between which the caller lets other work run (``ingest.welfare``)."""
        return {"classes": [asdict(c) for c in self.classes], "grace": self.grace,
                "hysteresis": self.hysteresis, "unprotected": sorted(self._unprotected),
                "outage": [self.outage_min, self.outage_share, self.outage_window],
                "area_min": self.area_min,
                "offline_delay": self.offline_delay, "flat_pct": self.flat_pct,
                "sites_down": dict(self._sites_down), "held": sorted(self._held),
                "releasing": dict(self._releasing),
                "areas_down": {a: list(v) for a, v in self._areas_down.items()},
                "areas_releasing": {a: list(v) for a, v in self._areas_releasing.items()},
                "excused_until": None if math.isinf(self._excused_until) else self._excused_until}

    def snapshot_keys(self) -> list[str]:
        """The keys of the snapshot's ``devices``, as they are now."""
        return list(self._devices)

    def snapshot_part(self, keys: Iterable[str]) -> dict[str, Any]:
        """The snapshot's ``devices`` for ``keys`` (those no longer kept are left out)."""
        devices = self._devices
        return {k: asdict(d) for k in keys if (d := devices.get(k)) is not None}

    @classmethod
    def restore(cls, snap: dict[str, Any]) -> DeviceHealthDetector:
        # snapshots from before 2026-12-07 have no outage state: the defaults, nothing down
        minimum, share, window = snap.get("outage", [5, 0.6, 15 * 60.0])
        detector = cls(classes=tuple(DeviceClass(**c) for c in snap["classes"]),
                       grace=snap["grace"], hysteresis=snap["hysteresis"],
                       outage_min=int(minimum), outage_share=float(share),
                       outage_window=float(window),
                       area_min=int(snap.get("area_min", 3)),
                       # before 2026-12-07 an offline was reported at once: the delay
                       # applies from the restart on (an offline already reported stays so)
                       offline_delay=float(snap.get("offline_delay", OFFLINE_DELAY_S)),
                       flat_pct=float(snap.get("flat_pct", FLAT_PCT)))
        detector._devices = {k: _Device(**d) for k, d in snap["devices"].items()}
        detector._unprotected = set(snap["unprotected"])
        detector._sites_down = {k: float(v) for k, v in snap.get("sites_down", {}).items()}
        detector._releasing = {k: float(v) for k, v in snap.get("releasing", {}).items()}
        detector._held = set(snap.get("held", ()))
        # snapshots from before 2026-12-08 have no area outages: none down
        detector._areas_down = {a: (float(t), str(g))
                                for a, (t, g) in snap.get("areas_down", {}).items()}
        detector._areas_releasing = {a: (float(t), str(g))
                                     for a, (t, g) in snap.get("areas_releasing", {}).items()}
        excused = snap.get("excused_until")
        detector._excused_until = -math.inf if excused is None else float(excused)
        for device_id, d in detector._devices.items():
            detector._by_subject.setdefault(d.subject, set()).add(device_id)
            if d.site:
                detector._by_site.setdefault(d.site, set()).add(device_id)
            if d.via:
                detector._behind.setdefault(d.via, set()).add(device_id)
            if d.area and d.device_class == "hub":
                detector._by_area.setdefault(d.area, set()).add(device_id)
        return detector
