"""Detectors' snapshots kept in PostgreSQL, so a restarted ingest keeps residents' baselines."""

from __future__ import annotations

from typing import Any

import msgspec
import psycopg

PART_BYTES = 32 * 2**20
"""Snapshots are stored in parts of at most this many bytes (migration 0015 says why)."""


async def load(conn: psycopg.AsyncConnection[Any], name: str) -> dict[str, Any] | None:
    async with conn.cursor(binary=True) as cur:  # bytea in binary: no hex to undo
        await cur.execute(
            "SELECT body FROM detector_state_parts WHERE name = %s ORDER BY part", (name,))
        parts = [bytes(row["body"]) for row in await cur.fetchall()]
    if parts:
        snapshot = msgspec.json.decode(b"".join(parts))
        return dict(snapshot) if isinstance(snapshot, dict) else None
    row = await (await conn.execute("SELECT snapshot FROM detector_state WHERE name = %s",
                                    (name,))).fetchone()
    return None if row is None else dict(row["snapshot"])


async def save(conn: psycopg.AsyncConnection[Any], name: str, snapshot: dict[str, Any]) -> None:
    await save_encoded(conn, name, msgspec.json.encode(snapshot))


async def save_encoded(conn: psycopg.AsyncConnection[Any], name: str, body: bytes) -> None:
    """Replace ``name``'s snapshot with ``body`` (JSON, as ingest encodes it with msgspec before
    it writes in a task), in parts, in one transaction: a reader sees the old one or the new."""
    async with conn.transaction(), conn.cursor() as cur:
        await cur.execute("DELETE FROM detector_state_parts WHERE name = %s", (name,))
        await cur.execute("DELETE FROM detector_state WHERE name = %s", (name,))
        view = memoryview(body)
        await cur.executemany(
            "INSERT INTO detector_state_parts (name, part, body) VALUES (%s, %s, %s)",
            [(name, i, view[at:at + PART_BYTES])
             for i, at in enumerate(range(0, max(len(body), 1), PART_BYTES))])
