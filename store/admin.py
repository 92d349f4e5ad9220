"""Inserting and changing registry rows for administrators, with PostgreSQL's refusals turned
into the store's own errors carrying a message a person can act on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql

from store.errors import Conflict, Invalid, NotFound

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
