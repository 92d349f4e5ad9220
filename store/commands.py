"""Commands to devices: created by the console, published by ingest, closed by an acknowledgement
or by their deadline. Every change is announced on the alarms channel as type ``command``."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from store.batch import ALARM_CHANNEL
from store.errors import NotFound

OPEN = ("pending", "published", "sent")
_COLUMNS = ("id, device_id, site_id, command, requested_by, requested_at, deadline, published_at,"
            " status, answered_at")


async def _announce(conn: psycopg.AsyncConnection[Any], command_id: str) -> None:
    await conn.execute("SELECT pg_notify(%s, %s)", (ALARM_CHANNEL, json.dumps(
        {"id": command_id, "op": "update", "type": "command"})))


async def create(conn: psycopg.AsyncConnection[Any], *, command_id: str, device_id: str,
                 site_id: str, command: str, requested_by: str,
                 deadline: dt.datetime) -> dict[str, Any]:
    async with conn.transaction():
        cur = await conn.execute(
            f"INSERT INTO commands (id, device_id, site_id, command, requested_by, deadline)"
            f" VALUES (%s, %s, %s, %s, %s, %s) RETURNING {_COLUMNS}",
            (command_id, device_id, site_id, command, requested_by, deadline))
        row = await cur.fetchone()
        await conn.execute(
            "INSERT INTO audit (actor, action, target, details) VALUES (%s, 'command', %s, %s)",
            (requested_by, f"device:{device_id}", Jsonb({"command": command, "id": command_id})))
        await _announce(conn, command_id)
    assert row is not None
    return dict(row)


async def get(conn: psycopg.AsyncConnection[Any], command_id: str) -> dict[str, Any]:
    row = await (await conn.execute(f"SELECT {_COLUMNS} FROM commands WHERE id = %s",
                                    (command_id,))).fetchone()
    if row is None:
        raise NotFound(f"no command {command_id}")
    return dict(row)


async def to_publish(conn: psycopg.AsyncConnection[Any], now: dt.datetime,
                     limit: int = 100) -> list[dict[str, Any]]:
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM commands WHERE status = 'pending' AND deadline > %s"
        " ORDER BY requested_at LIMIT %s", (now, limit))
    return [dict(r) for r in await cur.fetchall()]


async def mark_published(conn: psycopg.AsyncConnection[Any], ids: Sequence[str]) -> None:
    async with conn.transaction():
        for command_id in ids:
            await conn.execute("UPDATE commands SET status = 'published', published_at = now()"
                               " WHERE id = %s AND status = 'pending'", (command_id,))
            await _announce(conn, command_id)


async def time_out(conn: psycopg.AsyncConnection[Any], now: dt.datetime) -> list[str]:
    async with conn.transaction():
        cur = await conn.execute(
            "UPDATE commands SET status = 'timed_out', answered_at = %s"
            " WHERE status IN ('pending', 'published', 'sent') AND deadline <= %s RETURNING id",
            (now, now))
        ids = [str(r["id"]) for r in await cur.fetchall()]
        for command_id in ids:
            await _announce(conn, command_id)
    return ids
