"""Turning a trigger (an event or a detector's finding) into an alarm row with its priority."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

from alerts.escalation import IncidentState, next_check
from alerts.kinds import KINDS
from alerts.routing import correlation_key, route_for
from store.batch import IncidentPlan, NewAlarm
from store.registry import DeviceRef


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmTrigger:
    kind: str
    device_id: str
    source_seq: int
    """Sequence number of the message that caused it: with the device and kind, the alarm's
    idempotency key, so a redelivered message never raises a second alarm."""
    occurred_ts: float
    details: dict[str, Any] = field(default_factory=dict)
    snippet: tuple[float, float, bytes] | None = None
    """(hz, epoch seconds of the first sample, float32 (n, 3) bytes)."""


def incident_plan(*, kind: str, priority: int, device: DeviceRef, now: float) -> IncidentPlan:
    """Which incident the alarm belongs to, where it is routed and when to look at it again."""
    # a whole site's fault goes by the site's routing, not that of the elder whose device it is
    about = KINDS[kind]
    resident_routing = None if about.about_site or about.about_area else device.resident_routing
    route = route_for(priority=priority, site_kind=device.site_kind,
                      site_routing=device.site_routing, resident_routing=resident_routing,
                      about_area=about.about_area)
    opened = dt.datetime.fromtimestamp(now, dt.UTC)
    family_until = (None if route.family_accept_s is None
                    else opened + dt.timedelta(seconds=route.family_accept_s))
    state = IncidentState(status="new", priority=priority, route=route.mode, opened_at=opened,
                          escalation_level=0, family_until=family_until)
    return IncidentPlan(
        correlation_key=correlation_key(kind=kind, device_id=device.id, site_id=device.site_id,
                                        site_kind=device.site_kind,
                                        resident_id=device.resident_id, floor=device.floor,
                                        community=device.site_community),
        route=route.mode, floor=device.floor, family_until=family_until,
        next_timer_at=next_check(state))


def new_alarm(trigger: AlarmTrigger, device: DeviceRef, *, now: float | None = None) -> NewAlarm:
    kind = KINDS[trigger.kind]
    snippet = None
    if trigger.snippet is not None:
        hz, t0, samples = trigger.snippet
        snippet = (hz, dt.datetime.fromtimestamp(t0, dt.UTC), samples)
    whole_site = kind.about_site or kind.about_area  # not the device's elder or room
    return NewAlarm(
        kind=kind.name,
        priority=kind.priority,
        device_id=device.id,
        site_id=device.site_id,
        resident_id=None if whole_site else device.resident_id,
        room_id=None if whole_site else device.room_id,
        source_seq=trigger.source_seq,
        occurred_at=dt.datetime.fromtimestamp(trigger.occurred_ts, dt.UTC),
        details=trigger.details,
        snippet=snippet,
        incident=incident_plan(kind=kind.name, priority=kind.priority, device=device,
                               now=time.time() if now is None else now),
    )
