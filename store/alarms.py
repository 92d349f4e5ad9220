"""Reading and changing alarms for the console. Rows are returned as plain dicts."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import psycopg

from store.batch import ALARM_CHANNEL
from store.errors import Conflict, NotFound

_VIEW = """
SELECT a.id, a.kind, a.priority, a.status, a.device_id, d.kind AS device_kind, a.site_id,
       s.name AS site_name, r.name AS room_name, a.resident_id, p.name AS resident_name,
       a.occurred_at, a.raised_at, a.acknowledged_at, a.acknowledged_by, a.details, a.incident_id,
       a.source_seq,
       -- a home gateway's item names the elders behind it by id (ingest/welfare.py): their names
       (SELECT jsonb_object_agg(x.id, x.name) FROM residents x
         WHERE x.id IN (SELECT jsonb_array_elements_text(a.details -> 'behind'))) AS named,
       -- about a home gateway offline (its item, or the welfare check of an elder it cut off):
       -- how many other homes' gateways of the same community are offline now. Many at once
       -- is the provider's network, not this home's plug.
       s.community AS site_community,
       CASE WHEN d.kind = 'gateway' OR a.details ? 'gateways_down' THEN
         (SELECT count(*) FROM devices g JOIN sites gs ON gs.id = g.site_id
           WHERE g.kind = 'gateway' AND g.online = false AND g.retired_at IS NULL
             -- (an area's outage counts its own first home's too: it is about them all)
             AND (g.site_id <> a.site_id OR a.kind = 'area_outage')
             AND gs.community = s.community AND s.community <> '')
       END AS gateways_down_nearby
FROM alarms a
JOIN devices d ON d.id = a.device_id
JOIN sites s ON s.id = a.site_id
LEFT JOIN rooms r ON r.id = a.room_id
LEFT JOIN residents p ON p.id = a.resident_id
"""


async def open_alarms(conn: psycopg.AsyncConnection[Any]) -> list[dict[str, Any]]:
    """Waiting alarms, the order an operator works them: highest priority, then oldest."""
    cur = await conn.execute(_VIEW + " WHERE a.status = 'new' ORDER BY a.priority, a.raised_at, a.id")
    return list(await cur.fetchall())


async def alarm(conn: psycopg.AsyncConnection[Any], alarm_id: int) -> dict[str, Any]:
    cur = await conn.execute(_VIEW + " WHERE a.id = %s", (alarm_id,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no alarm {alarm_id}")
    return dict(row)


async def detail(conn: psycopg.AsyncConnection[Any], alarm_id: int) -> dict[str, Any]:
    """The alarm with everything an operator needs to act on it."""
    found = await alarm(conn, alarm_id)

    async def one(query: str, *args: Any) -> dict[str, Any] | None:
        cur = await conn.execute(query, args)
        row = await cur.fetchone()
        return None if row is None else dict(row)

    async def many(query: str, *args: Any) -> list[dict[str, Any]]:
        cur = await conn.execute(query, args)
        return [dict(r) for r in await cur.fetchall()]

    resident = None
    contacts: list[dict[str, Any]] = []
    if found["resident_id"] is not None:
        resident = await one(
            "SELECT id, name, birth_year, sex, phone, lang, conditions, medications, mobility,"
            " notes FROM residents WHERE id = %s", found["resident_id"])
        contacts = await many(
            "SELECT name, relation, phone, email, priority, keyholder FROM contacts"
            " WHERE resident_id = %s ORDER BY priority, id", found["resident_id"])
    device = await one(
        "SELECT id, kind, model, battery, last_checkin, last_seen, online FROM devices WHERE id = %s",
        found["device_id"])
    site = await one("SELECT id, kind, name, address, community FROM sites WHERE id = %s",
                     found["site_id"])
    room = await one(
        "SELECT r.id, r.floor, r.name FROM alarms a JOIN rooms r ON r.id = a.room_id"
        " WHERE a.id = %s", alarm_id)
    events = await many(
        "SELECT ts, type FROM events WHERE device_id = %s AND ts > %s ORDER BY ts DESC LIMIT 20",
        found["device_id"], found["occurred_at"] - dt.timedelta(hours=1))
    snippet_row = await one("SELECT hz, t0, samples FROM alarm_snippets WHERE alarm_id = %s",
                            alarm_id)
    snippet = None
    if snippet_row is not None:
        samples = np.frombuffer(snippet_row["samples"], dtype="<f4").reshape(-1, 3)
        magnitude = np.round(np.linalg.norm(samples, axis=1), 3)
        snippet = {"hz": snippet_row["hz"], "t0": snippet_row["t0"],
                   "magnitude": magnitude.tolist()}
    return {"alarm": found, "resident": resident, "contacts": contacts, "device": device,
            "site": site, "room": room, "recent_events": events, "snippet": snippet}


async def acknowledge(conn: psycopg.AsyncConnection[Any], alarm_id: int, *, by: str) -> dict[str, Any]:
    """Acknowledge a waiting alarm. Exactly one of several concurrent callers wins: the row-level
    condition ``status = 'new'`` is checked by PostgreSQL under the row lock."""
    async with conn.transaction():
        cur = await conn.execute(
            "UPDATE alarms SET status = 'acknowledged', acknowledged_at = now(), acknowledged_by = %s"
            " WHERE id = %s AND status = 'new' RETURNING id", (by, alarm_id))
        if await cur.fetchone() is None:
            current = await alarm(conn, alarm_id)  # raises NotFound
            raise Conflict(
                f"alarm {alarm_id} is already {current['status']}"
                + (f" by {current['acknowledged_by']}" if current["acknowledged_by"] else ""))
        await conn.execute(
            "INSERT INTO audit (actor, action, target) VALUES (%s, 'acknowledge', %s)",
            (by, f"alarm:{alarm_id}"))
        await conn.execute("SELECT pg_notify(%s, %s)",
                           (ALARM_CHANNEL, json.dumps({"id": alarm_id, "op": "update"})))
    return await alarm(conn, alarm_id)


async def mark_delivered(conn: psycopg.AsyncConnection[Any], alarm_ids: Sequence[int]) -> int:
    """Record the first time each alarm reached a console screen."""
    async with conn.transaction():
        cur = await conn.execute(
            "UPDATE alarms SET delivered_at = now() WHERE id = ANY(%s) AND delivered_at IS NULL",
            (list(alarm_ids),))
        return max(cur.rowcount, 0)


async def counts_since(conn: psycopg.AsyncConnection[Any], since: dt.datetime) -> tuple[int, int]:
    """(alarms raised, of which delivered to a console) since ``since``."""
    cur = await conn.execute(
        "SELECT count(*) AS raised, count(delivered_at) AS delivered FROM alarms"
        " WHERE raised_at >= %s", (since,))
    row = await cur.fetchone()
    assert row is not None
    return int(row["raised"]), int(row["delivered"])
