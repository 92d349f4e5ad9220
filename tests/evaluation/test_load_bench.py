"""The load bench's reading of the workers' counters before the load: what they had received
is read only once each worker has written its counters after the moment asked (they write
once a second), so nothing of the load is counted as "before" (bench/load.py ``_settled``)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from bench.load import _settled


async def test_the_counters_before_the_load_are_read_once_every_worker_has_written_them(
        tmp_path: Path) -> None:
    alarms, streams = tmp_path / "alarms.json", tmp_path / "streams.json"
    asked = time.time()
    alarms.write_text(json.dumps({"received": 4, "at": asked + 0.1}))
    streams.write_text(json.dumps({"received": 100, "at": asked - 0.5}))  # a second old

    async def written_later() -> None:
        await asyncio.sleep(0.4)
        streams.write_text(json.dumps({"received": 130, "at": time.time()}))

    later = asyncio.create_task(written_later())
    counted = await _settled([alarms, streams], asked)
    await later
    assert counted["received"] == 134  # not the stale 104
    # a worker that never writes again is waited for only so long
    started = time.monotonic()
    stale = await _settled([alarms, streams], time.time() + 60, wait_s=0.5)
    assert stale["received"] == 134 and time.monotonic() - started < 2
