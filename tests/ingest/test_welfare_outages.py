"""The platform's own outages are not the elders' silences (ingest/welfare.py's module doc):
nothing is judged while ingest cannot hear, a backlog is judged at its own time, and a silence
an outage may have made waits for its elder to be heard again before it is an alarm."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool

from ingest.codec import Decoder, encode
from ingest.contract import Checkin, Telemetry
from ingest.pipeline import Ingest
from ingest.welfare import HEARD_AGAIN_WITHIN_S
from store import registry
from tests.clock import Clock
from tests.ingest.test_welfare import HearingSource

pytestmark = pytest.mark.db

# 09:00 in Shanghai: daytime, where a new resident's inactivity limit is the default 4 h.
MORNING = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))).timestamp()
H = 3600.0


async def _seed(pool: AsyncConnectionPool) -> None:
    """Three elders at home with a watch each (r1..r3), and care home care-9 whose six rooms
    have mains wall buttons that check in every ten minutes."""
    async with pool.connection() as conn:
        await registry.seed(conn, {
            "sites": [*({"id": f"home-{i}", "kind": "home", "name": f"home {i}", "lat": 31.2,
                         "lon": 121.4} for i in (1, 2, 3)),
                      {"id": "care-9", "kind": "care_home", "name": "home 9", "lat": 31.2,
                       "lon": 121.4}],
            "residents": [*({"id": f"r{i}", "site_id": f"home-{i}", "name": f"elder {i}"}
                            for i in (1, 2, 3)),
                          *({"id": f"c{i}", "site_id": "care-9", "name": f"room {i}"}
                            for i in range(6))],
            "devices": [*({"id": f"watch-{i}", "site_id": f"home-{i}", "kind": "wearable",
                           "resident_id": f"r{i}"} for i in (1, 2, 3)),
                        *({"id": f"wall-{i}", "site_id": "care-9", "kind": "button",
                           "resident_id": f"c{i}"} for i in range(6))],
        })


async def _alarms(pool: AsyncConnectionPool) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT a.kind, i.resident_id, a.occurred_at, a.details"
                                 " FROM alarms a"
                                 " JOIN incidents i ON i.id = a.incident_id ORDER BY a.id")
        return [dict(r) for r in await cur.fetchall()]


class _Home:
    """Messages as the devices send them, numbered per device."""

    def __init__(self, source: HearingSource) -> None:
        self.source, self.seq = source, dict[str, int]()

    def watch(self, i: int, at: float, steps: int) -> Any:
        return self._add(f"home-{i}", f"watch-{i}", "telemetry",
                         Telemetry(seq=self._next(f"watch-{i}"), ts=int(at * 1000), steps=steps,
                                   hr=70, worn=True))

    def wall(self, i: int, at: float) -> Any:
        return self._add("care-9", f"wall-{i}", "checkin",
                         Checkin(seq=self._next(f"wall-{i}"), ts=int(at * 1000)))

    def _next(self, device: str) -> int:
        self.seq[device] = self.seq.get(device, 0) + 1
        return self.seq[device]

    def _add(self, site: str, device: str, kind: str, body: Any) -> Any:
        return self.source.add(f"eldercare/v1/{site}/{device}/{kind}", encode(body))


async def _ingest(pool: AsyncConnectionPool, clock: Clock) -> tuple[Ingest, HearingSource]:
    source = HearingSource()
    ingest = Ingest(pool=pool, source=source, clock=clock, decoder=Decoder(clock=clock))
    await ingest.load_registry()
    source.connected.set()
    return ingest, source


async def _morning_before_the_outage(ingest: Ingest, home: _Home, clock: Clock) -> None:
    """All three walk until 09:10, then sit still (their step counts stay) until 11:00."""
    for minutes in range(0, 121, 10):
        clock.t = MORNING + 60 * max(minutes, 1)
        steps = 100 if minutes == 0 else 120
        await ingest.process([home.watch(i, clock.t, steps) for i in (1, 2, 3)])


@pytest.mark.parametrize("outage", ["broker", "restart", "restart, broker late"])
async def test_an_elder_who_moved_while_the_platform_could_not_hear_is_not_called(
        pool: AsyncConnectionPool, outage: str) -> None:
    """Still since 09:10; from 11:00 to 14:00 the platform hears nothing (ingest has lost the
    broker; or is down and restarts from its snapshot, and perhaps waits five minutes more for
    the broker) and what the watches sent meanwhile is lost. The 4 h limit passed at 13:10,
    in the dark: nobody is called then. Heard again at 14:01, r1's step count has risen (they
    walked in the lost hours): no alarm; r2's has not: called at once; r3's watch is not heard
    at all: called when the wait is over (14:10). No watch is "not checking in" either."""
    await _seed(pool)
    clock = Clock(MORNING)
    ingest, source = await _ingest(pool, clock)
    home = _Home(source)
    await _morning_before_the_outage(ingest, home, clock)
    if outage == "broker":
        source.connected.clear()
        for minutes in range(1, 181):
            clock.t = MORNING + 2 * H + 60 * minutes
            await ingest.process([])
        assert await _alarms(pool) == []  # 14:00, not heard since 11:00: nothing judged
        source.connected.set()
    else:
        await ingest.save_state()
        clock.t = MORNING + 5 * H - (300 if outage.endswith("late") else 0)
        ingest, source = await _ingest(pool, clock)
        home = _Home(source)
        home.seq = {f"watch-{i}": 20 for i in (1, 2, 3)}
        if outage.endswith("late"):
            source.connected.clear()
            for _ in range(5):
                await ingest.process([])
                clock.t += 60
            source.connected.set()
    clock.t = MORNING + 5 * H
    await ingest.process([])  # 14:00: hearing again; 5 h silent, but some of it unheard
    assert await _alarms(pool) == []
    clock.t += 60
    await ingest.process([home.watch(1, clock.t, 400), home.watch(2, clock.t, 120)])
    alarms = await _alarms(pool)
    assert [(a["kind"], a["resident_id"]) for a in alarms] == [("inactivity", "r2")], alarms
    waited_until = MORNING + 5 * H + HEARD_AGAIN_WITHIN_S
    while clock.t < waited_until + 60:
        if clock.t < waited_until:  # r3 is waited for till then
            assert len(await _alarms(pool)) == 1
        clock.t += 60
        await ingest.process([home.watch(1, clock.t, 400), home.watch(2, clock.t, 120)])
    alarms = await _alarms(pool)
    assert [(a["kind"], a["resident_id"]) for a in alarms] == [
        ("inactivity", "r2"), ("inactivity", "r3")], alarms
    # it says when its silence was found passing the limit (as hearing came back), not when
    # the wait ended, and which part of it the platform could not hear
    assert alarms[1]["occurred_at"].timestamp() <= MORNING + 5 * H + 60
    # from when it was first seen deaf, or the snapshot's last judging (before it was saved)
    unheard_from = MORNING + 2 * H + 60 if outage == "broker" else MORNING + 2 * H
    for alarm in alarms:
        details = alarm["details"]
        assert details["unheard_to"] == dt.datetime.fromtimestamp(MORNING + 5 * H,
                                                                   dt.UTC).isoformat()
        assert details["unheard_from"] == dt.datetime.fromtimestamp(
            unheard_from, dt.UTC).isoformat(), (outage, details)


async def test_a_backlog_is_judged_at_its_own_time(pool: AsyncConnectionPool) -> None:
    """Ingest is away from 09:10 to 14:00; the broker's persistent session keeps what came
    meanwhile and hands it over at 14:00, half an hour of it a second. r1 sat still from 09:01
    and walked at 12:30 (3.5 h: within the 4 h limit); the care home's wall buttons checked in
    every ten minutes throughout. Judged at the wall clock, the first batch (09:10-09:30) was
    five hours of silence: an inactivity alarm for r1 and every wall button "not checking in"
    (a site_silent for the home). Judged at the backlog's time, nothing is wrong, nor is it
    once the backlog is through."""
    await _seed(pool)
    clock = Clock(MORNING)
    ingest, source = await _ingest(pool, clock)
    home = _Home(source)
    clock.t = MORNING + 60
    await ingest.process([home.watch(1, MORNING, 100), home.watch(1, clock.t, 120),
                          *(home.wall(i, clock.t) for i in range(6))])
    backlog = [[*(home.watch(1, at, 120 if at < MORNING + 3.5 * H else 200),),
                *(home.wall(i, at) for i in range(6))]
               for at in (MORNING + 60 * m for m in range(10, 5 * 60 + 1, 10))]
    clock.t = MORNING + 5 * H
    for at in range(0, len(backlog), 3):  # three ten-minute slots a batch, a batch a second
        clock.t += 1
        await ingest.process([m for slot in backlog[at:at + 3] for m in slot])
    for _ in range(30):  # then live again, for half an hour
        clock.t += 60
        await ingest.process([home.watch(1, clock.t, 210), *(home.wall(i, clock.t)
                                                            for i in range(6))])
    assert await _alarms(pool) == []


async def test_an_elder_not_heard_since_a_restart_is_still_called(
        pool: AsyncConnectionPool) -> None:
    """r3 walked at 09:01 and their watch then went flat. Ingest restarts at 09:30 (a minute's
    gap: nothing to excuse). At 13:01 their silence passes the limit: the alarm must land on
    a device of theirs even though no message of theirs came since the restart (before, it
    had nowhere to land and was lost, and the detector, having found it, never found it
    again)."""
    await _seed(pool)
    clock = Clock(MORNING)
    ingest, source = await _ingest(pool, clock)
    home = _Home(source)
    clock.t = MORNING + 60
    await ingest.process([home.watch(3, MORNING, 100), home.watch(3, clock.t, 120)])
    clock.t = MORNING + 29 * 60
    await ingest.save_state()
    clock.t = MORNING + 30 * 60
    ingest, source = await _ingest(pool, clock)
    while clock.t < MORNING + 4 * H + 5 * 60:
        clock.t += 60
        await ingest.process([])
    alarms = await _alarms(pool)  # its silent watch is a maintenance item too (from 10:02)
    assert [a["resident_id"] for a in alarms if a["kind"] == "inactivity"] == ["r3"], alarms


async def test_a_silence_across_an_outage_is_learnt_only_from_what_was_heard(
        pool: AsyncConnectionPool) -> None:
    """Still since 09:10; ingest loses the broker from 11:00 to 12:00; both walk at 12:01,
    within the 4 h limit. Of r1 nothing from that hour ever comes: their three hours of
    "silence" may hold movement nobody heard and are not learnt (else every outage teaches
    every elder one long silence at that hour). r2's watch had a gateway keep that hour and
    it comes after the return, still: their silence is known, and learnt."""
    await _seed(pool)
    clock = Clock(MORNING)
    ingest, source = await _ingest(pool, clock)
    home = _Home(source)
    await _morning_before_the_outage(ingest, home, clock)
    source.connected.clear()
    for minutes in range(1, 61):
        clock.t = MORNING + 2 * H + 60 * minutes
        await ingest.process([])
    source.connected.set()
    clock.t += 30
    kept = [home.watch(2, MORNING + 2 * H + 60 * m, 120) for m in range(10, 60, 10)]
    await ingest.process(kept)  # r2's hour, from their gateway's buffer
    clock.t = MORNING + 3 * H + 60
    await ingest.process([home.watch(1, clock.t, 400), home.watch(2, clock.t, 400)])
    assert await _alarms(pool) == []
    assert ingest._welfare is not None
    learnt = ingest._welfare.inactivity.snapshot_part(["r1", "r2"])
    began = MORNING + 600  # their last steps before sitting still: 09:10
    assert [s for s in learnt["r1"]["recent"] if s[0] == began] == []
    assert [s for s in learnt["r2"]["recent"] if s[0] == began] == [[began, clock.t]]


async def test_lanes_sharing_the_detectors_judge_only_while_both_hear(
        pool: AsyncConnectionPool) -> None:
    """In one process the alarm and stream lanes share the welfare detectors
    (eldercare/platform.py). The stream lane, which hears the watches, loses the broker from
    11:00 to 14:00; the alarm lane still holds it and goes on taking batches. The watches'
    silence is the platform's: nothing is judged, so nobody is called inactive and no watch
    "not checking in" (before, the alarm lane's batches judged it)."""
    from ingest.welfare import WelfareStage

    await _seed(pool)
    clock = Clock(MORNING)
    shared = WelfareStage()
    lanes = []
    for chores in (False, True):
        source = HearingSource()
        lane = Ingest(pool=pool, source=source, clock=clock, decoder=Decoder(clock=clock),
                      welfare=shared, welfare_chores=chores)
        await lane.load_registry()
        source.connected.set()
        lanes.append((lane, source))
    (alarms, _), (streams, stream_source) = lanes
    await _morning_before_the_outage(streams, _Home(stream_source), clock)
    stream_source.connected.clear()
    for minutes in range(1, 181):
        clock.t = MORNING + 2 * H + 60 * minutes
        await alarms.process([])
        await streams.process([])
    assert await _alarms(pool) == []


async def test_a_last_will_is_placed_when_it_came_not_when_it_was_set(
        pool: AsyncConnectionPool) -> None:
    """A device sets its "offline" last will when it connects, with that connect's seq and time
    (docs/device-api.md); the broker publishes it hours later, when the connection is gone.
    Placed at its own time it was older than everything the device had sent since, and the
    device health check took it for a late message and ignored it: no "offline", ever. It is
    placed at its arrival: "offline" two minutes later, stored with that time."""
    await _seed(pool)
    clock = Clock(MORNING)
    ingest, source = await _ingest(pool, clock)
    home = _Home(source)
    home.seq["watch-1"] = 1  # seq 1 went into the will at connect, at 09:00
    from ingest.contract import Status

    will = source.add("eldercare/v1/home-1/watch-1/status",
                      encode(Status(seq=1, ts=int(MORNING * 1000), state="offline")))
    for minutes in range(0, 61, 10):
        clock.t = MORNING + 60 * minutes
        await ingest.process([home.watch(1, clock.t, 100)])
    clock.t = MORNING + H + 30  # 10:00:30: the connection is gone, the broker says so
    await ingest.process([will])
    for seconds in range(10, 200, 10):
        clock.t = MORNING + H + 30 + seconds
        await ingest.process([])
    alarms = await _alarms(pool)
    assert [(a["kind"], a["resident_id"]) for a in alarms] == [
        ("maintenance", "r1"), ("welfare_check", "r1")], alarms
    async with pool.connection() as conn:
        row = await (await conn.execute(
            "SELECT ts FROM checkins WHERE device_id = 'watch-1' AND kind = 'offline'")).fetchone()
    assert row is not None and row["ts"].timestamp() == MORNING + H + 30


async def test_a_last_will_that_comes_after_a_restart_is_stored_when_it_came(
        pool: AsyncConnectionPool) -> None:
    """The same will, with ingest restarted between the watch's last telemetry and the broker
    publishing it: the new process knows the watch's latest time from the devices table, so
    the will is stored at its arrival, not at the connect three hours before (until
    2026-12-07 only the welfare stage, from its snapshot, placed it right)."""
    from ingest.contract import Status

    await _seed(pool)
    clock = Clock(MORNING)
    ingest, source = await _ingest(pool, clock)
    home = _Home(source)
    home.seq["watch-1"] = 1  # seq 1 went into the will at connect, at 09:00
    for minutes in range(0, 181, 30):
        clock.t = MORNING + 60 * minutes
        await ingest.process([home.watch(1, clock.t, 100)])
    clock.t = MORNING + 3 * H + 120  # a new process: the old one's memory is gone
    ingest, source = await _ingest(pool, clock)
    will = source.add("eldercare/v1/home-1/watch-1/status",
                      encode(Status(seq=1, ts=int(MORNING * 1000), state="offline")))
    await ingest.process([will])
    async with pool.connection() as conn:
        row = await (await conn.execute(
            "SELECT ts FROM checkins WHERE device_id = 'watch-1' AND kind = 'offline'")).fetchone()
    assert row is not None and row["ts"].timestamp() == MORNING + 3 * H + 120


async def test_a_replayed_offline_and_online_keep_their_own_times(
        pool: AsyncConnectionPool) -> None:
    """A gateway whose uplink was down replays what it kept, in order: the watch went offline
    at 10:00 and came back at 10:05, all of it arriving at 11:00. Each keeps its own time (the
    "offline" is no older than what the watch sent before it): the watch is online, and no
    "offline" or welfare check is ever said. Placed at its arrival, the "offline" would have
    been newer than the "online", and that taken for a late message."""
    from ingest.contract import Status

    await _seed(pool)
    clock = Clock(MORNING)
    ingest, source = await _ingest(pool, clock)
    home = _Home(source)
    await ingest.process([home.watch(1, MORNING, 100)])
    kept = [home.watch(1, MORNING + 30 * 60, 100),
            source.add("eldercare/v1/home-1/watch-1/status",
                       encode(Status(seq=90, ts=int((MORNING + H) * 1000), state="offline"))),
            source.add("eldercare/v1/home-1/watch-1/status",
                       encode(Status(seq=91, ts=int((MORNING + H + 300) * 1000),
                                     state="online")))]
    clock.t = MORNING + 2 * H
    await ingest.process(kept)
    for minutes in range(1, 10):  # nothing more from it for a while: it is online, all the same
        clock.t = MORNING + 2 * H + 60 * minutes
        await ingest.process([])
    assert await _alarms(pool) == []
