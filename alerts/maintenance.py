"""Device upkeep as data: how often each device class must check in, and what counts as a
problem for the maintenance list (P4: never the operators' queue).

Check-in intervals follow issue 4: mains-powered devices every 10 minutes, battery radio devices
(buttons, smoke detectors) at least daily — 25 h leaves an hour's slack for a daily report.

>>> import datetime as dt
>>> now = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
>>> row = {"id": "s1", "kind": "smoke", "room_name": "101", "battery": 12, "online": True,
...        "last_checkin": now, "registered_at": now, "last_event": None, "last_event_at": None}
>>> [p["problem"] for p in problems(row, now)]
['battery_low']
>>> fault = {**row, "battery": 90, "last_event": "fault", "last_event_at": now, "fault_since": now}
>>> [p["problem"] for p in problems(fault, now)]
['fault']
>>> over = {**fault, "last_event": "fault_cleared", "fault_since": None}  # it said so
>>> [p["problem"] for p in problems(over, now)]
[]
>>> [p["problem"] for p in problems({**over, "tamper_since": now}, now)]  # still off its base
['tamper']
>>> detector_state({**over, "tamper_since": now}, now)
'fault'
"""

from __future__ import annotations

import datetime as dt
from typing import Any

CHECKIN_INTERVAL_S: dict[str, float] = {
    "button": 25 * 3600.0,
    "smoke": 25 * 3600.0,
    "wearable": 10 * 60.0,
    "gateway": 10 * 60.0,
}
LOW_BATTERY_PERCENT = 20
"""Below this a battery is replaced on the next visit (detectors chirp at about 10-15%)."""
_RECENT = dt.timedelta(days=7)
CLOCK_RECENT = dt.timedelta(days=2)
"""A refused reading older than this says nothing of the clock now (a device silent since)."""


def problems(device: dict[str, Any], now: dt.datetime) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def add(problem: str, since: dt.datetime | None, detail: str = "", **more: Any) -> None:
        found.append({"device_id": device["id"], "kind": device["kind"],
                      "room_name": device.get("room_name"), "problem": problem, "since": since,
                      "detail": detail, **more})

    if device.get("battery") is not None and device["battery"] < LOW_BATTERY_PERCENT:
        add("battery_low", device.get("last_seen"), f"{device['battery']}%")
    elif device.get("last_event") == "battery_low":
        add("battery_low", device.get("last_event_at"))
    interval = CHECKIN_INTERVAL_S.get(device["kind"])
    reference = device.get("last_checkin") or device.get("registered_at")
    if interval is not None and reference is not None and (now - reference).total_seconds() > interval:
        add("no_checkin", device.get("last_checkin"), f"expected every {interval / 3600:.3g} h")
    if device.get("online") is False:
        add("offline", device.get("last_seen"))
    refused = device.get("clock_refused_at")
    heard = device.get("last_seen")
    offset = device.get("clock_offset_s")
    if offset is not None:
        # its latest message was placed by its clock's error, learnt (ingest/codec.py): heard
        # and watched, but its clock still needs setting; offset_s > 0: the clock is slow
        add("clock_corrected", device.get("last_seen"), offset_s=round(offset))
    elif refused is not None and (heard is None or refused > heard) \
            and now - refused < CLOCK_RECENT:
        # its readings are refused for their time since it was last heard at a right time (a
        # watch that streams never "checks in"): set its clock (its events are still raised,
        # at their arrival, and its clock's error is being learnt: ingest/codec.py)
        add("clock_wrong", refused, device.get("clock_refused") or "")
    for problem in ("fault", "tamper"):  # each standing until the device says it is over
        since = device.get(f"{problem}_since")
        if since is not None and now - since < _RECENT:
            add(problem, since)
    return found


def detector_state(device: dict[str, Any], now: dt.datetime) -> str:
    """What a smoke detector's tile shows: smoke until cleared; else a fault or tamper while
    either stands; else a test for ten minutes."""
    last, at = device.get("last_event"), device.get("last_event_at")
    if last == "smoke":
        return "smoke"
    if device.get("fault_since") is not None or device.get("tamper_since") is not None:
        return "fault"
    if last == "test" and at is not None and now - at <= dt.timedelta(minutes=10):
        return "test"
    return "clear"
