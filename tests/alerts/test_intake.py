"""Is the alarm path working: the heartbeat rules (alerts/intake.py) on their own, then a real
platform on mosquitto and PostgreSQL beating for its services and the console judging them."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import doctest
import logging
import time
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
from ingest.codec import encode
from ingest.contract import Checkin, Event, EventType, Telemetry
from simulators.devices import Outgoing
from simulators.district import District
from simulators.publisher import Publisher
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


SLOT = dt.timedelta(minutes=5)
LATEST = NOW - 2 * 60 * S  # the latest whole slot began 11:58 (ended 12:03 on the lanes' clock)


def _activity(now: list[int], usual: list[list[int]], lane: str = "ingest-streams"
              ) -> list[dict[str, Any]]:
    """The three latest slots' device counts, and theirs on each day before (newest day first)."""
    rows = []
    for days, counts in enumerate([now, *usual]):
        for back, devices in enumerate(reversed(counts)):
            rows.append({"lane": lane, "devices": devices,
                         "slot_start": LATEST - back * SLOT - days * dt.timedelta(days=1)})
    return rows


def test_a_lane_that_hears_far_fewer_devices_than_on_the_days_before_is_quieter() -> None:
    """Half the district's watches silenced (an ACL change): 410 devices where the same slots
    heard about 820 on each of the last seven days."""
    week = [[811, 818, 822], [809, 805, 830], [822, 840, 812], [817, 799, 826], [820, 821, 819],
            [806, 830, 801], [829, 812, 835]]
    lanes = [_row(), _row("ingest-streams")]
    found = intake.judge(NOW, lanes, _activity([420, 430, 410], week))
    [state] = found.troubled
    assert (state.name, state.problem, state.since) == (
        "ingest-streams", "quieter", LATEST - 2 * SLOT)
    assert (state.devices, state.usual_devices) == (410, 822.0)
    # two quiet slots are not enough; nor is a drop within a lane's ordinary ups and downs
    assert intake.judge(NOW, lanes, _activity([800, 430, 410], week)).ok
    assert intake.judge(NOW, lanes, _activity([560, 560, 560], week)).ok
    # a small lane: 2 of a usual 6 could be chance (P about 0.06), 0 of a usual 30 cannot
    assert intake.judge(NOW, lanes, _activity([2, 2, 2], [[6, 6, 6]] * 7)).ok
    assert [s.problem for s in intake.judge(
        NOW, lanes, _activity([0, 0, 0], [[30, 30, 30]] * 7)).troubled] == ["quieter"]
    # no history at this time of day (a new lane's first day): not judged
    assert intake.judge(NOW, lanes, _activity([0, 0, 0], [])).ok
    # a lane in worse trouble says that instead
    silent = _row("ingest-streams", beat_at=NOW - 40 * S)
    assert _problems_with(silent, _activity([420, 430, 410], week)) == {
        "ingest-alarms": "none", "ingest-streams": "silent"}


def test_the_usual_count_is_the_median_of_the_days_there_are() -> None:
    """Two days known, one of them a holiday with half the watches off: the median is the
    midpoint, and a count that is low against the ordinary day alone is not called."""
    found = intake.quieter(_activity([500, 500, 480], [[1000, 1000, 1000], [520, 520, 510]]))
    assert found == {}
    found = intake.quieter(_activity([200, 200, 190], [[1000, 1000, 1000], [520, 520, 510]]))
    assert found["ingest-streams"].usual == 755.0


def _problems_with(row: dict[str, Any], activity: list[dict[str, Any]]) -> dict[str, str | None]:
    return {s.name: s.problem for s in intake.judge(NOW, [row], activity).services}


def test_docstring_examples() -> None:
    assert doctest.testmod(intake).failed == 0


DISTRICT = District.generate(seed=3, homes=6, care_homes=1)


@contextlib.asynccontextmanager
async def _platform(mosquitto: Mosquitto, db_url: str, **options: Any) -> AsyncIterator[Platform]:
    await prepare(db_url)
    await seed_district(db_url, DISTRICT, demo_password="intake-pass-1")
    async with Platform(settings=Settings(), db_url=db_url, broker_url=mosquitto.url,
                        services=("ingest", "alerts", "console"), port=free_port(),
                        client_id="intake-test", **options) as platform:
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


