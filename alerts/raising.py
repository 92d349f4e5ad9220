"""Turning a trigger (an event or a detector's finding) into an alarm row with its priority."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from alerts.kinds import KINDS
from store.batch import NewAlarm
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


def new_alarm(trigger: AlarmTrigger, device: DeviceRef) -> NewAlarm:
    kind = KINDS[trigger.kind]
    snippet = None
    if trigger.snippet is not None:
        hz, t0, samples = trigger.snippet
        snippet = (hz, dt.datetime.fromtimestamp(t0, dt.UTC), samples)
    return NewAlarm(
        kind=kind.name,
        priority=kind.priority,
        device_id=device.id,
        site_id=device.site_id,
        resident_id=device.resident_id,
        room_id=device.room_id,
        source_seq=trigger.source_seq,
        occurred_at=dt.datetime.fromtimestamp(trigger.occurred_ts, dt.UTC),
        details=trigger.details,
        snippet=snippet,
    )
