"""Console users and their sessions."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg

_USER = ("id, username, password_hash, role, display_name, lang, scope_site, scope_resident,"
         " contact_id, scope_node, provider_id")


async def by_username(conn: psycopg.AsyncConnection[Any], username: str) -> dict[str, Any] | None:
    cur = await conn.execute(f"SELECT {_USER} FROM users WHERE username = %s", (username,))
    row = await cur.fetchone()
    return None if row is None else dict(row)


async def set_password_hash(conn: psycopg.AsyncConnection[Any], username: str, hashed: str) -> None:
    async with conn.transaction():
        await conn.execute("UPDATE users SET password_hash = %s WHERE username = %s",
                           (hashed, username))


async def open_session(conn: psycopg.AsyncConnection[Any], *, user_id: int, token_hash: str,
                       ttl: dt.timedelta) -> None:
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO sessions (token_hash, user_id, expires_at) VALUES (%s, %s, now() + %s)",
            (token_hash, user_id, ttl))
        await conn.execute("DELETE FROM sessions WHERE expires_at < now()")


async def session_user(conn: psycopg.AsyncConnection[Any], token_hash: str) -> dict[str, Any] | None:
    cur = await conn.execute(
        f"SELECT {', '.join('u.' + c.strip() for c in _USER.split(','))} FROM sessions s"
        " JOIN users u ON u.id = s.user_id WHERE s.token_hash = %s AND s.expires_at > now()",
        (token_hash,))
    row = await cur.fetchone()
    await conn.commit()
    return None if row is None else dict(row)


async def close_session(conn: psycopg.AsyncConnection[Any], token_hash: str) -> None:
    async with conn.transaction():
        await conn.execute("DELETE FROM sessions WHERE token_hash = %s", (token_hash,))


async def set_lang(conn: psycopg.AsyncConnection[Any], username: str, lang: str) -> None:
    async with conn.transaction():
        await conn.execute("UPDATE users SET lang = %s WHERE username = %s", (lang, username))
