"""Incidents on a real PostgreSQL: correlation, idempotency, the lifecycle through the API,
concurrent claims, escalation timers driven by a controllable clock, and KPIs."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from alerts.escalator import Escalator
from alerts.raising import AlarmTrigger, new_alarm
from eldercare.platform import Platform, seed_district
from eldercare.settings import Settings
from simulators.district import District
from store.batch import Batch, write
from store.database import open_pool
from store.registry import active_devices
from tests.clock import Clock
from tests.servers import free_port

pytestmark = pytest.mark.db

PASSWORD = "incident-pass-1"
CSRF = {"X-Requested-With": "eldercare"}
DISTRICT = District.generate(seed=11, homes=4, care_homes=1)



@pytest.fixture
async def seeded(db_url: str) -> AsyncIterator[AsyncConnectionPool]:
    await seed_district(db_url, DISTRICT, demo_password=PASSWORD)
    pool = open_pool(db_url, max_size=4)
    await pool.open(wait=True)
    try:
        yield pool
    finally:
        await pool.close()


async def _raise(pool: AsyncConnectionPool, device_id: str, seq: int, *, kind: str = "sos",
                 now: float | None = None) -> int | None:
    async with pool.connection() as conn:
        device = (await active_devices(conn))[device_id]
        now = time.time() if now is None else now
        alarm = new_alarm(AlarmTrigger(kind=kind, device_id=device_id, source_seq=seq,
                                       occurred_ts=now), device, now=now)
        written = await write(conn, Batch(alarms=[alarm]))
    return written.new_incident_ids[0] if written.new_incident_ids else None


async def _rows(pool: AsyncConnectionPool, query: str, *args: Any) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        return [dict(r) for r in await (await conn.execute(query, args)).fetchall()]


async def test_alarms_for_one_resident_join_one_incident_and_replays_add_nothing(
        seeded: AsyncConnectionPool) -> None:
    first = await _raise(seeded, "btn-0001", 1)
    assert first is not None
    at = time.time()
    assert await _raise(seeded, "btn-0001", 2, now=at) is None  # joined
    # replayed (the same message: the same seq and time): the alarm exists already
    assert await _raise(seeded, "btn-0001", 2, now=at) is None
    [incident] = await _rows(seeded, "SELECT id, alarm_count, status FROM incidents")
    assert incident == {"id": first, "alarm_count": 2, "status": "new"}
    timeline = await _rows(seeded, "SELECT action FROM incident_timeline ORDER BY id")
    assert [t["action"] for t in timeline] == ["opened", "alarm_joined"]


async def test_smoke_on_one_floor_is_one_fire_other_floors_are_separate(
        seeded: AsyncConnectionPool) -> None:
    a = await _raise(seeded, "smoke-care-01-101", 1, kind="smoke")
    b = await _raise(seeded, "smoke-care-01-102", 1, kind="smoke")
    c = await _raise(seeded, "smoke-care-01-201", 1, kind="smoke")
    assert a is not None and b is None and c is not None and c != a
    rows = await _rows(seeded, "SELECT floor, alarm_count, route, priority FROM incidents ORDER BY id")
    assert rows == [{"floor": 1, "alarm_count": 2, "route": "care_home", "priority": 1},
                    {"floor": 2, "alarm_count": 1, "route": "care_home", "priority": 1}]


async def test_an_incident_names_the_room_staff_go_to(seeded: AsyncConnectionPool) -> None:
    """A wall button's room; a pendant's wearer's own room (it goes where they go); a fire's
    first detector's room; nothing for a home, which has no rooms."""
    from store import incidents

    wall = await _raise(seeded, "btn-care-01-101-1", 1)
    async with seeded.connection() as conn:  # the button becomes a pendant: it has no room
        await conn.execute("UPDATE devices SET room_id = NULL WHERE id = 'btn-care-01-102-1'")
    pendant = await _raise(seeded, "btn-care-01-102-1", 1)
    fire = await _raise(seeded, "smoke-care-01-201", 1, kind="smoke")
    home = await _raise(seeded, "btn-0001", 1)
    assert None not in (wall, pendant, fire, home)
    async with seeded.connection() as conn:
        rows = {i["id"]: i for i in await incidents.open_incidents(conn)}
        one = await incidents.incident(conn, pendant)  # type: ignore[arg-type]
    assert [rows[i]["room_name"] for i in (wall, pendant, fire, home)] == ["101", "102", "201", None]
    assert one["room_name"] == "102"


