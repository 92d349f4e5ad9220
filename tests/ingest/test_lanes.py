"""The two ingest lanes in separate processes (``eldercare ingest --lane alarms|streams``): the
broker hands every event to both; the alarm lane stores it and raises its alarm, the stream lane
only lets its detectors see it. Nothing is stored or raised twice, and a cancel still closes a
fall's grace period on the lane that sees the motion."""

from __future__ import annotations

import time
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool

from ingest.codec import encode
from ingest.contract import Event, EventType, Kind
from ingest.pipeline import Ingest
from tests.clock import Clock
from tests.ingest.test_fall_pipeline import SITE, WATCH, _fall_windows, _seed
from tests.ingest.test_pipeline import ListSource

pytestmark = pytest.mark.db

EVENTS = f"eldercare/v1/{SITE}/{WATCH}/event"


def _lanes(pool: AsyncConnectionPool, clock: Clock) -> tuple[Ingest, Ingest]:
    alarms = Ingest(pool=pool, source=ListSource(), clock=clock, events_only=True)
    streams = Ingest(pool=pool, source=ListSource(), clock=clock, observe=(Kind.EVENT,))
    return alarms, streams


async def _rows(pool: AsyncConnectionPool, query: str) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        return list(await (await conn.execute(query)).fetchall())


async def test_a_press_is_stored_and_raised_once_by_the_alarm_lane(pool: AsyncConnectionPool) -> None:
    await _seed(pool)
    clock = Clock(time.time())
    alarms, streams = _lanes(pool, clock)
    for lane in (alarms, streams):
        await lane.load_registry()
    press = ListSource().add(EVENTS, encode(Event(seq=7, ts=int(clock.t * 1000),
                                                  type=EventType.SOS)))
    garbled = ListSource().add(EVENTS, b'{"seq": "seven"')
    await streams.process([press, garbled])
    await alarms.process([press, garbled])
    assert [r["kind"] for r in await _rows(pool, "SELECT kind FROM alarms")] == ["sos"]
    assert len(await _rows(pool, "SELECT seq FROM events")) == 1
    # The garbled one is the alarm lane's to dead-letter: one row, not one per lane.
    assert len(await _rows(pool, "SELECT id FROM dead_letters")) == 1
    assert (streams.stats.observed, streams.stats.received, streams.stats.stored) == (2, 0, 0)
    assert (alarms.stats.received, alarms.stats.alarms_raised) == (2, 1)


async def test_a_cancel_closes_the_grace_period_on_the_stream_lane(pool: AsyncConnectionPool) -> None:
    await _seed(pool)
    t0 = time.time() - 25.0
    clock = Clock(t0 + 21.0)
    alarms, streams = _lanes(pool, clock)
    for lane in (alarms, streams):
        await lane.load_registry()
    windows = ListSource()
    impact = _fall_windows(windows, t0, seed=4)
    await streams.process(windows.items)
    assert len(await _rows(pool, "SELECT device_id FROM pending_falls")) == 1
    cancel = ListSource().add(EVENTS, encode(Event(seq=1000, ts=int((impact + 10) * 1000),
                                                   type=EventType.CANCEL)))
    clock.t = impact + 10.5
    await alarms.process([cancel])
    await streams.process([cancel])
    clock.t = impact + 60.0
    await alarms.process([])
    await streams.process([])
    assert await _rows(pool, "SELECT id FROM alarms") == []
    assert await _rows(pool, "SELECT outcome FROM fall_log") == [{"outcome": "cancelled"}]
    assert [r["type"] for r in await _rows(pool, "SELECT type FROM events")] == ["cancel"]


async def test_the_alarm_lane_leaves_pending_falls_to_the_stream_lane(
        pool: AsyncConnectionPool) -> None:
    """After a restart the alarm lane must not resume a grace period: it sees no motion, so it
    would raise a fall the wearer has already got up from."""
    await _seed(pool)
    t0 = time.time() - 25.0
    clock = Clock(t0 + 21.0)
    windows = ListSource()
    impact = _fall_windows(windows, t0, seed=4)
    _, streams = _lanes(pool, clock)
    await streams.load_registry()
    await streams.process(windows.items)
    assert len(await _rows(pool, "SELECT device_id FROM pending_falls")) == 1

    alarms, _ = _lanes(pool, clock)
    await alarms.load_registry()
    clock.t = impact + 120.0
    await alarms.process([])
    assert await _rows(pool, "SELECT id FROM alarms") == []
    # The stream lane, restarted, does resume it and raises the fall once.
    _, again = _lanes(pool, clock)
    await again.load_registry()
    await again.process([])
    assert [r["kind"] for r in await _rows(pool, "SELECT kind FROM alarms")] == ["fall"]
