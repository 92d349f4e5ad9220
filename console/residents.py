"""REST routes for residents: profile, vitals, locations, history and status, within scope.
Every read of a resident's health record is written to the audit trail."""

from __future__ import annotations

import datetime as dt
import math
import time
from typing import Annotated, Any, Literal

import psycopg
from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from psycopg.types.json import Jsonb

from alerts import notify
from alerts.lifecycle import CENTRE_ROLES
from console.admin import PlaceIn, PlaceName, refusals
from console.auth import CurrentUser
from console.scope import resident_visible, scope_of
from detection.geofence import DEFAULT_RADIUS_M
from detection.inactivity import MOVEMENT_KINDS, InactivitySummary, allowed_now, next_call
from detection.zones import known_zone
from store import admin as store_admin
from store import org, resident_welfare
from store import residents as store_residents
from store.errors import NotFound

router = APIRouter(prefix="/api/v1", tags=["residents"])

ResidentId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
Hours = Annotated[float, Query(gt=0, le=24 * 14)]


async def _in_scope(request: Request, user: dict[str, Any], resident_id: str,
                    *, audit: str | None = None) -> dict[str, Any]:
    async with request.app.state.pool.connection() as conn:
        try:
            resident = await store_residents.profile(conn, resident_id)
        except NotFound:
            raise HTTPException(404, f"no resident {resident_id}") from None
        if not resident_visible(user, resident):
            raise HTTPException(404, f"no resident {resident_id}")  # do not confirm it exists
        if audit is not None:
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO audit (actor, action, target, details) VALUES (%s, %s, %s, %s)",
                    (user["username"], audit, f"resident:{resident_id}", Jsonb({})))
    return resident


CareSetting = Literal["home", "day_care", "care_home"]
Need = Literal["high_age", "empty_nest", "living_alone", "disabled", "partly_disabled", "low_income",
               "five_guarantee"]


@router.get("/me/residents")
async def my_residents(request: Request, user: CurrentUser,
                       q: Annotated[str | None, Query(max_length=64)] = None,
                       node: Annotated[str | None, Query(max_length=64)] = None,
                       care_setting: CareSetting | None = None,
                       need: Need | None = None) -> dict[str, Any]:
    """The register within the user's scope, narrowed by grid node, care setting and need."""
    scope: dict[str, str | None] = dict(scope_of(user).filters())
    async with request.app.state.pool.connection() as conn:
        if node is not None:
            outer = scope.get("node_id")
            if outer is not None and not await org.contains(conn, outer, node):
                raise HTTPException(404, f"no org node {node} in your scope")
            if not ("node_id" in scope or scope_of(user).everything):
                raise HTTPException(403, "your scope is not a grid node")
            scope["node_id"] = node
        rows = await store_residents.listing(
            conn, query=q, care_setting=care_setting, need=need, resident_id=scope.get("resident_id"),
            site_id=scope.get("site_id"), node_id=scope.get("node_id"))
    return {"residents": jsonable_encoder(rows)}


@router.get("/residents/{resident_id}")
async def resident(request: Request, user: CurrentUser, resident_id: ResidentId) -> dict[str, Any]:
    profile = await _in_scope(request, user, resident_id, audit="read_health_record")
    async with request.app.state.pool.connection() as conn:
        contacts = await store_residents.contacts(conn, resident_id)
        devices = await store_residents.devices(conn, resident_id)
    profile.pop("routing", None)
    site = profile["site"] or {}
    # held to their safe places: at home, with coordinates, wearing a locating device (the
    # same rule as ingest.welfare's configure)
    profile["geofenced"] = (site.get("kind") == "home" and site.get("lat") is not None
                            and any(d["kind"] == "wearable" for d in devices))
    return {"resident": jsonable_encoder(profile), "contacts": jsonable_encoder(contacts),
            "devices": jsonable_encoder(devices)}


