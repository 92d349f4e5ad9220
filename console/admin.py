"""Administration: residents, contacts, devices (register, assign, retire), sites and users,
with validation and clear messages, and bulk import from CSV with a per-row error report."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.encoders import jsonable_encoder
from psycopg.types.json import Jsonb
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    Field,
    ValidationError,
    model_validator,
)

from console.auth import CurrentUser, hash_password
from detection.zones import known_zone
from store import admin as store_admin
from store.errors import Conflict, Invalid, NotFound

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
PathId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
Text = Annotated[str, Field(max_length=500)]
CareSetting = Literal["home", "day_care", "care_home"]
Need = Literal["high_age", "empty_nest", "living_alone", "disabled", "partly_disabled", "low_income",
               "five_guarantee"]
BloodType = Literal["", "A", "B", "AB", "O", "A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-"]


def _known_zone(tz: str) -> str:
    known_zone(tz)
    return tz


TimeZone = Annotated[str, Field(max_length=64), AfterValidator(_known_zone)]
Radius = Annotated[float, Field(ge=50, le=5000)]
"""A safe place's radius in metres (migration 0031): under 50 m a phone's fix wanders out of it
indoors; over 5 km it is no longer a fence."""
Hour = Annotated[int, Field(ge=0, le=23)]
"""A local hour, 0-23: a resident's own night (``asleep_from``, ``up_by``; migration 0017)."""


def _whole_night(asleep_from: int | None, up_by: int | None) -> None:
    if (asleep_from is None) != (up_by is None):
        raise ValueError("asleep_from and up_by are set together: both hours, or neither "
                         "(the centre's night)")
    if asleep_from is not None and asleep_from == up_by:
        raise ValueError("asleep_from and up_by cannot be the same hour")


async def admin_user(user: CurrentUser) -> dict[str, Any]:
    if user["role"] != "admin":
        raise HTTPException(403, "administrators only")
    return user


Admin = Annotated[dict[str, Any], Depends(admin_user)]
router = APIRouter(prefix="/api/v1/admin", tags=["admin"])


class SiteIn(BaseModel):
    id: Id
    kind: Literal["home", "day_care", "care_home"]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    address: Text = ""
    community: Text = ""
    tz: TimeZone = "Asia/Shanghai"
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180)] | None = None
    node_id: Id | None = None


class ResidentIn(BaseModel):
    id: Id
    site_id: Id
    name: Annotated[str, Field(min_length=1, max_length=100)]
    room_id: Id | None = None
    birth_year: Annotated[int, Field(ge=1900, le=2100)] | None = None
    sex: Literal["F", "M", "X"] | None = None
    phone: Annotated[str, Field(max_length=32)] = ""
    lang: Literal["zh-CN", "en"] = "zh-CN"
    conditions: list[Annotated[str, Field(max_length=100)]] = []
    medications: list[Annotated[str, Field(max_length=100)]] = []
    mobility: Text = ""
    notes: Annotated[str, Field(max_length=2000)] = ""
    node_id: Id | None = None
    care_setting: CareSetting | None = None
    needs: list[Need] = []
    allergies: list[Annotated[str, Field(max_length=100)]] = []
    blood_type: BloodType = ""
    doctor: Annotated[str, Field(max_length=200)] = ""
    doctor_phone: Annotated[str, Field(max_length=32)] = ""
    asleep_from: Hour | None = None
    up_by: Hour | None = None
    """The resident's own night, if it is not the centre's (22:00 to 07:00): judged by the
    night's inactivity limit from ``asleep_from``, the day's allowance counted from ``up_by``."""
    safe_radius_m: Radius | None = None
    """The safe circle around their home; None: the default (``detection.geofence.DEFAULT_RADIUS_M``)."""

    @model_validator(mode="after")
    def _night(self) -> ResidentIn:
        _whole_night(self.asleep_from, self.up_by)
        return self