async def test_two_operators_claim_at_once_exactly_one_wins(seeded: AsyncConnectionPool,
                                                            db_url: str) -> None:
    from alerts.lifecycle import apply
    from store.errors import Conflict

    incident_id = await _raise(seeded, "btn-0002", 1)
    assert incident_id is not None
    now = dt.datetime.now(dt.UTC)

    async def claim(user: str) -> str:
        async with await psycopg.AsyncConnection.connect(
                db_url, row_factory=psycopg.rows.dict_row) as conn:
            try:
                await apply(conn, incident_id, action="claim",
                            user={"username": user, "role": "operator"}, now=now)
                return "won"
            except Conflict:
                return "refused"

    results = await asyncio.gather(*(claim(f"op{i}") for i in range(6)))
    assert sorted(results) == ["refused"] * 5 + ["won"]
    claims = await _rows(seeded, "SELECT actor FROM incident_timeline WHERE action = 'claim'")
    assert len(claims) == 1


async def test_unclaimed_p1_escalates_at_60_and_180_s_across_an_escalator_restart(
        seeded: AsyncConnectionPool) -> None:
    t0 = time.time()
    incident_id = await _raise(seeded, "btn-0003", 1, now=t0)
    opened = (await _rows(seeded, "SELECT opened_at FROM incidents"))[0]["opened_at"].timestamp()
    clock = Clock(opened + 59.0)
    assert await Escalator(seeded, clock=clock).run_once() == []
    clock.t = opened + 61.0
    assert await Escalator(seeded, clock=clock).run_once() == [(incident_id, "unclaimed_60s")]
    assert await Escalator(seeded, clock=clock).run_once() == []  # not twice
    clock.t = opened + 181.0
    restarted = Escalator(seeded, clock=clock)  # timers live in the database
    assert await restarted.run_once() == [(incident_id, "unclaimed_180s")]
    [row] = await _rows(seeded, "SELECT escalation_level, next_timer_at FROM incidents")
    assert row == {"escalation_level": 2, "next_timer_at": None}
    # The next channel: every contact of the elder is told, once, that nobody answered yet.
    notices = await _rows(seeded, "SELECT kind, subject FROM notifications WHERE kind = 'escalated'")
    contacts = await _rows(seeded, "SELECT id FROM contacts WHERE resident_id = 'r-h0003'")
    assert len(notices) == len(contacts) >= 1
    assert all("尚未接通" in n["subject"] or "not yet answered" in n["subject"] for n in notices)


async def test_family_first_goes_to_the_centre_when_family_does_not_accept(
        seeded: AsyncConnectionPool) -> None:
    async with seeded.connection() as conn, conn.transaction():
        await conn.execute("UPDATE residents SET routing = %s WHERE id = 'r-h0004'",
                           ('{"mode": "family_first", "family_accept_s": 90}',))
    incident_id = await _raise(seeded, "btn-0004", 1)
    [row] = await _rows(seeded, "SELECT route, family_until, opened_at, centre_from FROM incidents")
    assert row["route"] == "family_first"
    assert row["centre_from"] is None  # the family's first: not the centre's yet
    clock = Clock(row["family_until"].timestamp() + 1)
    escalator = Escalator(seeded, clock=clock)
    assert await escalator.run_once() == [(incident_id, "family_window_over")]
    [row] = await _rows(seeded, "SELECT route, next_timer_at, centre_from FROM incidents")
    # the centre's 60 s run from now, not from the opening 91 s ago: no "not yet answered" to
    # the supervisor and the family the moment it reaches the centre
    assert row["route"] == "centre" and row["centre_from"] is not None
    assert row["next_timer_at"] == row["centre_from"] + dt.timedelta(seconds=60)
    clock.t += 59
    assert await escalator.run_once() == []
    clock.t += 2
    assert await escalator.run_once() == [(incident_id, "unclaimed_60s")]


