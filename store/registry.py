"""Who is who: sites, rooms, residents, contacts and devices, as ingest and the seeder need them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
import psycopg.rows
from psycopg import sql


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceRef:
    """What ingest must know about a device to accept its messages and place its alarms."""

    id: str
    site_id: str
    kind: str
    resident_id: str | None
    room_id: str | None
    site_kind: str = "home"
    floor: int | None = None
    site_routing: dict[str, Any] | None = None
    resident_routing: dict[str, Any] | None = None
    site_lat: float | None = None
    site_lon: float | None = None
    site_tz: str = "Asia/Shanghai"
    service_press: str = "none"
    """Which presses ask for a service (none, second_key, double_press): alerts.services."""
    service_type: str = "other"
    resident_asleep_from: int | None = None
    resident_up_by: int | None = None
    """The resident's own night, local hours (migration 0017); None: the centre's."""
    resident_safe_radius_m: float | None = None
    """The safe radius around the resident's home (migration 0031); None: the default."""
    via: str | None = None
    """The gateway it reaches the platform through (migration 0034); None: by itself."""
    site_community: str = ""
    """The community its site is in (``sites.community``): a gateway's, for the area outage
    (detection.device_health)."""


CURRENT_PLACE = "(ends_at IS NULL OR ends_at > now())"
"""The ``resident_places`` rows that are safe places now: lasting, or a stay not yet ended
(migration 0032). The registry, the console and the administration read places by it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SafePlace:
    """A place other than home where a resident may safely be at any hour (migration 0031)."""

    name: str
    lat: float
    lon: float
    radius_m: float
    ends_at: float | None = None
    """A stay's end, seconds since the epoch (migration 0032); None: lasting."""


WIRE = ("UPDATE devices SET via = %(gateway)s WHERE id = ANY(%(listed)s)"
        " AND via IS DISTINCT FROM %(gateway)s")
"""Record ``listed`` devices as reaching the platform through ``gateway`` (``devices.via``)."""
RELEASE = "UPDATE devices SET via = NULL WHERE via = %(gateway)s AND NOT id = ANY(%(listed)s)"
"""Devices through ``gateway`` that its list leaves out: by themselves again."""


_FIELDS = ("id", "site_id", "kind", "resident_id", "room_id", "site_kind", "floor", "site_routing",
           "resident_routing", "site_lat", "site_lon", "site_tz", "service_press", "service_type",
           "resident_asleep_from", "resident_up_by", "resident_safe_radius_m", "via",
           "site_community")
_DEVICES = (
    "SELECT d.id, d.site_id, d.kind, d.resident_id, d.room_id, s.kind, r.floor, s.routing,"
    " p.routing, s.lat, s.lon, s.tz, d.service_press, d.service_type, p.asleep_from, p.up_by,"
    " p.safe_radius_m, d.via, s.community"
    " FROM devices d JOIN sites s ON s.id = d.site_id"
    " LEFT JOIN rooms r ON r.id = d.room_id LEFT JOIN residents p ON p.id = d.resident_id"
    " WHERE d.retired_at IS NULL"
)


def _ref(row: Any) -> DeviceRef:
    values = list(row.values()) if isinstance(row, dict) else list(row)
    return DeviceRef(**dict(zip(_FIELDS, values, strict=True)))


async def active_devices(conn: psycopg.AsyncConnection[Any]) -> dict[str, DeviceRef]:
    cur = await conn.cursor(row_factory=psycopg.rows.tuple_row).execute(_DEVICES)
    return {ref.id: ref for ref in map(_ref, await cur.fetchall())}


async def active_device(conn: psycopg.AsyncConnection[Any], device_id: str) -> DeviceRef | None:
    cur = await conn.cursor(row_factory=psycopg.rows.tuple_row).execute(
        _DEVICES + " AND d.id = %s", (device_id,)
    )
    row = await cur.fetchone()
    return None if row is None else _ref(row)


async def safe_places(conn: psycopg.AsyncConnection[Any]) -> dict[str, tuple[SafePlace, ...]]:
    """Each resident's safe places other than home, by resident, in the order of their names;
    not those whose stay has ended (one that ends later the geofence stops counting by
    itself, at its end)."""
    cur = await conn.cursor(row_factory=psycopg.rows.tuple_row).execute(
        "SELECT resident_id, name, lat, lon, radius_m, extract(epoch FROM ends_at)::float8"
        " FROM resident_places WHERE " + CURRENT_PLACE +
        " ORDER BY resident_id, name")
    places: dict[str, list[SafePlace]] = {}
    for resident_id, name, lat, lon, radius_m, ends_at in await cur.fetchall():
        places.setdefault(resident_id, []).append(
            SafePlace(name=name, lat=lat, lon=lon, radius_m=radius_m, ends_at=ends_at))
    return {r: tuple(ps) for r, ps in places.items()}


# The order matters: foreign keys point backwards in this list.
SEED_TABLES = ("org_nodes", "service_providers", "provider_areas", "sites", "rooms", "residents",
               "resident_places", "contacts", "devices", "users")
_SERIAL = {"contacts", "users"}


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
            if "id" in columns and table in _SERIAL:
                # Rows came with their own ids: move the sequence past them, or the next row
                # added through the console would collide with a seeded one.
                await cur.execute(sql.SQL(
                    "SELECT setval(pg_get_serial_sequence({t}, 'id'),"
                    " GREATEST((SELECT max(id) FROM {i}), 1))").format(
                        t=sql.Literal(table), i=sql.Identifier(table)))
    return inserted
