"""Detectors' snapshots kept in PostgreSQL, so a restarted ingest keeps residents' baselines."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb


async def load(conn: psycopg.AsyncConnection[Any], name: str) -> dict[str, Any] | None:
    row = await (await conn.execute("SELECT snapshot FROM detector_state WHERE name = %s",
                                    (name,))).fetchone()
    return None if row is None else dict(row["snapshot"])


async def save(conn: psycopg.AsyncConnection[Any], name: str, snapshot: dict[str, Any]) -> None:
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO detector_state (name, snapshot) VALUES (%s, %s) ON CONFLICT (name)"
            " DO UPDATE SET snapshot = EXCLUDED.snapshot, saved_at = now()",
            (name, Jsonb(snapshot)))