async def _family_first(pool: AsyncConnectionPool) -> int:
    """A fresh press of r-h0001's button (family1's elder), with family first for 90 s."""
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("UPDATE residents SET routing = %s WHERE id = 'r-h0001'",
                           ('{"mode": "family_first", "family_accept_s": 90}',))
    incident_id = await _raise(pool, "btn-0001", int(time.time() * 1000))
    assert incident_id is not None
    return incident_id


async def test_a_family_member_who_accepts_is_held_to_arriving_like_any_responder(
        seeded: AsyncConnectionPool, db_url: str) -> None:
    """"I'm going" is a claim and a dispatch to the family at once: the centre cannot claim it
    over them, and if nobody says they are there or closes it within 30 min it comes back as
    "help did not arrive" and goes to the centre. A family claim of the operators' kind, which
    started no timer, is refused."""
    async with seeded.connection() as conn:  # her brother is a contact too
        await conn.execute("INSERT INTO contacts (resident_id, name, relation, phone)"
                           " VALUES ('r-h0001', '张伟', 'son', '+8613900000000')")
    incident_id = await _family_first(seeded)
    async with _console(db_url) as platform, _signed_in(platform, "family1") as family, \
            _signed_in(platform, "op1") as op1:
        base = f"/api/v1/incidents/{incident_id}"
        for step in ("claim", "call", "release"):
            r = await family.post(f"{base}/{step}")
            assert r.status_code == 403 and "accept" in r.json()["detail"], r.text
        assert (await op1.post(f"{base}/accept")).status_code == 403  # the family's step
        r = await family.post(f"{base}/accept")
        assert r.status_code == 200, r.text
        accepted = r.json()["incident"]
        assert (accepted["status"], accepted["claimed_by"], accepted["dispatched_to"]) == (
            "dispatched", "family1", "family")
        assert (await op1.post(f"{base}/claim")).status_code == 409
        [alarm] = await _rows(seeded, "SELECT status, acknowledged_by FROM alarms")
        assert alarm == {"status": "acknowledged", "acknowledged_by": "family1"}
        # her brother hears she is going; she is not told about herself
        told = await _rows(seeded, "SELECT c.name, n.short_text FROM notifications n"
                           " JOIN contacts c ON c.id = n.contact_id WHERE n.kind = 'accepted'")
        [me] = await _rows(seeded, "SELECT c.name FROM users u JOIN contacts c"
                           " ON c.id = u.contact_id WHERE u.username = 'family1'")
        assert [t["name"] for t in told] == ["张伟"], told
        assert told[0]["short_text"].endswith(f"{me['name']}已前往处理。"), told
    [row] = await _rows(seeded, "SELECT dispatched_at, next_timer_at FROM incidents")
    assert row["next_timer_at"] == row["dispatched_at"] + dt.timedelta(minutes=30)
    clock = Clock(row["next_timer_at"].timestamp() + 1)
    escalator = Escalator(seeded, clock=clock)
    assert await escalator.run_once() == [(incident_id, "help_did_not_arrive")]
    assert await escalator.run_once() == [(incident_id, "family_window_over")]
    [row] = await _rows(seeded, "SELECT status, route, help_missing, claimed_by FROM incidents")
    assert row == {"status": "new", "route": "centre", "help_missing": True, "claimed_by": None}


async def test_a_supervisor_who_closes_what_the_family_accepted_is_the_centre_in_the_message(
        seeded: AsyncConnectionPool, db_url: str) -> None:
    """The "handled" message names who closed it: here the centre, not the daughter who had
    accepted it, and she is told like everyone else (she did not close it herself)."""
    incident_id = await _family_first(seeded)
    async with _console(db_url) as platform, _signed_in(platform, "family1") as family, \
            _signed_in(platform, "sup1") as sup:
        base = f"/api/v1/incidents/{incident_id}"
        assert (await family.post(f"{base}/accept")).status_code == 200
        r = await sup.post(f"{base}/resolve", json={"outcome": "false_alarm"})
        assert r.status_code == 200, r.text
    handled = await _rows(seeded, "SELECT c.name, n.short_text FROM notifications n"
                          " JOIN contacts c ON c.id = n.contact_id WHERE n.kind = 'handled'")
    [me] = await _rows(seeded, "SELECT c.name FROM users u JOIN contacts c"
                       " ON c.id = u.contact_id WHERE u.username = 'family1'")
    assert me["name"] in [h["name"] for h in handled], handled
    assert all("已由" not in h["short_text"] and "handled by" not in h["short_text"]
               for h in handled), handled
    assert all("误报，老人平安" in h["short_text"] or "false alarm" in h["short_text"]
               for h in handled), handled


