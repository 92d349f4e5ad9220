"""Inserting and changing registry rows for administrators, with PostgreSQL's refusals turned
into the store's own errors carrying a message a person can act on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql

from store import notifications
from store.errors import Conflict, Invalid, NotFound
from store.registry import CURRENT_PLACE

TABLES = {"sites", "rooms", "residents", "contacts", "devices", "users"}


def _translate(err: psycopg.Error, table: str) -> Exception:
    diag = err.diag
    if isinstance(err, pg_errors.UniqueViolation):
        return Conflict(f"{table[:-1]} already exists ({diag.message_detail or diag.message_primary})")
    if isinstance(err, pg_errors.ForeignKeyViolation):
        detail = diag.message_detail or ""
        # "Key (site_id)=(care-99) is not present in table "sites"." -> a plain sentence
        return Invalid(detail.replace("Key ", "").replace("=", " ").strip() or str(err))
    if isinstance(err, pg_errors.CheckViolation | pg_errors.NotNullViolation | pg_errors.DataError
                  | pg_errors.RaiseException):
        return Invalid(diag.message_primary or str(err))
    return err


async def insert(conn: psycopg.AsyncConnection[Any], table: str, values: Mapping[str, Any],
                 *, returning: str = "*") -> dict[str, Any]:
    assert table in TABLES
    query = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING {}").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, values)),
        sql.SQL(", ").join(sql.Placeholder() * len(values)), sql.SQL(returning))
    try:
        async with conn.transaction():
            row = await (await conn.execute(query, tuple(values.values()))).fetchone()
    except psycopg.Error as err:
        raise _translate(err, table) from None
    assert row is not None
    return dict(row)


async def update(conn: psycopg.AsyncConnection[Any], table: str, key: str,
                 values: Mapping[str, Any]) -> dict[str, Any]:
    assert table in TABLES and values
    query = sql.SQL("UPDATE {} SET {} WHERE id = %s RETURNING *").format(
        sql.Identifier(table), sql.SQL(", ").join(
            sql.SQL("{} = %s").format(sql.Identifier(k)) for k in values))
    try:
        async with conn.transaction():
            row = await (await conn.execute(query, (*values.values(), key))).fetchone()
    except psycopg.Error as err:
        raise _translate(err, table) from None
    if row is None:
        raise NotFound(f"no {table[:-1]} {key}")
    return dict(row)


async def listing(conn: psycopg.AsyncConnection[Any], table: str, columns: str,
                  limit: int = 1000) -> list[dict[str, Any]]:
    assert table in TABLES
    cur = await conn.execute(
        sql.SQL("SELECT {} FROM {} ORDER BY 1 LIMIT %s").format(sql.SQL(columns),
                                                                sql.Identifier(table)), (limit,))
    return [dict(r) for r in await cur.fetchall()]


async def retire_device(conn: psycopg.AsyncConnection[Any], device_id: str) -> dict[str, Any]:
    async with conn.transaction():
        row = await (await conn.execute(
            "UPDATE devices SET retired_at = COALESCE(retired_at, now()) WHERE id = %s RETURNING *",
            (device_id,))).fetchone()
    if row is None:
        raise NotFound(f"no device {device_id}")
    return dict(row)


MAX_PLACES = 10
"""Safe places besides home per resident: a daughter's flat, a son's, the day-care centre. More
than a handful is no longer a fence."""


_PLACE = "name, lat, lon, radius_m, ends_at, by_family, changed_by, changed_at"


async def places(conn: psycopg.AsyncConnection[Any], resident_id: str) -> list[dict[str, Any]]:
    """A resident's safe places besides home (migrations 0031, 0032), by name; a stay that has
    ended is no longer one."""
    cur = await conn.execute("SELECT 1 FROM residents WHERE id = %s", (resident_id,))
    if await cur.fetchone() is None:
        raise NotFound(f"no resident {resident_id}")
    cur = await conn.execute(
        f"SELECT {_PLACE} FROM resident_places WHERE resident_id = %s AND {CURRENT_PLACE}"
        " ORDER BY name", (resident_id,))
    return [dict(r) for r in await cur.fetchall()]


async def _forget_ended(conn: psycopg.AsyncConnection[Any], resident_id: str) -> None:
    """Stays that have ended take no room among the resident's places and leave their names
    free (the geofence stopped counting them when they ended, ``detection.geofence``)."""
    await conn.execute("DELETE FROM resident_places WHERE resident_id = %s AND NOT " + CURRENT_PLACE,
                       (resident_id,))


async def _family_may_change(conn: psycopg.AsyncConnection[Any], resident_id: str,
                             name: str) -> None:
    row = await (await conn.execute(
        "SELECT by_family FROM resident_places WHERE resident_id = %s AND name = %s",
        (resident_id, name))).fetchone()
    if row is not None and not row["by_family"]:
        raise Conflict(f"the safe place {name!r} was set by the centre; ask the centre to change"
                       " or remove it")


async def set_place(conn: psycopg.AsyncConnection[Any], resident_id: str, name: str, *,
                    lat: float, lon: float, radius_m: float, by: str,
                    ends_at: dt.datetime | None = None, family: bool = False) -> dict[str, Any]:
    """Add the resident's safe place ``name``, or move, resize or re-time it. ``ends_at``: a
    stay's end (None: lasting). ``family``: set by the resident's family, who may change only
    places a family set (:class:`Conflict` otherwise), and whose places always end."""
    if family and ends_at is None:
        raise Invalid("a family's safe place is a stay: say until when")
    try:
        async with conn.transaction():
            await conn.execute("SELECT 1 FROM residents WHERE id = %s FOR UPDATE", (resident_id,))
            await _forget_ended(conn, resident_id)
            if family:
                await _family_may_change(conn, resident_id, name)
            row = await (await conn.execute(
                "INSERT INTO resident_places (resident_id, name, lat, lon, radius_m, changed_by,"
                " ends_at, by_family) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (resident_id, name) DO UPDATE SET"
                " lat = excluded.lat, lon = excluded.lon, radius_m = excluded.radius_m,"
                " changed_by = excluded.changed_by, changed_at = now(), ends_at = excluded.ends_at,"
                f" by_family = excluded.by_family RETURNING {_PLACE}",
                (resident_id, name, lat, lon, radius_m, by, ends_at, family))).fetchone()
            count = await (await conn.execute(
                "SELECT count(*) AS n FROM resident_places WHERE resident_id = %s",
                (resident_id,))).fetchone()
            if count is not None and count["n"] > MAX_PLACES:
                raise Invalid(f"a resident has at most {MAX_PLACES} safe places besides home;"
                              " remove one first")
            await notifications.take_back(conn, notifications.stay_subject(resident_id, name))
    except pg_errors.ForeignKeyViolation:
        raise NotFound(f"no resident {resident_id}") from None
    except pg_errors.CheckViolation as err:
        if "resident_places_ends_later" in str(err):
            raise Invalid("a safe place's end (ends_at) must be in the future") from None
        raise _translate(err, "resident_places") from None
    except psycopg.Error as err:
        raise _translate(err, "resident_places") from None
    assert row is not None
    return dict(row)


async def remove_place(conn: psycopg.AsyncConnection[Any], resident_id: str, name: str, *,
                       family: bool = False) -> None:
    """Remove the place (a stay ended early: she is home again). ``family``: only a place a
    family set (:class:`Conflict` otherwise)."""
    async with conn.transaction():
        await _forget_ended(conn, resident_id)
        if family:
            await _family_may_change(conn, resident_id, name)
        cur = await conn.execute(
            "DELETE FROM resident_places WHERE resident_id = %s AND name = %s",
            (resident_id, name))
        await notifications.take_back(conn, notifications.stay_subject(resident_id, name))
    if cur.rowcount == 0:
        raise NotFound(f"resident {resident_id} has no safe place named {name!r}")
