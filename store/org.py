"""The civil-affairs grid: city -> district -> street -> community, and where things sit in it.

A node's ``path`` (ids from the root down to it) is kept by the database (migration 0010), so
"inside node X" is ``X = ANY(path)`` everywhere: in scope checks, in reports and in roll-ups.
Residents move between nodes with :func:`move_resident`; the database records every move
(``resident_moves``), and the resident's alarms, incidents, readings and tickets stay theirs.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from store.errors import Conflict, Invalid, NotFound

LEVELS = ("city", "district", "street", "community")

_NODE = "SELECT id, parent_id, level, name, code, path FROM org_nodes"


def inside(column: str, param: str = "%(node)s") -> sql.Composable:
    """SQL: the node in ``column`` lies in the subtree of the node bound to ``param``.

    >>> print(inside("r.node_id").as_string(None))
    r.node_id IN (SELECT id FROM org_nodes WHERE %(node)s = ANY(path))
    """
    return sql.SQL("{} IN (SELECT id FROM org_nodes WHERE {} = ANY(path))").format(
        sql.SQL(column), sql.SQL(param))


async def _rows(conn: psycopg.AsyncConnection[Any], query: str | sql.Composed,
                args: Any = None) -> list[dict[str, Any]]:
    return [dict(r) for r in await (await conn.execute(query, args)).fetchall()]


async def node(conn: psycopg.AsyncConnection[Any], node_id: str) -> dict[str, Any]:
    rows = await _rows(conn, _NODE + " WHERE id = %s", (node_id,))
    if not rows:
        raise NotFound(f"no org node {node_id}")
    return rows[0]


async def subtree(conn: psycopg.AsyncConnection[Any], root: str | None) -> list[dict[str, Any]]:
    """Every node under ``root`` (itself included; None: the whole grid), parents before children."""
    if root is None:
        return await _rows(conn, _NODE + " ORDER BY array_length(path, 1), name, id")
    return await _rows(conn, _NODE + " WHERE %s = ANY(path) ORDER BY array_length(path, 1), name, id",
                       (root,))


async def ancestors(conn: psycopg.AsyncConnection[Any], node_id: str) -> list[dict[str, Any]]:
    """From the root down to ``node_id``, inclusive."""
    path = (await node(conn, node_id))["path"]
    by_id = {r["id"]: r for r in await _rows(conn, _NODE + " WHERE id = ANY(%s)", (path,))}
    return [by_id[i] for i in path]


async def contains(conn: psycopg.AsyncConnection[Any], outer: str, inner: str | None) -> bool:
    """True when node ``inner`` lies in the subtree of ``outer``."""
    if inner is None:
        return False
    cur = await conn.execute("SELECT %s = ANY(path) FROM org_nodes WHERE id = %s", (outer, inner))
    row = await cur.fetchone()
    return bool(row is not None and next(iter(_values(row))))


def _values(row: Any) -> list[Any]:
    return list(row.values()) if isinstance(row, dict) else list(row)


async def add(conn: psycopg.AsyncConnection[Any], *, id: str, level: str, name: str,
              parent_id: str | None = None, code: str = "") -> dict[str, Any]:
    if level not in LEVELS:
        raise Invalid(f"level must be one of {', '.join(LEVELS)}")
    try:
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO org_nodes (id, parent_id, level, name, code) VALUES (%s, %s, %s, %s, %s)",
                (id, parent_id, level, name, code))
    except psycopg.errors.UniqueViolation:
        raise Conflict(f"org node {id} exists") from None
    except psycopg.errors.ForeignKeyViolation:
        raise Invalid(f"no parent node {parent_id}") from None
    except psycopg.errors.RaiseException as err:
        raise Invalid(str(err.diag.message_primary)) from None
    return await node(conn, id)


async def move_resident(conn: psycopg.AsyncConnection[Any], *, resident_id: str, site_id: str,
                        node_id: str | None, actor: str, reason: str) -> dict[str, Any]:
    """Move a resident to another site (and node; by default the new site's). The move is
    recorded by the database with ``actor`` and ``reason``; history stays with the resident."""
    try:
        async with conn.transaction():
            await conn.execute("SELECT set_config('eldercare.actor', %s, true),"
                               " set_config('eldercare.reason', %s, true)", (actor, reason))
            cur = await conn.execute(
                "UPDATE residents SET site_id = %(site)s, room_id = NULL,"
                " node_id = coalesce(%(node)s, (SELECT node_id FROM sites WHERE id = %(site)s)),"
                " care_setting = (SELECT kind FROM sites WHERE id = %(site)s)"
                " WHERE id = %(resident)s RETURNING id",
                {"site": site_id, "node": node_id, "resident": resident_id})
            if await cur.fetchone() is None:
                raise NotFound(f"no resident {resident_id}")
    except psycopg.errors.ForeignKeyViolation:
        raise Invalid(f"no site {site_id} or no node {node_id}") from None
    except psycopg.errors.NotNullViolation:
        raise Invalid(f"no site {site_id}") from None
    except psycopg.errors.RaiseException as err:
        raise Invalid(str(err.diag.message_primary)) from None
    return {"moves": await moves(conn, resident_id)}


async def moves(conn: psycopg.AsyncConnection[Any], resident_id: str) -> list[dict[str, Any]]:
    return await _rows(conn, "SELECT at, from_node, to_node, from_site, to_site, actor, reason"
                             " FROM resident_moves WHERE resident_id = %s ORDER BY at, id",
                       (resident_id,))
