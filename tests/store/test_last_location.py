"""A wearable's last fix rides on its alarm: the newest one of the day before it (a minute after
it at most), from that device only, read in the alarm's own transaction, never at the cost of the
alarm itself."""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from store.batch import _WITH_LAST_LOCATION, Batch, NewAlarm, write

pytestmark = pytest.mark.db

# A whole second, so that the fixes below have exact millisecond timestamps.
T = dt.datetime.now(dt.UTC).replace(microsecond=0)


def _fix(device: str, seq: int, at: dt.datetime, lat: float = 31.2304, lon: float = 121.4737,
         acc: float | None = 12.5, source: str | None = "gps") -> tuple[Any, ...]:
    return (device, seq, at, lat, lon, acc, source)


def _alarm(device: str = "watch-1", seq: int = 100, kind: str = "sos",
           at: dt.datetime = T) -> NewAlarm:
    return NewAlarm(kind=kind, priority=1, device_id=device, site_id="home-1", resident_id="r1",
                    room_id=None, source_seq=seq, occurred_at=at,
                    details={"event": kind, "presses": 1})


def _shown(fix: tuple[Any, ...]) -> dict[str, Any]:
    """What the alarm should carry for ``fix``."""
    _, _, at, lat, lon, acc, source = fix
    stamp = at.astimezone(dt.UTC)
    return {"lat": lat, "lon": lon, "acc_m": acc, "source": source,
            "at": f"{stamp:%Y-%m-%dT%H:%M:%S}.{stamp.microsecond // 1000:03d}Z"}


async def _write(pool: AsyncConnectionPool, batch: Batch) -> list[int]:
    async with pool.connection() as conn:
        return (await write(conn, batch)).new_alarm_ids


async def _details(pool: AsyncConnectionPool) -> list[dict[str, Any]]:
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute("SELECT details FROM alarms ORDER BY id")
        return [row["details"] for row in await cur.fetchall()]


@pytest.mark.parametrize("kind", ["sos", "fall", "wandering"])
async def test_an_alarm_carries_its_devices_newest_fix_before_it(
        seeded: AsyncConnectionPool, kind: str) -> None:
    newest = _fix("watch-1", 2, T - dt.timedelta(minutes=3, milliseconds=-250), lat=31.25, acc=None)
    await _write(seeded, Batch(locations=[
        _fix("watch-1", 1, T - dt.timedelta(minutes=10)),
        newest,
        _fix("watch-1", 3, T + dt.timedelta(minutes=5)),  # later than the skew allows
        _fix("watch-2", 1, T - dt.timedelta(minutes=1)),  # someone else's watch
    ]))
    assert await _write(seeded, Batch(alarms=[_alarm(kind=kind)]))
    assert await _details(seeded) == [
        {"event": kind, "presses": 1, "last_location": _shown(newest)}]


async def test_a_fix_older_than_a_day_is_not_attached(seeded: AsyncConnectionPool) -> None:
    await _write(seeded, Batch(locations=[
        _fix("watch-1", 1, T - dt.timedelta(hours=24, minutes=1))]))
    await _write(seeded, Batch(alarms=[_alarm()]))
    assert await _details(seeded) == [{"event": "sos", "presses": 1}]


async def test_another_devices_fix_is_not_attached(seeded: AsyncConnectionPool) -> None:
    await _write(seeded, Batch(locations=[_fix("watch-2", 1, T - dt.timedelta(seconds=30))]))
    await _write(seeded, Batch(alarms=[_alarm("watch-1"), _alarm("btn-1")]))
    assert await _details(seeded) == [{"event": "sos", "presses": 1}] * 2


async def test_a_fix_in_the_same_batch_is_seen_even_stamped_just_after_the_alarm(
        seeded: AsyncConnectionPool) -> None:
    await _write(seeded, Batch(locations=[_fix("watch-1", 1, T - dt.timedelta(minutes=5))]))
    same_batch = _fix("watch-1", 2, T + dt.timedelta(seconds=20), lat=31.24, lon=121.48,
                      source="wifi")
    await _write(seeded, Batch(locations=[same_batch], alarms=[_alarm()]))
    assert (await _details(seeded))[0]["last_location"] == _shown(same_batch)


