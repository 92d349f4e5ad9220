"""Faults on real processes: nothing raised is ever lost or doubled.

* ingest killed with SIGKILL under load, then restarted: every SOS published is in exactly one
  alarm and one incident (QoS 1, persistent session, idempotent store);
* the broker restarted: ingest reconnects and what was published afterwards arrives;
* PostgreSQL stopped for 30 s: ingest acknowledges nothing it has not stored, then catches up.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from ingest.codec import encode
from ingest.contract import Event, EventType
from simulators.devices import Outgoing
from simulators.district import District
from simulators.publisher import Publisher
from store.registry import seed as seed_rows
from tests.servers import (
    Mosquitto,
    Postgres,
    start_mosquitto,
    start_postgres,
    temporary_folder,
)

pytestmark = [pytest.mark.e2e, pytest.mark.db, pytest.mark.broker, pytest.mark.slow]

DISTRICT = District.generate(seed=31, homes=60, care_homes=0)
BUTTONS = [d for d in DISTRICT.devices if d.kind == "button"]


def _ingest(broker: str, db: str, log: Path, lane: str = "all") -> subprocess.Popen[bytes]:
    env = {**os.environ, "ELDERCARE_CLIENT_ID": "fault-ingest", "ELDERCARE_ENV": "development"}
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "eldercare.cli", "ingest", "--broker", broker,
                                 "--db", db, "--lane", lane], stdout=out, stderr=out, env=env)


def _seed(db: str) -> None:
    import asyncio

    from store.database import prepare

    async def go() -> None:
        await prepare(db)
        async with await psycopg.AsyncConnection.connect(db) as conn:
            await seed_rows(conn, DISTRICT.rows())
            await conn.commit()

    asyncio.run(go())


def _presses(start_seq: int, count: int) -> list[Outgoing]:
    now = int(time.time() * 1000)
    out = []
    for i in range(count):
        button = BUTTONS[i % len(BUTTONS)]
        body = Event(seq=start_seq + i, ts=now + i, type=EventType.SOS)
        out.append(Outgoing(f"eldercare/v1/{button.site_id}/{button.id}/event", encode(body)))
    return out


def _count(db: str, query: str) -> int:
    with psycopg.connect(db) as conn:
        row = conn.execute(query).fetchone()
    assert row is not None
    return int(row[0])


def _wait_for(db: str, query: str, expected: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    value = -1
    while time.monotonic() < deadline:
        try:
            value = _count(db, query)
        except psycopg.OperationalError:
            value = -1
        if value >= expected:
            return value
        time.sleep(0.2)
    return value


@pytest.fixture
def servers() -> Iterator[tuple[Mosquitto, Postgres]]:
    # A folder of its own (not pytest's tmp_path, whose parents only root may enter): the
    # servers run as their own system users.
    with temporary_folder("eldercare-faults-") as folder:
        broker = start_mosquitto(folder / "mq")
        try:
            postgres = start_postgres(folder / "pg")
            try:
                yield broker, postgres
            finally:
                postgres.stop()
        finally:
            broker.stop()


def _wait_until_ingesting(publisher: Publisher, db: str) -> None:
    """Publish a canary press until it is stored: ingest's session exists from then on (what
    is published before an ingest has ever subscribed is, rightly, nobody's to keep)."""
    canary = _presses(0, 1)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        publisher.publish(canary)
        if _wait_for(db, "SELECT count(*) FROM alarms", 1, 0.5) >= 1:
            return
    raise AssertionError("ingest never started ingesting")


def _publisher(url: str, name: str) -> Publisher:
    publisher = Publisher(url, client_id=name)
    publisher.connect()
    return publisher


@pytest.mark.parametrize("lane", ["all", "alarms"])
def test_ingest_killed_under_load_loses_and_doubles_nothing(
        servers: tuple[Mosquitto, Postgres], tmp_path: Path, lane: str) -> None:
    """``all``: the one ingest process is killed. ``alarms``: the alarm lane's process is killed
    while a stream worker (which reads the same presses for its detectors) runs on."""
    broker, postgres = servers
    db = postgres.url()
    _seed(db)
    streams = _ingest(broker.url, db, tmp_path / "streams.log", "streams") \
        if lane == "alarms" else None
    ingest = _ingest(broker.url, db, tmp_path / "ingest.log", lane)
    try:
        publisher = _publisher(broker.url, "fault-devices")
        _wait_until_ingesting(publisher, db)
        publisher.publish(_presses(1, 300))
        _wait_for(db, "SELECT count(*) FROM alarms", 50, 30)  # well under way
        ingest.send_signal(signal.SIGKILL)
        ingest.wait()
        publisher.publish(_presses(301, 300))  # published while ingest is dead
        time.sleep(0.5)
        ingest = _ingest(broker.url, db, tmp_path / "ingest.log", lane)
        alarms = _wait_for(db, "SELECT count(*) FROM alarms", 601, 60) - 1  # less the canary
        time.sleep(1.0)  # anything doubled would arrive now
        publisher.close()
    finally:
        for proc in (ingest, streams):
            if proc is not None:
                proc.kill()
                proc.wait()
    assert alarms == 600, (tmp_path / "ingest.log").read_text()[-3000:]
    assert _count(db, "SELECT count(*) FROM alarms") == 601
    assert _count(db, "SELECT count(DISTINCT (device_id, source_seq)) FROM alarms") == 601
    assert _count(db, "SELECT count(*) FROM events WHERE type = 'sos'") == 601
    assert _count(db, "SELECT count(*) FROM alarms WHERE incident_id IS NULL") == 0


@pytest.mark.parametrize("lanes", ["one", "split"])
def test_broker_restart_then_postgres_outage_lose_nothing(
        servers: tuple[Mosquitto, Postgres], tmp_path: Path, lanes: str) -> None:
    """``one``: ingest with both lanes in one process; ``split``: the alarm lane and a stream
    worker as separate processes, as production runs them."""
    broker, postgres = servers
    db = postgres.url()
    _seed(db)
    ingest = _ingest(broker.url, db, tmp_path / "ingest.log",
                     "all" if lanes == "one" else "alarms")
    streams = _ingest(broker.url, db, tmp_path / "streams.log", "streams") \
        if lanes == "split" else None
    try:
        publisher = _publisher(broker.url, "fault-devices-1")
        _wait_until_ingesting(publisher, db)
        publisher.publish(_presses(1, 19))
        assert _wait_for(db, "SELECT count(*) FROM alarms", 20, 30) == 20
        publisher.close()

        broker.stop()  # mosquitto saves its persistent sessions on a clean stop
        broker = start_mosquitto(broker.folder, port=broker.port)
        publisher = _publisher(broker.url, "fault-devices-2")
        time.sleep(3.0)  # ingest's reconnect back-off
        publisher.publish(_presses(20, 20))
        assert _wait_for(db, "SELECT count(*) FROM alarms", 40, 30) == 40

        postgres.stop()  # 30 s without a database
        publisher.publish(_presses(40, 40))
        time.sleep(30.0)
        assert ingest.poll() is None, "ingest must survive a database outage"
        assert streams is None or streams.poll() is None, "so must a stream worker"
        postgres = start_postgres(postgres.folder, port=postgres.port)
        assert _wait_for(db, "SELECT count(*) FROM alarms", 80, 60) == 80
        time.sleep(1.0)
        assert _count(db, "SELECT count(*) FROM alarms") == 80
        publisher.close()
    finally:
        for proc in (ingest, streams):
            if proc is not None:
                proc.kill()
                proc.wait()
        broker.stop()
        postgres.stop()
