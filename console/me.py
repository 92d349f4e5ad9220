"""The signed-in person's own settings: notification preferences (family members)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field, model_validator

from console.auth import CurrentUser
from store import notifications

router = APIRouter(prefix="/api/v1/me", tags=["me"])

DEFAULTS = {"kinds": ["alarm", "handled", "device"], "channels": ["sms", "email"], "quiet_start": None,
            "quiet_end": None}


class Prefs(BaseModel):
    kinds: Annotated[list[Literal["alarm", "handled", "device"]], Field(max_length=3)]
    channels: Annotated[list[Literal["sms", "email"]], Field(min_length=1, max_length=2)]
    quiet_start: dt.time | None = None
    quiet_end: dt.time | None = None

    @model_validator(mode="after")
    def both_or_neither(self) -> Prefs:
        if (self.quiet_start is None) != (self.quiet_end is None):
            raise ValueError("quiet hours need both a start and an end")
        if len(set(self.channels)) != len(self.channels) or len(set(self.kinds)) != len(self.kinds):
            raise ValueError("each kind and channel at most once")
        return self


def _contact(user: dict[str, Any]) -> int:
    if user.get("contact_id") is None:
        raise HTTPException(409, "this account is not linked to a contact; ask the centre to link it")
    return int(user["contact_id"])


def _hhmm(t: dt.time | None) -> str | None:
    return None if t is None else t.strftime("%H:%M")


def _shown(row: dict[str, Any] | None) -> dict[str, Any]:
    if row is None:
        return dict(DEFAULTS)
    fmt = _hhmm
    return {"kinds": row["kinds"], "channels": row["channels"],
            "quiet_start": fmt(row["quiet_start"]), "quiet_end": fmt(row["quiet_end"])}


@router.get("/notification-prefs")
async def get_prefs(request: Request, user: CurrentUser) -> dict[str, Any]:
    contact_id = _contact(user)
    async with request.app.state.pool.connection() as conn:
        return _shown(await notifications.preferences(conn, contact_id))


@router.put("/notification-prefs")
async def put_prefs(request: Request, user: CurrentUser, body: Prefs) -> dict[str, Any]:
    contact_id = _contact(user)
    async with request.app.state.pool.connection() as conn:
        await notifications.set_preferences(conn, contact_id, kinds=body.kinds,
                                            channels=body.channels, quiet_start=body.quiet_start,
                                            quiet_end=body.quiet_end)
        return _shown(await notifications.preferences(conn, contact_id))
