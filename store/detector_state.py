"""Detectors' snapshots kept in PostgreSQL, so a restarted ingest keeps residents' baselines.

A snapshot is JSON, compressed with zlib (since 2026-12-08) and stored in parts. A large
district's is hundreds of MB every five minutes (8,000 wearers with three days of baselines:
285 MB), and all of it goes through PostgreSQL's write-ahead log too; zlib's fastest level
keeps about 40 % of it (the residents' numbers are base64, which compresses little; the JSON
around them, much), at about 100 MB/s, in a thread (zlib lets go of the interpreter while it
works, so ingest goes on). A snapshot stored before then, plain JSON, is read as it is."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Iterator, Sequence
from typing import Any

import msgspec
import psycopg

PART_BYTES = 32 * 2**20
"""Snapshots are stored in parts of at most this many bytes (migration 0015 says why)."""
LEVEL = 1
"""zlib's fastest level: ``bench/welfare_snapshot.py`` measured 40 % of the JSON at 100 MB/s
(level 6: 35 % at 46 MB/s, not worth twice the time)."""


async def load(conn: psycopg.AsyncConnection[Any], name: str) -> dict[str, Any] | None:
    async with conn.cursor(binary=True) as cur:  # bytea in binary: no hex to undo
        await cur.execute(
            "SELECT body FROM detector_state_parts WHERE name = %s ORDER BY part", (name,))
        parts = [bytes(row["body"]) for row in await cur.fetchall()]
    if parts:
        body = b"".join(parts)
        if body[:1] != b"{":  # compressed (JSON begins with its brace, zlib with 0x78)
            body = await asyncio.to_thread(zlib.decompress, body)
        snapshot = msgspec.json.decode(body)
        return dict(snapshot) if isinstance(snapshot, dict) else None
    row = await (await conn.execute("SELECT snapshot FROM detector_state WHERE name = %s",
                                    (name,))).fetchone()
    return None if row is None else dict(row["snapshot"])


async def save(conn: psycopg.AsyncConnection[Any], name: str, snapshot: dict[str, Any]) -> None:
    await save_encoded(conn, name, msgspec.json.encode(snapshot))


async def save_encoded(conn: psycopg.AsyncConnection[Any], name: str,
                       body: bytes | Sequence[bytes]) -> None:
    """Replace ``name``'s snapshot with ``body`` (JSON, as ingest encodes it with msgspec before
    it writes in a task; or the pieces that join into it), compressed in a thread, in parts, in
    one transaction: a reader sees the old one or the new. Each part is joined just before it
    is sent, so the event loop is held for one part's copy at a time, never the whole
    snapshot's."""
    packed = await asyncio.to_thread(_compress, [body] if isinstance(body, bytes) else body)
    async with conn.transaction(), conn.cursor() as cur:
        # Two writers of one name (two lanes that both thought they kept it; two workers given
        # the same name) take turns: without the lock the second's INSERT of part 0 met the
        # first's row and failed with a unique violation.
        await cur.execute("SELECT pg_advisory_xact_lock(hashtext('detector_state:' || %s))",
                          (name,))
        await cur.execute("DELETE FROM detector_state_parts WHERE name = %s", (name,))
        await cur.execute("DELETE FROM detector_state WHERE name = %s", (name,))
        for i, part in enumerate(_parts(packed)):
            await cur.execute(
                "INSERT INTO detector_state_parts (name, part, body) VALUES (%s, %s, %s)",
                (name, i, part))


def _compress(pieces: Sequence[bytes]) -> list[bytes]:
    """``pieces`` joined and compressed (zlib, :data:`LEVEL`), as the compressor gives it out."""
    squeeze = zlib.compressobj(LEVEL)
    out = [squeeze.compress(piece) for piece in pieces]
    out.append(squeeze.flush())
    return [chunk for chunk in out if chunk]


def _parts(pieces: Sequence[bytes]) -> Iterator[bytes]:
    """The bytes of ``pieces``, in order, in parts of :data:`PART_BYTES` (the last shorter;
    one empty part for no bytes at all)."""
    current: list[memoryview] = []
    size = 0
    sent = False
    for piece in pieces:
        view = memoryview(piece)
        while len(view):
            take = view[:PART_BYTES - size]
            current.append(take)
            size += len(take)
            view = view[len(take):]
            if size == PART_BYTES:
                yield b"".join(current)
                current, size, sent = [], 0, True
    if current or not sent:
        yield b"".join(current)