async def test_a_replayed_batch_changes_nothing(seeded: AsyncConnectionPool) -> None:
    first = _fix("watch-1", 1, T - dt.timedelta(minutes=2))
    batch = Batch(locations=[first], alarms=[_alarm()])
    assert len(await _write(seeded, batch)) == 1
    before = await _details(seeded)
    assert before[0]["last_location"] == _shown(first)
    # The broker redelivers the alarm's batch: nothing changes.
    assert await _write(seeded, batch) == []
    assert await _details(seeded) == before


async def test_a_fix_stored_after_its_alarm_is_put_on_it(seeded: AsyncConnectionPool) -> None:
    """The SOS and the fix sent with it travel on different ingest lanes: the fix can be
    committed after the alarm, and still belongs on it (and the console is told)."""
    older = _fix("watch-1", 1, T - dt.timedelta(minutes=20))
    await _write(seeded, Batch(locations=[older], alarms=[_alarm()]))
    assert (await _details(seeded))[0]["last_location"] == _shown(older)
    late = _fix("watch-1", 2, T + dt.timedelta(seconds=10), lat=30.5)
    async with seeded.connection() as conn:
        written = await write(conn, Batch(locations=[late]))
    assert len(written.changed_alarm_ids) == 1
    assert (await _details(seeded))[0]["last_location"] == _shown(late)
    # Neither a fix from long after the alarm nor a replay of an older one moves it again.
    async with seeded.connection() as conn:
        after = await write(conn, Batch(locations=[
            _fix("watch-1", 3, T + dt.timedelta(minutes=5), lat=29.0), older]))
    assert after.changed_alarm_ids == []
    assert (await _details(seeded))[0]["last_location"] == _shown(late)


async def test_an_alarm_is_stored_without_a_location_when_the_look_up_fails(
        seeded: AsyncConnectionPool, db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    await _write(seeded, Batch(locations=[_fix("watch-1", 1, T - dt.timedelta(minutes=1))]))
    # A retention job dropping a partition holds the whole table like this.
    async with await psycopg.AsyncConnection.connect(db_url) as holder, \
            await psycopg.AsyncConnection.connect(db_url, autocommit=True,
                                                  row_factory=dict_row) as ingest:
        await holder.execute("LOCK TABLE locations IN ACCESS EXCLUSIVE MODE")
        await ingest.execute("SET lock_timeout = '200ms'")
        with caplog.at_level(logging.ERROR, logger="store.batch"):
            written = await write(ingest, Batch(alarms=[_alarm()]))
        await holder.rollback()
    assert len(written.new_alarm_ids) == 1
    assert await _details(seeded) == [{"event": "sos", "presses": 1}]
    assert "storing the alarm without it" in caplog.text


async def test_the_look_up_reads_only_the_partitions_of_its_day(
        seeded: AsyncConnectionPool) -> None:
    async with seeded.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute("EXPLAIN (COSTS OFF) " + _WITH_LAST_LOCATION, {
            "kind": "sos", "priority": 1, "device_id": "watch-1", "site_id": "home-1",
            "resident_id": "r1", "room_id": None, "source_seq": 1, "occurred_at": T,
            "details": Jsonb({}),
            "fix_since": T - dt.timedelta(hours=24), "fix_until": T + dt.timedelta(seconds=60)})
        plan = "\n".join(row["QUERY PLAN"] for row in await cur.fetchall())
    scanned = set(re.findall(r" on (locations_\w+)", plan))
    days = {f"locations_{T.date() + dt.timedelta(days=d):%Y%m%d}" for d in (-1, 0, 1)}
    assert scanned and scanned <= days, plan  # not the default partition, not the days ahead
    assert "Limit" in plan and "Index" in plan, plan
