"""Incidents in PostgreSQL: the queue, one incident with its alarms and timeline, guarded state
changes, due timers and the timestamps KPIs are computed from. SQL only; the rules are alerts/'s.

An incident's ``room_name`` is where staff go: the room of its first alarm's device (a pull cord,
a room's smoke detector), else its resident's own room (a pendant or a watch goes where they
go), else none."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from store.batch import ALARM_CHANNEL, notify_incident
from store.errors import Conflict, NotFound

_VIEW = """
SELECT i.id, i.kind, i.priority, i.status, i.route, i.site_id, s.name AS site_name, s.kind AS site_kind,
       s.community AS site_community,
       i.resident_id, p.name AS resident_name, i.floor, i.opened_at, i.last_alarm_at, i.alarm_count,
       i.family_until, i.claimed_by, i.claimed_at, i.first_claimed_at, i.dispatched_at,
       i.dispatched_to, i.on_site_at, i.resolved_at, i.outcome, i.escalation_level,
       i.help_missing, i.next_timer_at, i.centre_from,
       (SELECT min(a.id) FROM alarms a WHERE a.incident_id = i.id) AS first_alarm_id,
       -- how long, at most, its alarms of a device's own event (a press, smoke) took to reach
       -- the centre, in seconds (held in a cut line's spool, say: a press that joins the
       -- welfare check its elder's cut line opened; console/static/detail.js)
       (SELECT max(extract(epoch FROM a.raised_at - a.occurred_at)) FROM alarms a
         WHERE a.incident_id = i.id AND a.details ? 'event') AS late_s,
       -- the community's outage its alarms are part of (an elder's welfare check when many
       -- homes' gateways of the community are down together: ingest/welfare.py)
       (SELECT a.details ->> 'area_outage' FROM alarms a
         WHERE a.incident_id = i.id AND a.details ? 'area_outage' ORDER BY a.id LIMIT 1)
         AS area_outage,
       COALESCE((SELECT rm.name FROM alarms a JOIN rooms rm ON rm.id = a.room_id
                 WHERE a.incident_id = i.id ORDER BY a.id LIMIT 1),
                (SELECT rm.name FROM rooms rm WHERE rm.id = p.room_id)) AS room_name,
       (SELECT coalesce(c.name, u.display_name) || coalesce(' (' || c.relation || ')', '')
        FROM users u LEFT JOIN contacts c ON c.id = u.contact_id
        WHERE u.username = i.claimed_by AND u.role = 'family') AS family_holder
FROM incidents i JOIN sites s ON s.id = i.site_id LEFT JOIN residents p ON p.id = i.resident_id
"""
# family_holder: when one of the family has the incident (they said "I'm going"), who they are
# as the operator would phone them: "张丽 (daughter)", not their username.


async def open_incidents(conn: psycopg.AsyncConnection[Any]) -> list[dict[str, Any]]:
    """Unresolved incidents in working order: priority, then age."""
    cur = await conn.execute(_VIEW + " WHERE i.status <> 'resolved' ORDER BY i.priority, i.opened_at, i.id")
    return [dict(r) for r in await cur.fetchall()]


async def incident(conn: psycopg.AsyncConnection[Any], incident_id: int, *,
                   lock: bool = False) -> dict[str, Any]:
    cur = await conn.execute(_VIEW + " WHERE i.id = %s" + (" FOR UPDATE OF i" if lock else ""),
                             (incident_id,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no incident {incident_id}")
    return dict(row)


async def timeline(conn: psycopg.AsyncConnection[Any], incident_id: int) -> list[dict[str, Any]]:
    cur = await conn.execute(
        "SELECT at, actor, action, from_status, to_status, details FROM incident_timeline"
        " WHERE incident_id = %s ORDER BY id", (incident_id,))
    return [dict(r) for r in await cur.fetchall()]


async def alarm_ids(conn: psycopg.AsyncConnection[Any], incident_id: int) -> list[int]:
    cur = await conn.execute("SELECT id FROM alarms WHERE incident_id = %s ORDER BY id",
                             (incident_id,))
    return [int(r["id"]) for r in await cur.fetchall()]


async def change(conn: psycopg.AsyncConnection[Any], incident_id: int, *, allowed: Sequence[str],
                 sets: dict[str, Any], actor: str, action: str,
                 details: dict[str, Any] | None = None,
                 claimed_by: str | None = None,
                 after: Callable[[psycopg.AsyncConnection[Any], dict[str, Any], str],
                                 Awaitable[object]] | None = None) -> dict[str, Any]:
    """Apply ``sets`` if the incident is in one of the ``allowed`` states (and, when given, claimed
    by ``claimed_by``), and append the step to the timeline — in one transaction. PostgreSQL
    checks the condition under the row lock, so of two concurrent changes exactly one wins.
    ``after`` gets the changed incident and the actor, in the same transaction."""
    assignments = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder(k)) for k in sets)
    condition: sql.Composable = sql.SQL("id = %(id)s AND status = ANY(%(allowed)s)")
    if claimed_by is not None:
        condition = sql.SQL("{} AND claimed_by = %(claimer)s").format(condition)
    query = sql.SQL(
        "WITH before AS (SELECT status FROM incidents WHERE id = %(id)s FOR UPDATE)"
        " UPDATE incidents SET {} WHERE {} RETURNING (SELECT status FROM before) AS from_status,"
        " status AS to_status").format(assignments, condition)
    async with conn.transaction():
        cur = await conn.execute(query, {**sets, "id": incident_id, "allowed": list(allowed),
                                         "claimer": claimed_by})
        row = await cur.fetchone()
        if row is None:
            current = await incident(conn, incident_id)  # raises NotFound
            who = f" by {current['claimed_by']}" if current["claimed_by"] else ""
            raise Conflict(f"incident {incident_id} is {current['status']}{who}; cannot {action}")
        await conn.execute(
            "INSERT INTO incident_timeline (incident_id, at, actor, action, from_status, to_status,"
            " details) VALUES (%s, now(), %s, %s, %s, %s, %s)",
            (incident_id, actor, action, row["from_status"], row["to_status"], Jsonb(details or {})))
        await conn.execute("INSERT INTO audit (actor, action, target, details) VALUES (%s, %s, %s, %s)",
                           (actor, action, f"incident:{incident_id}", Jsonb(details or {})))
        if after is not None:  # in the same transaction: the step and its consequences together
            await after(conn, await incident(conn, incident_id), actor)
        async with conn.cursor() as notify:
            await notify_incident(notify, incident_id)
    return await incident(conn, incident_id)


async def acknowledge_alarms(conn: psycopg.AsyncConnection[Any], incident_id: int, *,
                             by: str) -> list[int]:
    """Inside the caller's transaction: the incident's waiting alarms are answered."""
    cur = await conn.execute(
        "UPDATE alarms SET status = 'acknowledged', acknowledged_at = now(), acknowledged_by = %s"
        " WHERE incident_id = %s AND status = 'new' RETURNING id", (by, incident_id))
    ids = [int(r["id"]) for r in await cur.fetchall()]
    for alarm_id in ids:
        await conn.execute("SELECT pg_notify(%s, %s)", (ALARM_CHANNEL, json.dumps(
            {"id": alarm_id, "op": "update"})))
    return ids


async def add_note(conn: psycopg.AsyncConnection[Any], incident_id: int, *, actor: str,
                   note: str) -> None:
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO incident_timeline (incident_id, at, actor, action, details)"
            " VALUES (%s, now(), %s, 'note', %s)", (incident_id, actor, Jsonb({"note": note})))
        async with conn.cursor() as notify:
            await notify_incident(notify, incident_id)


async def due(conn: psycopg.AsyncConnection[Any], now: dt.datetime,
              limit: int = 100) -> list[dict[str, Any]]:
    """Incidents whose timer has come, locked for this transaction; others' are skipped, so two
    escalators never act on the same incident twice."""
    cur = await conn.execute(
        _VIEW + " WHERE i.next_timer_at <= %s ORDER BY i.next_timer_at LIMIT %s"
        " FOR UPDATE OF i SKIP LOCKED", (now, limit))
    return [dict(r) for r in await cur.fetchall()]


async def apply_timer(conn: psycopg.AsyncConnection[Any], incident_id: int, *,
                      sets: dict[str, Any], action: str | None,
                      details: dict[str, Any] | None = None) -> None:
    """Inside the caller's transaction (see :func:`due`): change the row, log the step."""
    assignments = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder(k)) for k in sets)
    cur = await conn.execute(
        sql.SQL("WITH before AS (SELECT status FROM incidents WHERE id = %(id)s)"
                " UPDATE incidents SET {} WHERE id = %(id)s"
                " RETURNING (SELECT status FROM before) AS from_status, status AS to_status"
                ).format(assignments), {**sets, "id": incident_id})
    row = await cur.fetchone()
    if action is not None and row is not None:
        await conn.execute(
            "INSERT INTO incident_timeline (incident_id, at, actor, action, from_status, to_status,"
            " details) VALUES (%s, now(), 'system', %s, %s, %s, %s)",
            (incident_id, action, row["from_status"], row["to_status"], Jsonb(details or {})))
        async with conn.cursor() as notify:
            await notify_incident(notify, incident_id)


async def kpi_rows(conn: psycopg.AsyncConnection[Any], since: dt.datetime,
                   until: dt.datetime) -> list[dict[str, Any]]:
    cur = await conn.execute(
        "SELECT id, priority, route, opened_at, centre_from, first_claimed_at, claimed_by,"
        " dispatched_at, resolved_at, outcome FROM incidents WHERE opened_at >= %s AND opened_at < %s"
        " AND route <> 'maintenance' ORDER BY opened_at", (since, until))
    return [dict(r) for r in await cur.fetchall()]