async def test_a_family_member_who_cannot_go_hands_the_alarm_to_the_centre_at_once(
        seeded: AsyncConnectionPool, db_url: str) -> None:
    """"I can't go": the centre takes it now, not when the 90 s family window ends, and its own
    60 s rule runs; so too after accepting, by the one who accepted. Then it is the centre's:
    the family can no longer act on it."""
    incident_id = await _family_first(seeded)
    async with _console(db_url) as platform, _signed_in(platform, "family1") as family, \
            _signed_in(platform, "op1") as op1:
        base = f"/api/v1/incidents/{incident_id}"
        assert (await op1.post(f"{base}/hand_to_centre")).status_code == 403
        assert (await family.post(f"{base}/accept")).status_code == 200
        r = await family.post(f"{base}/hand_to_centre")
        assert r.status_code == 200, r.text
        handed = r.json()["incident"]
        assert (handed["status"], handed["route"], handed["family_until"], handed["claimed_by"],
                handed["dispatched_to"]) == ("new", "centre", None, None, None)
        assert (await family.post(f"{base}/accept")).status_code == 403  # the centre's now
        assert (await op1.post(f"{base}/claim")).json()["incident"]["status"] == "claimed"
        r = await op1.post(f"{base}/resolve", json={"outcome": "false_alarm"})
        assert r.status_code == 200, r.text
    second = await _family_first(seeded)
    async with _console(db_url) as platform, _signed_in(platform, "family1") as family:
        r = await family.post(f"/api/v1/incidents/{second}/hand_to_centre")
        assert r.json()["incident"]["route"] == "centre", r.text
    [row] = await _rows(seeded, "SELECT opened_at, centre_from FROM incidents WHERE id = %s",
                        second)
    assert row["centre_from"] > row["opened_at"]  # it reached the centre when handed over
    clock = Clock(row["centre_from"].timestamp() + 59)
    assert await Escalator(seeded, clock=clock).run_once() == []
    clock.t += 2
    assert await Escalator(seeded, clock=clock).run_once() == [(second, "unclaimed_60s")]
    timeline = await _rows(seeded, "SELECT actor, action FROM incident_timeline"
                           " WHERE incident_id = %s ORDER BY id", incident_id)
    assert [(t["actor"], t["action"]) for t in timeline][-4:] == [
        ("family1", "accept"), ("family1", "hand_to_centre"), ("op1", "claim"), ("op1", "resolve")]


@contextlib.asynccontextmanager
async def _console(db_url: str) -> AsyncIterator[Platform]:
    async with Platform(settings=Settings(), db_url=db_url, broker_url=None,
                        services=("console",), port=free_port()) as platform:
        yield platform


@contextlib.asynccontextmanager
async def _signed_in(platform: Platform, user: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=platform.console_url, headers=CSRF) as client:
        r = await client.post("/api/v1/session", json={"username": user, "password": PASSWORD})
        assert r.status_code == 200, r.text
        yield client


