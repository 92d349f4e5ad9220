"""A fall streamed through ingest: it waits out its grace period durably, survives an ingest
restart, and becomes one alarm with its snippet; a cancel within the grace period logs it."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest
from psycopg_pool import AsyncConnectionPool

from ingest.codec import encode, pack_samples
from ingest.contract import Accel, Event, EventType
from ingest.pipeline import Ingest
from simulators import motion
from store import registry
from tests.clock import Clock
from tests.ingest.test_pipeline import ListSource

pytestmark = pytest.mark.db

SITE, WATCH = "home-0001", "watch-0001"
SCALE = 1 / 1024



async def _seed(pool: AsyncConnectionPool) -> None:
    async with pool.connection() as conn:
        await registry.seed(conn, {
            "sites": [{"id": SITE, "kind": "home", "name": "home 1"}],
            "residents": [{"id": "r1", "site_id": SITE, "name": "李桂英"}],
            "devices": [{"id": WATCH, "site_id": SITE, "kind": "wearable", "resident_id": "r1"}],
        })


def _fall_windows(source: ListSource, t0: float, seed: int) -> float:
    """Publish a fall (lying still afterwards) as 1 s windows from t0; returns the impact time."""
    rng = np.random.default_rng(seed)
    samples, impact = motion.synth_fall(50.0, rng, gets_up=False, before_s=8.0, after_s=12.0,
                                        rot=motion.mount(rng))
    for i in range(len(samples) // 50):
        window = samples[i * 50:(i + 1) * 50]
        body = Accel(seq=i + 1, ts=int((t0 + i) * 1000), hz=50.0, scale=SCALE, n=50,
                     data=pack_samples(window, SCALE))
        source.add(f"eldercare/v1/{SITE}/{WATCH}/accel", encode(body))
    return t0 + impact / 50.0


async def _rows(pool: AsyncConnectionPool, query: str) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        return list(await (await conn.execute(query)).fetchall())


async def test_fall_waits_out_grace_survives_restart_then_alarms_once(
        pool: AsyncConnectionPool) -> None:
    await _seed(pool)
    t0 = time.time() - 25.0
    clock = Clock(t0 + 21.0)
    source = ListSource()
    impact = _fall_windows(source, t0, seed=3)
    first = Ingest(pool=pool, source=source, clock=clock)
    await first.load_registry()
    await first.process(source.items)
    assert len(source.acked) == len(source.items)
    pending = await _rows(pool, "SELECT device_id FROM pending_falls")
    assert pending == [{"device_id": WATCH}], "the fall waits out its grace period, durably"
    assert await _rows(pool, "SELECT id FROM alarms") == []

    # ingest dies; a new one starts, and the grace period runs out while the watch is silent
    second = Ingest(pool=pool, source=ListSource(), clock=clock)
    await second.load_registry()
    clock.t = impact + 29.0
    await second.process([])
    assert await _rows(pool, "SELECT id FROM alarms") == []
    clock.t = impact + 30.5
    await second.process([])
    alarms = await _rows(pool, "SELECT kind, priority, resident_id, details FROM alarms")
    assert len(alarms) == 1
    assert alarms[0]["kind"] == "fall" and alarms[0]["priority"] == 1
    assert alarms[0]["details"]["peak_g"] > 2.0
    assert await _rows(pool, "SELECT device_id FROM pending_falls") == []
    log = await _rows(pool, "SELECT outcome FROM fall_log")
    assert log == [{"outcome": "alarmed"}]
    await second.process([])
    assert len(await _rows(pool, "SELECT id FROM alarms")) == 1


async def test_fall_cancelled_within_grace_is_logged_not_alarmed(pool: AsyncConnectionPool) -> None:
    await _seed(pool)
    t0 = time.time() - 25.0
    clock = Clock(t0 + 21.0)
    source = ListSource()
    impact = _fall_windows(source, t0, seed=4)
    ingest = Ingest(pool=pool, source=source, clock=clock)
    await ingest.load_registry()
    await ingest.process(source.items)
    cancel = source.add(f"eldercare/v1/{SITE}/{WATCH}/event",
                        encode(Event(seq=1000, ts=int((impact + 10) * 1000), type=EventType.CANCEL)))
    clock.t = impact + 10.5
    await ingest.process([cancel])
    clock.t = impact + 60.0
    await ingest.process([])
    assert await _rows(pool, "SELECT id FROM alarms") == []
    assert await _rows(pool, "SELECT outcome FROM fall_log") == [{"outcome": "cancelled"}]
