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
    blast: int = 0
    """If > 0: publish this many accel messages as fast as possible (the ceiling run) and stop."""
    nice: int = 0
    """Added to the process's niceness (the load generator can be made to yield to the
    platform, as devices elsewhere would not take its CPU)."""


def _windows(seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    rot = motion.mount(rng)
    return [pack_samples(motion.synth_activity(a, 1.0, HZ, rng, rot=rot), SCALE)
            for a in ("walking", "sitting", "standing", "lying")]


def _client(url: str, name: str) -> paho.Client:
    address = BrokerAddress.parse(url)
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=name, clean_session=True)
    client.max_inflight_messages_set(2000)
    client.max_queued_messages_set(0)
    client.connect(address.host, address.port, 60)
    client.loop_start()
    return client


def _accel(seq: int, ts_ms: int, data: str) -> bytes:
    # The fixed parts are spliced around the two fresh numbers: msgspec would build the same bytes.
    return (b'{"seq":%d,"ts":%d,"hz":50.0,"range_g":8,"scale":0.0009765625,"n":50,"data":"'
            % (seq, ts_ms) + data.encode() + b'"}')


def run_slice(part: Slice, name: str, published: Synchronized[int]) -> None:
    if part.nice:
        os.nice(part.nice)
    client = _client(part.url, name)
    windows = _windows(abs(hash(name)) % 2**32)
    seq_base = int(time.time() * 1000) << 20
    seq = 0
    wearables = [(s, d) for s, d, k in part.devices if k == "wearable"]
    topics = {d: topic(s, d, Kind.ACCEL) for s, d in wearables}
    if part.blast:
        n = 0
        while n < part.blast:
            for _, d in wearables:
                seq += 1
                client.publish(topics[d], _accel(seq_base + seq, int(time.time() * 1000),
                                                 windows[n % 4]), qos=1)
                n += 1
                if n >= part.blast:
                    break
        with published.get_lock():
            published.value += n
        client.loop_stop()
        return
    while time.time() < part.start_at:
        time.sleep(0.01)
    second = 0
    count = 0
    last: paho.MQTTMessageInfo | None = None
    while second < part.seconds:
        now = time.time()
        ts = int(now * 1000)
        for i, (s, d) in enumerate(wearables):
            seq += 1
            last = client.publish(topics[d], _accel(seq_base + seq, ts, windows[(i + second) % 4]),
                                  qos=1)
            count += 1
            if (i + second) % 10 == 0:
                seq += 1
                body = Telemetry(seq=seq_base + seq, ts=ts, hr=70 + i % 20, spo2=97,
                                 steps=100 * second, battery=80, worn=True)
                last = client.publish(topic(s, d, Kind.TELEMETRY), encode(body), qos=1)
                count += 1
        for i, (s, d, _) in enumerate(part.devices):
            if (i + second) % int(part.checkin_s) == 0:
                seq += 1
                body_c = Checkin(seq=seq_base + seq, ts=ts, battery=90)
                last = client.publish(topic(s, d, Kind.CHECKIN), encode(body_c), qos=1)
                count += 1
        with published.get_lock():
            published.value += count
        count = 0
        second += 1
        delay = part.start_at + second - time.time()
        if delay > 0:
            time.sleep(delay)
    # Wait until the broker has acknowledged the last message of any kind (paho sends in order
    # and mosquitto acknowledges in order), or what
    # paho still holds would be dropped by the disconnect: mosquitto 2.0 then logs the client as
    # "disconnected due to out of memory", a misreport of a client leaving with PUBACKs pending
    # (eclipse-mosquitto/mosquitto#3253).
    if last is not None:
        with contextlib.suppress(RuntimeError, ValueError):
            last.wait_for_publish(timeout=300)
    client.disconnect()
    client.loop_stop()


def start(parts: list[Slice]) -> tuple[list[SpawnProcess], Synchronized[int]]:
    ctx = mp.get_context("spawn")
    published: Synchronized[int] = ctx.Value("q", 0)
    procs = [ctx.Process(target=run_slice, args=(part, f"bench-pub-{i}-{time.time_ns()}", published),
                         daemon=True) for i, part in enumerate(parts)]
    for proc in procs:
        proc.start()
    return procs, published
