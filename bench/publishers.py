"""Load generators for ``eldercare bench``: processes that publish a share of a district.

Each process owns a slice of the devices and, once a second, publishes what they would: every
wearable a 1 s accelerometer window at 50 Hz, a vitals message every 10 s; every device a check-in
every ``checkin_s`` (compressed from hours so that a short run sees all classes check in).
Accelerometer payloads come from a few pre-encoded windows of synthetic motion with fresh sequence
numbers and timestamps, so the generator spends its time publishing rather than synthesising.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import socket
import struct
import threading
import time
from dataclasses import dataclass
from multiprocessing.context import SpawnProcess
from multiprocessing.sharedctypes import Synchronized

import numpy as np
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from ingest.broker import BrokerAddress
from ingest.codec import encode, pack_samples
from ingest.contract import Checkin, Kind, Telemetry, topic
from simulators import motion

HZ = 50
SCALE = 1 / 1024


@dataclass(frozen=True, slots=True)
class Slice:
    url: str
    devices: list[tuple[str, str, str]]  # (site, device, kind)
    seconds: float
    start_at: float
    checkin_s: float = 60.0
    nice: int = 0
    """Added to the process's niceness (the load generator can be made to yield to the
    platform, as devices elsewhere would not take its CPU)."""


def _windows(seed: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    rot = motion.mount(rng)
    return [pack_samples(motion.synth_activity(a, 1.0, HZ, rng, rot=rot), SCALE).encode()
            for a in ("walking", "sitting", "standing", "lying")]


def _client(url: str, name: str) -> paho.Client:
    address = BrokerAddress.parse(url)
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=name, clean_session=True)
    client.max_inflight_messages_set(2000)
    client.max_queued_messages_set(0)
    client.connect(address.host, address.port, 60)
    client.loop_start()
    return client


def _accel(seq: int, ts_ms: int, data: bytes) -> bytes:
    # The fixed parts are spliced around the two fresh numbers: msgspec would build the same bytes.
    return (b'{"seq":%d,"ts":%d,"hz":50.0,"range_g":8,"scale":0.0009765625,"n":50,"data":"'
            % (seq, ts_ms) + data + b'"}')


class RawPublisher:
    """The load generator's MQTT 3.1.1 publisher: pre-encoded QoS 1 PUBLISH packets written in
    large chunks, PUBACKs counted by a reader thread.

    paho spends about 200 µs of Python on each message it publishes (a packet object, a lock, a
    ``send`` per packet, a parsed PUBACK): generating 9,000 messages a second took half of this
    2-core machine from the platform the bench measures, and fell behind. Devices do not run on
    the platform's machine; the generator should cost as little as it can. Packet layouts from
    the MQTT 3.1.1 specification (OASIS, 2014): CONNECT 3.1, CONNACK 3.2, PUBLISH 3.3, PUBACK 3.4,
    DISCONNECT 3.14. The injected alarms, whose latency is measured, go through paho
    (``_client``), as ingest's own connection does.
    """

    MAX_IN_FLIGHT = 30_000  # packet ids are 16 bits: never reuse one still unacknowledged

    def __init__(self, url: str, client_id: str) -> None:
        address = BrokerAddress.parse(url)
        self._sock = socket.create_connection((address.host, address.port), timeout=30)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        name = client_id.encode()
        body = b"\x00\x04MQTT\x04\x02" + struct.pack("!HH", 60, len(name)) + name
        self._sock.sendall(b"\x10" + _length(len(body)) + body)  # clean session, keepalive 60 s
        connack = self._sock.recv(4)
        if len(connack) != 4 or connack[0] != 0x20 or connack[3] != 0:
            raise ConnectionError(f"broker refused the load generator: {connack!r}")
        self._sock.settimeout(None)
        self._out: list[bytes] = []
        self._mid = 0
        self.sent = 0
        self.acked = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def publish(self, topic_bytes: bytes, payload: bytes) -> None:
        self._mid = self._mid % 65535 + 1
        rest = struct.pack("!H", len(topic_bytes)) + topic_bytes + struct.pack("!H", self._mid)
        self._out.append(b"\x32" + _length(len(rest) + len(payload)) + rest + payload)
        self.sent += 1
        if len(self._out) >= 256:
            self.flush()

    def flush(self) -> None:
        while self.sent - self.acked > self.MAX_IN_FLIGHT:
            if not self._reader.is_alive():  # the broker closed the connection: no PUBACK comes
                raise ConnectionError("the broker closed the load generator's connection")
            time.sleep(0.002)
        if self._out:
            self._sock.sendall(b"".join(self._out))
            self._out.clear()

    def close(self, timeout: float = 300.0) -> None:
        """Send what is left, wait for every PUBACK, disconnect."""
        self.flush()
        deadline = time.monotonic() + timeout
        while self.acked < self.sent and time.monotonic() < deadline and self._reader.is_alive():
            time.sleep(0.01)
        with contextlib.suppress(OSError):
            self._sock.sendall(b"\xe0\x00")
        self._sock.close()

    def _read(self) -> None:
        pending = b""
        while True:
            try:
                data = self._sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            pending += data
            at = 0
            while len(pending) - at >= 2:  # PUBACK: 0x40 0x02 id id; PINGRESP: 0xd0 0x00
                size = 2 + pending[at + 1]
                if len(pending) - at < size:
                    break
                if pending[at] == 0x40:
                    self.acked += 1
                at += size
            pending = pending[at:]


def _length(n: int) -> bytes:
    """MQTT's remaining length: seven bits a byte, low first, high bit for 'more'."""
    out = bytearray()
    while True:
        n, digit = n >> 7, n & 0x7F
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def run_slice(part: Slice, name: str, published: Synchronized[int]) -> None:
    if part.nice:
        os.nice(part.nice)
    client = RawPublisher(part.url, name)
    windows = _windows(abs(hash(name)) % 2**32)
    seq_base = int(time.time() * 1000) << 20
    seq = 0
    wearables = [(s, d) for s, d, k in part.devices if k == "wearable"]
    accel = {d: topic(s, d, Kind.ACCEL).encode() for s, d in wearables}
    vitals = {d: topic(s, d, Kind.TELEMETRY).encode() for s, d in wearables}
    checkins = [topic(s, d, Kind.CHECKIN).encode() for s, d, _ in part.devices]
    while time.time() < part.start_at:
        time.sleep(0.01)
    second = 0
    sent = 0
    while second < part.seconds:
        ts = int(time.time() * 1000)
        for i, (_, d) in enumerate(wearables):
            seq += 1
            client.publish(accel[d], _accel(seq_base + seq, ts, windows[(i + second) % 4]))
            if (i + second) % 10 == 0:
                seq += 1
                body = Telemetry(seq=seq_base + seq, ts=ts, hr=70 + i % 20, spo2=97,
                                 steps=100 * second, battery=80, worn=True)
                client.publish(vitals[d], encode(body))
        for i, checkin_topic in enumerate(checkins):
            if (i + second) % int(part.checkin_s) == 0:
                seq += 1
                client.publish(checkin_topic,
                               encode(Checkin(seq=seq_base + seq, ts=ts, battery=90)))
        client.flush()
        with published.get_lock():
            published.value += client.sent - sent
        sent = client.sent
        second += 1
        delay = part.start_at + second - time.time()
        if delay > 0:
            time.sleep(delay)
    client.close()


def start(parts: list[Slice]) -> tuple[list[SpawnProcess], Synchronized[int]]:
    ctx = mp.get_context("spawn")
    published: Synchronized[int] = ctx.Value("q", 0)
    procs = [ctx.Process(target=run_slice, args=(part, f"bench-pub-{i}-{time.time_ns()}", published),
                         daemon=True) for i, part in enumerate(parts)]
    for proc in procs:
        proc.start()
    return procs, published
