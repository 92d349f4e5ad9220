"""The connection to the home's own broker (the one zigbee2mqtt and the phones publish to).

A persistent session with manual acknowledgement: a native message is PUBACKed to the local
broker only after its translation is committed to the spool, so if the gateway dies in between,
the local broker delivers it again when the gateway returns (mosquitto keeps the session's
messages while we are away; ``max_queued_messages`` must allow a night's worth).

Overflow policy: none needed here. The handler runs on paho's network thread and returns only when
the spool has the message; while it works, the local broker holds the rest.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from ingest.broker import BrokerAddress

log = logging.getLogger(__name__)

SUBSCRIPTIONS = [("zigbee2mqtt/#", 1), ("owntracks/#", 1)]


class Local:
    def __init__(self, address: BrokerAddress, *, client_id: str,
                 on_message: Callable[[str, bytes], None], cafile: str | None = None) -> None:
        self._address = address
        self._on_message = on_message
        self.connected = threading.Event()
        self._client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                   clean_session=False, protocol=paho.MQTTv311, manual_ack=True)
        if address.username:
            self._client.username_pw_set(address.username, address.password)
        if address.tls:
            self._client.tls_set_context(ssl.create_default_context(cafile=cafile))
        self._client.reconnect_delay_set(min_delay=1, max_delay=5)
        self._client.on_connect = self._connected_cb
        self._client.on_disconnect = self._disconnected_cb
        self._client.on_message = self._message_cb

    def start(self) -> None:
        self._client.connect_async(self._address.host, self._address.port, keepalive=30)
        self._client.loop_start()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def publish(self, topic: str, payload: bytes) -> bool:
        """Send a command to a device's native topic; False when the local broker is not there
        (paho would hold the message, but a command that waits for minutes is worse than an
        honest "failed")."""
        if not self.connected.is_set():
            return False
        info = self._client.publish(topic, payload, qos=1)
        return info.rc == paho.MQTT_ERR_SUCCESS

    def _connected_cb(self, client: paho.Client, userdata: object, flags: paho.ConnectFlags,
                      reason: ReasonCode, properties: object) -> None:
        if reason.is_failure:
            log.error("local broker refused the connection: %s", reason)
            return
        # Subscribing again would make the broker resend every retained message; the persistent
        # session already has our subscriptions when it is present.
        if not flags.session_present:
            client.subscribe(SUBSCRIPTIONS)
        self.connected.set()
        log.info("local broker connected (session present: %s)", flags.session_present)

    def _disconnected_cb(self, client: paho.Client, userdata: object, flags: object,
                         reason: ReasonCode, properties: object) -> None:
        self.connected.clear()
        log.warning("lost the local broker (%s); reconnecting", reason)

    def _message_cb(self, client: paho.Client, userdata: object, msg: paho.MQTTMessage) -> None:
        try:
            self._on_message(msg.topic, bytes(msg.payload))
        except Exception:
            # Not acknowledged: the broker redelivers it on the next connection. Nothing is lost,
            # but say so loudly (the spool's disk may be full).
            log.exception("could not store the message on %s; it stays unacknowledged", msg.topic)
            return
        if msg.qos > 0:
            client.ack(msg.mid, msg.qos)
