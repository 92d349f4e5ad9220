"""Publishing a simulation to a broker in real time: one second of district per second.

One MQTT connection carries the whole district (as a home or care-home hub would for its
devices); per-device connections with real last wills are the gateway's business (issue 7).
Every message is QoS 1: everything a device sends can end in an alarm.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from ingest.broker import BrokerAddress
from simulators.devices import Outgoing
from simulators.simulation import Simulation

log = logging.getLogger(__name__)


class Publisher:
    def __init__(self, url: str, *, client_id: str = "eldercare-simulator") -> None:
        address = BrokerAddress.parse(url)
        self._client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                   clean_session=True, protocol=paho.MQTTv311)
        if address.username:
            self._client.username_pw_set(address.username, address.password)
        self._client.max_inflight_messages_set(1000)
        self._client.max_queued_messages_set(0)  # unbounded: paho keeps what is not yet sent
        self._connected = threading.Event()
        self._client.on_connect = lambda c, u, f, rc, p: self._connected.set()
        self._address = address
        self.published = 0

    def connect(self, timeout: float = 10.0) -> None:
        self._client.connect_async(self._address.host, self._address.port, 30)
        self._client.loop_start()
        if not self._connected.wait(timeout):
            raise ConnectionError(f"no broker at {self._address.host}:{self._address.port}")

    def publish(self, messages: list[Outgoing]) -> None:
        for m in messages:
            self._client.publish(m.topic, m.payload, qos=m.qos, retain=m.retain)
        self.published += len(messages)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


async def run_realtime(sim: Simulation, publisher: Publisher, *, seconds: float | None,
                       stop: asyncio.Event) -> None:
    """Step the simulation once a second of wall-clock time and publish what it produced."""
    started = time.monotonic()
    steps = 0
    while not stop.is_set() and (seconds is None or steps < seconds):
        messages = await asyncio.to_thread(sim.step)
        publisher.publish(messages)
        steps += 1
        delay = started + steps - time.monotonic()
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await stop.wait()
        elif delay < -5:
            log.warning("simulation is %.1f s behind real time", -delay)
