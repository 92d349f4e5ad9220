"""A self check-up becomes stored readings and, when something is abnormal, alarms (issue 9).

Ingest (a kiosk's message) and the console (a staff entry) both call :func:`plan`, so a check-up
is judged by the same detector (``detection/checkup.py``) on the same history and its alarm is
built by the same path as every other alarm (``alerts/raising.py``): an incident in the
operators' queue, routed like any alarm of the resident's. One alarm per alarm kind per check-up:
``vitals_critical`` for readings out of bounds, ``vitals_deviation`` for readings far from the
resident's own recent check-ups, keyed by (source, seq, kind) so a redelivered message raises
nothing new.

>>> from store.registry import DeviceRef
>>> kiosk = DeviceRef(id="kiosk-1", site_id="dc-1", kind="kiosk", resident_id="r1", room_id=None)
>>> p = plan(readings={"bp_systolic": 195.0, "bp_diastolic": 100.0}, at=1.8e9, history={},
...          overrides={}, device=kiosk, source="kiosk", source_seq=7, row_device="kiosk-1")
>>> [(r.kind, r.finding) for r in p.rows], [a.kind for a in p.alarms]
([('bp_systolic', 'above_bound'), ('bp_diastolic', None)], ['vitals_critical'])
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alerts.raising import AlarmTrigger, new_alarm
from detection.checkup import (
    MEASURES,
    UNITS,
    CheckupFinding,
    Measure,
    Reading,
    evaluate,
    measures_with,
)
from store.batch import NewAlarm
from store.health import HealthReading
from store.registry import DeviceRef

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckupPlan:
    rows: list[HealthReading]
    alarms: list[NewAlarm]
    findings: list[CheckupFinding]


def measures_for(resident_id: str, overrides: Mapping[str, Any]) -> tuple[Measure, ...]:
    """The resident's own limits; limits the console would have refused (set in the database by
    hand, say) fall back to the defaults rather than silencing the check-up."""
    try:
        return measures_with(overrides)
    except (ValueError, TypeError, AttributeError) as err:
        log.error("check-up limits of %s are unusable (%s); using the defaults", resident_id, err)
        return MEASURES


def plan(*, readings: Mapping[str, float], at: float, history: Mapping[str, Sequence[float]],
         overrides: Mapping[str, Any], device: DeviceRef, source: str, source_seq: int,
         row_device: str | None, entered_by: str = "", now: float | None = None) -> CheckupPlan:
    """Judge one check-up. ``device`` places the alarms (its ``resident_id`` is the resident's);
    ``row_device`` is what the readings record as their device (None for staff entries)."""
    assert device.resident_id is not None
    measures = measures_for(device.resident_id, overrides)
    findings = evaluate([Reading(kind=k, value=v) for k, v in readings.items()],
                        history=history, measures=measures)
    by_measure = {f.measure: f for f in findings}
    when = dt.datetime.fromtimestamp(at, dt.UTC)
    rows = [HealthReading(resident_id=device.resident_id, at=when, kind=kind, value=value,
                          unit=UNITS[kind], source=source, device_id=row_device,
                          source_seq=source_seq, entered_by=entered_by,
                          finding=by_measure[kind].kind if kind in by_measure else None)
            for kind, value in readings.items()]
    alarms = []
    for alarm_kind in dict.fromkeys(f.alarm for f in findings):
        group = [f for f in findings if f.alarm == alarm_kind]
        first = group[0]
        details: dict[str, Any] = {
            # The same keys as a wearable's vitals alarm, so every page shows it the same way.
            "vital": first.measure, "value": first.value, "finding": first.kind,
            "detail": "; ".join(f.detail for f in group), "checkup": source,
            "findings": [{"measure": f.measure, "finding": f.kind, "value": f.value,
                          "unit": f.unit, "limit": f.limit} for f in group]}
        if entered_by:
            details["entered_by"] = entered_by
        trigger = AlarmTrigger(kind=alarm_kind, device_id=device.id, source_seq=source_seq,
                               occurred_ts=at, details=details)
        alarms.append(new_alarm(trigger, device, now=now))
    return CheckupPlan(rows=rows, alarms=alarms, findings=findings)
