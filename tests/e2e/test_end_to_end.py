"""A simulated button press travels device -> broker -> ingest -> PostgreSQL -> console WebSocket,
on real servers: mosquitto with Debian's PostgreSQL, and the embedded broker and database."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest

from detection.device_health import with_checkins
from eldercare.platform import Platform, seed_district
from eldercare.settings import Settings
from eldercare.watcher import watching
from ingest.embedded_broker import EmbeddedBroker
from simulators.district import District
from simulators.publisher import Publisher
from simulators.scenario import DEMO
from simulators.simulation import Simulation
from store.database import prepare
from store.embedded import EmbeddedPostgres
from tests.servers import Mosquitto, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.db, pytest.mark.broker]

PASSWORD = "e2e-password-1"


@contextlib.asynccontextmanager
async def running(db_url: str, broker_url: str) -> AsyncIterator[tuple[Platform, District]]:
    district = District.generate(seed=5, homes=5, care_homes=1)
    await prepare(db_url)
    await seed_district(db_url, district, demo_password=PASSWORD)
    async with Platform(settings=Settings(), db_url=db_url, broker_url=broker_url,
                        port=free_port(), client_id=f"e2e-{time.time_ns()}") as platform:
        yield platform, district


async def _press_and_see(platform: Platform, district: District, broker_url: str,
                         db_url: str) -> float:
    sim = Simulation(district, DEMO, seed=1, start=time.time())
    publisher = Publisher(broker_url, client_id=f"e2e-device-{time.time_ns()}")
    await asyncio.to_thread(publisher.connect)
    try:
        async with watching(platform.console_url, "op1", PASSWORD) as watcher:
            button = next(d for d in district.devices if d.kind == "button")
            pressed = time.monotonic()
            publisher.publish(sim.press(button.id))
            alarm = await watcher.wait_for(
                lambda a: a["device_id"] == button.id and a["kind"] == "sos", timeout=5)
            latency = watcher.seen[alarm["id"]] - pressed
    finally:
        publisher.close()
    assert alarm["priority"] == 1
    assert alarm["resident_id"] == button.resident_id
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT kind, status, delivered_at FROM alarms WHERE id = %s",
                           (alarm["id"],)).fetchone()
        deadline = time.monotonic() + 5
        while row is not None and row[2] is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)  # the watcher's receipt is written asynchronously
            row = conn.execute("SELECT kind, status, delivered_at FROM alarms WHERE id = %s",
                               (alarm["id"],)).fetchone()
    assert row is not None and row[0] == "sos" and row[1] == "new"
    assert row[2] is not None, "the console's receipt was recorded"
    return latency


async def test_button_press_reaches_console_within_2s_on_mosquitto_and_postgresql(
        mosquitto: Mosquitto, db_url: str) -> None:
    async with running(db_url, mosquitto.url) as (platform, district):
        latency = await _press_and_see(platform, district, mosquitto.url, db_url)
    assert latency < 2.0, f"press to screen took {latency:.3f} s"


async def test_button_press_reaches_console_within_2s_on_embedded_broker_and_database(
        tmp_path: Path) -> None:
    folder = tmp_path / "pg"
    folder.mkdir()
    os.chmod(tmp_path, 0o755)
    with EmbeddedPostgres(folder) as db_url:
        broker = EmbeddedBroker(free_port())
        broker_url = await broker.start()
        try:
            async with running(db_url, broker_url) as (platform, district):
                latency = await _press_and_see(platform, district, broker_url, db_url)
        finally:
            await broker.stop()
    assert latency < 2.0, f"press to screen took {latency:.3f} s"


async def test_home_gateways_say_whose_devices_they_speak_for_on_mosquitto_and_postgresql(
        mosquitto: Mosquitto, db_url: str) -> None:
    """A district registered without anyone saying which devices go through which home
    gateway: when the gateways connect, their retained "online" lists the devices they speak
    for, and the registry has them (``devices.via``) within seconds, as the installer's
    configuration has them."""
    import dataclasses

    district = District.generate(seed=5, homes=6, care_homes=0, home_gateways=True)
    wired = {d.id: d.via for d in district.devices if d.via}
    assert len(set(wired.values())) == 2, wired
    unwired = dataclasses.replace(district, devices=[dataclasses.replace(d, via=None)
                                                     for d in district.devices])
    await prepare(db_url)
    await seed_district(db_url, unwired, demo_password=PASSWORD)
    sim = Simulation(district, DEMO, seed=1, start=time.time())
    # (and the deployment's check-in intervals reach the running detectors: ELDERCARE_CHECKIN)
    checkin = with_checkins("button=12h")
    async with Platform(settings=Settings(checkin=checkin), db_url=db_url,
                        broker_url=mosquitto.url, port=free_port(),
                        client_id=f"e2e-{time.time_ns()}") as platform:
        judged = {ingest._welfare.health.classes for _, ingest in platform.lanes
                  if ingest._welfare is not None}
        assert judged == {checkin}
        publisher = Publisher(mosquitto.url, client_id=f"e2e-device-{time.time_ns()}")
        await asyncio.to_thread(publisher.connect)
        try:
            publisher.publish(sim.step())  # every device connects: the gateways say "online"
            deadline = time.monotonic() + 10
            with psycopg.connect(db_url, autocommit=True) as conn:
                while True:
                    via = dict(conn.execute(
                        "SELECT id, via FROM devices WHERE via IS NOT NULL").fetchall())
                    if via == wired or time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.1)
        finally:
            publisher.close()
    assert via == wired
