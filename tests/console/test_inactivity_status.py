"""What a resident's status says of the inactivity check: since when their silence counts, how
long it may last now, and so when the centre would be called, from the summary ingest kept."""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import replace
from typing import Any

import httpx
import pytest

from console.residents import inactivity_now
from detection.inactivity import InactivitySummary
from simulators.district import District
from store import resident_welfare
from tests.console.district_console import district_console, signed_in

H = 3600.0
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
NOON = dt.datetime(2026, 3, 2, 12, 30, tzinfo=SHANGHAI).timestamp()
SUMMARY = InactivitySummary(
    last_movement=NOON, at_home=True, tz="Asia/Shanghai", sleep_hour=22, wake_hour=7,
    bin_hours=2, day_limits=(None,) * 3 + (4 * H,) * 3 + (2 * H,) + (4 * H,) * 4 + (None,),
    learnt=(False,) * 6 + (True,) + (False,) * 5, night_limit=11 * H, morning_limit=11 * H)
KEPT = dt.datetime(2026, 3, 2, 4, 31, tzinfo=dt.UTC)


def _at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("moved", "now", "since", "calls", "limit", "learnt", "rule", "morning_limit"), [
        # still since 12:30, in the noon bin this resident's days taught: called at 14:30
        (_at(2, 12, 30), _at(2, 13), _at(2, 12, 30), _at(2, 14, 30), 2 * H, True, "day", 11),
        # at night the whole silence counts against the night limit
        (_at(2, 12, 30), _at(2, 23), _at(2, 12, 30), _at(2, 23, 30), 11 * H, False, "night", 11),
        # still since 05:00 (in the night): the day's allowance counts from 07:00, the default,
        # and calls before the morning limit (16:00)
        (_at(3, 5), _at(3, 9), _at(3, 7), _at(3, 11), 4 * H, False, "day", 11),
        # still from 20:30: night comes before the evening's 4 h are up, and the night's 11 h
        # are up at 07:30, before the day's allowance from 07:00 (11:00): the morning limit
        (_at(2, 20, 30), _at(2, 21), _at(2, 20, 30), _at(3, 7, 30), 11 * H, False, "morning",
         11),
        # whole nights of a long sleeper taught 13 h: 09:30, still before 11:00 ...
        (_at(2, 20, 30), _at(3, 2), _at(2, 20, 30), _at(3, 9, 30), 13 * H, False, "morning",
         13),
        # ... 15 h: the day's allowance calls first, as it did for everyone before the morning
        # limit (until 2026-12-06)
        (_at(2, 20, 30), _at(3, 2), _at(2, 20, 30), _at(3, 11), 4 * H, False, "day", 15),
        # the next morning, not having moved since noon: past the night and the morning limits
        # since 23:30 (when the night check called); the status says so, the call is now
        (_at(2, 12, 30), _at(3, 9), _at(2, 12, 30), _at(3, 9), 11 * H, False, "morning", 11),
    ])
def test_the_status_says_when_the_centre_would_be_called(
        moved: dt.datetime, now: dt.datetime, since: dt.datetime, calls: dt.datetime,
        limit: float, learnt: bool, rule: str, morning_limit: float) -> None:
    summary = replace(SUMMARY, last_movement=moved.timestamp(), morning_limit=morning_limit * H)
    found = inactivity_now(summary, KEPT, now.timestamp())
    assert found["last_movement_at"] == moved
    assert (found["still_since"], found["calls_at"]) == (since, calls)
    assert (found["limit_s"], found["learnt"]) == (limit, learnt)
    assert (found["night"], found["morning"]) == (rule == "night", rule == "morning")
    assert found["night_limit_s"] == 11 * H and found["morning_limit_s"] == morning_limit * H
    assert found["updated_at"] == KEPT


def test_a_silence_from_before_bedtime_is_called_by_its_day_limit_at_night() -> None:
    """The resident goes to bed from 20:00 (13 h after 07:00) at the earliest. Still from 19:00,
    before that: the 18:00-20:00 bin's 4 h go on past 22:00, and the call is at 23:00, not at
    06:00 by the night limit. From 20:30, a bedtime: the morning limit's 07:30."""
    summary = replace(SUMMARY, last_movement=_at(2, 19).timestamp(), bedtime_from=13 * H)
    found = inactivity_now(summary, KEPT, _at(2, 21).timestamp())
    assert (found["calls_at"], found["limit_s"]) == (_at(2, 23), 4 * H)
    assert (found["evening"], found["night"], found["morning"]) == (True, True, False)
    later = replace(summary, last_movement=_at(2, 20, 30).timestamp())
    found = inactivity_now(later, KEPT, _at(2, 21).timestamp())
    assert (found["calls_at"], found["limit_s"]) == (_at(3, 7, 30), 11 * H)
    assert (found["evening"], found["morning"]) == (False, True)
    # not known yet (ten nights): the night limit, as before
    found = inactivity_now(replace(summary, bedtime_from=None), KEPT, _at(2, 21).timestamp())
    assert (found["calls_at"], found["evening"]) == (_at(3, 6), False)


