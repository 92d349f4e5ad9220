"""A fall streamed through ingest: it waits out its grace period durably, survives an ingest
restart, and becomes one alarm with its snippet; a cancel within the grace period logs it."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest
from psycopg_pool import AsyncConnectionPool

from ingest.codec import Decoder, encode, pack_samples
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


async def test_a_fall_from_a_watch_whose_clock_reset_is_caught_once_its_error_is_learnt(
        pool: AsyncConnectionPool) -> None:
    """The watch's clock reset to 1 Jan 2000 (it went flat and lost its time) and it streams
    its motion as ever, one 1 s window a second. Until 2026-12-07 every window was refused
    (``ts_past``): the watch was blind to falls until someone set its clock. Now its first
    windows are refused while the clock's error is learnt (a minute of them, agreeing), and
    from then on each is placed by the platform's clock: the wearer's fall 80 s in is one alarm
    at the time it happened, and the maintenance list says the watch's clock needs setting, by
    how much. Set again, its clock is right and the list says nothing of it."""
    from alerts.maintenance import problems
    from store import sites

    await _seed(pool)
    real = time.time()  # the dead letters are stamped by the database's clock
    device_t0 = 946684800.0  # 2000-01-01 00:00 UTC
    clock = Clock(real)
    source = ListSource()
    ingest = Ingest(pool=pool, source=source, clock=clock, decoder=Decoder(clock=clock))
    await ingest.load_registry()
    rng = np.random.default_rng(5)
    samples, impact_at = motion.synth_fall(50.0, rng, gets_up=False, before_s=80.0, after_s=12.0,
                                           rot=motion.mount(rng))
    for i in range(len(samples) // 50):
        clock.t = real + i + 0.3  # a window arrives 0.3 s after its end, by its own clock
        body = Accel(seq=i + 1, ts=int((device_t0 + i) * 1000), hz=50.0, scale=SCALE, n=50,
                     data=pack_samples(samples[i * 50:(i + 1) * 50], SCALE))
        await ingest.process([source.add(f"eldercare/v1/{SITE}/{WATCH}/accel", encode(body))])
    impact = real + impact_at / 50.0
    clock.t = impact + 31.0
    await ingest.process([])
    dead = await _rows(pool, "SELECT code, count(*) AS n FROM dead_letters GROUP BY code")
    assert len(dead) == 1 and dead[0]["code"] == "ts_past" and 55 <= dead[0]["n"] <= 62, dead
    [alarm] = await _rows(pool, "SELECT kind, occurred_at, details FROM alarms")
    assert alarm["kind"] == "fall"
    assert abs(alarm["occurred_at"].timestamp() - impact) < 2.0
    async with pool.connection() as conn:
        [watch] = await sites.devices(conn, SITE)
    [said] = [p for p in problems(watch, watch["last_seen"]) if p["problem"].startswith("clock")]
    assert said["problem"] == "clock_corrected"
    assert abs(said["offset_s"] - (real - device_t0)) < 2.0
    # its clock set again: a window at its right time, and the list says nothing of its clock
    clock.t += 1.0
    body = Accel(seq=500, ts=int((clock.t - 0.3) * 1000), hz=50.0, scale=SCALE, n=50,
                 data=pack_samples(samples[-50:], SCALE))
    await ingest.process([source.add(f"eldercare/v1/{SITE}/{WATCH}/accel", encode(body))])
    async with pool.connection() as conn:
        [watch] = await sites.devices(conn, SITE)
    assert watch["clock_offset_s"] is None
    assert not [p for p in problems(watch, watch["last_seen"]) if p["problem"].startswith("clock")]