@pytest.mark.db
@pytest.mark.broker
async def test_each_lane_writes_how_many_devices_it_heard_in_each_whole_slot(
        mosquitto: Mosquitto, db_url: str) -> None:
    """Three watches' telemetry and, once, a button's check-in and its test press, through
    mosquitto: the stream lane writes slots that heard the three watches (four with the
    button's check-in), the alarm lane one that heard the button (slots of a second here; five
    minutes in service)."""
    watches = [d for d in DISTRICT.devices if d.kind == "wearable"][:3]
    button = next(d for d in DISTRICT.devices if d.kind == "button")
    publisher = Publisher(mosquitto.url, client_id="activity-test")
    publisher.connect()
    try:
        async with _platform(mosquitto, db_url, activity_slot_s=1.0) as platform:
            assert platform.pool is not None
            await asyncio.sleep(1.1)  # past the partial slot the lanes started in
            for seq in range(1, 30):  # about three seconds of watches, ten messages a second
                now = time.time()
                publisher.publish([Outgoing(
                    topic=f"eldercare/v1/{w.site_id}/{w.id}/telemetry",
                    payload=encode(Telemetry(seq=seq, ts=round(now * 1000), hr=70, worn=True)))
                    for w in watches])
                if seq == 15:
                    at = f"eldercare/v1/{button.site_id}/{button.id}"
                    publisher.publish([
                        Outgoing(topic=f"{at}/checkin",
                                 payload=encode(Checkin(seq=1, ts=round(now * 1000), battery=90))),
                        Outgoing(topic=f"{at}/event", payload=encode(Event(
                            seq=2, ts=round(now * 1000), type=EventType.TEST)))])
                await asyncio.sleep(0.1)
            rows: list[dict[str, Any]] = []
            for _ in range(100):  # written with the next heartbeat, within 5 s
                async with platform.pool.connection() as conn:
                    cur = await conn.execute("SELECT lane, devices, messages FROM lane_activity")
                    rows = [dict(r) for r in await cur.fetchall()]
                if any(r["lane"] == "ingest-alarms" and r["devices"] for r in rows) and \
                        sum(r["lane"] == "ingest-streams" and r["devices"] == 3 for r in rows) >= 2:
                    break
                await asyncio.sleep(0.1)
    finally:
        publisher.close()
    streams = [r for r in rows if r["lane"] == "ingest-streams"]
    assert max(r["devices"] for r in streams) == 4, streams
    assert sum(r["devices"] >= 3 for r in streams) >= 2, streams
    assert all(r["messages"] >= r["devices"] for r in rows)
    assert [r["devices"] for r in rows if r["lane"] == "ingest-alarms" and r["devices"]] == [1]


@pytest.mark.db
async def test_the_console_says_when_a_lane_hears_fewer_devices_than_on_the_days_before(
        pool: AsyncConnectionPool) -> None:
    """The store's read finds the latest three slots and the same ones on the days before; with
    a working lane beating, half its usual devices in all three is "quieter"; slots over eight
    days old are forgotten as the next ones are written."""
    async with pool.connection() as conn:
        now = (await (await conn.execute("SELECT now() AS now")).fetchone())["now"]
        latest = dt.datetime.fromtimestamp((now.timestamp() // 300 - 1) * 300, dt.UTC)
        slots = [(latest - k * dt.timedelta(days=1) - s * dt.timedelta(minutes=5),
                  (400 if k == 0 else 800) + s, 9000) for k in range(9) for s in range(3)]
        await heartbeats.record_activity(conn, "ingest-streams", slots)
        started = now - dt.timedelta(hours=1)
        await heartbeats.beat(conn, [heartbeats.Beat(
            name=name, role=name, host="box:1", started_at=started, running=True,
            connected=True, processed_at=now) for name in ("ingest-alarms", "ingest-streams")])
        _, found = await intake.look(conn)
        kept = (await (await conn.execute("SELECT count(*) AS n FROM lane_activity")).fetchone())["n"]
    [state] = found.troubled
    assert (state.name, state.problem, state.devices, state.usual_devices) == (
        "ingest-streams", "quieter", 400, 800.0)
    assert state.since == latest - dt.timedelta(minutes=10)
    assert kept == 24  # today and seven days before; the eighth day's three slots are gone