async def test_full_lifecycle_through_the_api_with_an_audit_trail(
        seeded: AsyncConnectionPool, db_url: str) -> None:
    incident_id = await _raise(seeded, "btn-0001", 1)
    async with _console(db_url) as platform, _signed_in(platform, "op1") as op1, \
            _signed_in(platform, "op2") as op2:
        base = f"/api/v1/incidents/{incident_id}"
        assert (await op1.post(f"{base}/claim")).json()["incident"]["status"] == "claimed"
        r = await op2.post(f"{base}/claim")
        assert r.status_code == 409 and "claimed by op1" in r.json()["detail"]
        assert (await op2.post(f"{base}/call")).status_code == 409  # not op2's incident
        assert (await op1.post(f"{base}/call")).json()["incident"]["status"] == "in_progress"
        r = await op1.post(f"{base}/dispatch", json={"responder": "a friend"})
        assert r.status_code == 422 and "responder" in r.json()["detail"]
        r = await op1.post(f"{base}/dispatch", json={"responder": "ambulance_120"})
        assert r.json()["incident"]["dispatched_to"] == "ambulance_120"
        assert (await op1.post(f"{base}/on_site")).json()["incident"]["status"] == "on_site"
        assert (await op1.post(f"{base}/resolve")).status_code == 422  # needs an outcome
        r = await op1.post(f"{base}/resolve", json={"outcome": "genuine", "note": "fractured hip"})
        assert r.json()["incident"]["outcome"] == "genuine"
        assert (await op1.get("/api/v1/incidents")).json()["incidents"] == []
        detail = (await op1.get(base)).json()
        steps = [(t["actor"], t["action"], t["to_status"]) for t in detail["timeline"]]
        assert steps == [("system", "opened", "new"), ("op1", "claim", "claimed"),
                         ("op1", "call", "in_progress"), ("op1", "dispatch", "dispatched"),
                         ("op1", "on_site", "on_site"), ("op1", "resolve", "resolved")]
        assert (await op2.post(f"{base}/reopen")).json()["incident"]["status"] == "new"
        assert (await op1.post("/api/v1/incidents/1/explode")).status_code == 422
    audit = await _rows(seeded, "SELECT actor, action FROM audit ORDER BY id")
    assert [a["action"] for a in audit] == ["claim", "call", "dispatch", "on_site", "resolve",
                                             "reopen"]


async def test_dispatched_help_that_does_not_arrive_comes_back_to_the_queue(
        seeded: AsyncConnectionPool, db_url: str) -> None:
    from alerts.lifecycle import apply

    incident_id = await _raise(seeded, "btn-0002", 1)
    assert incident_id is not None
    now = dt.datetime.now(dt.UTC)
    op = {"username": "op1", "role": "operator"}
    async with seeded.connection() as conn:
        await apply(conn, incident_id, action="claim", user=op, now=now)
        await apply(conn, incident_id, action="dispatch", user=op, now=now,
                    responder="community_responder")
    clock = Clock(now.timestamp() + 29 * 60)
    assert await Escalator(seeded, clock=clock).run_once() == []
    clock.t = now.timestamp() + 31 * 60
    assert await Escalator(seeded, clock=clock).run_once() == [(incident_id, "help_did_not_arrive")]
    [row] = await _rows(seeded, "SELECT status, help_missing, claimed_by FROM incidents")
    assert row == {"status": "new", "help_missing": True, "claimed_by": None}


async def test_kpis_for_supervisors_only(seeded: AsyncConnectionPool, db_url: str) -> None:
    incident_id = await _raise(seeded, "btn-0001", 1)
    await _raise(seeded, "btn-0002", 1)
    async with _console(db_url) as platform, _signed_in(platform, "op1") as op1, \
            _signed_in(platform, "sup1") as sup:
        await op1.post(f"/api/v1/incidents/{incident_id}/claim")
        assert (await op1.get("/api/v1/kpis")).status_code == 403
        kpis = (await sup.get("/api/v1/kpis")).json()
        assert kpis["overall"]["incidents"] == 2
        # one claimed at once; the other, seconds old, is not late yet and not counted
        assert (kpis["overall"]["answered_60s"], kpis["overall"]["waiting_60s"]) == (1.0, 1)
        assert kpis["by_operator"]["op1"]["incidents"] == 1
        assert kpis["targets"] == {"answered_60s": 0.975, "answered_180s": 0.99}
        r = await sup.get("/api/v1/kpis", params={"since": "2026-01-02T00:00:00Z",
                                                   "until": "2026-01-01T00:00:00Z"})
        assert r.status_code == 422


