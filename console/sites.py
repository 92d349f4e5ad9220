"""REST routes for a site: the floor plan with detectors and residents, and the maintenance list.
Care-home staff see their own home; centre roles see any."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.encoders import jsonable_encoder

from alerts.lifecycle import CENTRE_ROLES
from alerts.maintenance import detector_state, problems
from console.auth import CurrentUser
from store import sites as store_sites
from store.errors import NotFound

router = APIRouter(prefix="/api/v1/sites", tags=["sites"])

SiteId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


async def _site(request: Request, user: dict[str, Any], site_id: str) -> dict[str, Any]:
    if not (user["role"] in CENTRE_ROLES
            or (user["role"] == "care_staff" and user["scope_site"] == site_id)):
        raise HTTPException(404, f"no site {site_id}")
    async with request.app.state.pool.connection() as conn:
        try:
            return await store_sites.site(conn, site_id)
        except NotFound:
            raise HTTPException(404, f"no site {site_id}") from None


@router.get("/{site_id}/floors")
async def floors(request: Request, user: CurrentUser, site_id: SiteId) -> dict[str, Any]:
    site = await _site(request, user, site_id)
    now = dt.datetime.now(dt.UTC)
    async with request.app.state.pool.connection() as conn:
        rooms = await store_sites.rooms(conn, site_id)
        residents = await store_sites.residents_by_room(conn, site_id)
        devices = await store_sites.devices(conn, site_id)
    detectors: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for d in devices:
        if d["kind"] == "smoke" and d["room_id"]:
            detectors[d["room_id"]].append({
                "id": d["id"], "state": detector_state(d, now), "battery": d["battery"],
                "online": d["online"], "last_checkin": d["last_checkin"]})
    people: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in residents:
        people[r["room_id"]].append({"id": r["id"], "name": r["name"]})
    by_floor: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for room in rooms:
        by_floor[room["floor"]].append({"id": room["id"], "name": room["name"],
                                        "detectors": detectors[room["id"]],
                                        "residents": people[room["id"]]})
    return {"site": jsonable_encoder(site),
            "floors": jsonable_encoder([{"floor": f, "rooms": rs} for f, rs in sorted(by_floor.items())])}


@router.get("/{site_id}/maintenance")
async def maintenance(request: Request, user: CurrentUser, site_id: SiteId) -> dict[str, Any]:
    await _site(request, user, site_id)
    now = dt.datetime.now(dt.UTC)
    async with request.app.state.pool.connection() as conn:
        devices = await store_sites.devices(conn, site_id)
    items = [p for d in devices for p in problems(d, now)]
    return {"items": jsonable_encoder(items)}
