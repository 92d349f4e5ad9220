"""The connection to the platform's broker: replays the spool in order, deletes what was PUBACKed.

One paho client with a persistent session (commands queued for the gateway while it was away are
delivered when it returns). At most ``window`` spooled messages are in flight; paho itself resends
the unacknowledged ones, with their message ids, after a reconnect, so a row is handed to paho
once per process and deleted from the spool when its PUBACK arrives. After a restart the whole
spool is sent again: a message acknowledged just before a crash can arrive twice, which the
platform drops by (device, seq).

paho calls ``on_publish`` while holding its own lock, so the callback only records the message
id; the pump thread maps ids to rows and deletes them (no lock ordering to get wrong).

The last will (``offline``, retained) is renewed with a fresh sequence number before every
reconnect: a will that the broker already published once would otherwise be a duplicate.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from gateway.spool import Spool
from ingest.broker import BrokerAddress

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class Will:
    topic: str
    payload: bytes


class Uplink:
    def __init__(
        self,
        address: BrokerAddress,
        *,
        client_id: str,
        spool: Spool,
        will: Callable[[], Will],
        commands: list[str],
        on_command: Callable[[str, bytes], None],
        on_connected: Callable[[], None],
        wake: threading.Event,
        window: int = 100,
        cafile: str | None = None,
    ) -> None:
        self._address = address
        self._spool = spool
        self._will = will
        self._commands = commands
        self._on_command = on_command
        self._on_connected = on_connected
        self._wake = wake
        self._window = window
        self._inflight: dict[int, int] = {}  # paho message id -> spool row id
        self._acked: collections.deque[int] = collections.deque()  # appended by paho's thread
        self._cursor = 0  # the last spool row handed to paho
        self._stopping = False
        self.connected = threading.Event()
        self._client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                   clean_session=False, protocol=paho.MQTTv311)
        if address.username:
            self._client.username_pw_set(address.username, address.password)
        if address.tls:
            self._client.tls_set_context(ssl.create_default_context(cafile=cafile))
        self._client.max_inflight_messages_set(window)
        self._client.reconnect_delay_set(min_delay=1, max_delay=5)
        self._client.on_connect = self._connected_cb
        self._client.on_disconnect = self._disconnected_cb
        self._client.on_publish = self._published_cb
        self._client.on_message = self._message_cb
        self._set_will()

    def start(self) -> None:
        self._client.connect_async(self._address.host, self._address.port, keepalive=30)
        self._client.loop_start()

    def stop(self) -> None:
        """Leave cleanly: a clean DISCONNECT makes the broker discard the will, so the platform
        is told ``offline`` explicitly first (a stopped gateway is not a quiet one)."""
        self._stopping = True
        if self.connected.is_set():
            will = self._will()
            info = self._client.publish(will.topic, will.payload, qos=1, retain=True)
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(timeout=2.0)
        self._client.disconnect()
        self._client.loop_stop()

    @property
    def inflight(self) -> int:
        return len(self._inflight)

    def pump(self) -> int:
        """Delete acknowledged rows and hand the next ones to paho; returns how many were sent.
        Called from one thread only (the service's main loop)."""
        done = []
        while self._acked:
            row_id = self._inflight.pop(self._acked.popleft(), None)
            if row_id is not None:
                done.append(row_id)
        if done:
            self._spool.remove(done)
        if not self.connected.is_set():
            return 0
        room = self._window - len(self._inflight)
        if room <= 0:
            return 0
        rows = self._spool.pending(after=self._cursor, limit=room)
        for row in rows:
            info = self._client.publish(row.topic, row.payload, qos=1, retain=row.retain)
            self._inflight[info.mid] = row.id
            self._cursor = row.id
        return len(rows)

    def _set_will(self) -> None:
        will = self._will()
        self._client.will_set(will.topic, will.payload, qos=1, retain=True)

    # -- paho's thread ---------------------------------------------------------------------------

    def _connected_cb(self, client: paho.Client, userdata: object, flags: paho.ConnectFlags,
                      reason: ReasonCode, properties: object) -> None:
        if reason.is_failure:
            log.error("uplink broker refused the connection: %s", reason)
            return
        if self._commands:
            client.subscribe([(topic, 1) for topic in self._commands])
        log.info("uplink connected to %s:%s", self._address.host, self._address.port)
        self.connected.set()
        self._on_connected()
        self._wake.set()

    def _disconnected_cb(self, client: paho.Client, userdata: object, flags: object,
                         reason: ReasonCode, properties: object) -> None:
        was = self.connected.is_set()
        self.connected.clear()
        if was and not self._stopping:
            log.warning("lost the uplink (%s); spooling until it returns", reason)
            self._set_will()  # the next CONNECT carries a will with a fresh sequence number

    def _published_cb(self, client: paho.Client, userdata: object, mid: int,
                      reason: ReasonCode, properties: object) -> None:
        self._acked.append(mid)
        self._wake.set()

    def _message_cb(self, client: paho.Client, userdata: object, msg: paho.MQTTMessage) -> None:
        try:
            self._on_command(msg.topic, bytes(msg.payload))
        except Exception:  # a bad command must not stop the uplink's network thread
            log.exception("handling command on %s failed", msg.topic)