@router.get("/residents/{resident_id}/vitals")
async def vitals(request: Request, user: CurrentUser, resident_id: ResidentId,
                 hours: Hours = 6.0) -> dict[str, Any]:
    await _in_scope(request, user, resident_id, audit="read_vitals")
    since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours)
    async with request.app.state.pool.connection() as conn:
        points = await store_residents.vitals(conn, resident_id, since)
    return {"points": jsonable_encoder(points)}


@router.get("/residents/{resident_id}/locations")
async def locations(request: Request, user: CurrentUser, resident_id: ResidentId,
                    hours: Hours = 6.0) -> dict[str, Any]:
    profile = await _in_scope(request, user, resident_id, audit="read_locations")
    since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours)
    async with request.app.state.pool.connection() as conn:
        points = await store_residents.locations(conn, resident_id, since)
    site = profile["site"] or {}
    home = (None if site.get("lat") is None else
            {"lat": site["lat"], "lon": site["lon"],
             "radius_m": profile["safe_radius_m"] or DEFAULT_RADIUS_M})
    # the other safe places count only around a home the geofence can see (ingest.welfare)
    places = profile["places"] if home is not None else []
    return {"home": home, "places": jsonable_encoder(places), "points": jsonable_encoder(points)}


FAMILY_STAY_DAYS = 31
"""The longest stay a family sets on its own: a place for longer is the centre's to set."""


def _family_or_centre(user: dict[str, Any]) -> bool:
    """Whether ``user`` changes safe places as the resident's family (True) or for the centre
    (False); anyone else may not."""
    if user["role"] == "family":
        return True
    if user["role"] in CENTRE_ROLES:
        return False
    raise HTTPException(403, "the centre and the resident's family set safe places")


@router.put("/residents/{resident_id}/places/{name:path}")
async def set_place(request: Request, user: CurrentUser, resident_id: ResidentId,
                    name: PlaceName, body: PlaceIn) -> dict[str, Any]:
    """Where the elder may be at night without its being a wandering: a daughter telling the
    centre "Mum is staying with me until Sunday", or the operator she phoned writing it in.
    A family's place is a stay of at most ``FAMILY_STAY_DAYS`` days and leaves the centre's
    places alone (409); the centre's may last. A running ingest takes it at once (``NOTIFY
    registry``); every change is in the audit trail."""
    family = _family_or_centre(user)
    await _in_scope(request, user, resident_id)
    if family:
        if body.ends_at is None:
            raise HTTPException(422, "a family's safe place is a stay: say until when (ends_at)")
        if body.ends_at > dt.datetime.now(dt.UTC) + dt.timedelta(days=FAMILY_STAY_DAYS):
            raise HTTPException(422, f"a family sets a stay of at most {FAMILY_STAY_DAYS} days;"
                                     " a longer one is the centre's to set")
    async with request.app.state.pool.connection() as conn, conn.transaction():
        with refusals():
            row = await store_admin.set_place(conn, resident_id, name, lat=body.lat, lon=body.lon,
                                              radius_m=body.radius_m, by=user["username"],
                                              ends_at=body.ends_at, family=family)
        # the one who set it is reminded before it ends (alerts/notify.py): with the place, or
        # neither
        remind_at = await notify.remind_stay(conn, resident_id=resident_id, place=row)
        await _audit(conn, user, "set_safe_place", resident_id,
                     jsonable_encoder({**row, "remind_at": remind_at}))
    return {"place": jsonable_encoder(row), "remind_at": jsonable_encoder(remind_at)}


@router.delete("/residents/{resident_id}/places/{name:path}")
async def remove_place(request: Request, user: CurrentUser, resident_id: ResidentId,
                       name: PlaceName) -> dict[str, Any]:
    """A stay ended early ("she is home again"). A family removes only a family's place (409)."""
    family = _family_or_centre(user)
    await _in_scope(request, user, resident_id)
    async with request.app.state.pool.connection() as conn:
        with refusals():
            await store_admin.remove_place(conn, resident_id, name, family=family)
        await _audit(conn, user, "remove_safe_place", resident_id, {"name": name})
    return {"removed": name}


