"""Residents as the console shows them: profile, contacts, devices, vitals, locations, status."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg

from store.errors import NotFound
from store.registry import CURRENT_PLACE

_PROFILE = ("SELECT p.id, p.site_id, p.room_id, p.name, p.birth_year, p.sex, p.phone, p.lang,"
            " p.conditions, p.medications, p.mobility, p.notes, p.routing, p.node_id,"
            " coalesce(n.path, '{}') AS node_path, p.care_setting, p.needs, p.allergies,"
            " p.blood_type, p.doctor, p.doctor_phone, p.asleep_from, p.up_by, p.safe_radius_m"
            " FROM residents p LEFT JOIN org_nodes n ON n.id = p.node_id WHERE p.id = %s")


async def _all(conn: psycopg.AsyncConnection[Any], query: str, *args: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in await (await conn.execute(query, args)).fetchall()]


async def _one(conn: psycopg.AsyncConnection[Any], query: str, *args: Any) -> dict[str, Any] | None:
    row = await (await conn.execute(query, args)).fetchone()
    return None if row is None else dict(row)


async def profile(conn: psycopg.AsyncConnection[Any], resident_id: str) -> dict[str, Any]:
    resident = await _one(conn, _PROFILE, resident_id)
    if resident is None:
        raise NotFound(f"no resident {resident_id}")
    resident["site"] = await _one(
        conn, "SELECT id, kind, name, address, community, lat, lon FROM sites WHERE id = %s",
        resident["site_id"])
    resident["room"] = (None if resident["room_id"] is None else await _one(
        conn, "SELECT id, floor, name FROM rooms WHERE id = %s", resident["room_id"]))
    resident["places"] = await _all(
        conn, "SELECT name, lat, lon, radius_m, ends_at, by_family, changed_by, changed_at"
              " FROM resident_places WHERE resident_id = %s"
              f" AND {CURRENT_PLACE} ORDER BY name", resident_id)
    return resident


async def contacts(conn: psycopg.AsyncConnection[Any], resident_id: str) -> list[dict[str, Any]]:
    return await _all(conn, "SELECT id, name, relation, phone, email, lang, priority, keyholder"
                            " FROM contacts WHERE resident_id = %s ORDER BY priority, id", resident_id)


async def devices(conn: psycopg.AsyncConnection[Any], resident_id: str) -> list[dict[str, Any]]:
    """The resident's devices, and the home gateways they reach the platform through
    (``via``; migration 0034): a gateway offline leaves the devices behind it unheard, and the
    family asked to see to it must find it on the list. For a wearable also whether its latest
    telemetry of the last week said it is worn (``worn``), and if not, since when it has been
    off the wrist (``off_since``: the first of its telemetry since it was last worn, within
    that week)."""
    return await _all(
        conn,
        "SELECT d.id, d.kind, d.model, d.battery, d.last_checkin, d.last_seen, d.online, d.via,"
        " w.worn, w.off_since FROM devices d"
        " LEFT JOIN LATERAL (SELECT l.worn, CASE WHEN NOT l.worn THEN"
        "   (SELECT min(o.ts) FROM telemetry o WHERE o.device_id = d.id AND NOT o.worn"
        "     AND o.ts > greatest(now() - interval '7 days', coalesce(("
        "       SELECT max(p.ts) FROM telemetry p WHERE p.device_id = d.id AND p.worn"
        "       AND p.ts > now() - interval '7 days'), '-infinity')))"
        "   END AS off_since"
        "  FROM (SELECT t.worn FROM telemetry t WHERE t.device_id = d.id AND t.worn IS NOT NULL"
        "   AND t.ts > now() - interval '7 days' ORDER BY t.ts DESC LIMIT 1) l) w"
        " ON d.kind = 'wearable'"
        " WHERE d.retired_at IS NULL AND (d.resident_id = %s OR d.id IN ("
        "   SELECT b.via FROM devices b WHERE b.resident_id = %s AND b.retired_at IS NULL))"
        " ORDER BY d.kind = 'gateway', d.id", resident_id, resident_id)


async def vitals(conn: psycopg.AsyncConnection[Any], resident_id: str,
                 since: dt.datetime) -> list[dict[str, Any]]:
    return await _all(
        conn, "SELECT t.ts, t.hr, t.spo2, t.skin_temp, t.steps, t.worn FROM telemetry t"
              " JOIN devices d ON d.id = t.device_id WHERE d.resident_id = %s AND t.ts >= %s"
              " ORDER BY t.ts LIMIT 20000", resident_id, since)


async def locations(conn: psycopg.AsyncConnection[Any], resident_id: str,
                    since: dt.datetime) -> list[dict[str, Any]]:
    return await _all(
        conn, "SELECT l.ts, l.lat, l.lon, l.acc FROM locations l JOIN devices d ON d.id = l.device_id"
              " WHERE d.resident_id = %s AND l.ts >= %s ORDER BY l.ts LIMIT 5000", resident_id, since)


async def incidents(conn: psycopg.AsyncConnection[Any], resident_id: str,
                    since: dt.datetime) -> list[dict[str, Any]]:
    return await _all(
        conn, "SELECT id, kind, priority, status, route, family_until, opened_at, claimed_by,"
              " dispatched_to, dispatched_at, on_site_at, resolved_at, outcome, alarm_count"
              " FROM incidents"
              " WHERE resident_id = %s AND opened_at >= %s"
              " ORDER BY opened_at DESC LIMIT 500", resident_id, since)


async def status(conn: psycopg.AsyncConnection[Any], resident_id: str,
                 day_start: dt.datetime) -> dict[str, Any]:
    last_checkin = await _one(conn, "SELECT max(last_checkin) AS at FROM devices"
                                    " WHERE resident_id = %s AND retired_at IS NULL", resident_id)
    last_hr = await _one(
        conn, "SELECT t.ts, t.hr FROM telemetry t JOIN devices d ON d.id = t.device_id"
              " WHERE d.resident_id = %s AND t.hr IS NOT NULL AND t.ts > now() - interval '7 days'"
              " ORDER BY t.ts DESC LIMIT 1", resident_id)
    steps = await _one(
        conn, "SELECT max(t.steps) AS steps FROM telemetry t JOIN devices d ON d.id = t.device_id"
              " WHERE d.resident_id = %s AND t.ts >= %s", resident_id, day_start)
    return {"last_checkin": None if last_checkin is None else last_checkin["at"],
            "last_hr": last_hr, "steps_today": None if steps is None else steps["steps"],
            "devices": await devices(conn, resident_id)}


async def listing(conn: psycopg.AsyncConnection[Any], *, resident_id: str | None = None,
                  site_id: str | None = None, node_id: str | None = None,
                  query: str | None = None, care_setting: str | None = None,
                  need: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Residents matching every filter given. ``node_id`` takes the node's whole subtree; the
    need ``high_age`` also matches everyone 80 or older this year (it is not stored)."""
    cur = await conn.execute(
        "SELECT p.id, p.name, p.site_id, r.name AS room_name, p.node_id, p.care_setting,"
        " p.needs, p.birth_year FROM residents p"
        " LEFT JOIN rooms r ON r.id = p.room_id"
        " WHERE (%(resident)s::text IS NULL OR p.id = %(resident)s)"
        " AND (%(site)s::text IS NULL OR p.site_id = %(site)s)"
        " AND (%(node)s::text IS NULL OR p.node_id IN"
        "      (SELECT id FROM org_nodes WHERE %(node)s = ANY(path)))"
        " AND (%(setting)s::text IS NULL OR p.care_setting = %(setting)s)"
        " AND (%(need)s::text IS NULL OR %(need)s = ANY(p.needs) OR (%(need)s = 'high_age'"
        "      AND p.birth_year <= extract(year FROM now())::int - 80))"
        " AND (%(q)s::text IS NULL OR p.name ILIKE %(like)s OR p.id ILIKE %(like)s)"
        " ORDER BY p.site_id, p.id LIMIT %(limit)s",
        {"resident": resident_id, "site": site_id, "node": node_id, "setting": care_setting,
         "need": need, "q": query, "like": f"%{query}%", "limit": limit})
    return [dict(r) for r in await cur.fetchall()]
