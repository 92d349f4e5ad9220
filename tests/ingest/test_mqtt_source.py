"""Ingest's broker connection on a real mosquitto: the read-ahead hands paho every packet whole
and in order, whatever their sizes and however they straddle a 64 KiB read, and ``ack_all``
acknowledges exactly the messages it is given (the rest come back on the next connection)."""

from __future__ import annotations

import asyncio
import random
import time

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from ingest.mqtt import Incoming, MqttSource
from tests.servers import Mosquitto

pytestmark = pytest.mark.broker

TOPIC = "eldercare/v1/home-1/dev-{}/accel"


def _publish(url: str, payloads: list[bytes]) -> None:
    host, port = url.removeprefix("mqtt://").split(":")
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"src-pub-{time.time_ns()}")
    client.max_inflight_messages_set(1000)
    client.connect(host, int(port))
    client.loop_start()
    last = None
    for i, payload in enumerate(payloads):
        last = client.publish(TOPIC.format(i % 7), payload, qos=1)
    assert last is not None
    last.wait_for_publish(timeout=60)
    client.disconnect()
    client.loop_stop()


async def _take(source: MqttSource, n: int, timeout: float = 30.0) -> list[Incoming]:
    got = []
    for _ in range(n):
        got.append(await asyncio.wait_for(source.get(), timeout))
    return got


async def test_every_packet_arrives_whole_and_in_order_and_acks_are_exact(
        mosquitto: Mosquitto) -> None:
    rng = random.Random(7)
    # Sizes from a few bytes to 60 KiB, so packets straddle the 64 KiB reads every which way.
    payloads = [(b"%06d:" % i) + bytes([65 + i % 26]) * rng.choice([1, 40, 300, 5000, 61_000])
                for i in range(1500)]
    client_id = f"src-test-{time.time_ns()}"
    source = MqttSource(mosquitto.url, client_id=client_id,
                        subscriptions=[("eldercare/v1/+/+/accel", 1)], queue_size=5000)
    await source.start()
    await asyncio.wait_for(source.connected.wait(), 10)
    await asyncio.sleep(0.3)  # the SUBACK
    publishing = asyncio.create_task(asyncio.to_thread(_publish, mosquitto.url, payloads))
    # Take them as ingest does, acknowledging in batches after "storing" them, all but a few:
    # the broker allows a client only so many unacknowledged at once (20 by default).
    unacked = {100, 555, 901, 1234, 1499}
    got: list[Incoming] = []
    while len(got) < len(payloads):
        batch = await _take(source, min(7, len(payloads) - len(got)))
        source.ack_all([m for m in batch if int(m.payload[:6]) not in unacked])
        got += batch
    await publishing
    assert [m.payload for m in got] == payloads
    assert [m.topic for m in got] == [TOPIC.format(i % 7) for i in range(len(payloads))]
    await asyncio.sleep(1.0)
    await source.stop()

    again = MqttSource(mosquitto.url, client_id=client_id,
                       subscriptions=[("eldercare/v1/+/+/accel", 1)], queue_size=5000)
    await again.start()
    try:
        redelivered = await _take(again, len(unacked))
        assert [m.payload for m in redelivered] == [payloads[i] for i in sorted(unacked)]
        again.ack_all(redelivered)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(again.get(), 1.5)  # nothing more: every other one was acked
    finally:
        await again.stop()


# -- the packet splitter alone, on bytes cut at every possible place ---------------------------

class _Wire:
    """A non-blocking socket that hands out prepared chunks, then would block."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    def recv(self, size: int) -> bytes:
        if not self.chunks:
            raise BlockingIOError
        chunk = self.chunks.pop(0)
        assert len(chunk) <= size
        return chunk

    def close(self) -> None:
        self.chunks = []


def _publish_packet(topic: str, payload: bytes, *, qos: int, mid: int = 0) -> bytes:
    name = topic.encode()
    body = len(name).to_bytes(2, "big") + name \
        + (mid.to_bytes(2, "big") if qos else b"") + payload
    length, size = b"", len(body)
    while True:  # MQTT 3.1.1 section 2.2.3: seven bits a byte, the top bit says "more"
        byte, size = size % 128, size // 128
        length += bytes([byte | (0x80 if size else 0)])
        if not size:
            break
    return bytes([0x30 | qos << 1]) + length + body


def test_the_splitter_delivers_publishes_and_hands_paho_the_rest_wherever_reads_cut() -> None:
    from ingest.mqtt import _Client

    big = bytes(range(256)) * 70  # 17,920 bytes: a three-byte remaining length
    stream = (_publish_packet("a/b/accel", b"one", qos=1, mid=7)
              + b"\xd0\x00"  # PINGRESP, for paho
              + _publish_packet("a/b/vitals", b"", qos=0)
              + _publish_packet("a/b/状态", big, qos=1, mid=65535))
    expected = [("a/b/accel", b"one", 7, 1), ("a/b/vitals", b"", 0, 0),
                ("a/b/状态", big, 65535, 1)]
    for cut in [*range(0, 40), *range(len(stream) - 40, len(stream))]:
        for second in (cut + 1, cut + 17, len(stream)):
            chunks = [c for c in (stream[:cut], stream[cut:second], stream[second:]) if c]
            client = _Client(CallbackAPIVersion.VERSION2, client_id="splitter")
            got: list[tuple[str, bytes, int, int]] = []
            client.on_publish_fast = lambda *m, got=got: got.append(m)
            client._sock = _Wire(chunks)  # type: ignore[assignment]
            client._ping_t = 123.0  # a PINGREQ outstanding: paho's PINGRESP handler clears it
            while chunks:
                assert client.loop_read() == 0
            assert got == expected, (cut, second)
            assert client._ping_t == 0, (cut, second)


def test_a_length_of_more_than_four_bytes_ends_the_connection() -> None:
    from ingest.mqtt import _Client

    client = _Client(CallbackAPIVersion.VERSION2, client_id="splitter")
    client.on_publish_fast = lambda *m: pytest.fail("nothing is a message here")
    client._sock = _Wire([b"\x30\xff\xff\xff\xff\x01"])  # type: ignore[assignment]
    assert client.loop_read() != 0
    assert client.socket() is None


async def test_connected_means_every_subscription_is_acknowledged(mosquitto: Mosquitto) -> None:
    """A message published the moment ``connected`` is set arrives, even to the last of many
    filters (the broker drops what matches no subscription yet)."""
    filters = [(f"eldercare/v1/site-{i}/+/accel", 1) for i in range(20_000)]
    source = MqttSource(mosquitto.url, client_id=f"src-subs-{time.time_ns()}",
                        subscriptions=filters, queue_size=100)
    await source.start()
    try:
        await asyncio.wait_for(source.connected.wait(), 30)
        await asyncio.to_thread(_publish_to, mosquitto.url, "eldercare/v1/site-19999/d/accel")
        got = await asyncio.wait_for(source.get(), 10)
        assert got.topic == "eldercare/v1/site-19999/d/accel"
    finally:
        await source.stop()


def _publish_to(url: str, topic: str) -> None:
    host, port = url.removeprefix("mqtt://").split(":")
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"src-one-{time.time_ns()}")
    client.connect(host, int(port))
    client.loop_start()
    client.publish(topic, b"x", qos=1).wait_for_publish(timeout=10)
    client.disconnect()
    client.loop_stop()
