"""A community kiosk's abnormal check-up travels kiosk -> mosquitto -> ingest -> PostgreSQL ->
the operator's WebSocket as a vitals alarm; a normal one is stored and raises nothing."""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest

from eldercare.platform import Platform, seed_district
from eldercare.settings import Settings
from eldercare.watcher import watching
from simulators.district import District
from simulators.publisher import Publisher
from simulators.scenario import DEMO
from simulators.simulation import Simulation
from store.database import prepare
from tests.servers import Mosquitto, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.db, pytest.mark.broker]

PASSWORD = "e2e-kiosk-1"


async def test_an_abnormal_kiosk_reading_reaches_the_operator(mosquitto: Mosquitto,
                                                              db_url: str) -> None:
    district = District.generate(seed=5, homes=12, care_homes=0, day_cares=True)
    await prepare(db_url)
    await seed_district(db_url, district, demo_password=PASSWORD)
    sim = Simulation(district, DEMO, seed=1, start=time.time())
    kiosk = next(k for k in sim.kiosks.devices if sim.kiosks.served(k.device.id))
    resident = sim.kiosks.served(kiosk.device.id)[0]
    async with Platform(settings=Settings(), db_url=db_url, broker_url=mosquitto.url,
                        port=free_port(), client_id=f"e2e-kiosk-{time.time_ns()}") as platform:
        publisher = Publisher(mosquitto.url, client_id=f"e2e-kiosk-device-{time.time_ns()}")
        await asyncio.to_thread(publisher.connect)
        try:
            async with watching(platform.console_url, "op1", PASSWORD) as watcher:
                publisher.publish([sim.kiosks.checkup(kiosk.device.id, resident, time.time(),
                                                      abnormal=False)])
                sent = time.monotonic()
                publisher.publish([sim.kiosks.checkup(kiosk.device.id, resident, time.time(),
                                                      abnormal=True)])
                alarm = await watcher.wait_for(
                    lambda a: a["device_id"] == kiosk.device.id, timeout=5)
                latency = watcher.seen[alarm["id"]] - sent
        finally:
            publisher.close()
        assert await platform.drained()
    assert alarm["kind"] == "vitals_critical" and alarm["priority"] == 2
    assert alarm["resident_id"] == resident
    assert latency < 2.0, f"kiosk to screen took {latency:.3f} s"
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT source_seq, bool_or(abnormal) FROM health_readings"
                            " WHERE device_id = %s GROUP BY source_seq ORDER BY source_seq",
                            (kiosk.device.id,)).fetchall()
        alarms = conn.execute("SELECT count(*) FROM alarms WHERE device_id = %s",
                              (kiosk.device.id,)).fetchone()
    assert [abnormal for _, abnormal in rows] == [False, True]  # both stored, one abnormal
    assert alarms == (1,)
