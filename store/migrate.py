"""Schema migrations: ``store/migrations/NNNN_name.sql`` applied in order, each exactly once.

A PostgreSQL advisory lock serialises concurrent starters (ingest and console starting together),
and each file runs in its own transaction, so a failed migration leaves no half-applied schema.
"""

from __future__ import annotations

from importlib import resources

import psycopg

_LOCK_KEY = 0x656C6465  # "elde": any constant shared by every process of this application


def _migrations() -> list[tuple[int, str, str]]:
    found = []
    for entry in resources.files("store.migrations").iterdir():
        name = entry.name
        if name.endswith(".sql"):
            found.append((int(name.split("_", 1)[0]), name, entry.read_text(encoding="utf-8")))
    return sorted(found)


async def migrate(conn: psycopg.AsyncConnection[object]) -> list[str]:
    """Apply pending migrations; returns the names applied. ``conn`` must be in autocommit."""
    applied: list[str] = []
    await conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        cur = await conn.execute("SELECT version FROM schema_migrations")
        done = {row[0] for row in await cur.fetchall()}  # type: ignore[index]
        for version, name, sql in _migrations():
            if version in done:
                continue
            async with conn.transaction():
                await conn.execute(sql.encode())
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                    (version, name),
                )
            applied.append(name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied
