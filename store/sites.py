"""Sites as care-home staff see them: floors, rooms, detectors, residents, device upkeep."""

from __future__ import annotations

from typing import Any

import psycopg

from store.errors import NotFound


async def _all(conn: psycopg.AsyncConnection[Any], query: str, *args: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in await (await conn.execute(query, args)).fetchall()]


async def site(conn: psycopg.AsyncConnection[Any], site_id: str) -> dict[str, Any]:
    row = await (await conn.execute(
        "SELECT id, kind, name, address, community, tz, lat, lon FROM sites WHERE id = %s",
        (site_id,))).fetchone()
    if row is None:
        raise NotFound(f"no site {site_id}")
    return dict(row)


async def rooms(conn: psycopg.AsyncConnection[Any], site_id: str) -> list[dict[str, Any]]:
    return await _all(conn, "SELECT id, floor, name FROM rooms WHERE site_id = %s ORDER BY floor, name",
                      site_id)


async def residents_by_room(conn: psycopg.AsyncConnection[Any], site_id: str) -> list[dict[str, Any]]:
    return await _all(conn, "SELECT id, name, room_id FROM residents WHERE site_id = %s"
                            " AND room_id IS NOT NULL ORDER BY id", site_id)


async def devices(conn: psycopg.AsyncConnection[Any], site_id: str) -> list[dict[str, Any]]:
    """Active devices with their latest state-bearing event (smoke, clear, fault, test, ...),
    and the fault and the tamper each still standing (``fault_since``, ``tamper_since``: the
    device's latest such event, unless it has said since that it is over). Each is its own: a
    detector whose fault has passed may still be off its base."""
    return await _all(
        conn,
        "SELECT d.id, d.kind, d.model, d.room_id, r.name AS room_name, d.battery, d.online,"
        " d.last_checkin, d.last_seen, d.registered_at, e.type AS last_event, e.ts AS last_event_at,"
        " CASE WHEN o.fault > coalesce(o.fault_over, '-infinity') THEN o.fault END AS fault_since,"
        " CASE WHEN o.tamper > coalesce(o.tamper_over, '-infinity') THEN o.tamper END"
        "   AS tamper_since,"
        " c.received_at AS clock_refused_at, c.reason AS clock_refused, d.clock_offset_s"
        " FROM devices d LEFT JOIN rooms r ON r.id = d.room_id"
        " LEFT JOIN LATERAL (SELECT type, ts FROM events WHERE device_id = d.id"
        "   AND type IN ('smoke', 'smoke_cleared', 'fault', 'fault_cleared', 'tamper',"
        "     'tamper_cleared', 'test', 'battery_low')"
        "   ORDER BY ts DESC LIMIT 1) e ON true"
        " LEFT JOIN LATERAL (SELECT max(ts) FILTER (WHERE type = 'fault') AS fault,"
        "   max(ts) FILTER (WHERE type = 'fault_cleared') AS fault_over,"
        "   max(ts) FILTER (WHERE type = 'tamper') AS tamper,"
        "   max(ts) FILTER (WHERE type = 'tamper_cleared') AS tamper_over"
        "   FROM events WHERE device_id = d.id"
        "   AND type IN ('fault', 'fault_cleared', 'tamper', 'tamper_cleared')) o ON true"
        # its latest reading refused for a time that cannot be (migration 0027's index)
        " LEFT JOIN LATERAL (SELECT received_at, reason FROM dead_letters WHERE device_id = d.id"
        "   AND code IN ('ts_past', 'ts_future') ORDER BY received_at DESC LIMIT 1) c ON true"
        " WHERE d.site_id = %s AND d.retired_at IS NULL ORDER BY d.id", site_id)