class ResidentChange(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    room_id: Id | None = None
    phone: Annotated[str, Field(max_length=32)] | None = None
    conditions: list[str] | None = None
    medications: list[str] | None = None
    mobility: Text | None = None
    notes: Annotated[str, Field(max_length=2000)] | None = None
    routing: dict[str, Any] | None = None
    care_setting: CareSetting | None = None
    needs: list[Need] | None = None
    allergies: list[Annotated[str, Field(max_length=100)]] | None = None
    blood_type: BloodType | None = None
    doctor: Annotated[str, Field(max_length=200)] | None = None
    doctor_phone: Annotated[str, Field(max_length=32)] | None = None
    asleep_from: Hour | None = None
    up_by: Hour | None = None
    """Sent together; both null gives the resident the centre's night again."""
    safe_radius_m: Radius | None = None
    """Null gives the home the default safe radius again."""

    @model_validator(mode="after")
    def _night(self) -> ResidentChange:
        sent = {"asleep_from", "up_by"} & self.model_fields_set
        if sent == {"asleep_from"} or sent == {"up_by"}:
            raise ValueError("asleep_from and up_by are changed together")
        if sent:
            _whole_night(self.asleep_from, self.up_by)
        return self


def _not_home(name: str) -> str:
    if name.strip().casefold() in {"home", "家"}:
        raise ValueError("the home is every resident's first safe place: set its radius"
                         " (safe_radius_m) on the resident instead")
    return name.strip()


class PlaceIn(BaseModel):
    """A safe place besides home: where the resident may be at any hour without its being a
    wandering (a daughter's flat they stay at, the day-care centre they go to)."""

    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]
    radius_m: Radius = 300.0
    ends_at: AwareDatetime | None = None
    """A stay's end ("until Sunday 18:00"), with its zone or offset; none: lasting. Past it the
    geofence no longer counts the place (migration 0032)."""

    @model_validator(mode="after")
    def ends_later(self) -> PlaceIn:
        if self.ends_at is not None and self.ends_at <= dt.datetime.now(dt.UTC):
            raise ValueError("ends_at is in the past: a stay that has ended is no safe place")
        return self


PlaceName = Annotated[str, Path(min_length=1, max_length=100), AfterValidator(_not_home)]