@pytest.mark.parametrize(("bedtime", "shown"), [
    (13 * H + 10 * 60, "20:10"),  # 13 h 10 min after their 07:00
    (None, None),  # not known yet (ten nights): nothing to say
    (math.inf, "22:00"),  # never seen going to bed by day: from the sleep hour
    (18 * H, "01:00"),  # past midnight on the clock
])
def test_the_status_says_from_when_stillness_counts_as_the_nights(
        bedtime: float | None, shown: str | None) -> None:
    found = inactivity_now(replace(SUMMARY, bedtime_from=bedtime), KEPT, NOON + 600)
    assert found["night_from"] == shown


def test_away_from_home_nobody_is_called() -> None:
    found = inactivity_now(replace(SUMMARY, at_home=False), KEPT, NOON + 600)
    assert found["at_home"] is False and found["calls_at"] is None


@pytest.mark.db
async def test_a_family_member_reads_it_in_their_elders_status(db_url: str) -> None:
    # r-h0001 of seed 2 wears watch-0001 (seed 21's had a button alone: nothing to show)
    async with district_console(db_url, District.generate(seed=2, homes=2, care_homes=0)) as p:
        async with signed_in(p, "family1") as family:
            status = (await family.get("/api/v1/residents/r-h0001/status")).json()
            assert status["inactivity"] is None  # nothing kept yet: the page says so
            assert status["movement_seen"] is True  # her watch would show it
            assert p.pool is not None
            moved = time.time() - 1800
            async with p.pool.connection() as conn:
                await resident_welfare.write(conn, [("r-h0001", replace(SUMMARY,
                                                                         last_movement=moved))],
                                             dt.datetime.now(dt.UTC))
            found = (await family.get("/api/v1/residents/r-h0001/status")).json()["inactivity"]
            assert dt.datetime.fromisoformat(found["last_movement_at"]).timestamp() == \
                pytest.approx(moved, abs=1e-3)
            since = dt.datetime.fromisoformat(found["still_since"])
            calls = dt.datetime.fromisoformat(found["calls_at"])
            assert since.timestamp() >= moved - 1e-3 and calls > since
            assert found["limit_s"] in (2 * H, 4 * H, 11 * H)
            assert (found["night_limit_s"], found["morning_limit_s"]) == (11 * H, 11 * H)
            # a bedtime goes through the row too, never seen by day ('Infinity'): still since
            # yesterday's 20:30, the 20:00-22:00 bin's 4 h went on into the night
            evening = dt.datetime.now(SHANGHAI).replace(hour=20, minute=30, second=0,
                                                        microsecond=0) - dt.timedelta(days=1)
            async with p.pool.connection() as conn:
                await resident_welfare.write(conn, [("r-h0001", replace(
                    SUMMARY, last_movement=evening.timestamp(), morning_limit=None,
                    bedtime_from=math.inf))], dt.datetime.now(dt.UTC))
            found = (await family.get("/api/v1/residents/r-h0001/status")).json()["inactivity"]
            assert found["evening"] is True and found["limit_s"] == 4 * H
            assert found["night_from"] == "22:00"
            assert found["morning_limit_s"] is None
            # the watch taken back: no worn device sees the elder move, nobody would be called,
            # and the family page must not say when the centre would be
            async with p.pool.connection() as conn:
                await conn.execute("UPDATE devices SET retired_at = now()"
                                   " WHERE resident_id = 'r-h0001' AND kind = 'wearable'")
            status = (await family.get("/api/v1/residents/r-h0001/status")).json()
            assert status["inactivity"] is None and status["movement_seen"] is False
            assert [d["kind"] for d in status["devices"]] == ["button"]


async def test_a_family_member_sees_since_when_the_watch_is_off_the_wrist(db_url: str) -> None:
    """Worn two hours ago, off the wrist from 90 minutes ago: the elder's status says since
    when (the devices card shows it to the family and the operator); worn again, it does not."""
    async with district_console(db_url, District.generate(seed=2, homes=2, care_homes=0)) as p:
        pool = p.pool
        assert pool is not None
        now = dt.datetime.now(dt.UTC)

        async def telemetry(minutes_ago: int, worn: bool | None) -> None:
            async with pool.connection() as conn:
                await conn.execute(
                    "INSERT INTO telemetry (device_id, seq, ts, steps, worn)"
                    " VALUES (%s, %s, %s, 0, %s)",
                    ("watch-0001", 10_000 - minutes_ago, now - dt.timedelta(minutes=minutes_ago),
                     worn))

        async def watch(family: httpx.AsyncClient) -> dict[str, Any]:
            status = (await family.get("/api/v1/residents/r-h0001/status")).json()
            found: dict[str, Any] = next(d for d in status["devices"] if d["id"] == "watch-0001")
            return found

        for minutes_ago, worn in ((120, True), (90, False), (60, None), (30, False)):
            await telemetry(minutes_ago, worn)
        async with signed_in(p, "family1") as family:
            found = await watch(family)
            assert found["worn"] is False
            assert dt.datetime.fromisoformat(found["off_since"]) == now - dt.timedelta(minutes=90)
            await telemetry(1, True)
            found = await watch(family)
            assert (found["worn"], found["off_since"]) == (True, None)
            button = next(d for d in (await family.get(
                "/api/v1/residents/r-h0001/status")).json()["devices"] if d["kind"] == "button")
            assert (button["worn"], button["off_since"]) == (None, None)
