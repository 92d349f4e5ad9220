"""The supervisor's overview: waiting and active incidents, who is online, incidents by hour."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.encoders import jsonable_encoder

from console.auth import CurrentUser

router = APIRouter(prefix="/api/v1/supervisor", tags=["supervisor"])


@router.get("/overview")
async def overview(request: Request, user: CurrentUser) -> dict[str, Any]:
    if user["role"] not in ("supervisor", "admin"):
        raise HTTPException(403, "the overview is for supervisors")
    async with request.app.state.pool.connection() as conn:
        counts = await (await conn.execute(
            "SELECT count(*) FILTER (WHERE status = 'new') AS waiting,"
            " count(*) FILTER (WHERE status NOT IN ('new', 'resolved')) AS active"
            " FROM incidents WHERE status <> 'resolved' AND route <> 'maintenance'")).fetchone()
        hourly = await (await conn.execute(
            "SELECT date_trunc('hour', opened_at) AS hour, priority, count(*) AS n FROM incidents"
            " WHERE opened_at > now() - interval '24 hours' GROUP BY 1, 2 ORDER BY 1")).fetchall()
    hours: dict[Any, dict[str, Any]] = {}
    for row in hourly:
        slot = hours.setdefault(row["hour"], {"hour": row["hour"], "1": 0, "2": 0, "3": 0, "4": 0})
        slot[str(row["priority"])] = row["n"]
    online = request.app.state.hub.online_users()
    assert counts is not None
    return {"waiting": counts["waiting"], "active": counts["active"],
            "operators_online": online, "hourly": jsonable_encoder(list(hours.values()))}
