"""REST routes for everyday service tickets (issue 9): open, list within scope, one ticket with
its timeline, the lifecycle steps, the providers, and their administration. The rules (who may
take which step from which status, where a ticket is routed) are alerts.services'.

Who sees a ticket: the centre every ticket; bureau and grid staff those of their grid subtree;
provider staff their own organisation's; family their elder's; care staff their home's. A ticket
a user may not see is answered 404, as if it did not exist.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from pydantic import AwareDatetime, BaseModel, Field

from alerts import services
from alerts.lifecycle import CENTRE_ROLES
from console.admin import Admin, Id, refusals
from console.admin import PathId as AdminPathId
from console.auth import CurrentUser
from console.scope import CIVIL_ROLES, resident_visible, scope_of
from store import admin as store_admin
from store import org
from store import providers as store_providers
from store import residents as store_residents
from store import tickets as store_tickets
from store.errors import Conflict, NotFound

router = APIRouter(prefix="/api/v1", tags=["tickets"])

TicketId = Annotated[int, Path(ge=1, le=2**62, description="service ticket id")]
TicketType = Literal["meal", "housekeeping", "repair", "companionship", "medical_escort", "other"]
Status = Literal["open", "assigned", "accepted", "visit_started", "visit_finished", "rated",
                 "cancelled"]
assert set(TicketType.__args__) == set(services.TYPES)  # type: ignore[attr-defined]
assert set(Status.__args__) == set(services.STATUSES)  # type: ignore[attr-defined]
Lat = Annotated[float, Field(ge=-90, le=90)]
Lon = Annotated[float, Field(ge=-180, le=180)]
Notes = Annotated[str, Field(max_length=2000)]
Email = Annotated[str, Field(max_length=200, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class TicketIn(BaseModel):
    resident_id: Id
    type: TicketType
    notes: Notes = ""
    requested_for: AwareDatetime | None = None


class Visit(BaseModel):
    lat: Lat | None = None
    lon: Lon | None = None


class Finish(Visit):
    notes: Notes = ""


class Rating(BaseModel):
    rating: Annotated[int, Field(ge=1, le=5)]
    comment: Notes = ""


class Cancel(BaseModel):
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class Assign(BaseModel):
    provider_id: Id


def ticket_visible(user: dict[str, Any], ticket: dict[str, Any]) -> bool:
    if user["role"] == "provider":
        return user.get("provider_id") is not None and ticket["provider_id"] == user["provider_id"]
    return resident_visible(user, {"id": ticket["resident_id"], "site_id": ticket["site_id"],
                                   "node_path": ticket["node_path"]})


async def _visible(conn: Any, user: dict[str, Any], ticket_id: int) -> dict[str, Any]:
    try:
        ticket = await store_tickets.ticket(conn, ticket_id)
    except NotFound:
        raise HTTPException(404, f"no service ticket {ticket_id}") from None
    if not ticket_visible(user, ticket):
        raise HTTPException(404, f"no service ticket {ticket_id}")
    return ticket


@router.post("/tickets", status_code=201)
async def open_ticket(request: Request, user: CurrentUser, body: TicketIn) -> dict[str, Any]:
    """A call logged by the centre or grid staff, or a request from the family."""
    if user["role"] not in services.OPENED_BY:
        raise HTTPException(403, f"a {user['role']} cannot open a service ticket")
    async with request.app.state.pool.connection() as conn:
        try:
            resident = await store_residents.profile(conn, body.resident_id)
        except NotFound:
            raise HTTPException(404, f"no resident {body.resident_id}") from None
        if not resident_visible(user, resident):
            raise HTTPException(404, f"no resident {body.resident_id}")
        ticket_id = await services.open_ticket(
            conn, resident_id=body.resident_id, ticket_type=body.type, role=user["role"],
            actor=user["username"], notes=body.notes, requested_for=body.requested_for)
        ticket = await store_tickets.ticket(conn, ticket_id)
    return {"ticket": jsonable_encoder(ticket)}


@router.get("/tickets")
async def list_tickets(request: Request, user: CurrentUser,
                       status: Annotated[list[Status] | None, Query()] = None,
                       type: TicketType | None = None,
                       node: Annotated[str | None, Query(max_length=64)] = None) -> dict[str, Any]:
    """Newest first; ``status`` may repeat; ``node`` narrows to a part of the user's subtree."""
    filters: dict[str, Any]
    if user["role"] == "provider":
        filters = {"provider_id": user.get("provider_id") or "-"}
    else:
        filters = scope_of(user).filters()
    async with request.app.state.pool.connection() as conn:
        if node is not None:
            if not ("node_id" in filters or scope_of(user).everything):
                raise HTTPException(403, "your scope is not a grid node")
            if "node_id" in filters and not await org.contains(conn, filters["node_id"], node):
                raise HTTPException(404, f"no org node {node} in your scope")
            filters["node_id"] = node
        rows = await store_tickets.listing(conn, status=status or (), ticket_type=type, **filters)
    return {"tickets": jsonable_encoder(rows)}


@router.get("/tickets/{ticket_id}")
async def ticket_detail(request: Request, user: CurrentUser,
                        ticket_id: TicketId) -> dict[str, Any]:
    async with request.app.state.pool.connection() as conn:
        ticket = await _visible(conn, user, ticket_id)
        timeline = await store_tickets.timeline(conn, ticket_id)
    return {"ticket": jsonable_encoder(ticket), "timeline": jsonable_encoder(timeline)}


