"""A command from the console reaches the device over the broker, and its answer reaches the
person who asked; an unanswered command times out. Real mosquitto and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import time

import httpx
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from eldercare.platform import Platform, seed_district
from eldercare.settings import Settings
from ingest.codec import encode
from ingest.commands import CommandRelay
from ingest.contract import Ack
from simulators.district import District
from store.database import prepare
from tests.clock import Clock
from tests.servers import Mosquitto, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.db, pytest.mark.broker]

PASSWORD = "command-pass-1"
CSRF = {"X-Requested-With": "eldercare"}
DETECTOR = "smoke-care-01-101"


class FakeDetector:
    """A smoke detector (or its gateway) that answers every command with ``done``."""

    def __init__(self, url: str, device: str = DETECTOR) -> None:
        port = int(url.rsplit(":", 1)[1])
        self.device = device
        self.received: list[dict[str, object]] = []
        self.subscribed = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"fake-{device}")
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(
            f"eldercare/v1/care-01/{device}/cmd", qos=1)
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.on_message = self._answer
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _answer(self, client: paho.Client, userdata: object, msg: paho.MQTTMessage) -> None:
        command = json.loads(msg.payload)
        self.received.append(command)
        # The device's sequence goes on from whatever it sent before (a smoke event, say).
        ack = Ack(seq=time.time_ns() // 1000, ts=int(time.time() * 1000), id=command["id"],
                  command=command["command"], status="done")
        client.publish(f"eldercare/v1/care-01/{self.device}/ack", encode(ack), qos=1)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


async def test_silence_reaches_the_detector_and_the_answer_reaches_the_asker(
        mosquitto: Mosquitto, db_url: str) -> None:
    await prepare(db_url)
    await seed_district(db_url, District.generate(seed=41, homes=2, care_homes=1),
                        demo_password=PASSWORD)
    device = FakeDetector(mosquitto.url)
    try:
        assert await asyncio.to_thread(device.subscribed.wait, 10)
        async with Platform(settings=Settings(), db_url=db_url, broker_url=mosquitto.url,
                            port=free_port(), client_id="command-ingest",
                            services=("ingest", "commands", "console")) as platform:
            async with httpx.AsyncClient(base_url=platform.console_url, headers=CSRF) as care:
                r = await care.post("/api/v1/session",
                                    json={"username": "care1", "password": PASSWORD})
                assert r.status_code == 200
                r = await care.post(f"/api/v1/devices/{DETECTOR}/commands",
                                    json={"command": "locate"})
                assert r.status_code == 422 and "cannot locate" in r.json()["detail"]
                r = await care.post("/api/v1/devices/btn-0001/commands",
                                    json={"command": "self_test"})
                assert r.status_code == 404  # a home's button is not care1's
                r = await care.post(f"/api/v1/devices/{DETECTOR}/commands",
                                    json={"command": "silence"})
                assert r.status_code == 202
                command_id = r.json()["command"]["id"]
                status = None
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline and status != "done":
                    await asyncio.sleep(0.1)
                    status = (await care.get(f"/api/v1/commands/{command_id}")).json()[
                        "command"]["status"]
                assert status == "done"
        assert [c["command"] for c in device.received] == ["silence"]
        assert device.received[0]["id"] == command_id
    finally:
        device.close()



async def test_an_unanswered_command_times_out(mosquitto: Mosquitto, db_url: str) -> None:
    from store import commands as store_commands

    await prepare(db_url)
    await seed_district(db_url, District.generate(seed=41, homes=2, care_homes=1),
                        demo_password=None)
    async with Platform(settings=Settings(), db_url=db_url, broker_url=mosquitto.url,
                        services=("ingest",), client_id="timeout-ingest") as platform:
        # no "commands" service: this test drives the relay itself, on its own clock
        assert platform.pool is not None and platform.source is not None
        now = dt.datetime.now(dt.UTC)
        async with platform.pool.connection() as conn:
            await store_commands.create(conn, command_id="c-late", device_id=DETECTOR,
                                        site_id="care-01", command="silence",
                                        requested_by="care1",
                                        deadline=now + dt.timedelta(seconds=60))
        clock = Clock(now.timestamp() + 1)
        relay = CommandRelay(platform.pool, platform.source, clock=clock)
        published, timed_out = await relay.run_once()
        assert published == ["c-late"] and timed_out == []
        clock.t = now.timestamp() + 61
        assert await relay.run_once() == ([], ["c-late"])
        async with platform.pool.connection() as conn:
            assert (await store_commands.get(conn, "c-late"))["status"] == "timed_out"
