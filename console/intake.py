"""``GET /api/v1/intake``: is the alarm path working? For everyone who answers alarms (operators,
supervisors, admins, care-home staff): each service's state from its heartbeat, judged by
alerts/intake.py, so that every screen can say so when alarms may not be getting through; and
whether the on-call engineer was paged about it (alerts/oncall.py): ``page`` is the open
episode (or null), ``pages`` the last ten, ``oncall`` whether this console pages anyone."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.encoders import jsonable_encoder

from alerts import intake
from alerts.lifecycle import CENTRE_ROLES
from console.auth import CurrentUser
from store import intake_pages

router = APIRouter(prefix="/api/v1", tags=["intake"])

ANSWERING_ROLES = CENTRE_ROLES | {"care_staff"}


@router.get("/intake")
async def alarm_path(request: Request, user: CurrentUser) -> dict[str, Any]:
    if user["role"] not in ANSWERING_ROLES:
        raise HTTPException(403, "the alarm path's state is for those who answer alarms")
    async with request.app.state.pool.connection() as conn:
        now, found = await intake.look(conn)
        pages = await intake_pages.recent(conn)
    return {"ok": found.ok, "now": jsonable_encoder(now),
            "services": [jsonable_encoder(asdict(s)) for s in found.services],
            "oncall": bool(request.app.state.settings.oncall),
            "page": next((jsonable_encoder(p) for p in pages if p["cleared_at"] is None), None),
            "pages": jsonable_encoder(pages)}
