"""Readings in bulk: from ``COPY_FROM`` rows of a table a batch goes by COPY through a staging
table; either way a redelivered reading is stored once, and the staging table is empty after
every commit (rows of one batch never leak into the next)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool

from store.batch import COPY_FROM, Batch, write

pytestmark = pytest.mark.db

T = dt.datetime.now(dt.UTC).replace(microsecond=0)


def _telemetry(seq: int) -> tuple[Any, ...]:
    return ("watch-1", seq, T + dt.timedelta(seconds=seq), 60 + seq % 40, 97, 33.5, seq, 80, True)


def _checkin(seq: int) -> tuple[Any, ...]:
    return ("watch-1", seq, T + dt.timedelta(seconds=seq), "checkin", 80, -60)


async def _rows(pool: AsyncConnectionPool, table: str) -> list[Any]:
    async with pool.connection() as conn:
        cur = await conn.execute(f"SELECT seq, hr FROM {table} ORDER BY seq" if table ==
                                 "telemetry" else f"SELECT seq FROM {table} ORDER BY seq")
        return [tuple(r.values()) if isinstance(r, dict) else tuple(r)
                for r in await cur.fetchall()]


@pytest.mark.parametrize("count", [COPY_FROM - 1, COPY_FROM, 3 * COPY_FROM])
async def test_readings_are_stored_once_however_many_and_however_often(
        seeded: AsyncConnectionPool, count: int) -> None:
    first = [_telemetry(seq) for seq in range(count)]
    async with seeded.connection() as conn:
        await write(conn, Batch(telemetry=first, checkins=[_checkin(s) for s in range(count)]))
    # Redelivered (all of them, again, plus new ones and a repeat inside the batch itself).
    again = first + [_telemetry(seq) for seq in range(count, count + 5)] + [first[0]]
    async with seeded.connection() as conn:
        await write(conn, Batch(telemetry=again))
    stored = await _rows(seeded, "telemetry")
    assert stored == [(seq, 60 + seq % 40) for seq in range(count + 5)]
    assert await _rows(seeded, "checkins") == [(seq,) for seq in range(count)]


async def test_the_staging_table_is_empty_after_each_commit(seeded: AsyncConnectionPool) -> None:
    async with seeded.connection() as conn:
        await write(conn, Batch(telemetry=[_telemetry(s) for s in range(COPY_FROM)]))
        cur = await conn.execute("SELECT count(*) AS n FROM stage_telemetry")
        row = await cur.fetchone()
        assert row is not None
        assert (row["n"] if isinstance(row, dict) else row[0]) == 0
        await conn.commit()
        # The next batch on the same session reuses it, and writes only its own rows.
        await write(conn, Batch(telemetry=[_telemetry(s) for s in range(COPY_FROM, 2 * COPY_FROM)]))
    assert len(await _rows(seeded, "telemetry")) == 2 * COPY_FROM
