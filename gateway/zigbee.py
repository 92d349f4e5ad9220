"""zigbee2mqtt adapters: smoke detectors, emergency buttons, fall radars, availability.

zigbee2mqtt publishes each device's whole state as JSON on ``zigbee2mqtt/<friendly name>``
whenever any of it changes (https://www.zigbee2mqtt.io/guide/usage/mqtt_topics_and_messages.html),
so alarms are *edges*: ``smoke`` going false -> true is a ``smoke`` event, true -> false a
``smoke_cleared``; a state that stays true is not re-announced. Keys follow the device pages'
"Exposes" sections, e.g. Heiman HS1SA (smoke, battery_low, battery), Xiaomi JTYJ-GD-01LM/BW and
Aqara JY-GZ-01AQ (smoke, tamper, battery_low, test, battery, ...), Feibit SEB01ZB (sos, tamper,
battery_low), Tuya TS0215A_sos (action: emergency). Unknown keys are ignored.

Button presses are *actions* (``{"action": "single"}``), sent once per press, not state. For a
device registered as an emergency button every press is an SOS unless the device's binding says
otherwise: an elder in trouble presses once, or twice, or holds, and none of that may be lost.
``release`` (the end of a hold) and the empty action zigbee2mqtt sends after each action for
Home Assistant's legacy sensors are ignored. An action nobody foresaw is an SOS too (fail safe).

A fall radar's ``fall_down_status`` entering ``fall`` (or ``status`` entering ``falling``) is a
``fall`` event with detail ``{"source": "fall_radar"}``: the platform raises a P1 fall alarm, the
response an SOS gets. ``maybe_fall`` is remembered, not alarmed.

>>> EDGES[Profile.SMOKE][0].key, EDGES[Profile.SMOKE][0].rises
('smoke', <EventType.SMOKE: 'smoke'>)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import msgspec

from gateway.config import Profile
from gateway.draft import DeviceState, Draft, Native, Outcome, Problem, millis_from_z2m_last_seen
from ingest.contract import Checkin, Event, EventType, Kind, Status

Detail = Mapping[str, str | int | float | bool]


def _boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {value!r}")
    return value


def _one_of(*alarm: str) -> Callable[[object], bool]:
    def is_on(value: object) -> bool:
        if not isinstance(value, str):
            raise TypeError(f"expected a string, got {value!r}")
        return value in alarm

    return is_on


@dataclass(frozen=True, slots=True, kw_only=True)
class EdgeDescription:
    """A state key whose change raises an event: ``rises`` when it turns on, ``falls`` when it
    turns off. A device first heard from counts as having been off."""

    key: str
    rises: EventType | None
    falls: EventType | None = None
    is_on: Callable[[object], bool] = _boolean
    detail: Detail = field(default_factory=lambda: MappingProxyType({}))


_RADAR = MappingProxyType({"source": "fall_radar"})

EDGES: Mapping[Profile, tuple[EdgeDescription, ...]] = MappingProxyType({
    Profile.SMOKE: (
        EdgeDescription(key="smoke", rises=EventType.SMOKE, falls=EventType.SMOKE_CLEARED),
        EdgeDescription(key="test", rises=EventType.TEST),
        EdgeDescription(key="tamper", rises=EventType.TAMPER, falls=EventType.TAMPER_CLEARED),
        EdgeDescription(key="trouble", rises=EventType.FAULT, falls=EventType.FAULT_CLEARED),
        EdgeDescription(key="battery_low", rises=EventType.BATTERY_LOW),
    ),
    Profile.BUTTON: (
        EdgeDescription(key="sos", rises=EventType.SOS),  # IAS buttons report a zone state
        EdgeDescription(key="tamper", rises=EventType.TAMPER, falls=EventType.TAMPER_CLEARED),
        EdgeDescription(key="battery_low", rises=EventType.BATTERY_LOW),
    ),
    Profile.FALL_RADAR: (
        EdgeDescription(key="fall_down_status", rises=EventType.FALL, is_on=_one_of("fall"),
                        detail=_RADAR),
        EdgeDescription(key="status", rises=EventType.FALL, is_on=_one_of("falling"),
                        detail=_RADAR),
        EdgeDescription(key="tamper", rises=EventType.TAMPER, falls=EventType.TAMPER_CLEARED),
    ),
})

BUTTON_ACTIONS: Mapping[str, EventType | None] = MappingProxyType({
    "emergency": EventType.SOS, "sos": EventType.SOS, "single": EventType.SOS,
    "double": EventType.SOS, "triple": EventType.SOS, "hold": EventType.SOS,
    "long": EventType.SOS, "press": EventType.SOS,
    "release": None, "": None,
})
"""Default meaning of a button's ``action``; a binding's ``actions`` override it per device
(``double = "cancel"``). Actions not listed here are SOS."""

PRESSES: Mapping[str, int] = MappingProxyType({"double": 2, "triple": 3})
"""Click counts the button reported, passed on with an SOS as ``presses``: the platform opens a
service ticket for ``presses == 2`` from a button configured ``double_press`` and treats every
other press as the SOS it is (docs/services.md). Counting clicks is the button's job; nothing
here waits for a second press."""


def translate(native: Native, state: DeviceState) -> Outcome:
    """One zigbee2mqtt message of a bound device to drafts (see the module's docstring)."""
    if native.subtopic == "availability":
        return _availability(native, state)
    payload = native.payload
    if not isinstance(payload, dict):
        return Outcome(problems=(Problem(reason="zigbee2mqtt state is not a JSON object"),))
    ts = millis_from_z2m_last_seen(payload.get("last_seen")) or native.received_ms
    drafts: list[Draft] = []
    problems: list[Problem] = []
    flags = dict(state.flags)
    for edge in EDGES[native.binding.profile]:
        value = payload.get(edge.key)
        if value is None:
            continue
        try:
            on = edge.is_on(value)
        except TypeError as err:
            problems.append(Problem(reason=f"{edge.key}: {err}"))
            continue
        was_on = bool(flags.get(edge.key, False))
        flags[edge.key] = on
        event = edge.rises if on and not was_on else edge.falls if was_on and not on else None
        if event is not None:
            detail = dict(edge.detail) | ({edge.key: value} if isinstance(value, str) else {})
            drafts.append(_event(ts, event, detail))
    if native.binding.profile is Profile.BUTTON:
        _action(native, payload, ts, drafts, problems)
    state = msgspec.structs.replace(state, flags=flags)
    checkin, state = _checkin(native, payload, ts, state, problems)
    return Outcome(drafts=(*drafts, *checkin), problems=tuple(problems), state=state)


def _event(ts: int, event: EventType, detail: Mapping[str, Any]) -> Draft:
    fields: dict[str, Any] = {"ts": ts, "type": event}
    if detail:
        fields["detail"] = dict(detail)
    return Draft(kind=Kind.EVENT, body_type=Event, fields=fields)


def _action(native: Native, payload: dict[str, Any], ts: int, drafts: list[Draft],
            problems: list[Problem]) -> None:
    action = payload.get("action")
    if action is None:
        return
    if not isinstance(action, str):
        problems.append(Problem(reason=f"action: expected a string, got {action!r}"))
        return
    actions = {**BUTTON_ACTIONS, **native.binding.actions}
    event = actions.get(action, EventType.SOS)
    if event is not None:
        draft = _event(ts, event, {"action": action})
        if event is EventType.SOS and action in PRESSES:
            draft = dataclasses.replace(draft, fields={**draft.fields, "presses": PRESSES[action]})
        drafts.append(draft)


def _checkin(native: Native, payload: dict[str, Any], ts: int, state: DeviceState,
             problems: list[Problem]) -> tuple[tuple[Draft, ...], DeviceState]:
    """Any report shows the device alive; it becomes a check-in when the battery changed or the
    last check-in is ``checkin_interval`` old (zigbee2mqtt republishes state on every change)."""
    battery = payload.get("battery")
    if battery is not None and (isinstance(battery, bool) or not isinstance(battery, int | float)
                                or not 0 <= battery <= 100):
        problems.append(Problem(reason=f"battery: expected a percentage, got {battery!r}"))
        battery = None
    level = None if battery is None else round(battery)
    due = ts - state.last_checkin_ms >= native.checkin_interval_ms
    if not due and (level is None or level == state.battery):
        return (), state
    fields: dict[str, Any] = {"ts": ts} | ({"battery": level} if level is not None else {})
    state = msgspec.structs.replace(state, last_checkin_ms=ts,
                                    battery=level if level is not None else state.battery)
    return (Draft(kind=Kind.CHECKIN, body_type=Checkin, fields=fields),), state


def _availability(native: Native, state: DeviceState) -> Outcome:
    """``{"state": "online"}`` (zigbee2mqtt >= 1.x with ``legacy_availability_payload: false``)
    or plain ``online`` (the legacy payload): a retained status upstream when it changed."""
    payload = native.payload
    value = payload.get("state") if isinstance(payload, dict) else payload
    if value not in ("online", "offline"):
        return Outcome(problems=(Problem(reason=f"availability {value!r} is not online/offline"),))
    if value == state.status:
        return Outcome()
    draft = Draft(kind=Kind.STATUS, body_type=Status, retain=True,
                  fields={"ts": native.received_ms, "state": value})
    return Outcome(drafts=(draft,), state=msgspec.structs.replace(state, status=value))
