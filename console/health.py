"""REST routes for the health record (issue 9): read it, change it, enter a check-up.

* ``GET /api/v1/residents/{id}/health?days=N``: the record (conditions, medications, allergies,
  mobility, blood type, doctor, care setting, need categories with ``high_age`` derived from the
  birth year, check-up limits) and its readings over the last N days: check-ups by kind, and the
  wearables' heart rate and SpO2 as daily minimum, median and maximum. Scoped like every resident
  route (``console.scope``) and audited as ``read_health_record``.
* ``PUT /api/v1/residents/{id}/record``: administrators, grid staff within their node, care staff
  of the resident's site. Audited as ``update_health_record`` with the names of the fields
  changed, never their values. Check-up limits are a clinician's call: grid staff may not set them.
* ``POST /api/v1/residents/{id}/checkups``: grid staff within their node, care staff of the site,
  operators, administrators enter readings (source ``staff``). They are judged by the same code
  as a kiosk's (``alerts.checkups.plan``), and an abnormal one raises its alarm through the same
  store path as ingest (``store.batch.write``), so it reaches the operators' queue the same way.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated, Any, Literal

import msgspec
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Field

from alerts import checkups
from alerts.lifecycle import tell_family_of_alarm
from console.auth import CurrentUser
from console.residents import CareSetting, Need, ResidentId, _in_scope
from detection.checkup import BaselineConfig, measures_with
from ingest.contract import Readings, readings_problem
from store import batch as store_batch
from store import health as store_health
from store.errors import Conflict

router = APIRouter(prefix="/api/v1", tags=["health"])

HIGH_AGE = 80
"""高龄: 80 or older this calendar year (the same rule as the register's listing filter)."""
EDITORS = frozenset({"admin", "grid_staff", "care_staff"})
BOUNDS_EDITORS = frozenset({"admin", "care_staff"})
ENTERERS = frozenset({"admin", "operator", "grid_staff", "care_staff"})
MAX_FUTURE = dt.timedelta(minutes=5)
MAX_AGE = dt.timedelta(days=7)
"""A staff entry may be back-dated a week (a paper form typed in late), like a device message."""
BASELINE = BaselineConfig()

Item = Annotated[str, Field(min_length=1, max_length=100)]
Items = Annotated[list[Item], Field(max_length=50)]
Measure = Literal["bp_systolic", "bp_diastolic", "glucose", "weight", "temperature", "heart_rate",
                  "spo2"]


class Limits(BaseModel):
    model_config = ConfigDict(extra="forbid")
    low: float | None = None
    high: float | None = None


class RecordIn(BaseModel):
    """Only the fields sent are changed; none may be null."""

    model_config = ConfigDict(extra="forbid")
    conditions: Items | None = None
    medications: Items | None = None
    allergies: Items | None = None
    mobility: Annotated[str, Field(max_length=100)] | None = None
    blood_type: Literal["", "A", "B", "AB", "O", "A+", "A-", "B+", "B-", "AB+", "AB-", "O+",
                        "O-"] | None = None
    doctor: Annotated[str, Field(max_length=100)] | None = None
    doctor_phone: Annotated[str, Field(max_length=40)] | None = None
    care_setting: CareSetting | None = None
    needs: Annotated[list[Need], Field(max_length=7)] | None = None
    checkup_bounds: dict[Measure, Limits] | None = None


class CheckupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    readings: dict[Measure, float]
    """In the wire contract's units and ranges (docs/device-api.md): mmHg, mmol/L, kg, °C, bpm, %."""
    at: dt.datetime | None = None
    """When it was measured (default: now)."""


def needs_with_age(needs: list[str], birth_year: int | None, year: int) -> list[str]:
    """The stored need categories, with ``high_age`` added when the birth year says so.

    >>> needs_with_age(["living_alone"], 1940, 2026)
    ['living_alone', 'high_age']
    """
    if birth_year is not None and year - birth_year >= HIGH_AGE and "high_age" not in needs:
        return [*needs, "high_age"]
    return list(needs)


def _bounds(resident_id: str, overrides: dict[str, Any]) -> list[dict[str, Any]]:
    measures = checkups.measures_for(resident_id, overrides)  # unusable limits show as the defaults
    return [{"kind": m.kind, "unit": m.unit, "low": m.low, "high": m.high, "source": m.source,
             "own": m.kind in overrides} for m in measures]


@router.get("/residents/{resident_id}/health")
async def health_record(request: Request, user: CurrentUser, resident_id: ResidentId,
                        days: Annotated[int, Query(gt=0, le=366)] = 30) -> dict[str, Any]:
    await _in_scope(request, user, resident_id, audit="read_health_record")
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    async with request.app.state.pool.connection() as conn:
        record = await store_health.record(conn, resident_id)
        rows = await store_health.readings(conn, resident_id, since)
        wearable = await store_health.wearable_days(conn, resident_id, since, record["tz"])
    record["needs"] = needs_with_age(record["needs"], record["birth_year"],
                                     dt.datetime.now(dt.UTC).year)
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_kind.setdefault(row.pop("kind"), []).append(row)
    return {"record": jsonable_encoder(record), "bounds": _bounds(resident_id, record["checkup_bounds"]),
            "checkups": jsonable_encoder(by_kind), "wearable_days": jsonable_encoder(wearable),
            "days": days}


@router.put("/residents/{resident_id}/record")
async def update_record(request: Request, user: CurrentUser, resident_id: ResidentId,
                        body: RecordIn) -> dict[str, Any]:
    if user["role"] not in EDITORS:
        raise HTTPException(403, "only administrators, grid staff and care staff edit the record")
    changes = body.model_dump(exclude_unset=True)
    nulls = sorted(k for k, v in changes.items() if v is None)
    if nulls:
        raise HTTPException(422, f"cannot be null: {', '.join(nulls)}")
    if "checkup_bounds" in changes:
        if user["role"] not in BOUNDS_EDITORS:
            raise HTTPException(403, "check-up limits are set by care staff or administrators")
        changes["checkup_bounds"] = {
            kind: limits.model_dump(exclude_unset=True)
            for kind, limits in (body.checkup_bounds or {}).items()}
        try:
            measures_with(changes["checkup_bounds"])
        except ValueError as err:
            raise HTTPException(422, f"checkup_bounds: {err}") from None
    if "needs" in changes:
        changes["needs"] = sorted(set(changes["needs"]))
    await _in_scope(request, user, resident_id)
    async with request.app.state.pool.connection() as conn:
        fields = await store_health.update_record(conn, resident_id, changes,
                                                  actor=user["username"])
    return {"updated": fields}


@router.post("/residents/{resident_id}/checkups", status_code=201)
async def enter_checkup(request: Request, user: CurrentUser, resident_id: ResidentId,
                        body: CheckupIn) -> dict[str, Any]:
    if user["role"] not in ENTERERS:
        raise HTTPException(403, "your role does not enter check-ups")
    try:
        problem = readings_problem(msgspec.convert(body.readings, Readings))
    except msgspec.ValidationError as err:
        problem = str(err)
    if problem is not None:
        raise HTTPException(422, f"readings: {problem}")
    now = dt.datetime.now(dt.UTC)
    at = body.at or now
    if at.tzinfo is None:
        raise HTTPException(422, "at: give a time zone (e.g. 2026-01-02T08:30:00+08:00)")
    if not now - MAX_AGE <= at <= now + MAX_FUTURE:
        raise HTTPException(422, "at: more than 7 days ago or in the future")
    await _in_scope(request, user, resident_id)
    async with request.app.state.pool.connection() as conn:
        context = await store_health.checkup_context(conn, resident_id)
        if context is None:
            raise HTTPException(404, f"no resident {resident_id}")
        past = await store_health.history(conn, resident_id, list(body.readings), before=at,
                                          per_kind=BASELINE.history)
        await conn.commit()  # the look-ups' transaction; what follows commits as one
        async with conn.transaction():
            seq = await store_health.next_staff_seq(conn)
            try:
                source = await store_health.staff_source(conn, context.site_id)
            except Conflict as err:
                raise HTTPException(409, str(err)) from None
            readings = {str(kind): value for kind, value in body.readings.items()}
            plan = checkups.plan(readings=readings, at=at.timestamp(), history=past,
                                 overrides=context.bounds, device=context.source(source),
                                 source="staff", source_seq=seq, row_device=None,
                                 entered_by=user["username"], now=time.time())
            written = await store_batch.write(
                conn, store_batch.Batch(health=plan.rows, alarms=plan.alarms),
                on_opened=tell_family_of_alarm)
            await store_health.audit(conn, actor=user["username"], action="enter_checkup",
                                     target=f"resident:{resident_id}",
                                     details={"kinds": sorted(body.readings), "seq": seq})
    return {"seq": seq, "at": at.isoformat(),
            "readings": [{"kind": r.kind, "value": r.value, "unit": r.unit, "finding": r.finding}
                         for r in plan.rows],
            "findings": [{"measure": f.measure, "finding": f.kind, "alarm": f.alarm,
                          "detail": f.detail} for f in plan.findings],
            "alarm_ids": written.new_alarm_ids}
