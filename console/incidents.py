"""REST routes for incidents: the queue, one incident with its alarms and timeline, lifecycle
steps (claim, call, dispatch, on site, resolve, release, reopen; a family's accept and hand to
the centre, alerts/lifecycle.py) and the KPIs."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, Field

from alerts import kpis as alert_kpis
from alerts.lifecycle import TRANSITIONS, TransitionError, apply, may_handle, may_take
from console.auth import CurrentUser
from console.scope import visible
from store import alarms as store_alarms
from store import incidents as store_incidents
from store.errors import Conflict, NotFound

router = APIRouter(prefix="/api/v1", tags=["incidents"])

IncidentId = Annotated[int, Path(ge=1, le=2**62, description="incident id")]
Action = Literal["claim", "release", "call", "dispatch", "on_site", "resolve", "reopen", "accept",
                 "hand_to_centre"]
assert set(Action.__args__) == set(TRANSITIONS)  # type: ignore[attr-defined]


class Step(BaseModel):
    outcome: str | None = Field(default=None, max_length=40)
    responder: str | None = Field(default=None, max_length=40)
    note: str | None = Field(default=None, max_length=2000)


async def _incident(request: Request, user: dict[str, Any], incident_id: int) -> dict[str, Any]:
    async with request.app.state.pool.connection() as conn:
        try:
            row = await store_incidents.incident(conn, incident_id)
        except NotFound:
            raise HTTPException(404, f"no incident {incident_id}") from None
    if not visible(user, row):
        raise HTTPException(404, f"no incident {incident_id}")
    return row


@router.get("/incidents")
async def list_incidents(request: Request, user: CurrentUser,
                         status: Literal["open"] = "open") -> dict[str, Any]:
    async with request.app.state.pool.connection() as conn:
        rows = await store_incidents.open_incidents(conn)
    shown = [r for r in rows if visible(user, r)
             and (r["route"] != "maintenance" or user["role"] in ("admin", "care_staff"))]
    return {"incidents": jsonable_encoder(shown)}


@router.get("/incidents/{incident_id}")
async def incident_detail(request: Request, user: CurrentUser,
                          incident_id: IncidentId) -> dict[str, Any]:
    row = await _incident(request, user, incident_id)
    async with request.app.state.pool.connection() as conn:
        timeline = await store_incidents.timeline(conn, incident_id)
        alarm_ids = await store_incidents.alarm_ids(conn, incident_id)
        alarms = [await store_alarms.alarm(conn, i) for i in alarm_ids]
    return {"incident": jsonable_encoder(row), "alarm_ids": alarm_ids,
            "alarms": jsonable_encoder(alarms), "timeline": jsonable_encoder(timeline)}



class Note(BaseModel):
    note: str = Field(min_length=1, max_length=2000)


@router.post("/incidents/{incident_id}/note")
async def incident_note(request: Request, user: CurrentUser, incident_id: IncidentId,
                        body: Note) -> dict[str, Any]:
    row = await _incident(request, user, incident_id)
    if not may_handle(user, row):
        raise HTTPException(403, f"a {user['role']} cannot act on this incident")
    async with request.app.state.pool.connection() as conn:
        await store_incidents.add_note(conn, incident_id, actor=user["username"], note=body.note)
        return {"incident": jsonable_encoder(await store_incidents.incident(conn, incident_id))}


@router.post("/incidents/{incident_id}/{action}")
async def incident_step(request: Request, user: CurrentUser, incident_id: IncidentId,
                        action: Action, step: Step | None = None) -> dict[str, Any]:
    row = await _incident(request, user, incident_id)
    if not may_handle(user, row):
        raise HTTPException(403, f"a {user['role']} cannot act on this incident")
    if not may_take(user, action):
        raise HTTPException(403, "family can accept the alarm, say they are there, close it or"
                            " hand it to the centre" if user["role"] == "family"
                            else f"{action} is the family's step")
    step = step or Step()
    async with request.app.state.pool.connection() as conn:
        try:
            changed = await apply(conn, incident_id, action=action, user=user,
                                  now=dt.datetime.now(dt.UTC), outcome=step.outcome,
                                  responder=step.responder, note=step.note)
        except TransitionError as err:
            raise HTTPException(422, str(err)) from None
        except Conflict as err:
            raise HTTPException(409, str(err)) from None
    return {"incident": jsonable_encoder(changed)}


@router.get("/kpis")
async def kpis(request: Request, user: CurrentUser,
               since: Annotated[dt.datetime | None, Query()] = None,
               until: Annotated[dt.datetime | None, Query()] = None,
               tz: Annotated[str, Query(max_length=64)] = "Asia/Shanghai") -> dict[str, Any]:
    if user["role"] not in ("supervisor", "admin"):
        raise HTTPException(403, "KPIs are for supervisors")
    until = until or dt.datetime.now(dt.UTC)
    since = since or until - dt.timedelta(days=1)
    if since.tzinfo is None or until.tzinfo is None:
        raise HTTPException(422, "since and until need a time zone (e.g. 2026-11-22T00:00:00Z)")
    if since >= until:
        raise HTTPException(422, "since must be before until")
    try:
        alert_kpis.shift_of(since, tz)
    except Exception:
        raise HTTPException(422, f"unknown time zone {tz!r}") from None
    async with request.app.state.pool.connection() as conn:
        rows = await store_incidents.kpi_rows(conn, since, until)
    return {"since": since, "until": until, "tz": tz, **alert_kpis.compute(rows, tz=tz)}
