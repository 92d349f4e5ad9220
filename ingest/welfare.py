"""Handing readings to the detectors of what nobody reports (issue 4): vitals, inactivity,
wandering, device health, with flap control, and turning their findings into alarm triggers.

Inputs come from every accepted message: telemetry gives vital signs and steps, accelerometer
windows and presses show the elder moving, locations feed the safe zone, and every message (and
its absence) feeds device health. Each call also advances the detectors' clocks, so a silence is
noticed even when nothing arrives. Findings pass through flap control, so a resident's repeated
"heart rate high" becomes one alarm with a count rather than a stream.

The detectors' state is snapshotted (``snapshot``/``restore``) and kept in PostgreSQL by ingest,
so a restart does not forget a resident's baseline.

Silences are judged on what the platform heard, not on its own outages:

* while ingest cannot hear (it has lost the broker) no silence is judged: the detectors' clock
  stops where hearing stopped; a stage shared by the lanes of one process judges only while
  every lane hears (the stream lane deaf and the alarm lane not is still deaf to the watches);
* a backlog (what the broker's persistent session kept while ingest was away or restarting) is
  judged at its own time: while a batch's messages are, in the median, more than
  ``CATCHING_UP_AFTER_S`` old, the clock given to the detectors is the wall clock less that
  lag, so an elder's movement still in the queue is not taken for stillness, nor a wall
  button's check-in still in the queue for a missed one;
* after such a time (and after a restart, from the time the snapshot was judged to), an
  inactivity finding whose silence began before hearing came back is held until its elder is
  heard again, for ``HEARD_AGAIN_WITHIN_S`` at most: their movement in the lost time then shows
  (a watch's step count rose) and the finding is dropped, or it does not and the alarm is
  raised. Such a silence is not learnt: it may hold movement nobody heard. Nor is a shorter
  silence that ends after the outage, began before it, and none of whose elder's messages from
  the outage's time came (a backlog that did come shows what happened, and is learnt from).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import msgspec
import numpy as np

from alerts.raising import AlarmTrigger
from detection import device_health, flap, geofence, inactivity, vitals
from detection.zones import known_zone
from ingest.codec import Envelope
from ingest.contract import Accel, Checkin, Event, Location, Status, Telemetry
from store.outcomes import SilenceOutcome
from store.registry import DeviceRef, SafePlace

log = logging.getLogger(__name__)

MOVING_SD_G = 0.05
"""Spread of the acceleration magnitude over a window above which the wearer is moving (walking
gives 0.1-0.3 g; a still body about 0.01 g)."""
_MOVEMENT_EVERY_S = 60.0
BACK_ON_AFTER_S = 300.0
"""A watch that said it was off the wrist at least this long and says it is worn again was put
back on: its wearer moved then. (Until 2026-12-07 it was not movement, and a watch put back on
after charging, its wearer sitting down, counted the charger's time as the wearer's stillness:
found by a simulated week of the realistic district, `bench/demo_district_welfare.py`.)"""
CATCHING_UP_AFTER_S = 120.0
"""A batch whose messages are older than this in the median is a backlog being worked through.
Two minutes: far above a watch's or a gateway's ordinary delay (seconds), far below the
limits it protects (a wall button's 10-minute check-in, hours of inactivity)."""
HEARD_AGAIN_WITHIN_S = 10 * 60.0
"""How long an inactivity finding that an outage of the platform's own may have made waits for
its elder to be heard again: two of a watch's telemetry periods, and short beside the hours of
silence the finding is about."""
TICK_EVERY_S = 1.0
SNAPSHOT_PIECE = 100
"""Tracks, residents, states or devices per piece of a snapshot taken in pieces
(:meth:`WelfareStage.snapshot_pieces`): 100 vitals tracks hold a stream worker's event loop
about 20 ms (``bench/welfare_snapshot.py``: 250 held it up to 0.11 s, 1000 0.15 s)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class _Rule:
    """How a detector's finding kind becomes an alarm (None: recorded only)."""

    alarm: str | None


FINDINGS: dict[str, _Rule] = {
    "below_bound": _Rule(alarm="vitals_critical"),
    "above_bound": _Rule(alarm="vitals_critical"),
    "deviation": _Rule(alarm="vitals_deviation"),
    "drift_up": _Rule(alarm="vitals_deviation"),
    "drift_down": _Rule(alarm="vitals_deviation"),
    "inactivity": _Rule(alarm="inactivity"),
    # information: an unusual day alone is no alarm (visitors, appointments, a bad night); its
    # score rides on an inactivity alarm that follows, and it is logged
    "unusual_day": _Rule(alarm=None),
    "wandering": _Rule(alarm="wandering"),
    "left_zone": _Rule(alarm=None),  # by day a walk out is life, not an alarm
    "returned": _Rule(alarm=None),
    "no_checkin": _Rule(alarm="maintenance"),
    "offline": _Rule(alarm="maintenance"),
    "low_battery": _Rule(alarm="maintenance"),
    "welfare_check": _Rule(alarm="welfare_check"),
    "site_silent": _Rule(alarm="site_silent"),
    "area_outage": _Rule(alarm="area_outage"),
}
_VITALS = (("hr", "heart_rate"), ("spo2", "spo2"), ("skin_temp", "skin_temperature"))
_OWN_WORD = frozenset(p + end for p in device_health.OWN_PROBLEMS for end in ("", "_cleared"))
"""A device's own events about itself that device health follows (DeviceEvent.says)."""
_CLASSES = {"button": "button", "smoke": "smoke_detector", "wearable": "wearable",
            "gateway": "hub"}


def _iso(ts: float) -> str:
    """UTC, as the console reads times (and shows them in the viewer's zone)."""
    return datetime.fromtimestamp(ts, UTC).isoformat()


def _known_zone(tz: str, centre: str) -> str:
    """``tz`` if it names a time zone, else (with an error logged) the centre's: a site
    registered with a misspelt zone must not stop its residents' detectors."""
    try:
        known_zone(tz)
    except ValueError as err:
        log.error("site %s; its residents are judged in %s", err, centre)
        return centre
    return tz


@dataclass(frozen=True, slots=True, kw_only=True)
class Restored:
    """A device whole again (store.batch.DeviceRestored): its maintenance item closes itself."""

    device: str
    at: float
    detail: str
    fresh_battery: bool = False
    """Its battery was read fresh: a "battery low" it said of itself is over too."""
    over: tuple[str, ...] = ()
    """The faults and tampers it said of itself and then said were over: those are over too."""
    area: str = ""
    """Not the device's item but its community's outage (``device`` the gateway it was
    raised on): the community's gateways are heard again."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Mark:
    """A later fact about an elder's latest open alarm of ``kind`` (store.batch.AlarmMark)."""

    subject: str
    kind: str
    mark: str
    at: float
    only_if: str | None = None
    site: str | None = None
    """A site's own alarm (``site_silent``) is marked by its site, not by an elder."""


class WelfareStage:
    def __init__(self, *, classes: tuple[device_health.DeviceClass, ...]
                 = device_health.DEVICE_CLASSES) -> None:
        """``classes``: each device class's check-in interval, as the deployment configures
        them (``ELDERCARE_CHECKIN``); they hold across a restore, whatever the snapshot says."""
        self.vitals = vitals.VitalsDetector()
        self.inactivity = inactivity.InactivityDetector()
        self.geofence = geofence.GeofenceDetector()
        self._classes = classes
        self.health = device_health.DeviceHealthDetector(classes=classes)
        self.flap = flap.FlapControl()
        self._last_steps: dict[str, int] = {}
        self._last_movement: dict[str, float] = {}
        self._devices: dict[str, DeviceRef] = {}
        self._resident_device: dict[str, str] = {}
        """resident -> a device of theirs (a wearable if they have one): where a clock-driven
        finding lands when none of their messages has been taken in since a restart."""
        self._movers: dict[str, list[str]] = {}
        """resident -> their devices that show them moving (a watch): the residents the
        inactivity check judges, and whose alarm says when a silent watch was last heard."""
        self._buttons: dict[str, list[str]] = {}
        """resident -> their call buttons: where their own finding lands when they wear no
        watch (not on the home's smoke detector, which happened to be heard last)."""
        self._last_tick = -1e18
        self._last_message: dict[str, tuple[str, int]] = {}
        """subject -> (device, seq) of its latest message: where a clock-driven finding lands."""
        self._judged = -math.inf
        """The time the silences were last judged at (see the module's doc): the wall clock,
        or a backlog's time while one is worked through; it never goes back."""
        self._back: tuple[float, float] | None = None
        """The latest time ingest could not hear, (from, to), once it hears again."""
        self._filled: set[str] = set()
        """Subjects with a message from within ``_back`` (the backlog brought their data)."""
        self._heard_at: dict[str, float] = {}
        """subject -> when (by the wall clock) a message of theirs was last taken in."""
        self._held: dict[str, dict[str, Any]] = {}
        """subject -> an inactivity finding held until its elder is heard again after an outage
        (its time, detail and score, the silence's start, and from and until when it waits)."""
        self.marks: list[Mark] = []
        """Later facts about an elder's open alarm (their devices, their watch heard again):
        the caller takes them (and empties the list) to mark the alarm (store/batch.py)."""
        self.restored: list[Restored] = []
        """Devices whole again whose maintenance item closes itself: the caller takes them (and
        empties the list) with the marks (store/batch.py)."""
        self._restored_at: dict[str, float] = {}
        """device -> when it was last ``restored``: a repeat of its problem that flap control
        held and lets out after it (as a count) is closed again with it."""
        self._mover_of: dict[str, str] = {}
        """watch -> its wearer: a silent watch heard again marks their no-activity alarm."""
        self._deaf_hearers: set[Hashable] = set()
        """The callers of :meth:`process` (the lanes sharing this stage) that cannot hear now."""
        self._restored_judged: float | None = None
        """The snapshot's judged time, until the first batch after a restart excuses the time
        from it to then."""
        self._off_wrist: dict[str, float] = {}
        """subject -> since when their watch says it is off the wrist (its latest telemetry said
        ``worn: false``). An inactivity alarm says so: a watch on the bedside table cannot see
        its wearer move, and the operator phones rather than sends help first. Kept in the
        snapshot, so a restart does not move the time on."""

    def configure(self, devices: dict[str, DeviceRef],
                  places: Mapping[str, Sequence[SafePlace]] | None = None) -> None:
        """Known devices; each resident's time zone (their site's: a care home in another zone
        is not judged by the centre's clock) and own night, if their carers set one (the
        database's checks keep it whole; one that is not is left out, never stopping the
        stage); and the safe places of each elder at home who wears a locating device: a
        circle around their home (its radius their own, if set) and ``places``, the others
        their carers named. A resident whose home has no coordinates has none: a place away
        from a home the geofence cannot see would make every night at home a wandering."""
        self._devices = devices
        self.health.wire({device_id: ref.via or "" for device_id, ref in devices.items()})
        self._movers = {}
        for device_id, ref in devices.items():
            if ref.resident_id and ref.kind in inactivity.MOVEMENT_KINDS:
                self._movers.setdefault(ref.resident_id, []).append(device_id)
        self._mover_of = {w: subject for subject, ws in self._movers.items() for w in ws}
        self._buttons = {}
        for device_id, ref in devices.items():
            if ref.resident_id and ref.kind == "button":
                self._buttons.setdefault(ref.resident_id, []).append(device_id)
        self._resident_device = {}
        for device_id, ref in sorted(devices.items(), key=lambda d: d[1].kind != "wearable"):
            if ref.resident_id:
                self._resident_device.setdefault(ref.resident_id, device_id)
        centre = self.inactivity.config.tz
        tz = {ref.site_tz: _known_zone(ref.site_tz, centre)
              for ref in devices.values() if ref.resident_id}
        zones: dict[str, list[geofence.SafeZone]] = {}
        for ref in devices.values():
            if (ref.kind == "wearable" and ref.resident_id and ref.site_kind == "home"
                    and ref.site_lat is not None and ref.site_lon is not None
                    and ref.resident_id not in zones):
                radius = ref.resident_safe_radius_m or geofence.DEFAULT_RADIUS_M
                # out in their own night, if their carers set one, is a wandering: an early
                # sleeper slipping out at 20:00, not a late one walking the dog at 22:00
                night = geofence.NIGHT
                if (ref.resident_asleep_from is not None and ref.resident_up_by is not None
                        and inactivity.valid_night(ref.resident_asleep_from, ref.resident_up_by)):
                    night = (ref.resident_asleep_from, ref.resident_up_by)
                zones[ref.resident_id] = [
                    geofence.SafeZone(subject=ref.resident_id, lat=lat, lon=lon, radius_m=radius_m,
                                      tz=tz[ref.site_tz], night_from=night[0],
                                      night_until=night[1], name=name, until=until)
                    for name, lat, lon, radius_m, until in [
                        (geofence.HOME, ref.site_lat, ref.site_lon, radius, None),
                        *((p.name, p.lat, p.lon, p.radius_m, p.ends_at)
                          for p in (places or {}).get(ref.resident_id, ()))]]
        self.geofence.zones = tuple(z for zs in zones.values() for z in zs)
        local = {ref.resident_id: tz[ref.site_tz] for ref in devices.values()
                 if ref.resident_id and tz[ref.site_tz] != centre}
        self.inactivity.set_zones(local)
        # only a worn device shows its elder moving: a button-only elder is never judged
        # still (a press is no routine), and one whose watch is taken back stops being judged
        self.inactivity.set_watched(set(self._movers))
        self.inactivity.set_nights({
            ref.resident_id: (ref.resident_asleep_from, ref.resident_up_by)
            for ref in devices.values()
            if ref.resident_id and ref.resident_asleep_from is not None
            and ref.resident_up_by is not None
            and inactivity.valid_night(ref.resident_asleep_from, ref.resident_up_by)})
        self.vitals.set_zones({s: z for s, z in local.items()
                               if z != self.vitals.config.default_tz})

    @staticmethod
    def _subject(ref: DeviceRef) -> str:
        return ref.resident_id or f"device:{ref.id}"

    def excuse(self, start: float, end: float) -> None:
        """Ingest could not hear from ``start`` to ``end`` (it had lost the broker, or was not
        running): the devices' check-ins are not judged on that time
        (``DeviceHealthDetector.excuse``), and an elder's silence that began before ``end``
        waits to be heard again before it is an alarm (the module's doc). After a restart the
        time from the snapshot's last judging is excused with the first such call (a restart
        that first waits for the broker: the wait and the time down are one outage)."""
        if self._restored_judged is not None:
            start, self._restored_judged = min(start, self._restored_judged), None
        self.health.excuse(start, end)
        if end - start >= CATCHING_UP_AFTER_S:  # seconds hide no movement worth waiting for
            self._back = (start, end)
            self._filled = set()

    def process(self, envelopes: Sequence[Envelope], *, now: float, hearing: bool = True,
                hearer: Hashable = None) -> list[AlarmTrigger]:
        """``hearing``: whether the caller (``hearer``: a lane, when lanes share the stage) can
        hear devices now; while any of them cannot, no silence is judged (it may be ours). A
        backlog is judged at its own time (the module's doc)."""
        if hearing:
            self._deaf_hearers.discard(hearer)
        else:
            self._deaf_hearers.add(hearer)
        hearing = not self._deaf_hearers
        if self._restored_judged is not None and hearing:
            # the time ingest was down: from the snapshot's last judging to hearing again
            self.excuse(self._restored_judged, now)
        readings: list[vitals.VitalReading] = []
        moves: list[inactivity.Movement | inactivity.Presence | inactivity.Clock] = []
        fixes: list[geofence.LocationFix] = []
        unworn: dict[str, float] = {}  # subject -> the first telemetry saying "not worn"
        health: list[device_health.DeviceEvent | device_health.Clock] = []
        for env in envelopes:
            ref = self._devices.get(env.device)
            if ref is None:
                continue
            subject, body, ts = self._subject(ref), env.body, env.ts
            self._last_message[subject] = (env.device, env.seq)
            self._heard_at[subject] = now
            if self._back is not None and self._back[0] <= ts <= self._back[1]:
                self._filled.add(subject)
            battery: float | None = None
            status = "message"
            says_low = False
            says = ""
            if isinstance(body, Telemetry):
                battery = body.battery
                if body.worn is False:
                    self._off_wrist.setdefault(subject, ts)
                    unworn.setdefault(subject, ts)
                elif body.worn:
                    off = self._off_wrist.pop(subject, None)
                    if off is not None and ts - off >= BACK_ON_AFTER_S:
                        # a watch does not put itself back on: its wearer moved (a blip of
                        # the wrist sensor on a still arm is shorter, and is not taken for it)
                        moves.append(inactivity.Movement(timestamp=ts, subject=subject))
                steps = body.steps
                at_rest = steps is None or steps <= self._last_steps.get(env.device, steps)
                if steps is not None:
                    if steps > self._last_steps.get(env.device, steps):
                        moves.append(inactivity.Movement(timestamp=ts, subject=subject))
                    self._last_steps[env.device] = steps
                for field, name in _VITALS:
                    value = getattr(body, field)
                    if value is not None:
                        readings.append(vitals.VitalReading(
                            timestamp=ts, subject=subject, vital=name, value=float(value),
                            worn=body.worn is not False, at_rest=at_rest))
            elif isinstance(body, Accel):
                if ts - self._last_movement.get(subject, -1e18) >= _MOVEMENT_EVERY_S:
                    magnitude = np.linalg.norm(env.accel_samples(), axis=1)
                    if float(magnitude.std()) > MOVING_SD_G:
                        self._last_movement[subject] = ts
                        moves.append(inactivity.Movement(timestamp=ts, subject=subject))
            elif isinstance(body, Event) and body.type in ("sos", "cancel", "test"):
                moves.append(inactivity.Movement(timestamp=ts, subject=subject))
            elif isinstance(body, Event) and body.type == "battery_low":
                says_low = True  # its item closes itself with a fresh battery, not when heard
            elif isinstance(body, Event) and body.type in _OWN_WORD:
                says = body.type  # a fault or tamper, or its end: over only when it says so
            elif isinstance(body, Location):
                fixes.append(geofence.LocationFix(timestamp=ts, subject=subject, lat=body.lat,
                                                  lon=body.lon, accuracy_m=body.acc or 0.0))
            elif isinstance(body, Checkin):
                battery = body.battery
            elif isinstance(body, Status):
                status = body.state
                seen = self.health.last_seen(env.device)
                if status == "offline" and seen is not None and ts <= seen:
                    ts = max(now, seen)  # a last will, set at connect: said now (codec)
            device_class = _CLASSES.get(ref.kind)
            if ref.kind == "button" and ref.site_kind == "care_home":
                device_class = "wall_button"  # mains powered, reports every few minutes
            if device_class is not None:
                health.append(device_health.DeviceEvent(
                    timestamp=ts, device=env.device, subject=subject,
                    device_class=device_class, status=status,
                    battery_pct=None if battery is None else float(battery), site=ref.site_id,
                    elder=ref.resident_id is not None, says_low=says_low, says=says,
                    via=ref.via or "",
                    area=ref.site_community if ref.kind == "gateway" else ""))
        if now - self._last_tick >= TICK_EVERY_S:
            # Timers scan every resident and device: once a second is plenty for silences
            # measured in minutes and hours.
            self._last_tick = now
            if hearing:
                at = self._judge_at(envelopes, now)
                moves.append(inactivity.Clock(timestamp=at))
                health.append(device_health.Clock(timestamp=at))
        found: list[flap.Finding] = []

        def add(timestamp: float, subject: str, kind: str, device: str | None,
                detail: dict[str, Any], score: float | None = None) -> None:
            if FINDINGS.get(kind, _Rule(alarm=None)).alarm is None:
                return
            # the device rides in the key: flap control keeps each device's findings apart
            key = kind if device is None else f"{kind}:{device}"
            # a scored finding outranks a plain one when flap control merges them: its score is
            # what the operator cannot see otherwise (see detection.flap)
            found.append(flap.Finding(timestamp=timestamp, subject=subject, kind=key,
                                      data=detail, severity=score or 0.0))

        for v in self.vitals.update(readings):
            score = {} if v.score is None else {"anomaly_score": round(v.score, 3)}
            add(v.timestamp, v.subject, v.kind, None,
                {"vital": v.vital, "value": v.value, "finding": v.kind, "detail": v.detail,
                 **score}, v.score)
        self._unlearn_unheard(moves)
        self._unlearn_unworn(unworn, moves)
        for i in self.inactivity.update(moves):
            if i.kind == "unusual_day":
                log.info("unusual day for %s (score %.2f): %s", i.subject, i.score or 0.0,
                         i.detail)
            unusual = {} if i.score is None else {"unusual_day_score": round(i.score, 3)}
            off = self._off_wrist.get(i.subject)
            worn: dict[str, Any] = {} if off is None else {"watch_off_since": _iso(off)}
            if (unheard := self._movers_unheard(i.subject)) is not None:
                # the watch itself is silent (flat, out of range): stillness is not known, and
                # the operator phones knowing it may be the watch, not its wearer (its last
                # battery says which is likelier)
                at, battery = unheard
                worn["watch_unheard_since"] = _iso(at)
                if battery is not None:
                    worn["watch_battery_pct"] = round(battery)
                    worn["watch_flat"] = battery <= self.health.flat_pct
            detail = {"silent_h": round(i.silent_for / 3600, 2),
                      "limit_h": round(i.limit / 3600, 2),
                      "last_movement_at": _iso(i.last_movement), **worn, **unusual}
            if i.nights_known is not None:  # a new resident's night, judged by the default
                detail["nights_known"] = i.nights_known
                detail["nights_needed"] = self.inactivity.config.min_silences + 1
            if i.kind == "inactivity" and self._hold(i, detail, now):
                continue
            add(i.timestamp, i.subject, i.kind, None, detail, i.score)
        for subject, held in self._heard_again(now):
            add(held["timestamp"], subject, "inactivity", None, held["detail"], held["score"])
        for g in self.geofence.update(fixes):
            add(g.timestamp, g.subject, g.kind, None,
                {"distance_m": round(g.distance_m), "lat": g.fix.lat, "lon": g.fix.lon,
                 "place": g.place, **({"stay_ended": g.ended} if g.ended else {})})
        silent_watches: dict[str, float] = {}  # a silent watch -> its first message now
        for e in health:
            if (isinstance(e, device_health.DeviceEvent) and e.status != "offline"
                    and e.device in self._mover_of and self.health.down(e.device)):
                silent_watches.setdefault(e.device, e.timestamp)
        for h in self.health.update(health):
            if h.kind == "protected_again":
                # no alarm: the open welfare check is marked (store/batch.py), not closed
                self.marks.append(Mark(subject=h.subject, kind="welfare_check",
                                       mark="heard_again_at", at=h.timestamp))
                continue
            if h.kind == "site_heard_again":
                site = h.subject.removeprefix("site:")
                self.marks.append(Mark(subject=h.subject, kind="site_silent",
                                       mark="site_heard_again_at", at=h.timestamp, site=site))
                continue
            if h.kind == "area_heard_again":
                # its alarm is the gateway's it was raised on: marked by that gateway's home
                lead = None if h.device is None else self._devices.get(h.device)
                if lead is not None and h.device is not None:
                    self.marks.append(Mark(subject=h.subject, kind="area_outage",
                                           mark="area_heard_again_at", at=h.timestamp,
                                           site=lead.site_id))
                    # and its item closes itself, if nobody has taken it: the lines are back
                    # (the elders' own welfare checks stay open: someone still calls them)
                    self.restored.append(Restored(device=h.device, at=h.timestamp,
                                                  detail=f"the community's gateways heard again:"
                                                         f" {h.detail}",
                                                  area=h.subject.removeprefix("area:")))
                continue
            if h.kind == "restored" and h.device is not None:
                # as of the time silences were judged to: a device clock a little behind must
                # not leave its item looking older than the finding that opened it
                at = max(h.timestamp, self._judged)
                self._restored_at[h.device] = at
                self.restored.append(Restored(device=h.device, at=at, detail=h.detail,
                                              fresh_battery=h.fresh_battery, over=h.over))
                continue
            said: dict[str, Any] = {"problem": h.kind, "detail": h.detail}
            if h.battery_pct is not None:
                said["last_battery_pct"] = round(h.battery_pct)
            if h.flat:
                said["flat_devices"] = list(h.flat)  # the operator asks for a charge, not a fix
            if h.gateways:
                said["gateways_down"] = list(h.gateways)  # the home's line, not its devices
                areas = sorted({a for g in h.gateways if (a := self.health.area_down(g))})
                if areas:  # the provider's network: the operator tells it once
                    said["area_outage"] = areas[0]
            if h.kind == "area_outage":
                said["area_outage"] = h.subject.removeprefix("area:")
                said["behind"] = sorted({e for g in h.gateways for e in self.health.behind(g)})
                said["cut_off"] = list(self.health.stranded(h.gateways))
            if h.device is not None and self.health.unprotected(h.subject):
                # every emergency device of the elder's is silent: their welfare check says so
                # (and tells the family); a device's own item need not
                said["elder_unprotected"] = True
            if h.device is not None and h.kind in ("offline", "no_checkin") and (
                    elders := self.health.behind(h.device)):
                # a gateway: whose devices it cuts off, and which of them it leaves with nothing
                # at all (their welfare check tells the family; the others' are told of it)
                said["behind"] = list(elders)
                said["cut_off"] = [e for e in elders if self.health.unprotected(e)]
            add(h.timestamp, h.subject, h.kind, h.device, said)
        for watch, at in silent_watches.items():
            if not self.health.down(watch):
                # a watch silent past its check-in or offline is heard again (charged, back in
                # range): the no-activity alarm that said it was unheard says when it came back
                self.marks.append(Mark(subject=self._mover_of[watch], kind="inactivity",
                                       mark="watch_heard_again_at", at=at,
                                       only_if="watch_unheard_since"))
        found_all = self.flap.update([*found, flap.Clock(timestamp=now)])
        triggers = [t for m in found_all if (t := self._trigger(m)) is not None]
        for m in found_all:
            kind, _, device = m.kind.partition(":")
            if kind in device_health.DEVICE_PROBLEMS and self.health.healthy(device):
                # repeats flap control held, let out (as a count) after the device was whole
                # again: their item is opened with its count and closed at once
                at = self._restored_at.get(device, now)
                self.restored.append(Restored(device=device, at=max(at, m.timestamp),
                                              detail="heard again (a repeat held by flap control)"))
        return triggers

    def _judge_at(self, envelopes: Sequence[Envelope], now: float) -> float:
        """The time to judge silences at: ``now``, or while a backlog is worked through the
        backlog's own time (its messages' median); never earlier than the last."""
        at = now
        if envelopes:
            lag = float(np.median(np.fromiter((now - env.ts for env in envelopes), float,
                                              count=len(envelopes))))
            if lag > CATCHING_UP_AFTER_S:
                at = now - lag
        self._judged = max(self._judged, at)
        return self._judged

    def _movers_unheard(self, subject: str) -> tuple[float, float | None] | None:
        """When the subject's watch was last heard, and the battery it last reported then, if
        every one of their watches is silent past its check-in or offline (device health's
        judgement); else None."""
        watches = self._movers.get(subject, [])
        if not watches or not all(self.health.down(w) for w in watches):
            return None
        heard = [(t, w) for w in watches if (t := self.health.last_seen(w)) is not None]
        if not heard:
            return None
        at, last = max(heard)
        return at, self.health.battery(last)

    def _hold(self, finding: inactivity.InactivityFinding, detail: dict[str, Any],
              now: float) -> bool:
        """For a finding whose silence spans the platform's latest outage: say so in
        ``detail`` (the operator reads which part nobody could hear), do not learn the silence
        (it may hold movement nobody heard), and hold it if its elder has not been heard since
        hearing came back (for ``HEARD_AGAIN_WITHIN_S`` at most). Whether it was held."""
        if self._back is None or finding.last_movement >= self._back[1]:
            return False
        start, end = self._back
        detail |= {"unheard_from": _iso(start), "unheard_to": _iso(end)}
        self.inactivity.forget(finding.subject, finding.last_movement, cause=f"outage:{start}")
        if now >= end + HEARD_AGAIN_WITHIN_S or self._heard_at.get(finding.subject,
                                                                     -math.inf) >= end:
            return False
        self._held[finding.subject] = {
            "timestamp": finding.timestamp, "detail": detail, "score": finding.score,
            "last_movement": finding.last_movement, "since": end,
            "until": end + HEARD_AGAIN_WITHIN_S}
        log.info("%s: silent %.1f h, but the platform could not hear from %s to %s: waiting to"
                 " hear them again before an alarm", finding.subject, finding.silent_for / 3600,
                 _iso(start), _iso(end))
        return True

    def _unlearn_unheard(self, moves: Sequence[inactivity.Movement | inactivity.Presence
                                              | inactivity.Clock]) -> None:
        """Keep the silence a movement ends from being learnt when it spans the latest outage
        and nothing of its elder's from the outage's time came: it may hold movement nobody
        heard, and a district-wide outage would otherwise teach every elder one long silence
        at that hour."""
        if self._back is None:
            return
        start, end = self._back
        for m in moves:
            if not isinstance(m, inactivity.Movement) or m.timestamp <= end \
                    or m.subject in self._filled:
                continue
            last = self.inactivity.last_movement(m.subject)
            if last is not None and last < start:
                self.inactivity.forget(m.subject, last, after=end - last,
                                       cause=f"outage:{start}")

    def _unlearn_unworn(self, unworn: dict[str, float], moves: Sequence[
            inactivity.Movement | inactivity.Presence | inactivity.Clock]) -> None:
        """Keep a silence during which the watch said it was not worn from being learnt: a
        watch on its charger sees nobody move, so the time is unknown, not still. Learnt, a
        watch charged every afternoon (or every night) loosened that hour's limit for the days
        it is worn. The silence still raises its alarm when it passes the limit (which says
        since when the watch is off): an elder whose watch is off is unwatched."""
        if not unworn:
            return
        first_move: dict[str, float] = {}
        for m in moves:
            if isinstance(m, inactivity.Movement):
                first_move[m.subject] = min(m.timestamp, first_move.get(m.subject, math.inf))
        for subject, at in unworn.items():
            last = self.inactivity.last_movement(subject)
            if last is not None and last < at <= first_move.get(subject, math.inf):
                self.inactivity.forget(subject, last, after=at - last, cause="watch_off")

    def _heard_again(self, now: float) -> list[tuple[str, dict[str, Any]]]:
        """The held findings whose wait is over: the elder was heard again without having
        moved, or was not heard in time. One who moved meanwhile is dropped."""
        out = []
        for subject, held in list(self._held.items()):
            moved = self.inactivity.last_movement(subject)
            if moved is not None and moved > held["last_movement"]:
                log.info("%s moved while the platform could not hear: no inactivity alarm",
                         subject)
                del self._held[subject]
            elif self._heard_at.get(subject, -math.inf) >= held["since"] or now >= held["until"]:
                out.append((subject, self._held.pop(subject)))
        return out

    def _trigger(self, merged: flap.Merged) -> AlarmTrigger | None:
        """The alarm for a finding out of flap control, with the details of the finding it shows
        (a summary of held repeats included: they travel with flap control, not with this call)."""
        kind, _, device_key = merged.kind.partition(":")
        rule = FINDINGS.get(kind)
        if rule is None or rule.alarm is None:
            return None
        device: str | None = device_key
        if not device:
            device = self._subject_device(merged.subject)
        if device is None or device not in self._devices:
            if not device_key:  # (a retired device's own findings are moot)
                log.warning("%s finding for %s dropped: no device of theirs is registered",
                            kind, merged.subject)
            return None
        return AlarmTrigger(
            kind=rule.alarm, device_id=device,
            # No message carries these: the finding's own time (ms) keys the alarm.
            source_seq=int(merged.timestamp * 1000),
            occurred_ts=merged.timestamp,
            details={**merged.data, "count": merged.count, "first_ts": merged.first_timestamp})

    def _subject_device(self, subject: str) -> str | None:
        """The device an elder's own finding (inactivity, a welfare check) is raised on: their
        watch last heard from, whose last fix rides on the alarm (store/batch.py) and says where
        they were when it last saw them, out on a walk or at home, even when it has gone silent
        since and a button's check-in came later (before 2026-12-07 the button took the finding,
        and the operator had no position); else their call button last heard from (before
        2026-12-08 the device last heard from, and the welfare check of an elder cut off by their
        home gateway's line came "from" the smoke detector behind it as often as not); else the
        device last heard from, while it is still theirs (a watch retired or given to someone
        else since must not take the finding with it); else one of their devices, a wearable
        first."""
        for own in (self._movers, self._buttons):
            heard = [(self.health.last_seen(d) or -math.inf, d) for d in own.get(subject, ())]
            if heard:
                return max(heard)[1]
        last = self._last_message.get(subject, (None, 0))[0]
        ref = None if last is None else self._devices.get(last)
        return (last if ref is not None and self._subject(ref) == subject
                else self._resident_device.get(subject))

    def apply_outcomes(self, found: Sequence[SilenceOutcome]) -> tuple[int, int]:
        """Hand operators' outcomes (store/outcomes.py) to the inactivity detector: unlearn each
        silence one found was no ordinary life (an alarmed one, or the time on the floor after
        a genuine fall or SOS call), and learn again what a changed outcome had taken back.
        How many were taken back, and how many learnt again, here (another worker's
        residents, or outcomes given before, count in neither)."""
        forgotten = relearnt = 0
        for o in found:
            act = self.inactivity.forget if o.unlearn else self.inactivity.relearn
            done = any([act(o.resident_id, at, after=o.after, cause=o.alarm_id) for at in o.at])
            forgotten += done and o.unlearn
            relearnt += done and not o.unlearn
        return forgotten, relearnt

    def snapshot(self) -> dict[str, Any]:
        return {"vitals": self.vitals.snapshot(), "inactivity": self.inactivity.snapshot(),
                "geofence": self.geofence.snapshot(), "health": self.health.snapshot(),
                "flap": self.flap.snapshot(), "steps": dict(self._last_steps),
                "off_wrist": dict(self._off_wrist), **self._outage_snapshot()}

    def _outage_snapshot(self) -> dict[str, Any]:
        return {"judged": None if math.isinf(self._judged) else self._judged,
                "held_inactivity": self._held}

    def snapshot_pieces(self, per_piece: int = SNAPSHOT_PIECE) -> Iterator[bytes]:
        """:meth:`snapshot` as JSON (msgspec), in pieces that join into one document: the
        vitals tracks, inactivity residents, geofence states and devices' health ``per_piece``
        at a time, each piece taken and encoded when it is asked for. The caller may let other
        work run between pieces (ingest processes batches): each track and each resident is
        whole as of the moment its piece was taken, a track or resident first seen after its
        part began waits for the next snapshot, and the parts are from moments up to the whole
        take apart (as a restart from a five-minute-old snapshot already is).

        Taken at once, the snapshot held a stream worker's event loop for 3-6 s at 8,000
        wearers (``bench/welfare_snapshot.py``), and with it the falls felt meanwhile; in
        pieces of 100, 20-30 ms at a time."""
        parts: tuple[tuple[str, _InPieces, str], ...] = (
            ("vitals", self.vitals, "tracks"), ("inactivity", self.inactivity, "residents"),
            ("geofence", self.geofence, "states"), ("health", self.health, "devices"))
        for i, (name, detector, key) in enumerate(parts):
            yield (b"," if i else b"{") + msgspec.json.encode(name) + b":"
            yield from _object_in_pieces(detector.snapshot_head(), key, detector.snapshot_keys(),
                                         detector.snapshot_part, per_piece)
        yield (b',"flap":' + msgspec.json.encode(self.flap.snapshot())
               + b',"steps":' + msgspec.json.encode(self._last_steps)
               + b',"off_wrist":' + msgspec.json.encode(self._off_wrist)
               + b"," + msgspec.json.encode(self._outage_snapshot())[1:])

    def restore(self, snap: dict[str, Any]) -> None:
        try:
            self.vitals = vitals.VitalsDetector.restore(snap["vitals"])
            self.inactivity = inactivity.InactivityDetector.restore(snap["inactivity"])
            zones = self.geofence.zones
            self.geofence = geofence.GeofenceDetector.restore(snap["geofence"])
            self.geofence.zones = zones or self.geofence.zones
            self.health = device_health.DeviceHealthDetector.restore(snap["health"])
            # the deployment's intervals, not the snapshot's: a centre that changed them (its
            # pendants now report every 12 h) must not keep the old ones until the state is
            # thrown away (before 2026-12-08 a snapshot's classes held for ever); every device
            # is judged by them at the next tick
            self.health.classes = self._classes
            self.flap = flap.FlapControl.restore(snap["flap"])
            self._last_steps = {k: int(v) for k, v in snap.get("steps", {}).items()}
            # snapshots from before 2026-12-07 have none: the next telemetry says it again
            self._off_wrist = {k: float(v) for k, v in snap.get("off_wrist", {}).items()}
            # snapshots from before 2026-12-07 have neither: nothing held, no time excused
            self._held = {k: dict(v) for k, v in snap.get("held_inactivity", {}).items()}
            judged = snap.get("judged")
            self._restored_judged = None if judged is None else float(judged)
            self._judged = -math.inf if judged is None else float(judged)
        except (KeyError, TypeError, ValueError) as err:
            log.error("could not restore the welfare detectors (%s); starting afresh", err)


class _InPieces(Protocol):
    """A detector whose snapshot is a head and one large mapping, taken a few keys at a time."""

    def snapshot_head(self) -> dict[str, Any]: ...

    def snapshot_keys(self) -> list[str]: ...

    def snapshot_part(self, keys: Iterable[str], /) -> dict[str, Any]: ...


def _object_in_pieces(head: dict[str, Any], key: str, keys: list[str],
                      take: Callable[[Iterable[str]], dict[str, Any]], per_piece: int
                      ) -> Iterator[bytes]:
    """JSON for ``{**head, key: take(keys)}``, the latter taken ``per_piece`` keys at a time."""
    opening = msgspec.json.encode(head)[:-1]
    yield opening + (b"," if len(opening) > 1 else b"") + msgspec.json.encode(key) + b":{"
    first = True
    for at in range(0, len(keys), per_piece):
        piece = msgspec.json.encode(take(keys[at:at + per_piece]))[1:-1]
        if piece:
            yield piece if first else b"," + piece
            first = False
    yield b"}}"
