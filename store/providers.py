"""Service provider organisations and the grid nodes they serve (a node covers its subtree)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql

from store.errors import Conflict, Invalid, NotFound

_VIEW = """
SELECT p.id, p.name, p.phone, p.email, p.types, p.active,
       coalesce(array_agg(pa.node_id ORDER BY pa.node_id) FILTER (WHERE pa.node_id IS NOT NULL),
                '{}') AS areas
FROM service_providers p LEFT JOIN provider_areas pa ON pa.provider_id = p.id
"""


def _translate(err: psycopg.Error, what: str) -> Exception:
    if isinstance(err, pg_errors.UniqueViolation):
        return Conflict(f"{what} already exists")
    if isinstance(err, pg_errors.ForeignKeyViolation):
        detail = err.diag.message_detail or str(err)
        return Invalid(detail.replace("Key ", "").replace("=", " ").strip())
    if isinstance(err, pg_errors.CheckViolation | pg_errors.NotNullViolation
                  | pg_errors.DataError):
        return Invalid(err.diag.message_primary or str(err))
    return err


async def provider(conn: psycopg.AsyncConnection[Any], provider_id: str) -> dict[str, Any]:
    cur = await conn.execute(_VIEW + " WHERE p.id = %s GROUP BY p.id", (provider_id,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no service provider {provider_id}")
    return dict(row)


async def listing(conn: psycopg.AsyncConnection[Any], *, node_id: str | None = None,
                  provider_id: str | None = None) -> list[dict[str, Any]]:
    """All providers; or those serving some part of ``node_id``'s subtree (an area inside it or
    above it); or the one ``provider_id``."""
    where: sql.Composable = sql.SQL("true")
    if node_id is not None:
        where = sql.SQL(
            "p.id IN (SELECT pa2.provider_id FROM provider_areas pa2"
            " JOIN org_nodes n ON n.id = pa2.node_id"
            " WHERE %(node)s = ANY(n.path)"
            "    OR EXISTS (SELECT 1 FROM org_nodes s WHERE s.id = %(node)s"
            "               AND pa2.node_id = ANY(s.path)))")
    if provider_id is not None:
        where = sql.SQL("{} AND p.id = %(provider)s").format(where)
    cur = await conn.execute(
        sql.SQL("{} WHERE {} GROUP BY p.id ORDER BY p.id").format(sql.SQL(_VIEW), where),
        {"node": node_id, "provider": provider_id})
    return [dict(r) for r in await cur.fetchall()]


async def add(conn: psycopg.AsyncConnection[Any], values: Mapping[str, Any]) -> dict[str, Any]:
    query = sql.SQL("INSERT INTO service_providers ({}) VALUES ({})").format(
        sql.SQL(", ").join(map(sql.Identifier, values)),
        sql.SQL(", ").join(sql.Placeholder() * len(values)))
    try:
        async with conn.transaction():
            await conn.execute(query, tuple(values.values()))
    except psycopg.Error as err:
        raise _translate(err, f"service provider {values.get('id')}") from None
    return await provider(conn, str(values["id"]))


async def update(conn: psycopg.AsyncConnection[Any], provider_id: str,
                 values: Mapping[str, Any]) -> dict[str, Any]:
    query = sql.SQL("UPDATE service_providers SET {} WHERE id = %s RETURNING id").format(
        sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(k)) for k in values))
    try:
        async with conn.transaction():
            row = await (await conn.execute(query, (*values.values(), provider_id))).fetchone()
    except psycopg.Error as err:
        raise _translate(err, f"service provider {provider_id}") from None
    if row is None:
        raise NotFound(f"no service provider {provider_id}")
    return await provider(conn, provider_id)


async def add_area(conn: psycopg.AsyncConnection[Any], provider_id: str,
                   node_id: str) -> dict[str, Any]:
    try:
        async with conn.transaction():
            await conn.execute("INSERT INTO provider_areas (provider_id, node_id) VALUES (%s, %s)"
                               " ON CONFLICT DO NOTHING", (provider_id, node_id))
    except psycopg.Error as err:
        raise _translate(err, f"area {node_id}") from None
    return await provider(conn, provider_id)


async def remove_area(conn: psycopg.AsyncConnection[Any], provider_id: str,
                      node_id: str) -> dict[str, Any]:
    async with conn.transaction():
        await conn.execute("DELETE FROM provider_areas WHERE provider_id = %s AND node_id = %s",
                           (provider_id, node_id))
    return await provider(conn, provider_id)
