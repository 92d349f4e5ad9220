"""Services' heartbeats (migration 0020): written by each process every few seconds, read by the
console to say when alarms may not be arriving. The rules that judge them are alerts/intake.py's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg


@dataclass(frozen=True, slots=True, kw_only=True)
class Beat:
    name: str
    role: str
    host: str
    started_at: dt.datetime
    running: bool
    connected: bool | None = None
    processed_at: dt.datetime | None = None
    last_message_at: dt.datetime | None = None


async def beat(conn: psycopg.AsyncConnection[Any], beats: Sequence[Beat]) -> None:
    """Record that each of ``beats`` is as it says, now (the database's clock)."""
    async with conn.transaction(), conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO service_heartbeats (name, role, host, started_at, beat_at, running,"
            " connected, processed_at, last_message_at)"
            " VALUES (%s, %s, %s, %s, now(), %s, %s, %s, %s)"
            " ON CONFLICT (name) DO UPDATE SET role = EXCLUDED.role, host = EXCLUDED.host,"
            "  started_at = EXCLUDED.started_at, beat_at = EXCLUDED.beat_at,"
            "  running = EXCLUDED.running, connected = EXCLUDED.connected,"
            "  processed_at = EXCLUDED.processed_at, last_message_at = EXCLUDED.last_message_at",
            [(b.name, b.role, b.host, b.started_at, b.running, b.connected, b.processed_at,
              b.last_message_at) for b in beats])


async def read(conn: psycopg.AsyncConnection[Any]) -> tuple[dt.datetime, list[dict[str, Any]]]:
    """(the database's now, every service's last beat), by name."""
    clock = await (await conn.execute("SELECT now() AS now")).fetchone()
    assert clock is not None
    cur = await conn.execute(
        "SELECT name, role, host, started_at, beat_at, running, connected, processed_at,"
        " last_message_at FROM service_heartbeats ORDER BY name")
    return clock["now"], [dict(r) for r in await cur.fetchall()]


ACTIVITY_DAYS = 7
"""Days of the same slot a lane's latest slots are compared with (alerts/intake.py)."""
ACTIVITY_SLOTS = 3
"""How many of a lane's latest slots are read."""


async def record_activity(conn: psycopg.AsyncConnection[Any], lane: str,
                          slots: Sequence[tuple[dt.datetime, int, int]]) -> None:
    """Store a lane's whole slots (start, devices, messages); forget those over eight days old."""
    async with conn.transaction(), conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO lane_activity (lane, slot_start, devices, messages) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (lane, slot_start) DO UPDATE SET devices = EXCLUDED.devices,"
            " messages = EXCLUDED.messages", [(lane, *slot) for slot in slots])
        await cur.execute("DELETE FROM lane_activity WHERE lane = %s"
                          " AND slot_start < now() - interval '8 days'", (lane,))


async def read_activity(conn: psycopg.AsyncConnection[Any],
                        slot: dt.timedelta) -> list[dict[str, Any]]:
    """For each lane with a slot ending in the last two slot lengths: its
    :data:`ACTIVITY_SLOTS` latest slots and the same ones on each of the :data:`ACTIVITY_DAYS`
    days before (lane, slot_start, devices; 24 rows a lane, each found by its key)."""
    cur = await conn.execute(
        "WITH latest AS (SELECT lane, max(slot_start) AS at FROM lane_activity"
        "  WHERE slot_start > now() - 3 * %(slot)s GROUP BY lane)"
        " SELECT a.lane, a.slot_start, a.devices FROM latest l"
        " CROSS JOIN generate_series(0, %(days)s) AS d"
        " CROSS JOIN generate_series(0, %(slots)s - 1) AS s"
        " JOIN lane_activity a ON a.lane = l.lane"
        "  AND a.slot_start = l.at - d * interval '1 day' - s * %(slot)s"
        " ORDER BY a.lane, a.slot_start",
        {"slot": slot, "days": ACTIVITY_DAYS, "slots": ACTIVITY_SLOTS})
    return [dict(r) for r in await cur.fetchall()]