class ContactIn(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    relation: Annotated[str, Field(min_length=1, max_length=50)]
    phone: Annotated[str, Field(max_length=32)] = ""
    email: Annotated[str, Field(max_length=200, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")] = ""
    lang: Literal["zh-CN", "en"] = "zh-CN"
    priority: Annotated[int, Field(ge=1, le=9)] = 1
    keyholder: bool = False


class DeviceIn(BaseModel):
    id: Id
    site_id: Id
    kind: Literal["button", "smoke", "wearable", "gateway", "radar", "door", "pir", "bed", "kiosk"]
    model: Text = ""
    resident_id: Id | None = None
    room_id: Id | None = None
    service_press: Literal["none", "second_key", "double_press"] = "none"
    service_type: Literal["meal", "housekeeping", "repair", "companionship", "medical_escort",
                          "other"] = "other"
    via: Id | None = None
    """The gateway at the same site it reaches the platform through (a home's zigbee button
    through the home gateway); None: it connects by itself (migration 0034)."""


class DeviceAssign(BaseModel):
    resident_id: Id | None = None
    room_id: Id | None = None


class UserIn(BaseModel):
    username: Id
    password: Annotated[str, Field(min_length=10, max_length=256)]
    role: Literal["operator", "supervisor", "care_staff", "family", "admin", "bureau", "grid_staff",
                  "provider"]
    display_name: Annotated[str, Field(min_length=1, max_length=100)]
    lang: Literal["zh-CN", "en"] = "zh-CN"
    scope_site: Id | None = None
    scope_resident: Id | None = None
    scope_node: Id | None = None
    provider_id: Id | None = None


_LISTS = {
    "sites": "id, kind, name, address, community, node_id",
    "residents": "id, site_id, room_id, name, birth_year, sex, phone, node_id, care_setting, needs",
    "devices": "id, site_id, kind, model, resident_id, room_id, battery, last_checkin, online,"
               " retired_at, service_press, service_type, via",
    "users": "username, role, display_name, lang, scope_site, scope_resident, scope_node,"
             " provider_id",
}


@contextlib.contextmanager
def refusals() -> Iterator[None]:
    """The store's refusals as the API's: no such record 404, already there 409, not valid
    422, each with the store's message."""
    try:
        yield
    except NotFound as err:
        raise HTTPException(404, str(err)) from None
    except Conflict as err:
        raise HTTPException(409, str(err)) from None
    except Invalid as err:
        raise HTTPException(422, str(err)) from None


async def _create(request: Request, table: str, values: dict[str, Any]) -> dict[str, Any]:
    async with request.app.state.pool.connection() as conn:
        with refusals():
            row = await store_admin.insert(conn, table, values)
    row.pop("password_hash", None)
    return dict(jsonable_encoder(row))


async def _update(request: Request, table: str, key: str, values: dict[str, Any]) -> dict[str, Any]:
    async with request.app.state.pool.connection() as conn:
        with refusals():
            row = await store_admin.update(conn, table, key, values)
    return dict(jsonable_encoder(row))


async def _list(request: Request, table: str) -> dict[str, Any]:
    async with request.app.state.pool.connection() as conn:
        return {table: jsonable_encoder(await store_admin.listing(conn, table, _LISTS[table]))}


def _user_values(body: UserIn) -> dict[str, Any]:
    if body.role == "care_staff" and body.scope_site is None:
        raise HTTPException(422, "care-home staff need scope_site (their home)")
    if body.role == "family" and body.scope_resident is None:
        raise HTTPException(422, "family members need scope_resident (their elder)")
    if body.role in ("bureau", "grid_staff") and body.scope_node is None:
        raise HTTPException(422, "bureau and grid staff need scope_node (their part of the grid)")
    if body.role == "provider" and body.provider_id is None:
        raise HTTPException(422, "provider staff need provider_id (their organisation)")
    values = body.model_dump(exclude={"password"})
    values["password_hash"] = hash_password(body.password)
    return values


@router.get("/sites")
async def list_sites(request: Request, user: Admin) -> dict[str, Any]:
    return await _list(request, "sites")


@router.post("/sites", status_code=201)
async def create_site(request: Request, user: Admin, body: SiteIn) -> dict[str, Any]:
    return {"site": await _create(request, "sites", body.model_dump())}


@router.get("/residents")
async def list_residents(request: Request, user: Admin) -> dict[str, Any]:
    return await _list(request, "residents")


@router.post("/residents", status_code=201)
async def create_resident(request: Request, user: Admin, body: ResidentIn) -> dict[str, Any]:
    return {"resident": await _create(request, "residents", body.model_dump())}


@router.put("/residents/{resident_id}")
async def change_resident(request: Request, user: Admin, resident_id: PathId,
                          body: ResidentChange) -> dict[str, Any]:
    values = body.model_dump(exclude_unset=True)
    if not values:
        raise HTTPException(422, "nothing to change")
    if "routing" in values:
        values["routing"] = Jsonb(values["routing"])
    return {"resident": await _update(request, "residents", resident_id, values)}


@router.post("/residents/{resident_id}/contacts", status_code=201)
async def add_contact(request: Request, user: Admin, resident_id: PathId,
                      body: ContactIn) -> dict[str, Any]:
    return {"contact": await _create(request, "contacts",
                                     {"resident_id": resident_id, **body.model_dump()})}


@router.get("/residents/{resident_id}/places")
async def list_places(request: Request, user: Admin, resident_id: PathId) -> dict[str, Any]:
    async with request.app.state.pool.connection() as conn:
        with refusals():
            return {"places": jsonable_encoder(await store_admin.places(conn, resident_id))}


@router.put("/residents/{resident_id}/places/{name:path}")
async def set_place(request: Request, user: Admin, resident_id: PathId, name: PlaceName,
                    body: PlaceIn) -> dict[str, Any]:
    """Add a safe place, or move or resize the one of that name. A running ingest takes it at
    once (``NOTIFY registry``)."""
    async with request.app.state.pool.connection() as conn:
        with refusals():
            row = await store_admin.set_place(conn, resident_id, name, lat=body.lat, lon=body.lon,
                                              radius_m=body.radius_m, by=user["username"],
                                              ends_at=body.ends_at)
    return {"place": jsonable_encoder(row)}


@router.delete("/residents/{resident_id}/places/{name:path}")
async def remove_place(request: Request, user: Admin, resident_id: PathId,
                       name: PlaceName) -> dict[str, Any]:
    async with request.app.state.pool.connection() as conn:
        with refusals():
            await store_admin.remove_place(conn, resident_id, name)
    return {"removed": name}


@router.get("/devices")
async def list_devices(request: Request, user: Admin) -> dict[str, Any]:
    return await _list(request, "devices")


@router.post("/devices", status_code=201)
async def register_device(request: Request, user: Admin, body: DeviceIn) -> dict[str, Any]:
    return {"device": await _create(request, "devices", body.model_dump())}


@router.put("/devices/{device_id}")
async def assign_device(request: Request, user: Admin, device_id: PathId,
                        body: DeviceAssign) -> dict[str, Any]:
    return {"device": await _update(request, "devices", device_id, body.model_dump())}


@router.post("/devices/{device_id}/retire")
async def retire_device(request: Request, user: Admin, device_id: PathId) -> dict[str, Any]:
    async with request.app.state.pool.connection() as conn:
        with refusals():
            row = await store_admin.retire_device(conn, device_id)
    return {"device": jsonable_encoder(row)}


@router.get("/users")
async def list_users(request: Request, user: Admin) -> dict[str, Any]:
    return await _list(request, "users")


@router.post("/users", status_code=201)
async def create_user(request: Request, user: Admin, body: UserIn) -> dict[str, Any]:
    return {"user": await _create(request, "users", _user_values(body))}


_IMPORTS: dict[str, tuple[type[BaseModel], str]] = {
    "residents": (ResidentIn, "residents"),
    "devices": (DeviceIn, "devices"),
}
MAX_IMPORT_BYTES = 2 * 1024 * 1024


@router.post("/import/{what}")
async def import_csv(request: Request, user: Admin,
                     what: Literal["residents", "devices"]) -> dict[str, Any]:
    """Body: CSV with a header row. Each good row is created; each bad row is reported with its
    line number and reason, and the others still go in."""
    raw = await request.body()
    if len(raw) > MAX_IMPORT_BYTES:
        raise HTTPException(413, f"CSV over {MAX_IMPORT_BYTES // 1024} KiB; split it")
    try:
        text = raw.decode("utf-8-sig")  # spreadsheets often save UTF-8 with a BOM
    except UnicodeDecodeError:
        raise HTTPException(422, "the CSV is not UTF-8 text") from None
    model, table = _IMPORTS[what]
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise HTTPException(422, "the CSV has no header row")
    unknown = set(reader.fieldnames) - set(model.model_fields)
    if unknown:
        raise HTTPException(422, f"unknown columns: {', '.join(sorted(unknown))}")
    created, errors = 0, []
    async with request.app.state.pool.connection() as conn:
        for line, record in enumerate(reader, start=2):
            values = {k: v for k, v in record.items() if k is not None and v not in ("", None)}
            try:
                row = model.model_validate(values)
                await store_admin.insert(conn, table, row.model_dump())
                created += 1
            except ValidationError as err:
                errors.append({"row": line, "message": "; ".join(
                    f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())})
            except (Conflict, Invalid) as err:
                errors.append({"row": line, "message": str(err)})
    return {"created": created, "errors": errors}
