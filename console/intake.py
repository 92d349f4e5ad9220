"""``GET /api/v1/intake``: is the alarm path working? For everyone who answers alarms (operators,
supervisors, admins, care-home staff): each service's state from its heartbeat, judged by
alerts/intake.py, so that every screen can say so when alarms may not be getting through; and
whether the on-call engineer was paged about it (alerts/oncall.py): ``page`` is the open
episode (or null), ``pages`` the last ten, ``oncall`` whether this console pages anyone.

``POST /api/v1/intake/pages/{id}/take``: "I'm on it", from an admin (the engineers) or a
supervisor (who may record it for an engineer on the phone): the screens say who is on it, the
on-call engineers are told, and the reminders slow (alerts/oncall.py)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request
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


TAKING_ROLES = frozenset({"admin", "supervisor"})
PageId = Annotated[int, Path(ge=1, le=2**62, description="on-call page id")]


@router.post("/intake/pages/{page_id}/take")
async def take_page(page_id: PageId, request: Request, user: CurrentUser) -> dict[str, Any]:
    if user["role"] not in TAKING_ROLES:
        raise HTTPException(403, "taking a page is for the engineers (admins) and supervisors")
    async with request.app.state.pool.connection() as conn, conn.transaction():
        try:
            page = await intake_pages.take(conn, page_id, user["username"])
        except LookupError as err:
            raise HTTPException(404, str(err)) from None
        except ValueError as err:
            raise HTTPException(409, str(err)) from None
    return {"page": jsonable_encoder(page)}