async def test_family_is_notified_when_an_incident_opens_and_when_it_is_handled(
        seeded: AsyncConnectionPool) -> None:
    from alerts.lifecycle import apply, tell_family_of_alarm

    now = time.time()
    async with seeded.connection() as conn:
        device = (await active_devices(conn))["btn-0001"]
        alarm = new_alarm(AlarmTrigger(kind="fall", device_id="btn-0001", source_seq=1,
                                       occurred_ts=now), device, now=now)
        await conn.commit()  # end the read's implicit transaction: write() must commit itself
        written = await write(conn, Batch(alarms=[alarm]), on_opened=tell_family_of_alarm)
        [incident_id] = written.new_incident_ids
        alarm_rows = await _rows(seeded, "SELECT kind FROM notifications WHERE incident_id = %s",
                                 incident_id)
        assert alarm_rows and {r["kind"] for r in alarm_rows} == {"alarm"}
        op = {"username": "op1", "role": "operator"}
        stamp = dt.datetime.now(dt.UTC)
        await apply(conn, incident_id, action="claim", user=op, now=stamp)
        await apply(conn, incident_id, action="resolve", user=op, now=stamp, outcome="genuine")
    kinds = await _rows(seeded, "SELECT kind, count(*) AS n FROM notifications"
                                " WHERE incident_id = %s GROUP BY kind ORDER BY kind", incident_id)
    assert [k["kind"] for k in kinds] == ["alarm", "handled"]
    assert kinds[0]["n"] == kinds[1]["n"] == len(alarm_rows)  # the same contacts hear both


async def test_only_a_watch_at_home_gone_flat_with_its_elder_still_covered_asks_family_to_charge_it(
        seeded: AsyncConnectionPool) -> None:
    """Maintenance items over every resident's watch: offline at 2 % (flat) at home asks their
    family to charge it ('device'); the same in a care home (its staff have their own list),
    offline at 70 % (not flat), flat but with the elder left unprotected (their welfare check
    says it), or flat but only low on battery (no silence) asks nobody."""
    from alerts.lifecycle import tell_family_of_alarm

    now = time.time()
    async with seeded.connection() as conn:
        # a care-home resident with a watch of their own (the district's wear pendants)
        await conn.execute(
            "INSERT INTO devices (id, site_id, kind, resident_id) SELECT 'watch-care', r.site_id,"
            " 'wearable', r.id FROM residents r JOIN sites s ON s.id = r.site_id"
            " WHERE s.kind = 'care_home' AND EXISTS (SELECT 1 FROM contacts c"
            "   WHERE c.resident_id = r.id) ORDER BY r.id LIMIT 1")
        devices = await active_devices(conn)
    watches = [d for d in devices.values() if d.kind == "wearable" and d.resident_id]
    assert {w.site_kind for w in watches} == {"home", "care_home"}
    cases = {"flat": {"problem": "offline", "last_battery_pct": 2},
             "not_flat": {"problem": "offline", "last_battery_pct": 70},
             "unprotected": {"problem": "offline", "last_battery_pct": 2,
                             "elder_unprotected": True},
             "low": {"problem": "low_battery"}}
    asked: dict[tuple[str, str], int] = {}
    for seq, (watch, case) in enumerate(((w, c) for w in watches for c in cases), start=1):
        details = dict(cases[case])
        if case != "not_flat":
            details["flat_devices"] = [watch.id]
        async with seeded.connection() as conn:
            alarm = new_alarm(AlarmTrigger(kind="maintenance", device_id=watch.id,
                                           source_seq=seq, occurred_ts=now, details=details),
                              watch, now=now)
            written = await write(conn, Batch(alarms=[alarm]), on_opened=tell_family_of_alarm)
            [incident_id] = written.new_incident_ids
        rows = await _rows(seeded, "SELECT kind FROM notifications WHERE incident_id = %s",
                           incident_id)
        async with seeded.connection() as conn:  # the next case opens an item of its own
            await conn.execute("UPDATE incidents SET status = 'resolved', outcome = 'test',"
                               " resolved_at = now() WHERE id = %s", (incident_id,))
        assert {r["kind"] for r in rows} <= {"device"}
        asked[watch.site_kind, case] = asked.get((watch.site_kind, case), 0) + len(rows)
    assert asked.pop(("home", "flat")) > 0
    assert set(asked.values()) == {0}, asked


