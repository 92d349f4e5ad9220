"""The broker side of ingest: a persistent QoS 1 subscription whose messages are acknowledged
only when ingest says so (after they are stored).

paho-mqtt is used directly rather than aiomqtt because aiomqtt acknowledges QoS 1 messages as
soon as they arrive; paho's ``manual_ack`` lets the PUBACK wait until the message is durable.
paho's network loop runs in its own thread; messages cross into asyncio through a bounded queue.

Overflow policy: when the queue is full the paho thread blocks, so the broker stops receiving
PUBACKs and holds the rest in our persistent session (mosquitto must be configured with
``max_queued_messages`` large enough; see docs/operations.md). Nothing is dropped here.

Acknowledgements after a reconnect: a message id belongs to one connection. Messages received on
an earlier connection are redelivered by the broker on the new one, so acking them by their old id
would acknowledge a different message: such acks are skipped (the redelivery is then acked).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
import time
from dataclasses import dataclass

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from ingest.broker import BrokerAddress

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Incoming:
    topic: str
    payload: bytes
    mid: int
    qos: int
    generation: int
    received: float


class MqttSource:
    def __init__(
        self,
        url: str,
        *,
        client_id: str,
        subscriptions: list[tuple[str, int]],
        queue_size: int = 20_000,
        keepalive: int = 30,
    ) -> None:
        self._address = BrokerAddress.parse(url)
        self._subscriptions = subscriptions
        self._queue: asyncio.Queue[Incoming] = asyncio.Queue(maxsize=queue_size)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._generation = 0
        self._stopping = threading.Event()
        self._scheduled = 0  # puts handed to the loop and not yet run: they reserve queue room
        self._scheduled_lock = threading.Lock()
        self._handed: list[Incoming] = []  # received, waiting for the loop to queue them
        self._wake_pending = False
        self.connected = asyncio.Event()
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=False,  # the broker keeps our subscription and queues while we are away
            protocol=paho.MQTTv311,
            manual_ack=True,
        )
        if self._address.username:
            self._client.username_pw_set(self._address.username, self._address.password)
        if self._address.tls:
            self._client.tls_set_context(ssl.create_default_context())
        self._client.reconnect_delay_set(min_delay=1, max_delay=10)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._keepalive = keepalive

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._client.connect_async(self._address.host, self._address.port, self._keepalive)
        self._client.loop_start()

    async def stop(self) -> None:
        self._stopping.set()
        await asyncio.to_thread(self._client.disconnect)
        await asyncio.to_thread(self._client.loop_stop)

    async def get(self) -> Incoming:
        return await self._queue.get()

    def get_nowait(self) -> Incoming | None:
        try:
            return self._queue.get_nowait()
        except asyncio.QueueEmpty:
            return None

    def publish(self, topic: str, payload: bytes, *, qos: int = 1) -> bool:
        """Queue a message to the broker (paho sends it, and resends after a reconnect)."""
        info = self._client.publish(topic, payload, qos=qos)
        return info.rc == paho.MQTT_ERR_SUCCESS or info.rc == paho.MQTT_ERR_NO_CONN

    def add_subscriptions(self, subscriptions: list[tuple[str, int]]) -> None:
        """Subscribe to more topic filters now, and again after every reconnect."""
        have = {topic for topic, _ in self._subscriptions}
        fresh = [s for s in subscriptions if s[0] not in have]
        if not fresh:
            return
        self._subscriptions = [*self._subscriptions, *fresh]
        if self._client.is_connected():
            self._subscribe(fresh)

    def _subscribe(self, subscriptions: list[tuple[str, int]]) -> None:
        # One SUBSCRIBE packet per thousand filters: a partitioned worker subscribes to every
        # site it owns, and one packet of tens of thousands of filters risks the broker's limit.
        for i in range(0, len(subscriptions), 1000):
            self._client.subscribe(subscriptions[i:i + 1000])

    def backlog(self) -> int:
        return self._queue.qsize()

    def ack(self, item: Incoming) -> None:
        if item.qos == 0 or item.generation != self._generation:
            return
        self._client.ack(item.mid, item.qos)

    def _put_scheduled(self) -> None:
        with self._scheduled_lock:
            items, self._handed = self._handed, []
            self._scheduled -= len(items)
            self._wake_pending = False
        for item in items:
            self._queue.put_nowait(item)  # cannot be full: room was reserved in _on_message

    # -- paho's thread ----------------------------------------------------------------------

    def _on_connect(self, client: paho.Client, userdata: object, flags: paho.ConnectFlags,
                    reason: ReasonCode, properties: object) -> None:
        if reason.is_failure:
            log.error("broker refused the connection: %s", reason)
            return
        self._generation += 1
        self._subscribe(self._subscriptions)
        log.info("connected to %s:%s (session present: %s)", self._address.host,
                 self._address.port, flags.session_present)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.connected.set)

    def _on_disconnect(self, client: paho.Client, userdata: object, flags: object,
                       reason: ReasonCode, properties: object) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.connected.clear)
        if not self._stopping.is_set():
            log.warning("lost the broker (%s); reconnecting", reason)

    def _on_message(self, client: paho.Client, userdata: object, msg: paho.MQTTMessage) -> None:
        assert self._loop is not None
        item = Incoming(topic=msg.topic, payload=bytes(msg.payload), mid=msg.mid, qos=msg.qos,
                        generation=self._generation, received=time.time())
        with self._scheduled_lock:
            room = self._queue.qsize() + self._scheduled < self._queue.maxsize
            if room:
                self._scheduled += 1
                self._handed.append(item)
                wake, self._wake_pending = not self._wake_pending, True
        if room:
            # Fast path: hand over without waiting for the event loop, and wake the loop once
            # for all that arrives before it runs (one self-pipe write per burst, not per message).
            if wake:
                self._loop.call_soon_threadsafe(self._put_scheduled)
            return
        future = asyncio.run_coroutine_threadsafe(self._queue.put(item), self._loop)
        while not self._stopping.is_set():
            try:
                future.result(timeout=0.5)
                return
            except TimeoutError:
                continue  # the queue is full: hold the network thread (back-pressure)
        future.cancel()
