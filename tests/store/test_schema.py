"""Schema behaviours the rest relies on: migrations are idempotent, partitions roll, the audit
trail cannot be changed, seeding twice is harmless."""

from __future__ import annotations

import base64
import datetime as dt
import itertools

import msgspec
import numpy as np
import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from store.migrate import _migrations, migrate
from store.partitions import drop_older_than, ensure_partitions
from store.registry import seed

pytestmark = pytest.mark.db


async def test_migrations_apply_once(db_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
        assert await migrate(conn) == []  # the template is migrated already
        cur = await conn.execute("SELECT name FROM schema_migrations ORDER BY version")
        names = [row[0] for row in await cur.fetchall()]
    assert names == [name for _, name, _ in _migrations()]
    assert names[0] == "0001_initial.sql"


async def test_partitions_are_created_ahead_and_dropped_after_retention(db_url: str) -> None:
    today = dt.date(2030, 6, 15)
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
        await ensure_partitions(conn, today=today, ahead_days=2, behind_days=0)
        await conn.execute(
            "INSERT INTO telemetry (device_id, seq, ts, hr) VALUES ('d', 1, '2030-06-16 12:00Z', 70)")
        cur = await conn.execute("SELECT tableoid::regclass::text FROM telemetry")
        assert (await cur.fetchone()) == ("telemetry_20300616",)
        dropped = await drop_older_than(conn, today=today + dt.timedelta(days=30), keep_days=14)
        assert "telemetry_20300616" in dropped
        assert "telemetry_default" not in dropped
        cur = await conn.execute("SELECT count(*) FROM telemetry")
        assert (await cur.fetchone()) == (0,)


async def test_a_busy_partition_is_left_for_next_time_without_holding_up_inserts(
        db_url: str) -> None:
    """A reader of an old partition makes the drop wait for its lock; queued there, the drop
    would hold every insert into the parent (an alarm's look-up of the last location among
    them). It gives up after its lock timeout instead, and succeeds once the reader is done."""
    today = dt.date(2031, 3, 10)
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn, \
            await psycopg.AsyncConnection.connect(db_url) as reader:
        await ensure_partitions(conn, today=today, ahead_days=1, behind_days=0)
        await reader.execute("SELECT count(*) FROM locations_20310310")  # holds its lock
        dropped = await drop_older_than(conn, today=today + dt.timedelta(days=30), keep_days=14)
        assert "locations_20310310" not in dropped
        assert "telemetry_20310310" in dropped  # the others went
        await reader.rollback()
        dropped = await drop_older_than(conn, today=today + dt.timedelta(days=30), keep_days=14)
        assert "locations_20310310" in dropped


async def test_audit_trail_is_append_only(db_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
        await conn.execute("INSERT INTO audit (actor, action, target) VALUES ('op1', 'x', 'y')")
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            await conn.execute("UPDATE audit SET actor = 'someone else'")
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            await conn.execute("DELETE FROM audit")


async def test_seeding_twice_inserts_nothing_new(pool: AsyncConnectionPool) -> None:
    rows = {"sites": [{"id": "s1", "kind": "home", "name": "one"}],
            "residents": [{"id": "r1", "site_id": "s1", "name": "王秀英"}]}
    async with pool.connection() as conn:
        assert await seed(conn, rows) == {"sites": 1, "residents": 1}
        assert await seed(conn, rows) == {"sites": 0, "residents": 0}


async def test_a_snapshot_larger_than_a_part_is_stored_in_parts_and_read_back_whole(
        pool: AsyncConnectionPool, monkeypatch: pytest.MonkeyPatch) -> None:
    """A large district's welfare snapshot outgrows one jsonb value (256 MB at most): it is kept
    as parts of encoded JSON, and replaces what an older version kept as jsonb."""
    from psycopg.types.json import Jsonb

    from store import detector_state

    monkeypatch.setattr(detector_state, "PART_BYTES", 1000)
    # a scorer's numbers are base64 of float64s: they compress little
    numbers = np.random.default_rng(5).normal(70, 8, size=(40, 60))
    snapshot = {"vitals": {f"r{i}|heart_rate": {"values": base64.b64encode(row.tobytes()).decode(),
                                                "n": i} for i, row in enumerate(numbers)},
                "steps": {"watch-1": 12}, "unicode": "王秀英", "none": None}
    async with pool.connection() as conn:
        await conn.execute("INSERT INTO detector_state (name, snapshot) VALUES ('w', %s)",
                           (Jsonb({"old": True}),))
        await conn.commit()
        assert await detector_state.load(conn, "w") == {"old": True}  # an older version's row
        await detector_state.save(conn, "w", snapshot)
        cur = await conn.execute("SELECT count(*) AS n, sum(length(body)) AS size,"
                                 " min(get_byte(body, 0)) FILTER (WHERE part = 0) AS first"
                                 " FROM detector_state_parts WHERE name = 'w'")
        stored = await cur.fetchone() or {}
        assert stored["n"] > 5 and stored["first"] == 0x78  # zlib, in parts
        assert stored["size"] < 0.9 * len(msgspec.json.encode(snapshot))
        assert await detector_state.load(conn, "w") == snapshot
        cur = await conn.execute("SELECT count(*) AS n FROM detector_state WHERE name = 'w'")
        assert await cur.fetchone() == {"n": 0}  # superseded
        await detector_state.save(conn, "w", {"small": 1})  # fewer parts: no stale ones left
        assert await detector_state.load(conn, "w") == {"small": 1}
        assert await detector_state.load(conn, "nobody") is None
        # as ingest gives it: the pieces the snapshot was taken in, of any sizes
        body = msgspec.json.encode(snapshot)
        cuts = [0, 1, 7, 999, 1000, 2500, 2501, 6100, len(body)]
        await detector_state.save_encoded(conn, "w",
                                          [body[a:b] for a, b in itertools.pairwise(cuts)])
        cur = await conn.execute("SELECT length(body) AS n FROM detector_state_parts"
                                 " WHERE name = 'w' ORDER BY part")
        sizes = [r["n"] for r in await cur.fetchall()]
        assert sizes[:-1] == [1000] * (len(sizes) - 1) and 0 < sizes[-1] <= 1000
        assert await detector_state.load(conn, "w") == snapshot
        # parts of plain JSON, as stored before snapshots were compressed, read as they are
        await conn.execute("UPDATE detector_state_parts SET body = %s WHERE name = 'w'"
                           " AND part = 0", (msgspec.json.encode({"plain": True}),))
        await conn.execute("DELETE FROM detector_state_parts WHERE name = 'w' AND part > 0")
        assert await detector_state.load(conn, "w") == {"plain": True}


def test_pieces_become_parts_of_the_part_size(monkeypatch: pytest.MonkeyPatch) -> None:
    from store import detector_state

    monkeypatch.setattr(detector_state, "PART_BYTES", 4)
    assert list(detector_state._parts([b"ab", b"", b"cdefghi", b"j"])) == [b"abcd", b"efgh",
                                                                          b"ij"]
    assert list(detector_state._parts([b"abcd"])) == [b"abcd"]
    assert list(detector_state._parts([])) == [b""]  # an empty snapshot is still one part
