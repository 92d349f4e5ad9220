"""Who is who: sites, rooms, residents, contacts and devices, as ingest and the seeder need them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceRef:
    """What ingest must know about a device to accept its messages and place its alarms."""

    id: str
    site_id: str
    kind: str
    resident_id: str | None
    room_id: str | None


_DEVICE_COLUMNS = "id, site_id, kind, resident_id, room_id"


def _ref(row: Any) -> DeviceRef:
    if isinstance(row, dict):
        return DeviceRef(**{k: row[k] for k in ("id", "site_id", "kind", "resident_id", "room_id")})
    return DeviceRef(id=row[0], site_id=row[1], kind=row[2], resident_id=row[3], room_id=row[4])


async def active_devices(conn: psycopg.AsyncConnection[Any]) -> dict[str, DeviceRef]:
    cur = await conn.execute(f"SELECT {_DEVICE_COLUMNS} FROM devices WHERE retired_at IS NULL")
    return {ref.id: ref for ref in map(_ref, await cur.fetchall())}


async def active_device(conn: psycopg.AsyncConnection[Any], device_id: str) -> DeviceRef | None:
    cur = await conn.execute(
        f"SELECT {_DEVICE_COLUMNS} FROM devices WHERE id = %s AND retired_at IS NULL", (device_id,)
    )
    row = await cur.fetchone()
    return None if row is None else _ref(row)


# The order matters: foreign keys point backwards in this list.
SEED_TABLES = ("sites", "rooms", "residents", "contacts", "devices", "users")


async def seed(
    conn: psycopg.AsyncConnection[Any], rows: Mapping[str, Sequence[Mapping[str, Any]]]
) -> dict[str, int]:
    """Insert rows given as {table: [{column: value}]}; rows whose key exists are left alone, so
    seeding twice is harmless. Returns the number of rows inserted per table."""
    inserted: dict[str, int] = {}
    async with conn.transaction(), conn.cursor() as cur:
        for table in SEED_TABLES:
            items = rows.get(table, ())
            if not items:
                continue
            columns = list(items[0].keys())
            statement = sql.SQL("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT DO NOTHING").format(
                sql.Identifier(table),
                sql.SQL(", ").join(map(sql.Identifier, columns)),
                sql.SQL(", ").join(sql.Placeholder() * len(columns)),
            )
            await cur.executemany(statement, [tuple(item[c] for c in columns) for item in items])
            inserted[table] = max(cur.rowcount, 0)
    return inserted