async def _family_told(pool: AsyncConnectionPool, kind: str,
                       details: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """One ``kind`` alarm with each of ``details``, each from another elder's watch, opened
    with the family told (``tell_family_of_alarm``): the 'alarm' messages of each."""
    from alerts.lifecycle import tell_family_of_alarm

    now = time.time()
    said = []
    async with pool.connection() as conn:
        devices = await active_devices(conn)
        watches = [d for d in devices.values() if d.kind == "wearable" and d.resident_id]
        assert len(watches) >= len(details)
        for watch, detail in zip(watches, details, strict=False):
            alarm = new_alarm(AlarmTrigger(kind=kind, device_id=watch.id, source_seq=7,
                                           occurred_ts=now, details=detail), watch, now=now)
            await conn.commit()
            written = await write(conn, Batch(alarms=[alarm]), on_opened=tell_family_of_alarm)
            [incident_id] = written.new_incident_ids
            said.append(await _rows(pool, "SELECT lang, subject, body, payload FROM notifications"
                                          " WHERE incident_id = %s AND kind = 'alarm'",
                                    incident_id))
    return said


async def test_the_family_told_of_a_wandering_hears_which_safe_place_was_left(
        seeded: AsyncConnectionPool) -> None:
    """A wandering from the son's flat the elder was staying at (ingest/welfare.py's
    ``place``) names it in every contact's message and the payload; one from home says
    nothing of a place."""
    flat, home = await _family_told(seeded, "wandering", [
        {"distance_m": 640, "lat": 31.25, "lon": 121.47, "place": place}
        for place in ("儿子家", "home")])
    said = {"儿子家": flat, "home": home}
    assert said["儿子家"] and said["home"]
    for row in said["儿子家"]:
        assert "儿子家" in row["subject"] and "儿子家" in row["body"], row
        assert row["payload"]["place"] == "儿子家"
    for row in said["home"]:
        text = row["subject"] + row["body"]
        assert not any(p in text for p in ("（home）", " (home)", "（家）", " (家)")), row
        assert row["payload"]["place"] is None


async def test_the_family_told_of_a_wandering_after_a_stay_ended_hears_she_is_still_there(
        seeded: AsyncConnectionPool) -> None:
    """A wandering because the stay set for her ended while she is still there
    (ingest/welfare.py's ``stay_ended``): every contact's message says so and how to extend
    it, and the payload names the note; it names no place (she left none)."""
    from alerts.messages import LANGUAGES

    [said] = await _family_told(seeded, "wandering", [
        {"distance_m": 3100, "lat": 31.25, "lon": 121.47, "place": "home",
         "stay_ended": "儿子家"}])
    assert said
    for row in said:
        sentence = LANGUAGES[row["lang"]].notes["stay_ended"][0]
        assert sentence in row["body"], row
        assert row["payload"]["note"] == "stay_ended" and row["payload"]["place"] is None


async def test_the_family_told_of_no_activity_over_a_flat_watch_hears_it_may_be_the_watch(
        seeded: AsyncConnectionPool) -> None:
    """An inactivity alarm whose elder's watch went silent at 2 % (ingest/welfare.py's
    ``watch_flat``) tells the family so, in each contact's language, in the email and in the
    payload; one over a watch still heard (or silent at 70 %) says nothing of the kind."""
    from alerts.messages import LANGUAGES

    unheard = dt.datetime.fromtimestamp(time.time() - 3 * 3600, dt.UTC).isoformat()
    flat, still_heard = await _family_told(seeded, "inactivity", [
        {"silent_h": 4.0, "limit_h": 4.0, "watch_battery_pct": 2 if flat else 70,
         "watch_flat": flat, "watch_unheard_since": unheard} for flat in (True, False)])
    said = {True: flat, False: still_heard}
    assert said[True] and said[False]
    for row in said[True]:
        assert LANGUAGES[row["lang"]].notes["watch_flat"][0].strip() in row["body"]
        assert row["payload"]["note"] == "watch_flat"
    for row in said[False]:
        assert not any(n[0].strip() in row["body"] for n in LANGUAGES[row["lang"]].notes.values())
        assert row["payload"]["note"] is None
