"""Is the alarm path working: the heartbeat rules (alerts/intake.py) on their own, then a real
platform on mosquitto and PostgreSQL beating for its services and the console judging them."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import doctest
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from alerts import intake
from eldercare.platform import Platform, seed_district
from eldercare.settings import Settings
from simulators.district import District
from store import heartbeats
from store.database import prepare
from tests.servers import Mosquitto, free_port

NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
S = dt.timedelta(seconds=1)


def _row(name: str = "ingest-alarms", role: str | None = None, **changes: Any) -> dict[str, Any]:
    return {"name": name, "role": role or name, "beat_at": NOW - 2 * S, "running": True,
            "connected": True, "processed_at": NOW - S, "last_message_at": NOW - 3 * S} | changes


def _problems(*rows: dict[str, Any]) -> dict[str, str | None]:
    return {s.name: s.problem for s in intake.judge(NOW, rows).services}


def test_a_working_path_is_ok() -> None:
    found = intake.judge(NOW, [_row(), _row("ingest-streams"), _row("escalator", connected=None,
                                                                  processed_at=None)])
    assert found.ok and found.troubled == ()


@pytest.mark.parametrize(("changes", "problem", "since"), [
    ({"beat_at": NOW - 31 * S}, "silent", NOW - 31 * S),  # six beats missed and one more second
    ({"running": False}, "stopped", NOW - 2 * S),
    ({"connected": False}, "disconnected", NOW - 2 * S),
    ({"processed_at": NOW - 61 * S}, "stalled", NOW - 61 * S),
    ({"beat_at": NOW - 31 * S, "running": False}, "silent", NOW - 31 * S),  # the older news wins
])
def test_each_trouble_is_named_with_when_it_began(changes: dict[str, Any], problem: str,
                                                  since: dt.datetime) -> None:
    found = intake.judge(NOW, [_row(**changes)])
    [state] = found.troubled
    assert (state.name, state.problem, state.since) == ("ingest-alarms", problem, since)
    assert not found.ok


def test_a_lane_that_never_did_any_work_is_stalled() -> None:
    assert _problems(_row(processed_at=None, started_at=NOW - 61 * S)) == {"ingest-alarms": "stalled"}
    assert _problems(_row(processed_at=None, started_at=NOW - 5 * S)) == {"ingest-alarms": None}
    assert _problems(_row("escalator", connected=None, processed_at=None,
                          started_at=NOW - 3600 * S), _row()) == {"escalator": None,
                                                                   "ingest-alarms": None}


def test_just_inside_the_limits_is_no_trouble() -> None:
    assert _problems(_row(beat_at=NOW - 30 * S, processed_at=NOW - 60 * S)) == {
        "ingest-alarms": None}


def test_no_alarm_intake_at_all_is_trouble_and_a_long_gone_worker_is_retired() -> None:
    assert _problems(_row("escalator")) == {"ingest-alarms": "none", "escalator": None}
    retired = _row("ingest-streams-w1of2", "ingest-streams", beat_at=NOW - 25 * 3600 * S)
    assert _problems(_row(), retired) == {"ingest-alarms": None}
    lately = _row("ingest-streams-w1of2", "ingest-streams", beat_at=NOW - 2 * 3600 * S)
    assert _problems(_row(), lately) == {"ingest-alarms": None, "ingest-streams-w1of2": "silent"}


def test_workers_of_a_replaced_partitioning_are_retired_at_once() -> None:
    """Scaled from two stream workers to three: the two old ones stopped (or went quiet) and
    are not news; a worker of the new partitioning that falls silent is."""
    started, restarted = NOW - 3 * 3600 * S, NOW - 60 * S
    old = [_row(f"ingest-streams-w{i}of2", "ingest-streams", started_at=started,
                running=False, beat_at=NOW - 70 * S) for i in range(2)]
    new = [_row(f"ingest-streams-w{i}of3", "ingest-streams", started_at=restarted)
           for i in range(3)]
    assert _problems(_row(), *old, *new) == {
        "ingest-alarms": None, "ingest-streams-w0of3": None, "ingest-streams-w1of3": None,
        "ingest-streams-w2of3": None}
    new[1] = new[1] | {"beat_at": NOW - 40 * S}
    assert _problems(_row(), *old, *new)["ingest-streams-w1of3"] == "silent"
    # Back to one stream process: the three partitioned workers are retired in turn.
    single = _row("ingest-streams", started_at=NOW - 5 * S)
    assert _problems(_row(), *new, single) == {"ingest-alarms": None, "ingest-streams": None}
    # Every worker of the newest start silent: nothing is current, so all of it is news.
    gone = [r | {"beat_at": NOW - 40 * S} for r in new]
    found = _problems(_row(), *old, *gone)
    assert len(found) == 6 and set(found.values()) == {None, "silent"}, found
    assert found["ingest-streams-w0of2"] == found["ingest-streams-w2of3"] == "silent"


def test_docstring_examples() -> None:
    assert doctest.testmod(intake).failed == 0


@contextlib.asynccontextmanager
async def _platform(mosquitto: Mosquitto, db_url: str) -> AsyncIterator[Platform]:
    await prepare(db_url)
    await seed_district(db_url, District.generate(seed=3, homes=1, care_homes=1),
                        demo_password="intake-pass-1")
    async with Platform(settings=Settings(), db_url=db_url, broker_url=mosquitto.url,
                        services=("ingest", "alerts", "console"), port=free_port(),
                        client_id="intake-test") as platform:
        yield platform


async def _get(platform: Platform, user: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=platform.console_url,
                                 headers={"X-Requested-With": "eldercare"}) as client:
        r = await client.post("/api/v1/session", json={"username": user,
                                                      "password": "intake-pass-1"})
        assert r.status_code == 200, r.text
        return await client.get("/api/v1/intake")


@pytest.mark.db
@pytest.mark.broker
async def test_a_platform_beats_for_its_services_and_says_stopped_when_it_stops(
        mosquitto: Mosquitto, db_url: str) -> None:
    async with _platform(mosquitto, db_url) as platform:
        r = await _get(platform, "op1")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["ok"] is True, body
        assert {s["name"]: s["problem"] for s in body["services"]} == {
            "ingest-alarms": None, "ingest-streams": None, "escalator": None, "notifier": None}
        assert (await _get(platform, "care1")).status_code == 200  # care staff answer alarms
        assert (await _get(platform, "family1")).status_code == 403
        assert platform.pool is not None
        for _ in range(200):  # the first beat comes before the lanes' first round; the next, 5 s on
            async with platform.pool.connection() as conn:
                _, rows = await heartbeats.read(conn)
            lanes = [r for r in rows if r["role"].startswith("ingest-")]
            if all(r["processed_at"] is not None for r in lanes):
                break
            await asyncio.sleep(0.1)
        assert len(lanes) == 2
        assert all(r["connected"] and r["processed_at"] is not None for r in lanes), lanes
    # Stopped: its last beat says so at once, rather than going silent 30 s later.
    async with await psycopg.AsyncConnection.connect(db_url, row_factory=dict_row) as conn:
        now, rows = await heartbeats.read(conn)
    assert {s.name: s.problem for s in intake.judge(now, rows).services} == {
        "ingest-alarms": "stopped", "ingest-streams": "stopped", "escalator": "stopped",
        "notifier": "stopped"}


@pytest.mark.db
async def test_a_heartbeat_that_cannot_be_written_is_logged_once_not_every_five_seconds(
        pool: AsyncConnectionPool, caplog: pytest.LogCaptureFixture) -> None:
    """An outage of the database would otherwise fill the log with a line every 5 s; its end is
    said once too."""
    platform = Platform(settings=Settings(), db_url="postgresql://unused/x", broker_url=None,
                        services=())
    dead = AsyncConnectionPool(f"postgresql://nobody@127.0.0.1:{free_port()}/none", open=False,
                               timeout=0.3)
    await dead.open(wait=False)
    try:
        platform.pool = dead
        with caplog.at_level(logging.INFO, logger="eldercare.platform"):
            for _ in range(3):
                await platform._beat()
            platform.pool = pool
            for _ in range(2):
                await platform._beat()
    finally:
        await dead.close()
    said = [r.getMessage() for r in caplog.records if r.name == "eldercare.platform"]
    assert len(said) == 2, said
    assert said[0].startswith("could not write the services' heartbeat")
    assert said[1] == "the services' heartbeat is written again"
