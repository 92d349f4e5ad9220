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
import struct
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
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


_PUBACK = struct.Struct("!BBH")
"""MQTT 3.1.1 PUBACK (section 3.4): fixed header 0x40, remaining length 2, the packet id."""


class _Client(paho.Client):
    """paho's client with two changes to how bytes move and none to the protocol's logic.

    - Reading: paho reads each packet with three or four ``recv()`` calls of a few bytes and
      handles one packet per ``select()``. This reads up to 64 KiB per ``recv()`` and handles
      every packet already in hand before the next ``select()``.
    - Acknowledging: :meth:`ack_many` queues the PUBACKs of a whole stored batch as one write;
      paho's ``ack`` wakes its thread and writes once per message.

    At thousands of messages a second those system calls were a third of the stream lane's CPU
    (py-spy, docs/performance.md). They rest on paho 2's private ``_sock_recv`` and
    ``_packet_queue``; tests/ingest/test_mqtt_source.py runs them against a real mosquitto.
    """

    READ = 65536
    _ahead = b""  # bytes read and not yet handed to paho
    _at = 0
    _ahead_of: object = None  # the socket they came from

    def _sock_recv(self, bufsize: int) -> bytes:
        if self._ahead_of is not self._sock:  # a new connection: the old one's bytes are void
            self._ahead, self._at, self._ahead_of = b"", 0, self._sock
        if self._at >= len(self._ahead):
            data = super()._sock_recv(self.READ)  # BlockingIOError when nothing is waiting
            if not data:
                return data  # the broker closed the connection
            self._ahead, self._at = data, 0
        start = self._at
        self._at = min(start + bufsize, len(self._ahead))
        return self._ahead[start:self._at]

    def _in_hand(self) -> bool:
        return self._sock is not None and self._ahead_of is self._sock \
            and self._at < len(self._ahead)

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        rc = super().loop_read(max_packets)
        while rc == MQTTErrorCode.MQTT_ERR_SUCCESS and self._in_hand():
            rc = super().loop_read(max_packets)
        return rc

    def ack_many(self, mids: Iterable[int]) -> None:
        """Acknowledge QoS 1 messages (MQTT 3.1.1) in one write."""
        packet = b"".join(_PUBACK.pack(paho.PUBACK, 2, mid) for mid in mids)
        if packet:
            self._packet_queue(paho.PUBACK, packet, 0, 1)


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
        self._client = _Client(
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

    def ack_all(self, items: Iterable[Incoming]) -> None:
        """Acknowledge stored messages, in one write. QoS 0 needs none, and a message received
        on an earlier connection is redelivered on this one (its old id is void here)."""
        generation = self._generation
        self._client.ack_many(item.mid for item in items
                              if item.qos == 1 and item.generation == generation)

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
