"""A running ingest follows registry changes at once (NOTIFY registry, migration 0014): a button
switched off double-press raises an SOS on its next double press, without a restart."""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest

from eldercare.platform import Platform, seed_district
from eldercare.settings import Settings
from ingest.codec import encode
from ingest.contract import Event, EventType
from simulators.devices import Outgoing
from simulators.district import District
from simulators.publisher import Publisher
from store.database import prepare
from tests.servers import Mosquitto

pytestmark = [pytest.mark.e2e, pytest.mark.db, pytest.mark.broker]

DISTRICT = District.generate(seed=21, homes=3, care_homes=0)
BUTTON = next(d for d in DISTRICT.devices if d.kind == "button")


def _double_press(seq: int) -> Outgoing:
    body = Event(seq=seq, ts=int(time.time() * 1000), type=EventType.SOS, presses=2)
    return Outgoing(f"eldercare/v1/{BUTTON.site_id}/{BUTTON.id}/event", encode(body))


async def _count(db_url: str, query: str, expected: int) -> int:
    deadline = time.monotonic() + 15
    while True:
        with psycopg.connect(db_url) as conn:
            row = conn.execute(query, (BUTTON.id,)).fetchone()
        assert row is not None
        if row[0] >= expected or time.monotonic() > deadline:
            return int(row[0])
        await asyncio.sleep(0.1)


async def test_a_button_switched_off_double_press_raises_an_sos_without_a_restart(
        db_url: str, mosquitto: Mosquitto) -> None:
    await prepare(db_url)
    await seed_district(db_url, DISTRICT, demo_password=None)
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE devices SET service_press = 'double_press', service_type = 'meal'"
                     " WHERE id = %s", (BUTTON.id,))
    async with Platform(settings=Settings(), db_url=db_url, broker_url=mosquitto.url,
                        services=("ingest",), client_id=f"registry-{time.time_ns()}") as platform:
        await asyncio.wait_for(platform.registry_followed.wait(), 10)
        publisher = Publisher(mosquitto.url, client_id=f"registry-dev-{time.time_ns()}")
        await asyncio.to_thread(publisher.connect)
        try:
            publisher.publish([_double_press(1)])
            tickets = "SELECT count(*) FROM service_tickets WHERE device_id = %s"
            assert await _count(db_url, tickets, 1) == 1

            with psycopg.connect(db_url) as conn:
                conn.execute("UPDATE devices SET service_press = 'none' WHERE id = %s",
                             (BUTTON.id,))
            await asyncio.sleep(1.0)  # the notification, the settle time, the re-read
            publisher.publish([_double_press(2)])
            alarms = "SELECT count(*) FROM alarms WHERE device_id = %s AND kind = 'sos'"
            assert await _count(db_url, alarms, 1) == 1
            with psycopg.connect(db_url) as conn:  # the press was not taken for a service call
                assert conn.execute(tickets, (BUTTON.id,)).fetchone() == (1,)
        finally:
            publisher.close()
