"""REST routes for alarms: thin, scope-checked, errors as JSON with a message."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.encoders import jsonable_encoder

from alerts.lifecycle import apply
from console.auth import CurrentUser
from console.scope import visible
from store import alarms as store_alarms
from store.errors import Conflict, NotFound

router = APIRouter(prefix="/api/v1/alarms", tags=["alarms"])

AlarmId = Path(ge=1, le=2**62, description="alarm id")


async def _visible_alarm(request: Request, user: dict[str, Any], alarm_id: int) -> None:
    async with request.app.state.pool.connection() as conn:
        try:
            row = await store_alarms.alarm(conn, alarm_id)
        except NotFound:
            raise HTTPException(404, f"no alarm {alarm_id}") from None
    if not visible(user, row):
        raise HTTPException(404, f"no alarm {alarm_id}")  # 404, not 403: do not confirm it exists


@router.get("")
async def list_alarms(request: Request, user: CurrentUser,
                      status: Literal["open"] = "open") -> dict[str, Any]:
    async with request.app.state.pool.connection() as conn:
        rows = await store_alarms.open_alarms(conn)
    return {"alarms": jsonable_encoder([r for r in rows if visible(user, r)])}


@router.get("/{alarm_id}")
async def alarm_detail(request: Request, user: CurrentUser,
                       alarm_id: int = AlarmId) -> dict[str, Any]:
    await _visible_alarm(request, user, alarm_id)
    async with request.app.state.pool.connection() as conn:
        return dict(jsonable_encoder(await store_alarms.detail(conn, alarm_id)))


@router.post("/{alarm_id}/acknowledge")
async def acknowledge(request: Request, user: CurrentUser,
                      alarm_id: int = AlarmId) -> dict[str, Any]:
    await _visible_alarm(request, user, alarm_id)
    async with request.app.state.pool.connection() as conn:
        try:
            row = await store_alarms.acknowledge(conn, alarm_id, by=user["username"])
        except Conflict as err:
            raise HTTPException(409, str(err)) from None
        if row.get("incident_id") is not None:
            # Acknowledging an alarm on screen answers its incident: claim it if nobody has, so
            # the unanswered-alarm escalation stops. Someone else's claim stands.
            with contextlib.suppress(Conflict):
                await apply(conn, row["incident_id"], action="claim", user=user,
                            now=dt.datetime.now(dt.UTC))
    return {"alarm": jsonable_encoder(row)}
