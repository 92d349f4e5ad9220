"""Commands to a device from the console: silence a smoke detector's buzzer, locate a wearable,
run a self-test. The answer (or "no answer" at the deadline) reaches the person who asked over
the WebSocket as ``{"type": "command", "command": ...}`` and from ``GET /api/v1/commands/{id}``."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel

from alerts.lifecycle import CENTRE_ROLES
from console.auth import CurrentUser
from store import commands as store_commands
from store.errors import NotFound

router = APIRouter(prefix="/api/v1", tags=["devices"])

SUPPORTED: dict[str, tuple[str, ...]] = {
    "smoke": ("silence", "self_test"),
    "wearable": ("locate",),
    "button": ("self_test",),
}
"""Which commands a device class understands; the gateway maps each to the native payload."""
ANSWER_WITHIN = dt.timedelta(seconds=60)
"""How long the asker waits before the command shows as unanswered."""

DeviceId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


class CommandIn(BaseModel):
    command: Literal["silence", "locate", "self_test"]


@router.post("/devices/{device_id}/commands", status_code=202)
async def send_command(request: Request, user: CurrentUser, device_id: DeviceId,
                       body: CommandIn) -> dict[str, Any]:
    async with request.app.state.pool.connection() as conn:
        row = await (await conn.execute(
            "SELECT id, site_id, kind FROM devices WHERE id = %s AND retired_at IS NULL",
            (device_id,))).fetchone()
        await conn.commit()
        allowed = row is not None and (
            user["role"] in CENTRE_ROLES
            or (user["role"] == "care_staff" and row["site_id"] == user["scope_site"]))
        if row is None or not allowed:
            raise HTTPException(404, f"no device {device_id}")
        if body.command not in SUPPORTED.get(row["kind"], ()):
            raise HTTPException(422, f"a {row['kind']} cannot {body.command}")
        command = await store_commands.create(
            conn, command_id=f"c-{secrets.token_hex(6)}", device_id=device_id,
            site_id=row["site_id"], command=body.command, requested_by=user["username"],
            deadline=dt.datetime.now(dt.UTC) + ANSWER_WITHIN)
    return {"command": jsonable_encoder(command)}


@router.get("/commands/{command_id}")
async def command_status(request: Request, user: CurrentUser,
                         command_id: Annotated[str, Path(max_length=64)]) -> dict[str, Any]:
    async with request.app.state.pool.connection() as conn:
        try:
            row = await store_commands.get(conn, command_id)
        except NotFound:
            raise HTTPException(404, f"no command {command_id}") from None
    if row["requested_by"] != user["username"] and user["role"] not in ("supervisor", "admin"):
        raise HTTPException(404, f"no command {command_id}")
    return {"command": jsonable_encoder(row)}
