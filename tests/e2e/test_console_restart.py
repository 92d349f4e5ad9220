"""Restarting the console: a connected client reconnects and resyncs from the snapshot, so an
alarm raised while the console was down is on screen as soon as it is back (issue 8)."""

from __future__ import annotations

import datetime as dt

import pytest

from eldercare.platform import Platform, seed_district
from eldercare.settings import Settings
from eldercare.watcher import watching
from simulators.district import District
from store.batch import Batch, NewAlarm, write
from store.database import open_pool, prepare
from tests.servers import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.db]

PASSWORD = "restart-pass-1"


async def test_a_page_resyncs_after_the_console_restarts(db_url: str) -> None:
    await prepare(db_url)
    await seed_district(db_url, District.generate(seed=51, homes=2, care_homes=0),
                        demo_password=PASSWORD)
    port = free_port()
    first = Platform(settings=Settings(), db_url=db_url, broker_url=None,
                     services=("console",), port=port)
    await first.__aenter__()
    stopped = False
    try:
        async with watching(f"http://127.0.0.1:{port}", "op1", PASSWORD) as watcher:
            await first.__aexit__(None, None, None)
            stopped = True
            pool = open_pool(db_url, max_size=1)
            await pool.open()
            async with pool.connection() as conn:  # raised while no console is running
                written = await write(conn, Batch(alarms=[NewAlarm(
                    kind="sos", priority=1, device_id="btn-0001", site_id="home-0001",
                    resident_id="r-h0001", room_id=None, source_seq=1,
                    occurred_at=dt.datetime.now(dt.UTC), details={})]))
            await pool.close()
            [alarm_id] = written.new_alarm_ids
            assert alarm_id not in watcher.seen
            async with Platform(settings=Settings(), db_url=db_url, broker_url=None,
                                services=("console",), port=port):
                alarm = await watcher.wait_for(lambda a: a["id"] == alarm_id, timeout=15)
            assert alarm["kind"] == "sos"
    finally:
        if not stopped:
            await first.__aexit__(None, None, None)
