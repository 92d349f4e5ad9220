"""OwnTracks adapters: a phone (or tracker) reporting where its wearer is.

OwnTracks publishes JSON with a ``_type`` (https://owntracks.org/booklet/tech/json/):
``location`` on ``owntracks/<user>/<device>`` (``lat``, ``lon``, ``acc`` in m, ``batt`` in %,
``tst`` in epoch *seconds*), ``transition`` on ``owntracks/<user>/<device>/event`` (geofence
``event`` enter/leave of waypoint ``desc``), and ``lwt``, the MQTT last will the app sets.

* ``location`` -> ``location`` (+ a check-in with the battery when due, and ``status: online``
  first when the last thing we said was ``offline``: the app sends no "online" of its own).
* ``transition`` -> ``location`` at the transition's point. The contract's location has no place
  for "entered Home" yet, so ``event``/``desc`` are not forwarded (see docs/gateway.md).
* ``lwt`` -> ``status: offline`` (retained).
* Types the platform has no use for (cards, waypoints, steps, ...) are ignored; any other type,
  including ``encrypted`` (we hold no key), is rejected so that somebody looks at it.

>>> [t.type for t in TYPES]
['location', 'transition', 'lwt']
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from gateway.draft import DeviceState, Draft, Native, Outcome, Problem
from ingest.contract import Checkin, Kind, Location, Status


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldDescription:
    """One contract field taken from one OwnTracks field."""

    field: str
    source: str
    required: bool = False


LOCATION_FIELDS = (
    FieldDescription(field="lat", source="lat", required=True),
    FieldDescription(field="lon", source="lon", required=True),
    FieldDescription(field="acc", source="acc"),
)


def _number(value: object) -> float | None:
    """A finite number, or None. Python's JSON parser also yields NaN, ±Infinity and integers
    too large for a float; each used to raise further on (``int(nan)``, ``float(10**400)``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _ts(payload: Mapping[str, Any], native: Native) -> int | None:
    tst = payload.get("tst")
    if tst is None:
        return native.received_ms
    seconds = _number(tst)
    return None if seconds is None or seconds < 0 else int(seconds * 1000)


def _location(payload: Mapping[str, Any], native: Native, state: DeviceState) -> Outcome:
    ts = _ts(payload, native)
    if ts is None:
        return Outcome(problems=(Problem(reason=f"tst {payload.get('tst')!r} is not epoch seconds"),))
    fields: dict[str, Any] = {"ts": ts}
    for f in LOCATION_FIELDS:
        value = _number(payload.get(f.source))
        if value is not None:
            fields[f.field] = value
        elif f.required:
            return Outcome(problems=(Problem(reason=f"{f.source} missing or not a number"),))
    drafts = [Draft(kind=Kind.LOCATION, body_type=Location, fields=fields)]
    if state.status == "offline":
        drafts.insert(0, Draft(kind=Kind.STATUS, body_type=Status, retain=True,
                               fields={"ts": ts, "state": "online"}))
        state = msgspec.structs.replace(state, status="online")
    battery = _number(payload.get("batt"))
    level = None if battery is None or not 0 <= battery <= 100 else round(battery)
    if ts - state.last_checkin_ms >= native.checkin_interval_ms or (
            level is not None and level != state.battery):
        drafts.append(Draft(kind=Kind.CHECKIN, body_type=Checkin,
                            fields={"ts": ts} | ({"battery": level} if level is not None else {})))
        state = msgspec.structs.replace(state, last_checkin_ms=ts,
                                        battery=state.battery if level is None else level)
    return Outcome(drafts=tuple(drafts), state=state)


def _lwt(payload: Mapping[str, Any], native: Native, state: DeviceState) -> Outcome:
    ts = _ts(payload, native)
    if ts is None:
        return Outcome(problems=(Problem(reason=f"tst {payload.get('tst')!r} is not epoch seconds"),))
    draft = Draft(kind=Kind.STATUS, body_type=Status, retain=True,
                  fields={"ts": ts, "state": "offline"})
    return Outcome(drafts=(draft,), state=msgspec.structs.replace(state, status="offline"))


@dataclass(frozen=True, slots=True, kw_only=True)
class TypeDescription:
    """How one OwnTracks ``_type`` arriving on one subtopic is translated."""

    type: str
    subtopic: str
    translate: Callable[[Mapping[str, Any], Native, DeviceState], Outcome]


TYPES = (
    TypeDescription(type="location", subtopic="", translate=_location),
    TypeDescription(type="transition", subtopic="event", translate=_location),
    TypeDescription(type="lwt", subtopic="", translate=_lwt),
)
IGNORED = frozenset({"beacon", "card", "cmd", "configuration", "dump", "request", "status", "steps",
                     "waypoint", "waypoints"})
"""Types an OwnTracks app sends that carry nothing for the platform."""
_BY_TYPE = {(t.subtopic, t.type): t for t in TYPES}


def translate(native: Native, state: DeviceState) -> Outcome:
    payload = native.payload
    if not isinstance(payload, dict):
        return Outcome(problems=(Problem(reason="OwnTracks message is not a JSON object"),))
    kind = payload.get("_type")
    if isinstance(kind, str) and kind in IGNORED:
        return Outcome()
    description = _BY_TYPE.get((native.subtopic, kind)) if isinstance(kind, str) else None
    if description is None:
        where = f" on subtopic {native.subtopic!r}" if native.subtopic else ""
        return Outcome(problems=(Problem(reason=f"OwnTracks _type {kind!r}{where} is not translated"),))
    return description.translate(payload, native, state)