async def _audit(conn: psycopg.AsyncConnection[Any], user: dict[str, Any], action: str, resident_id: str,
                 details: dict[str, Any]) -> None:
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO audit (actor, action, target, details) VALUES (%s, %s, %s, %s)",
            (user["username"], action, f"resident:{resident_id}", Jsonb(details)))


@router.get("/residents/{resident_id}/incidents")
async def history(request: Request, user: CurrentUser, resident_id: ResidentId,
                  days: Annotated[int, Query(gt=0, le=366)] = 90) -> dict[str, Any]:
    await _in_scope(request, user, resident_id)
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    async with request.app.state.pool.connection() as conn:
        rows = await store_residents.incidents(conn, resident_id, since)
    return {"incidents": jsonable_encoder(rows)}


@router.get("/residents/{resident_id}/status")
async def status(request: Request, user: CurrentUser, resident_id: ResidentId,
                 tz: Annotated[str, Query(max_length=64)] = "Asia/Shanghai") -> dict[str, Any]:
    await _in_scope(request, user, resident_id)
    try:
        zone = known_zone(tz)
    except ValueError as err:
        raise HTTPException(422, str(err)) from None
    local_midnight = dt.datetime.now(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    async with request.app.state.pool.connection() as conn:
        result = await store_residents.status(conn, resident_id, local_midnight)
        kept = await resident_welfare.read(conn, resident_id)
    # what ingest kept of an elder no worn device can see move (a watch taken back) is not
    # what they are held to now: nobody would be called
    watched = any(d["kind"] in MOVEMENT_KINDS for d in result["devices"])
    result["movement_seen"] = watched
    result["inactivity"] = (inactivity_now(*kept, time.time()) if kept is not None and watched
                            else None)
    return dict(jsonable_encoder(result))


def inactivity_now(summary: InactivitySummary, updated_at: dt.datetime,
                   now: float) -> dict[str, Any]:
    """What the inactivity check holds the resident to, from the summary ingest kept: since when
    their silence is counted now; when the centre would be called if they stay still (none
    while they are away from home), by which limit (seconds; at night or by day, and whether
    learnt from their own days; the morning limit for a silence carried over from the night, or
    still the day's for one that began before the resident's bedtime); and the limits at night
    and in the morning."""
    calls_at, rule = next_call(summary, now)
    at = dt.datetime.fromtimestamp
    return {
        "last_movement_at": at(summary.last_movement, dt.UTC),
        "at_home": summary.at_home,
        "still_since": at(allowed_now(summary, now).still_since, dt.UTC),
        "calls_at": at(calls_at, dt.UTC) if summary.at_home else None,
        "limit_s": rule.limit,
        "learnt": rule.learnt,
        "night": rule.night,
        "morning": rule.morning,
        "evening": rule.evening,
        "night_limit_s": summary.night_limit,
        "morning_limit_s": summary.morning_limit,
        "night_from": night_from(summary),
        "updated_at": updated_at,
    }


def night_from(summary: InactivitySummary) -> str | None:
    """From what local clock time a stillness that begins is judged as the night's (the night
    limit), while one that began earlier is still held to the day limit of its hour: the bedtime
    learnt from the resident's nights (``InactivitySummary.bedtime_from``, seconds after their
    wake hour), or their sleep hour when they were never seen going to bed before it. None
    while it is not learnt (their first ten nights), when a stillness that began by day is
    judged by the night limit from the sleep hour, as it was for everyone before. The
    resident's own clock, as their night hours are."""
    bedtime = summary.bedtime_from
    if bedtime is None:
        return None
    at = (summary.wake_hour * 3600 + bedtime) % 86400 if math.isfinite(bedtime) \
        else summary.sleep_hour * 3600
    minutes = int(at // 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