async def _step(request: Request, user: dict[str, Any], ticket_id: int, action: str,
                given: services.StepInput) -> dict[str, Any]:
    async with request.app.state.pool.connection() as conn:
        await _visible(conn, user, ticket_id)
        try:
            ticket = await services.apply(conn, ticket_id, action=action, user=user, given=given)
        except PermissionError as err:
            raise HTTPException(403, str(err)) from None
        except services.StepError as err:
            raise HTTPException(422, str(err)) from None
        except Conflict as err:
            raise HTTPException(409, str(err)) from None
    return {"ticket": jsonable_encoder(ticket)}


@router.post("/tickets/{ticket_id}/accept")
async def accept(request: Request, user: CurrentUser, ticket_id: TicketId) -> dict[str, Any]:
    return await _step(request, user, ticket_id, "accept", services.StepInput())


@router.post("/tickets/{ticket_id}/start")
async def start(request: Request, user: CurrentUser, ticket_id: TicketId,
                body: Visit | None = None) -> dict[str, Any]:
    body = body or Visit()
    return await _step(request, user, ticket_id, "start",
                       services.StepInput(lat=body.lat, lon=body.lon))


@router.post("/tickets/{ticket_id}/finish")
async def finish(request: Request, user: CurrentUser, ticket_id: TicketId,
                 body: Finish | None = None) -> dict[str, Any]:
    body = body or Finish()
    return await _step(request, user, ticket_id, "finish",
                       services.StepInput(lat=body.lat, lon=body.lon, notes=body.notes))


@router.post("/tickets/{ticket_id}/rate")
async def rate(request: Request, user: CurrentUser, ticket_id: TicketId,
               body: Rating) -> dict[str, Any]:
    return await _step(request, user, ticket_id, "rate",
                       services.StepInput(rating=body.rating, comment=body.comment))


@router.post("/tickets/{ticket_id}/cancel")
async def cancel(request: Request, user: CurrentUser, ticket_id: TicketId,
                 body: Cancel) -> dict[str, Any]:
    return await _step(request, user, ticket_id, "cancel", services.StepInput(reason=body.reason))


@router.post("/tickets/{ticket_id}/assign")
async def assign(request: Request, user: CurrentUser, ticket_id: TicketId,
                 body: Assign) -> dict[str, Any]:
    return await _step(request, user, ticket_id, "assign",
                       services.StepInput(provider_id=body.provider_id))


@router.get("/providers")
async def list_providers(request: Request, user: CurrentUser) -> dict[str, Any]:
    """The centre sees every provider, civil staff those serving their subtree, provider staff
    their own organisation."""
    role = user["role"]
    async with request.app.state.pool.connection() as conn:
        if role in CENTRE_ROLES:
            rows = await store_providers.listing(conn)
        elif role in CIVIL_ROLES:
            rows = await store_providers.listing(conn, node_id=user.get("scope_node") or "-")
        elif role == "provider":
            rows = await store_providers.listing(conn, provider_id=user.get("provider_id") or "-")
        else:
            raise HTTPException(403, f"a {role} does not choose service providers")
    return {"providers": jsonable_encoder(rows)}


# -- administration ------------------------------------------------------------------------------

class ProviderIn(BaseModel):
    id: Id
    name: Annotated[str, Field(min_length=1, max_length=200)]
    phone: Annotated[str, Field(max_length=32)] = ""
    email: Email = ""
    types: Annotated[list[TicketType], Field(min_length=1)]
    active: bool = True


class ProviderChange(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    phone: Annotated[str, Field(max_length=32)] | None = None
    email: Email | None = None
    types: Annotated[list[TicketType], Field(min_length=1)] | None = None
    active: bool | None = None


class AreaIn(BaseModel):
    node_id: Id


class DeviceService(BaseModel):
    """Which presses of the device ask for a service (docs/services.md)."""

    service_press: Literal["none", "second_key", "double_press"]
    service_type: TicketType = "other"


async def _provider_call(request: Request, call: Any, *args: Any) -> dict[str, Any]:
    async with request.app.state.pool.connection() as conn:
        with refusals():
            row = await call(conn, *args)
    return {"provider": jsonable_encoder(row)}


@router.post("/admin/providers", status_code=201)
async def add_provider(request: Request, user: Admin, body: ProviderIn) -> dict[str, Any]:
    return await _provider_call(request, store_providers.add, body.model_dump())


@router.put("/admin/providers/{provider_id}")
async def change_provider(request: Request, user: Admin, provider_id: AdminPathId,
                          body: ProviderChange) -> dict[str, Any]:
    values = body.model_dump(exclude_unset=True)
    if not values:
        raise HTTPException(422, "nothing to change")
    return await _provider_call(request, store_providers.update, provider_id, values)


@router.post("/admin/providers/{provider_id}/areas", status_code=201)
async def add_area(request: Request, user: Admin, provider_id: AdminPathId,
                   body: AreaIn) -> dict[str, Any]:
    return await _provider_call(request, store_providers.add_area, provider_id, body.node_id)


@router.delete("/admin/providers/{provider_id}/areas/{node_id}")
async def remove_area(request: Request, user: Admin, provider_id: AdminPathId,
                      node_id: AdminPathId) -> dict[str, Any]:
    return await _provider_call(request, store_providers.remove_area, provider_id, node_id)


@router.put("/admin/devices/{device_id}/service")
async def device_service(request: Request, user: Admin, device_id: AdminPathId,
                         body: DeviceService) -> dict[str, Any]:
    """A running ingest takes it at once (``NOTIFY registry``, migration 0014)."""
    async with request.app.state.pool.connection() as conn:
        with refusals():
            row = await store_admin.update(conn, "devices", device_id, body.model_dump())
    return {"device": jsonable_encoder(row)}
