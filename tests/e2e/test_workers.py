"""Two ingest workers share a district on a real mosquitto and PostgreSQL: each site's messages
reach exactly one worker, every press is stored exactly once, and a site registered while they
run is picked up (ingest/partition.py)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import psycopg
import pytest

from eldercare import platform as platform_module
from eldercare.platform import Platform, seed_district
from eldercare.settings import Settings
from ingest.codec import encode
from ingest.contract import Event, EventType
from ingest.partition import Partition
from simulators.devices import Outgoing
from simulators.district import District
from simulators.publisher import Publisher
from store.database import prepare
from tests.servers import Mosquitto

pytestmark = [pytest.mark.e2e, pytest.mark.db, pytest.mark.broker]

DISTRICT = District.generate(seed=12, homes=40, care_homes=0)
BUTTONS = [d for d in DISTRICT.devices if d.kind == "button"]


@contextlib.asynccontextmanager
async def _workers(db_url: str, broker_url: str) -> AsyncIterator[list[Platform]]:
    await prepare(db_url)
    await seed_district(db_url, DISTRICT, demo_password=None)
    tag = time.time_ns()
    async with contextlib.AsyncExitStack() as stack:
        workers = [await stack.enter_async_context(Platform(
            settings=Settings(), db_url=db_url, broker_url=broker_url, services=("ingest",),
            client_id=f"workers-{tag}", partition=Partition(index=k, count=2))) for k in range(2)]
        yield workers


def _press(site: str, device: str, seq: int) -> Outgoing:
    body = Event(seq=seq, ts=int(time.time() * 1000), type=EventType.SOS)
    return Outgoing(f"eldercare/v1/{site}/{device}/event", encode(body))


async def _until(db_url: str, query: str, expected: int, timeout: float = 20.0) -> int:
    deadline = time.monotonic() + timeout
    while True:
        with psycopg.connect(db_url) as conn:
            row = conn.execute(query).fetchone()
        assert row is not None
        if row[0] >= expected or time.monotonic() > deadline:
            return int(row[0])
        await asyncio.sleep(0.2)


async def test_two_workers_split_the_sites_and_store_every_press_once(
        db_url: str, mosquitto: Mosquitto, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(platform_module, "SITE_POLL_S", 0.3)
    async with _workers(db_url, mosquitto.url) as workers:
        owned = [{topic.split("/")[2] for topic, _ in w.lanes[0][0]._subscriptions} for w in workers]
        assert owned[0] and owned[1] and not owned[0] & owned[1]
        assert owned[0] | owned[1] == {s.id for s in DISTRICT.sites}

        publisher = Publisher(mosquitto.url, client_id=f"workers-dev-{time.time_ns()}")
        await asyncio.to_thread(publisher.connect)
        try:
            presses = [_press(b.site_id, b.id, seq) for seq in range(1, 6) for b in BUTTONS]
            publisher.publish(presses)
            stored = await _until(db_url, "SELECT count(*) FROM alarms WHERE kind = 'sos'",
                                  len(presses))
            assert stored == len(presses)
            received = [w.stats()["received"] for w in workers]
            assert sum(received) == len(presses) and min(received) > 0
            # Each worker received exactly its own sites' presses.
            for w, sites in zip(workers, owned, strict=True):
                assert w.stats()["received"] == 5 * sum(1 for b in BUTTONS if b.site_id in sites)

            # A site registered while the workers run is subscribed by its owner.
            with psycopg.connect(db_url) as conn:
                conn.execute("INSERT INTO sites (id, kind, name) VALUES ('late-site', 'home', 'L')")
                conn.execute("INSERT INTO residents (id, site_id, name) VALUES ('r-late', 'late-site', 'L')")
                conn.execute("INSERT INTO devices (id, site_id, kind, resident_id)"
                             " VALUES ('btn-late', 'late-site', 'button', 'r-late')")
            owner = workers[0] if Partition(index=0, count=2).owns("late-site") else workers[1]
            deadline = time.monotonic() + 10
            while not any("/late-site/" in t for t, _ in owner.lanes[0][0]._subscriptions):
                assert time.monotonic() < deadline, "the new site was not subscribed"
                await asyncio.sleep(0.1)
            # Until the SUBACK the broker has nowhere to put it: the device resends the same
            # press (same seq), as a device without a PUBACK would, and it is stored once.
            late = _press("late-site", "btn-late", 1)
            for _ in range(40):
                publisher.publish([late])
                if await _until(db_url, "SELECT count(*) FROM alarms WHERE device_id = 'btn-late'",
                                1, timeout=0.5):
                    break
            await asyncio.sleep(1.0)
            assert await _until(db_url, "SELECT count(*) FROM alarms WHERE device_id = 'btn-late'",
                                1) == 1
        finally:
            publisher.close()
    with psycopg.connect(db_url) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM detector_state_parts").fetchall()}
        duplicates = conn.execute("SELECT count(*) FROM (SELECT device_id, source_seq FROM alarms"
                                  " GROUP BY 1, 2 HAVING count(*) > 1) d").fetchone()
    assert {"welfare-w0of2", "welfare-w1of2"} <= names  # each worker keeps its own baselines
    assert duplicates == (0,)
