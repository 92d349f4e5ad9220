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
