"""The broker side of ingest: a persistent QoS 1 subscription whose messages are acknowledged
only when ingest says so (after they are stored).

paho-mqtt is used directly rather than aiomqtt because aiomqtt acknowledges QoS 1 messages as
soon as they arrive; paho's ``manual_ack`` lets the PUBACK wait until the message is durable.
paho runs on ingest's own event loop, through the hooks paho provides for an external loop
(``on_socket_open`` / ``on_socket_register_write`` and ``loop_read`` / ``loop_write`` /
``loop_misc``), as aiomqtt also does: a message is read, parsed and queued on the thread that
then validates and stores it, with no second thread contending for the interpreter lock and no
hand-over between threads. Only the TCP connect, which can block for seconds on an unreachable
broker, runs in a worker thread.

Overflow policy: when ``queue_size`` messages wait, ingest stops reading the socket until half
of them are taken; the broker then holds the rest in our persistent session (mosquitto must be
configured with ``max_queued_messages`` large enough; see docs/operations.md). Nothing is dropped
here. A pause longer than the keepalive (30 s, e.g. a PostgreSQL outage) ends in a reconnect, and
the broker redelivers everything not acknowledged.

Acknowledgements after a reconnect: a message id belongs to one connection. Messages received on
an earlier connection are redelivered by the broker on the new one, so acking them by their old id
would acknowledge a different message: such acks are skipped (the redelivery is then acked).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.reasoncodes import ReasonCode

from ingest.broker import BrokerAddress

log = logging.getLogger(__name__)

RECONNECT_MIN_S = 1.0
RECONNECT_MAX_S = 10.0


class Incoming(NamedTuple):
    """One message as the broker delivered it (a NamedTuple: immutable, and made for every
    message at a quarter of a frozen dataclass's cost)."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    generation: int
    received: float


_PUBACK = struct.Struct("!BBH")
"""MQTT 3.1.1 PUBACK (section 3.4): fixed header 0x40, remaining length 2, the packet id."""


class _Client(paho.Client):
    """paho's client, reading the way a busy subscriber needs; the protocol's logic stays paho's.

    paho reads each packet with three or four ``recv()`` calls of a few bytes, and builds an
    ``MQTTMessage``, logs, and matches the topic against per-topic callbacks for every PUBLISH.
    At thousands of messages a second that was a third of the stream lane's CPU (py-spy,
    docs/performance.md). Here:

    - :meth:`loop_read` reads up to 64 KiB per ``recv()`` and splits it into packets (MQTT 3.1.1
      section 2.2: a type byte and a variable-length remaining length). A QoS 0 or 1 PUBLISH
      (section 3.3: topic length and topic, a packet id when QoS > 0, the payload) goes straight
      to ``on_publish``; every other packet (CONNACK, SUBACK, PUBACK, PINGRESP, QoS 2) is handed
      whole to paho's own reader, so paho's state machine sees exactly what it would have read.
    - :meth:`ack_many` queues the PUBACKs of a whole stored batch as one write; paho's ``ack``
      writes once per message.

    It rests on paho 2's private ``_sock_recv``, ``_packet_queue``, ``_loop_rc_handle`` and
    ``_last_bytes_received``; tests/ingest/test_mqtt_source.py runs it against a real mosquitto,
    with packets straddling the reads.
    """

    READ = 65536
    on_publish_fast: Callable[[str, bytes, int, int], None] | None = None
    """Called with (topic, payload, packet id, QoS) for each QoS 0/1 PUBLISH."""
    _rest = b""  # the start of a packet whose end has not arrived yet
    _rest_of: object = None  # the socket it came from
    _whole = b""  # one whole non-PUBLISH packet, for paho's reader
    _at = 0

    def _sock_recv(self, bufsize: int) -> bytes:
        # paho's reader only ever reads the packet it was handed.
        if self._at >= len(self._whole):
            raise BlockingIOError
        start = self._at
        self._at = min(start + bufsize, len(self._whole))
        return self._whole[start:self._at]

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        sock = self._sock
        if sock is None:
            return MQTTErrorCode.MQTT_ERR_NO_CONN
        if self._rest_of is not sock:  # a new connection: the old one's bytes are void
            self._rest, self._rest_of = b"", sock
        try:
            data = paho.Client._sock_recv(self, self.READ)
        except BlockingIOError:
            return MQTTErrorCode.MQTT_ERR_SUCCESS
        except OSError as err:
            log.warning("reading from the broker failed: %s", err)
            return self._loop_rc_handle(MQTTErrorCode.MQTT_ERR_CONN_LOST)
        if not data:  # the broker closed the connection
            return self._loop_rc_handle(MQTTErrorCode.MQTT_ERR_CONN_LOST)
        with self._msgtime_mutex:
            self._last_bytes_received = paho.time_func()
        buf = self._rest + data if self._rest else data
        size, pos = len(buf), 0
        deliver = self.on_publish_fast
        while pos + 2 <= size:
            first = buf[pos]
            length, shift, i = 0, 0, pos + 1
            while i < size:
                byte = buf[i]
                length |= (byte & 0x7F) << shift
                i += 1
                if byte < 0x80:
                    break
                shift += 7
                if shift > 21:  # more than four length bytes: not MQTT
                    return self._loop_rc_handle(MQTTErrorCode.MQTT_ERR_PROTOCOL)
            else:
                break  # the length itself is incomplete
            end = i + length
            if end > size:
                break  # the rest of this packet is still on its way
            qos = (first >> 1) & 3
            if first >> 4 == 3 and qos < 2 and deliver is not None and length >= 2:
                at = i + 2 + (buf[i] << 8 | buf[i + 1])
                mid = 0
                if qos:
                    mid = buf[at] << 8 | buf[at + 1] if at + 2 <= end else -1
                    at += 2
                if at <= end and mid >= 0:
                    deliver(buf[i + 2:at - 2 * qos].decode("utf-8", "replace"), buf[at:end],
                            mid, qos)
                    pos = end
                    continue
            self._whole, self._at = buf[pos:end], 0  # everything else (or a malformed PUBLISH)
            rc = super().loop_read(1)
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or self._sock is not sock:
                return rc
            pos = end
        self._rest = buf[pos:]
        return MQTTErrorCode.MQTT_ERR_SUCCESS

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
        self._items: deque[Incoming] = deque()
        self._max = queue_size
        self._arrived = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._generation = 0
        self._stopping = False
        self._runner: asyncio.Task[None] | None = None
        self._sock: socket.socket | None = None  # the socket the loop watches
        self._reading = False
        self._writing = False
        self._write_soon = False
        self._unwatched = asyncio.Event()  # set while no socket is watched
        self._unwatched.set()
        self.connected = asyncio.Event()
        """Set once the broker has acknowledged every subscription of this connection: from
        then on, nothing published to them is missed (before, the broker drops what matches no
        subscription yet). Cleared when the connection is lost."""
        self._unanswered: set[int] = set()  # SUBSCRIBE packet ids awaiting their SUBACK
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
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message  # a QoS 2 PUBLISH, which ingest never asks for
        self._client.on_publish_fast = self._on_publish
        self._client.on_socket_open = self._on_socket_open
        self._client.on_socket_close = self._on_socket_close
        self._client.on_socket_register_write = self._on_register_write
        self._client.on_socket_unregister_write = self._on_unregister_write
        self._keepalive = keepalive

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._runner = asyncio.create_task(self._run(), name="mqtt-source")

    async def stop(self) -> None:
        self._stopping = True
        if self._client.socket() is not None:
            self._client.disconnect()  # queues DISCONNECT; the socket closes once it is written
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2.0):
                    await self._unwatched.wait()
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
        self._watch(None)

    async def get(self) -> Incoming:
        while not self._items:
            self._arrived.clear()
            await self._arrived.wait()
        return self._take()

    def get_nowait(self) -> Incoming | None:
        return self._take() if self._items else None

    def _take(self) -> Incoming:
        item = self._items.popleft()
        if not self._reading and self._sock is not None and len(self._items) <= self._max // 2:
            self._read(True)
        return item

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

    def _subscribe(self, subscriptions: list[tuple[str, int]]) -> set[int]:
        # One SUBSCRIBE packet per thousand filters: a partitioned worker subscribes to every
        # site it owns, and one packet of tens of thousands of filters risks the broker's limit.
        sent = set()
        for i in range(0, len(subscriptions), 1000):
            _, mid = self._client.subscribe(subscriptions[i:i + 1000])
            if mid is not None:
                sent.add(mid)
        return sent

    def _on_subscribe(self, client: paho.Client, userdata: object, mid: int,
                      reasons: list[ReasonCode], properties: object) -> None:
        refused = [r for r in reasons if r.is_failure]
        if refused:
            log.error("the broker refused %d subscriptions (%s): is this client allowed them?",
                      len(refused), refused[0])
        if mid in self._unanswered:
            self._unanswered.discard(mid)
            if not self._unanswered:
                self.connected.set()

    def backlog(self) -> int:
        return len(self._items)

    def ack_all(self, items: Iterable[Incoming]) -> None:
        """Acknowledge stored messages, in one write. QoS 0 needs none, and a message received
        on an earlier connection is redelivered on this one (its old id is void here)."""
        generation = self._generation
        self._client.ack_many(item.mid for item in items
                              if item.qos == 1 and item.generation == generation)

    # -- connecting and keeping the connection ------------------------------------------------

    async def _run(self) -> None:
        """Connect, reconnect with a growing delay, and give paho its keepalive tick."""
        delay = RECONNECT_MIN_S
        first = True
        while not self._stopping:
            if self._client.socket() is None:
                try:
                    if first:
                        await asyncio.to_thread(self._client.connect, self._address.host,
                                                self._address.port, self._keepalive)
                        first = False
                    else:
                        await asyncio.to_thread(self._client.reconnect)
                    delay = RECONNECT_MIN_S
                except (OSError, ssl.SSLError) as exc:
                    if not first:
                        log.warning("cannot reach the broker (%s); again in %.0f s", exc, delay)
                    else:
                        log.warning("cannot reach the broker at %s:%s (%s); again in %.0f s",
                                    self._address.host, self._address.port, exc, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, RECONNECT_MAX_S)
                    continue
            self._client.loop_misc()  # keepalive: PINGREQ, and the end of a dead connection
            await asyncio.sleep(1.0)

    # -- paho's socket hooks (called on the loop, or on the connecting thread) ------------------

    def _on_loop(self, fn: Callable[..., None], *args: Any) -> None:
        assert self._loop is not None
        if threading.get_ident() == self._loop_thread:
            fn(*args)
        elif not self._loop.is_closed():
            self._loop.call_soon_threadsafe(fn, *args)

    def _on_socket_open(self, client: paho.Client, userdata: object, sock: Any) -> None:
        self._on_loop(self._opened, sock)

    def _opened(self, sock: socket.socket) -> None:
        if self._client.socket() is sock:  # not already closed again
            self._watch(sock)

    def _on_socket_close(self, client: paho.Client, userdata: object, sock: Any) -> None:
        self._on_loop(self._closed, sock)

    def _closed(self, sock: socket.socket) -> None:
        if self._sock is sock:
            self._watch(None)

    def _watch(self, sock: socket.socket | None) -> None:
        assert self._loop is not None
        if self._sock is not None:
            self._read(False)
            self._write(False)
        self._sock = sock
        if sock is None:
            self._unwatched.set()
        else:
            self._unwatched.clear()
            self._read(True)
            if self._client.want_write():
                self._write(True)

    def _read(self, on: bool) -> None:
        assert self._loop is not None
        if on and not self._reading and self._sock is not None:
            self._loop.add_reader(self._sock, self._readable)
            self._reading = True
        elif not on and self._reading:
            self._loop.remove_reader(self._sock)  # type: ignore[arg-type]
            self._reading = False

    def _write(self, on: bool) -> None:
        assert self._loop is not None
        if on and not self._writing and self._sock is not None:
            self._loop.add_writer(self._sock, self._writable)
            self._writing = True
        elif not on and self._writing:
            self._loop.remove_writer(self._sock)  # type: ignore[arg-type]
            self._writing = False

    def _readable(self) -> None:
        self._client.loop_read()

    def _writable(self) -> None:
        self._client.loop_write()  # unregisters itself once everything is written

    def _on_register_write(self, client: paho.Client, userdata: object, sock: Any) -> None:
        # Write on the next turn of the loop, without a round through the selector (the socket
        # is almost always writable); watch it only for what the kernel would not take.
        self._on_loop(self._schedule_write)

    def _schedule_write(self) -> None:
        assert self._loop is not None
        if not self._write_soon and not self._writing:
            self._write_soon = True
            self._loop.call_soon(self._write_now)

    def _write_now(self) -> None:
        self._write_soon = False
        if self._client.socket() is None:
            return
        self._client.loop_write()
        if self._client.want_write() and self._client.socket() is not None:
            self._write(True)

    def _on_unregister_write(self, client: paho.Client, userdata: object, sock: Any) -> None:
        self._on_loop(self._write, False)

    # -- paho's protocol callbacks (on the loop) ----------------------------------------------

    def _on_connect(self, client: paho.Client, userdata: object, flags: paho.ConnectFlags,
                    reason: ReasonCode, properties: object) -> None:
        if reason.is_failure:
            log.error("broker refused the connection: %s", reason)
            return
        self._generation += 1
        self._unanswered = self._subscribe(self._subscriptions)
        log.info("connected to %s:%s (session present: %s)", self._address.host,
                 self._address.port, flags.session_present)
        if not self._unanswered:
            self.connected.set()

    def _on_disconnect(self, client: paho.Client, userdata: object, flags: object,
                       reason: ReasonCode, properties: object) -> None:
        self.connected.clear()
        if not self._stopping:
            log.warning("lost the broker (%s); reconnecting", reason)

    def _on_message(self, client: paho.Client, userdata: object, msg: paho.MQTTMessage) -> None:
        self._on_publish(msg.topic, bytes(msg.payload), msg.mid, msg.qos)

    def _on_publish(self, topic: str, payload: bytes, mid: int, qos: int) -> None:
        self._items.append(Incoming(topic, payload, mid, qos, self._generation, time.time()))
        if len(self._items) >= self._max:
            self._read(False)  # back-pressure: the broker holds the rest until we take these
        self._arrived.set()
