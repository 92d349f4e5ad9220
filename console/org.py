"""REST routes for the civil-affairs grid: the tree a user may see, adding nodes (admin), and
moving a resident between sites and nodes (admin, or grid staff within their own subtree)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.encoders import jsonable_encoder
from psycopg.types.json import Jsonb
from pydantic import BaseModel, Field

from console.admin import Admin, Id
from console.auth import CurrentUser
from console.scope import resident_visible, scope_of
from store import org
from store import residents as store_residents
from store.errors import Conflict, Invalid, NotFound

router = APIRouter(prefix="/api/v1", tags=["org"])
PathId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


class NodeIn(BaseModel):
    id: Id
    parent_id: Id | None = None
    level: Literal["city", "district", "street", "community"]
    name: Annotated[str, Field(min_length=1, max_length=100)]
    code: Annotated[str, Field(max_length=32)] = ""


class MoveIn(BaseModel):
    site_id: Id
    node_id: Id | None = None
    reason: Annotated[str, Field(min_length=1, max_length=500)]


@router.get("/org")
async def tree(request: Request, user: CurrentUser) -> dict[str, Any]:
    """The user's subtree (everything for the centre), and the path above it for breadcrumbs."""
    scope = scope_of(user)
    if not (scope.everything or scope.node):
        raise HTTPException(403, "your scope is not a grid node")
    async with request.app.state.pool.connection() as conn:
        try:
            above = [] if scope.node is None else (await org.ancestors(conn, scope.node))[:-1]
        except NotFound:
            raise HTTPException(404, f"your scope node {scope.node} does not exist") from None
        nodes = await org.subtree(conn, scope.node)
    return {"root": scope.node, "above": jsonable_encoder(above), "nodes": jsonable_encoder(nodes)}


@router.post("/admin/org", status_code=201)
async def add_node(request: Request, user: Admin, body: NodeIn) -> dict[str, Any]:
    async with request.app.state.pool.connection() as conn:
        try:
            row = await org.add(conn, **body.model_dump())
        except Conflict as err:
            raise HTTPException(409, str(err)) from None
        except Invalid as err:
            raise HTTPException(422, str(err)) from None
    return {"node": jsonable_encoder(row)}


async def _visible_resident(conn: Any, user: dict[str, Any], resident_id: str) -> dict[str, Any]:
    try:
        resident = await store_residents.profile(conn, resident_id)
    except NotFound:
        raise HTTPException(404, f"no resident {resident_id}") from None
    if not resident_visible(user, resident):
        raise HTTPException(404, f"no resident {resident_id}")
    return resident


@router.post("/residents/{resident_id}/move")
async def move(request: Request, user: CurrentUser, resident_id: PathId,
               body: MoveIn) -> dict[str, Any]:
    """Move a resident (a new home, a care home). Grid staff may move only within their subtree:
    both where the resident is and where they go must be inside it."""
    if user["role"] not in ("admin", "grid_staff"):
        raise HTTPException(403, "only administrators and grid staff move residents")
    async with request.app.state.pool.connection() as conn:
        await _visible_resident(conn, user, resident_id)
        site = await (await conn.execute("SELECT node_id FROM sites WHERE id = %s",
                                         (body.site_id,))).fetchone()
        if site is None:
            raise HTTPException(422, f"no site {body.site_id}")
        target = body.node_id or site["node_id"]
        scope = scope_of(user)
        if scope.node and not await org.contains(conn, scope.node, target):
            raise HTTPException(403, "the destination is outside your scope")
        try:
            result = await org.move_resident(conn, resident_id=resident_id, site_id=body.site_id,
                                              node_id=body.node_id, actor=user["username"],
                                              reason=body.reason)
        except Invalid as err:
            raise HTTPException(422, str(err)) from None
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO audit (actor, action, target, details) VALUES (%s, %s, %s, %s)",
                (user["username"], "move_resident", f"resident:{resident_id}",
                 Jsonb({"site_id": body.site_id, "node_id": target, "reason": body.reason})))
    return dict(jsonable_encoder(result))


@router.get("/residents/{resident_id}/moves")
async def moves(request: Request, user: CurrentUser, resident_id: PathId) -> dict[str, Any]:
    async with request.app.state.pool.connection() as conn:
        await _visible_resident(conn, user, resident_id)
        return {"moves": jsonable_encoder(await org.moves(conn, resident_id))}
