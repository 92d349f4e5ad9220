"""Test harness for the gateway on real brokers: a recording subscriber, native publishing, and
the gateway as a subprocess that can be killed with SIGKILL."""

from __future__ import annotations

import contextlib
import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True, slots=True)
class Received:
    topic: str
    payload: bytes
    retain: bool

    @property
    def device(self) -> str:
        return self.topic.split("/")[3]

    @property
    def kind(self) -> str:
        return self.topic.split("/", 4)[4]

    @property
    def body(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.payload)
        return parsed


class Recorder:
    """A persistent-session QoS 1 subscriber, as ingest is."""

    def __init__(self, port: int, topic: str = "eldercare/v1/#", *, client_id: str = "test-ingest",
                 username: str | None = None, password: str | None = None) -> None:
        self.messages: list[Received] = []
        self._lock = threading.Lock()
        self.connected = threading.Event()
        self._client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                   clean_session=False, protocol=paho.MQTTv311)
        if username:
            self._client.username_pw_set(username, password)
        self._client.reconnect_delay_set(1, 1)
        self._topic = topic
        self._client.on_connect = self._connected
        self._client.on_disconnect = lambda c, u, f, rc, p: self.connected.clear()
        self._client.on_message = self._message
        self._client.connect_async("127.0.0.1", port, 10)
        self._client.loop_start()
        if not self.connected.wait(10):
            raise TimeoutError("recorder could not connect")

    def _connected(self, client: paho.Client, userdata: object, flags: object, reason: object,
                   properties: object) -> None:
        client.subscribe(self._topic, 1)
        self.connected.set()

    def _message(self, client: paho.Client, userdata: object, msg: paho.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(Received(msg.topic, bytes(msg.payload), bool(msg.retain)))

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.messages)

    def wait_for(self, predicate: Callable[[list[Received]], bool], timeout: float = 30) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.snapshot()
            if predicate(got):
                return got
            time.sleep(0.1)
        raise TimeoutError(f"not received within {timeout} s; got {[m.topic for m in self.snapshot()]}")

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def publish(port: int, messages: list[tuple[str, bytes]], *, retain: bool = False,
            username: str | None = None, password: str | None = None) -> None:
    """Publish at QoS 1 and wait for every PUBACK."""
    client = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv311)
    if username:
        client.username_pw_set(username, password)
    client.connect("127.0.0.1", port, 10)
    client.loop_start()
    try:
        for topic, payload in messages:
            client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


def native(payload: Any) -> bytes:
    return payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()


class GatewayProcess:
    def __init__(self, *, local: str, uplink: str, config: Path, spool: Path, log: Path) -> None:
        self.spool = spool
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gateway.service", "--local", local, "--uplink", uplink,
                 "--config", str(config), "--spool", str(spool), "-v"],
                cwd=ROOT, stdout=out, stderr=out)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def spooled(self, exclude: str = "") -> int:
        """Rows waiting in the spool (not counting topics containing ``exclude``)."""
        path = self.spool / "spool.sqlite3"
        if not path.exists():
            return 0
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            try:
                rows = db.execute("SELECT topic FROM spool").fetchall()
            except sqlite3.OperationalError:
                return 0
        return sum(1 for (topic,) in rows if not exclude or exclude not in topic)

    def wait_spooled(self, n: int, *, exclude: str = "", timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.spooled(exclude) >= n:
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited with {self.proc.returncode}")
            time.sleep(0.1)
        raise TimeoutError(f"spool holds {self.spooled(exclude)} of {n} messages")
