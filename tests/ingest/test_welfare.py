"""What nobody reports, through ingest into incidents on a real PostgreSQL: critical vitals,
wandering at night, silent devices and device faults become alarms with the right priority and
routing; off-wrist readings never do; the detectors' state is kept across a restart."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from ingest.codec import Decoder, encode
from ingest.contract import Checkin, Event, EventType, Location, Telemetry
from ingest.pipeline import Ingest
from store import alarms as store_alarms
from store import detector_state, registry
from tests.clock import Clock
from tests.ingest.test_pipeline import ListSource

pytestmark = pytest.mark.db

SITE = "home-0001"
# 02:00 in Shanghai: night for the geofence and the inactivity detector.
NIGHT = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))).timestamp()



async def _seed(pool: AsyncConnectionPool) -> None:
    async with pool.connection() as conn:
        await registry.seed(conn, {
            "sites": [{"id": SITE, "kind": "home", "name": "home 1", "lat": 31.2, "lon": 121.4}],
            "residents": [{"id": "r1", "site_id": SITE, "name": "赵玉兰"}],
            "devices": [
                {"id": "watch-1", "site_id": SITE, "kind": "wearable", "resident_id": "r1"},
                {"id": "btn-1", "site_id": SITE, "kind": "button", "resident_id": "r1"}],
        })


async def _ingest(pool: AsyncConnectionPool, clock: Clock) -> tuple[Ingest, ListSource]:
    source = ListSource()
    ingest = Ingest(pool=pool, source=source, clock=clock, decoder=Decoder(clock=clock))
    await ingest.load_registry()
    return ingest, source


async def _alarms(pool: AsyncConnectionPool) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT a.kind, a.priority, a.device_id, a.details, i.route FROM alarms a"
            " JOIN incidents i ON i.id = a.incident_id ORDER BY a.id")
        return [dict(r) for r in await cur.fetchall()]


def _ms(t: float) -> int:
    return int(t * 1000)


async def _resolve(pool: AsyncConnectionPool, kind: str, outcome: str, *, at: float) -> None:
    """A supervisor claims the open ``kind`` incident and resolves it with ``outcome``."""
    from alerts import lifecycle

    async with pool.connection() as conn:
        cur = await conn.execute("SELECT id FROM incidents WHERE kind = %s"
                                 " AND status <> 'resolved'", (kind,))
        (row,) = await cur.fetchall()
        user = {"username": "sup", "role": "supervisor"}
        now = dt.datetime.fromtimestamp(at, dt.UTC)
        await lifecycle.apply(conn, row["id"], action="claim", user=user, now=now)
        await lifecycle.apply(conn, row["id"], action="resolve", user=user, now=now,
                              outcome=outcome)


async def test_heart_rate_over_the_bound_at_rest_raises_one_p2_alarm(
        pool: AsyncConnectionPool) -> None:
    await _seed(pool)
    clock = Clock(NIGHT)
    ingest, source = await _ingest(pool, clock)
    for i in range(6):
        t = NIGHT + 10 * i
        clock.t = t
        body = Telemetry(seq=i + 1, ts=_ms(t), hr=150, spo2=97, steps=100, worn=True)
        await ingest.process([source.add(f"eldercare/v1/{SITE}/watch-1/telemetry", encode(body))])
    alarms = await _alarms(pool)
    assert [(a["kind"], a["priority"], a["route"]) for a in alarms] == [
        ("vitals_critical", 2, "centre")]
    assert alarms[0]["details"]["vital"] == "heart_rate"


async def test_off_wrist_readings_never_alarm(pool: AsyncConnectionPool) -> None:
    await _seed(pool)
    clock = Clock(NIGHT)
    ingest, source = await _ingest(pool, clock)
    for i in range(6):
        t = NIGHT + 10 * i
        clock.t = t
        body = Telemetry(seq=i + 1, ts=_ms(t), hr=190, spo2=70, steps=100, worn=False)
        await ingest.process([source.add(f"eldercare/v1/{SITE}/watch-1/telemetry", encode(body))])
    assert await _alarms(pool) == []


async def test_leaving_the_safe_zone_at_night_is_wandering(pool: AsyncConnectionPool) -> None:
    await _seed(pool)
    clock = Clock(NIGHT)
    ingest, source = await _ingest(pool, clock)
    for i, (lat, lon) in enumerate([(31.2, 121.4), (31.22, 121.4), (31.221, 121.4),
                                    (31.222, 121.4)]):
        t = NIGHT + 60 * i
        clock.t = t
        body = Location(seq=i + 1, ts=_ms(t), lat=lat, lon=lon, acc=15.0)
        await ingest.process([source.add(f"eldercare/v1/{SITE}/watch-1/location", encode(body))])
    alarms = await _alarms(pool)
    assert [(a["kind"], a["priority"]) for a in alarms] == [("wandering", 3)]
    assert alarms[0]["details"]["distance_m"] > 2000


async def test_a_night_at_a_safe_place_is_no_wandering_and_slipping_out_of_it_is(
        pool: AsyncConnectionPool, db_url: str) -> None:
    """An elder who stays the night at their daughter's, 3.3 km from home: with the flat a safe
    place nothing is raised there, and walking out of it at 02:00 is a wandering that names the
    flat. Without it the stay was the night's one alarm and the walk out raised nothing."""
    from store import admin as store_admin

    await _seed(pool)
    flat = (31.23, 121.4)  # 3.3 km north of home
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as listener:
        await listener.execute("LISTEN registry")
        async with pool.connection() as conn:
            await store_admin.set_place(conn, "r1", "女儿家", lat=flat[0], lon=flat[1],
                                        radius_m=200.0, by="admin")
        told = [n.payload async for n in listener.notifies(timeout=0.5)]
    assert "resident_places" in told, "a running ingest must re-read the places at once"
    clock = Clock(NIGHT - 5 * 3600)  # 21:00, the geofence's night
    ingest, source = await _ingest(pool, clock)

    async def fixes(seq: int, north_m: list[float], *, at: float) -> None:
        for i, metres in enumerate(north_m):
            t = at + 300 * i
            clock.t = t
            body = Location(seq=seq + i, ts=_ms(t), lat=flat[0] + metres / 111_195.0,
                            lon=flat[1], acc=15.0)
            await ingest.process([source.add(f"eldercare/v1/{SITE}/watch-1/location",
                                             encode(body))])

    await fixes(1, [0.0, 30.0, -20.0, 10.0] * 6, at=NIGHT - 5 * 3600)  # 21:00 to 23:00 there
    assert await _alarms(pool) == []
    await fixes(100, [150.0, 600.0, 800.0, 900.0], at=NIGHT)  # 02:00: out of the flat
    alarms = await _alarms(pool)
    assert [(a["kind"], a["details"]["place"]) for a in alarms] == [("wandering", "女儿家")]
    assert 550 < alarms[0]["details"]["distance_m"] < 850

    await fixes(200, [0.0, 10.0], at=NIGHT + 6 * 3600)  # back at the flat by 08:00
    await _resolve(pool, "wandering", "genuine", at=NIGHT + 7 * 3600)

    # the place taken away (she has gone home for good): a night there is a wandering again,
    # measured from home
    async with pool.connection() as conn:
        await store_admin.remove_place(conn, "r1", "女儿家")
    await ingest.refresh_registry()
    await fixes(300, [0.0, 10.0, 20.0], at=NIGHT + 19 * 3600)  # 21:00 the next evening
    alarms = await _alarms(pool)
    assert [(a["kind"], a["details"]["place"]) for a in alarms] == [
        ("wandering", "女儿家"), ("wandering", "home")]
    assert 3200 < alarms[1]["details"]["distance_m"] < 3500


async def test_a_familys_stay_counts_until_it_ends_and_the_wandering_after_says_so(
        pool: AsyncConnectionPool) -> None:
    """The daughter set her flat as a stay until 19:00 tomorrow (console/residents.py): tonight
    there is quiet; still there at 21:00 tomorrow, past its end, is a wandering from home that
    says the stay has ended, though nobody touched the place (ingest is told nothing at 19:00:
    the geofence keeps the end itself). Set in the future, as a stay's end must be."""
    from store import admin as store_admin

    await _seed(pool)
    shanghai = dt.timezone(dt.timedelta(hours=8))
    evening = (dt.datetime.now(shanghai) + dt.timedelta(days=2)).replace(
        hour=21, minute=0, second=0, microsecond=0).timestamp()
    flat = (31.23, 121.4)  # 3.3 km north of home
    async with pool.connection() as conn:
        await store_admin.set_place(
            conn, "r1", "女儿家", lat=flat[0], lon=flat[1], radius_m=200.0, by="daughter",
            ends_at=dt.datetime.fromtimestamp(evening + 22 * 3600, dt.UTC), family=True)
    clock = Clock(evening)
    ingest, source = await _ingest(pool, clock)

    async def fixes(seq: int, count: int, *, at: float) -> None:
        for i in range(count):
            clock.t = at + 600 * i
            body = Location(seq=seq + i, ts=_ms(clock.t), lat=flat[0] + (i % 3) * 1e-4,
                            lon=flat[1], acc=15.0)
            await ingest.process([source.add(f"eldercare/v1/{SITE}/watch-1/location",
                                             encode(body))])

    await fixes(1, 13, at=evening)  # 21:00 to 23:00 at the flat
    await fixes(100, 6, at=evening + 12 * 3600)  # 09:00 to 10:00
    assert await _alarms(pool) == []
    await fixes(200, 3, at=evening + 24 * 3600)  # 21:00 tomorrow, still there
    alarms = await _alarms(pool)
    assert [(a["kind"], a["details"]["place"], a["details"].get("stay_ended"))
            for a in alarms] == [("wandering", "home", "女儿家")]
    assert 3200 < alarms[0]["details"]["distance_m"] < 3500


async def test_a_silent_button_and_a_fault_are_maintenance_not_the_operators_queue(
        pool: AsyncConnectionPool) -> None:
    await _seed(pool)
    clock = Clock(NIGHT)
    ingest, source = await _ingest(pool, clock)
    checkin = Checkin(seq=1, ts=_ms(NIGHT), battery=80)
    await ingest.process([source.add(f"eldercare/v1/{SITE}/btn-1/checkin", encode(checkin))])
    clock.t = NIGHT + 40 * 3600  # past 1.5 x the button's 25 h check-in interval
    await ingest.process([])
    fault = Event(seq=2, ts=_ms(clock.t), type=EventType.FAULT)
    await ingest.process([source.add(f"eldercare/v1/{SITE}/btn-1/event", encode(fault))])
    alarms = await _alarms(pool)
    upkeep = [a for a in alarms if a["kind"] == "maintenance"]
    assert {(a["priority"], a["route"], a["device_id"]) for a in upkeep} == {
        (4, "maintenance", "btn-1")}
    problems = {a["details"].get("problem", a["details"].get("event")) for a in upkeep}
    assert problems == {"no_checkin", "fault"}
    # The elder's only known emergency device is silent: a welfare check for the centre.
    assert [(a["kind"], a["priority"], a["route"]) for a in alarms if a not in upkeep] == [
        ("welfare_check", 3, "centre")]
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT alarm_count, priority FROM incidents"
                                 " WHERE route = 'maintenance'")
        rows = await cur.fetchall()
    # One maintenance item per device, holding both problems; never merged into an emergency.
    assert [dict(r) for r in rows] == [{"alarm_count": 2, "priority": 4}]


class _Home:
    """Sends the home's devices' messages through ingest, each with the next seq, and moves the
    clock on in 30 s ticks."""

    def __init__(self, ingest: Ingest, source: ListSource, clock: Clock) -> None:
        self.ingest, self.source, self.clock = ingest, source, clock
        self.seq = iter(range(1, 10_000))

    async def send(self, device: str, topic: str, body: Any) -> None:
        await self.ingest.process([self.source.add(f"eldercare/v1/{SITE}/{device}/{topic}",
                                                   encode(body))])

    async def until(self, t: float) -> None:
        while self.clock.t + 30 <= t:
            self.clock.t += 30
            await self.ingest.process([])

    async def state(self, device: str, up: bool) -> None:
        from ingest.contract import Status

        await self.send(device, "status", Status(seq=next(self.seq), ts=_ms(self.clock.t),
                                                 state="online" if up else "offline"))


async def test_a_maintenance_item_closes_itself_when_its_device_is_whole_again(
        pool: AsyncConnectionPool) -> None:
    """btn-1 (battery 90 %) loses its connection at 02:01: a maintenance item for it 2 min
    later. Back at 02:04: the item is resolved as ``self_cleared`` by ``system``, its alarm no
    longer waiting. Off again at 02:05 and reported at 02:07, within flap control's 10 min hold,
    so held; back at 02:08: that repeat, let out at 02:13 (flap control's summary of what it
    held), opens an item that closes at once. Off at 03:00, and this time someone has taken the
    item when the button is back at 03:10: it stays theirs, its timeline saying the device is
    healthy again. The watch reported a fault of itself: its item stays open through a dropout,
    since being heard says nothing of a fault. (Before, every dropout stayed on the maintenance
    list until someone resolved it by hand.)"""
    from alerts import lifecycle

    await _seed(pool)
    clock = Clock(NIGHT)
    home = _Home(*await _ingest(pool, clock), clock)
    send, state, seq = home.send, home.state, home.seq

    async def at(minutes: float) -> None:
        await home.until(NIGHT + 60 * minutes)

    async def items() -> list[dict[str, Any]]:
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT i.id, i.status, i.outcome, i.alarm_count,"
                " array_agg(a.status ORDER BY a.id) AS alarms,"
                " (SELECT array_agg(t.action || ':' || t.actor ORDER BY t.id)"
                "  FROM incident_timeline t WHERE t.incident_id = i.id) AS timeline"
                " FROM incidents i JOIN alarms a ON a.incident_id = i.id"
                " JOIN devices d ON d.id = a.device_id"
                " WHERE i.route = 'maintenance' AND d.id = 'btn-1' GROUP BY i.id ORDER BY i.id")
            return [dict(r) for r in await cur.fetchall()]

    await send("btn-1", "checkin", Checkin(seq=next(seq), ts=_ms(clock.t), battery=90))
    await send("watch-1", "telemetry", Telemetry(seq=next(seq), ts=_ms(clock.t), battery=80))
    await send("watch-1", "event", Event(seq=next(seq), ts=_ms(clock.t), type=EventType.FAULT))
    await at(1)
    await state("btn-1", up=False)
    await state("watch-1", up=False)
    await at(3.5)
    [first] = await items()
    assert (first["status"], first["alarms"]) == ("new", ["new"])
    await at(4)
    await state("btn-1", up=True)
    await state("watch-1", up=True)
    [first] = await items()
    assert (first["status"], first["outcome"], first["alarms"]) == (
        "resolved", "self_cleared", ["resolved"])
    assert first["timeline"] == ["opened:system", "self_cleared:system"]
    await at(5)
    await state("btn-1", up=False)
    await at(7.5)
    assert len(await items()) == 1  # the repeat is held, not yet an item
    await at(8)
    await state("btn-1", up=True)
    await at(14)
    first, repeat = await items()
    assert (repeat["status"], repeat["outcome"], repeat["alarms"]) == (
        "resolved", "self_cleared", ["resolved"])
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT details FROM alarms a JOIN incidents i ON"
                                 " i.id = a.incident_id WHERE i.id = %s", (repeat["id"],))
        [row] = await cur.fetchall()
    assert row["details"]["problem"] == "offline" and row["details"]["count"] == 1
    assert row["details"]["first_ts"] == NIGHT + 7 * 60
    await at(60)
    await state("btn-1", up=False)
    await at(63)
    *_, taken = await items()
    async with pool.connection() as conn:
        await lifecycle.apply(conn, taken["id"], action="claim",
                              user={"username": "admin", "role": "admin"},
                              now=dt.datetime.fromtimestamp(clock.t, dt.UTC))
    await at(70)
    await state("btn-1", up=True)
    *_, taken = await items()
    assert (taken["status"], taken["outcome"]) == ("claimed", None)
    assert taken["timeline"] == ["opened:system", "claim:admin", "healthy_again:system"]
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT i.status, i.alarm_count FROM incidents i WHERE i.correlation_key = %s",
            ("maintenance:watch-1",))
        # the fault and the dropout, in one item still open
        assert [dict(r) for r in await cur.fetchall()] == [{"status": "new", "alarm_count": 2}]


async def test_a_devices_own_battery_low_closes_itself_once_a_fresh_battery_is_read(
        pool: AsyncConnectionPool) -> None:
    """btn-1 says "battery low" itself at 25 % (its own judgement: its class's level is 20 %):
    a maintenance item holding that event. Heard again at 27 %, the item stays open; at 100 %,
    a new battery, it closes itself as ``self_cleared``. A fault it reports stays open however
    fresh its battery (being whole says nothing of a fault). Before, every such item was
    closed by hand."""
    await _seed(pool)
    clock = Clock(NIGHT)
    home = _Home(*await _ingest(pool, clock), clock)
    send, seq = home.send, home.seq

    async def item() -> tuple[str, str | None, list[str]]:
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT i.status, i.outcome, array_agg(a.details ->> 'event' ORDER BY a.id) AS e"
                " FROM incidents i JOIN alarms a ON a.incident_id = i.id"
                " WHERE i.route = 'maintenance' GROUP BY i.id ORDER BY i.id DESC LIMIT 1")
            row = await cur.fetchone()
            assert row is not None
            return row["status"], row["outcome"], row["e"]

    await send("btn-1", "checkin", Checkin(seq=next(seq), ts=_ms(clock.t), battery=25))
    await send("btn-1", "event", Event(seq=next(seq), ts=_ms(clock.t), type=EventType.BATTERY_LOW))
    await home.until(NIGHT + 600)
    assert await item() == ("new", None, ["battery_low"])
    await send("btn-1", "checkin", Checkin(seq=next(seq), ts=_ms(clock.t), battery=27))
    await home.until(NIGHT + 1200)
    assert await item() == ("new", None, ["battery_low"])
    await send("btn-1", "checkin", Checkin(seq=next(seq), ts=_ms(clock.t), battery=100))
    await home.until(NIGHT + 1800)
    assert await item() == ("resolved", "self_cleared", ["battery_low"])
    await send("btn-1", "event", Event(seq=next(seq), ts=_ms(clock.t), type=EventType.FAULT))
    await home.until(NIGHT + 2400)
    await send("btn-1", "checkin", Checkin(seq=next(seq), ts=_ms(clock.t), battery=100))
    await home.until(NIGHT + 3000)
    assert await item() == ("new", None, ["fault"])


async def _items(pool: AsyncConnectionPool, device: str) -> list[tuple[str, str | None, str]]:
    """``device``'s maintenance items: status, outcome, and what their alarms were."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT i.status, i.outcome, string_agg(coalesce(a.details ->> 'event',"
            " a.details ->> 'problem'), ',' ORDER BY a.id) AS what FROM incidents i"
            " JOIN alarms a ON a.incident_id = i.id WHERE i.correlation_key = %s"
            " GROUP BY i.id ORDER BY i.id", (f"maintenance:{device}",))
        return [(r["status"], r["outcome"], r["what"]) for r in await cur.fetchall()]


async def test_a_fault_or_tamper_of_its_own_closes_its_item_when_the_device_says_it_is_over(
        pool: AsyncConnectionPool) -> None:
    """btn-1 is taken off the wall (tamper): a maintenance item. Heard again, it stays open; put
    back (``tamper_cleared``), the item closes itself, its timeline saying the tamper is over.
    A fault, then a dropout, joins one item: back online it stays open while the fault stands;
    the fault over, it closes. (Before, every item holding a fault or tamper was closed by
    hand, however long ago it was over.)"""
    await _seed(pool)
    clock = Clock(NIGHT)
    home = _Home(*await _ingest(pool, clock), clock)
    send, state, seq = home.send, home.state, home.seq

    async def says(what: EventType) -> None:
        await send("btn-1", "event", Event(seq=next(seq), ts=_ms(clock.t), type=what))

    await send("btn-1", "checkin", Checkin(seq=next(seq), ts=_ms(clock.t), battery=90))
    await says(EventType.TAMPER)
    await home.until(NIGHT + 60)
    await send("btn-1", "checkin", Checkin(seq=next(seq), ts=_ms(clock.t), battery=90))
    assert await _items(pool, "btn-1") == [("new", None, "tamper")]
    await home.until(NIGHT + 120)
    await says(EventType.TAMPER_CLEARED)
    assert await _items(pool, "btn-1") == [("resolved", "self_cleared", "tamper")]
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT t.action, t.details ->> 'detail' AS detail"
                                 " FROM incident_timeline t ORDER BY t.id DESC LIMIT 1")
        assert dict(await cur.fetchone() or {}) == {
            "action": "self_cleared", "detail": "heard again; battery 90 %; tamper over"}
    await home.until(NIGHT + 600)
    await says(EventType.FAULT)
    await home.until(NIGHT + 660)
    await state("btn-1", up=False)
    await home.until(NIGHT + 900)
    await state("btn-1", up=True)
    await home.until(NIGHT + 960)
    assert await _items(pool, "btn-1") == [("resolved", "self_cleared", "tamper"),
                                           ("new", None, "fault,offline")]
    await says(EventType.FAULT_CLEARED)
    assert await _items(pool, "btn-1") == [("resolved", "self_cleared", "tamper"),
                                           ("resolved", "self_cleared", "fault,offline")]


async def test_a_taken_item_is_noted_healthy_again_once_across_restarts(
        pool: AsyncConnectionPool) -> None:
    """btn-1 drops out; an engineer takes its item. Back online, the item stays theirs and its
    timeline says the button is healthy again. Ingest restarts twice, each time with no
    snapshot: the store holds the item open, but it was noted healthy again since its latest
    alarm, so the button heard again adds nothing. (The store's open items are read at start;
    without this each restart would note it again.)"""
    from alerts import lifecycle

    await _seed(pool)
    clock = Clock(NIGHT)
    home = _Home(*await _ingest(pool, clock), clock)
    await home.send("btn-1", "checkin", Checkin(seq=next(home.seq), ts=_ms(clock.t), battery=90))
    await home.state("btn-1", up=False)
    await home.until(NIGHT + 300)
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT id FROM incidents WHERE correlation_key = %s",
                                 ("maintenance:btn-1",))
        [row] = await cur.fetchall()
        await lifecycle.apply(conn, row["id"], action="claim",
                              user={"username": "eng1", "role": "admin"},
                              now=dt.datetime.fromtimestamp(clock.t, dt.UTC))
    await home.state("btn-1", up=True)
    seq = home.seq
    for _ in range(2):
        async with pool.connection() as conn:
            await conn.execute("DELETE FROM detector_state_parts")
            await conn.execute("DELETE FROM detector_state")
        again = _Home(*await _ingest(pool, clock), clock)
        again.seq = seq
        await again.until(clock.t + 120)
        await again.send("btn-1", "checkin", Checkin(seq=next(seq), ts=_ms(clock.t), battery=90))
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT action FROM incident_timeline WHERE incident_id = %s"
                                 " ORDER BY id", (row["id"],))
        assert [r["action"] for r in await cur.fetchall()] == [
            "opened", "claim", "healthy_again"]


async def test_a_smoke_detector_taken_down_at_home_asks_the_family_to_put_it_back(
        pool: AsyncConnectionPool) -> None:
    """r1's smoke detector at home is taken off its base (its own tamper): a maintenance item,
    and her daughter is sent a 'device' message asking for it to be put back. Back on its base,
    the item closes itself and nobody is told again. Her call button's case opened (a tamper
    too) is the centre's to see to: no message. (Before, a detector taken down reached only the
    centre's maintenance list, P4.)"""
    await _seed(pool)
    async with pool.connection() as conn:
        await registry.seed(conn, {"devices": [{"id": "smoke-1", "site_id": SITE, "kind": "smoke",
                                                "resident_id": "r1"}]})
        await conn.execute("INSERT INTO contacts (resident_id, name, relation, phone, lang,"
                           " priority) VALUES ('r1', '赵丽', 'child', '13800000001', 'zh-CN', 1)")
    clock = Clock(NIGHT + 8 * 3600)
    home = _Home(*await _ingest(pool, clock), clock)
    send, seq = home.send, home.seq

    async def told() -> list[tuple[str, str | None]]:
        async with pool.connection() as conn:
            cur = await conn.execute("SELECT kind, payload ->> 'note' AS note FROM notifications"
                                     " ORDER BY id")
            return [(r["kind"], r["note"]) for r in await cur.fetchall()]

    async def says(device: str, what: EventType) -> None:
        await send(device, "event", Event(seq=next(seq), ts=_ms(clock.t), type=what))

    await send("smoke-1", "checkin", Checkin(seq=next(seq), ts=_ms(clock.t), battery=60))
    await says("smoke-1", EventType.TAMPER)
    assert await told() == [("device", "smoke_down")]
    assert await _items(pool, "smoke-1") == [("new", None, "tamper")]
    async with pool.connection() as conn:  # what the notifier does at 10:00, within a second
        await conn.execute("UPDATE notifications SET status = 'sent', sent_at = now()")
    await home.until(clock.t + 600)
    await says("smoke-1", EventType.TAMPER_CLEARED)
    assert await _items(pool, "smoke-1") == [("resolved", "self_cleared", "tamper")]
    await says("btn-1", EventType.TAMPER)
    await says("smoke-1", EventType.FAULT)
    assert await _items(pool, "btn-1") == [("new", None, "tamper")]
    assert await told() == [("device", "smoke_down")]


async def test_a_device_message_held_by_quiet_hours_is_taken_back_when_its_item_closes(
        pool: AsyncConnectionPool) -> None:
    """r1's smoke detector is taken off its base in her daughter's quiet hours, and she is to be
    asked when they end to put it back. r1 puts it back two hours later: the item closes
    itself, and the waiting message is taken back (it would say something no longer true). A
    second detector, still down, keeps its message. (A message is queued at the wall clock's
    time, not the detectors' clock, so the quiet hours are set around the real now.)"""
    await _seed(pool)
    async with pool.connection() as conn:
        await registry.seed(conn, {"devices": [
            {"id": "smoke-1", "site_id": SITE, "kind": "smoke", "resident_id": "r1"},
            {"id": "smoke-2", "site_id": SITE, "kind": "smoke", "resident_id": "r1"}]})
        cur = await conn.execute(
            "INSERT INTO contacts (resident_id, name, relation, phone, lang, priority)"
            " VALUES ('r1', '赵丽', 'child', '13800000001', 'zh-CN', 1) RETURNING id")
        contact = await cur.fetchone()
        assert contact is not None
        wall = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
        quiet_start, quiet_end = wall - dt.timedelta(hours=1), wall + dt.timedelta(hours=3)
        await conn.execute("INSERT INTO notification_prefs (contact_id, kinds, quiet_start,"
                           " quiet_end, tz) VALUES (%s, '{alarm,handled,device}', %s, %s, 'UTC')",
                           (contact["id"], quiet_start.time(), quiet_end.time()))
    due = f"{quiet_end:%H:%M}"
    evening = NIGHT - 3 * 3600  # 23:00 in Shanghai
    clock = Clock(evening)
    home = _Home(*await _ingest(pool, clock), clock)
    send, seq = home.send, home.seq

    async def waiting() -> list[tuple[str, str, str]]:
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT a.device_id, n.status, to_char(n.next_attempt_at AT TIME ZONE"
                " 'UTC', 'HH24:MI') AS due FROM notifications n"
                " JOIN alarms a ON a.incident_id = n.incident_id WHERE n.kind = 'device'"
                " ORDER BY a.device_id")
            return [(r["device_id"], r["status"], r["due"]) for r in await cur.fetchall()]

    for device in ("smoke-1", "smoke-2"):
        await send(device, "checkin", Checkin(seq=next(seq), ts=_ms(clock.t), battery=60))
        await send(device, "event", Event(seq=next(seq), ts=_ms(clock.t), type=EventType.TAMPER))
    assert await waiting() == [("smoke-1", "pending", due), ("smoke-2", "pending", due)]
    await home.until(evening + 2 * 3600)  # 01:00
    await send("smoke-1", "event", Event(seq=next(seq), ts=_ms(clock.t),
                                         type=EventType.TAMPER_CLEARED))
    assert await _items(pool, "smoke-1") == [("resolved", "self_cleared", "tamper")]
    assert await waiting() == [("smoke-2", "pending", due)]


async def _seed_gateway(pool: AsyncConnectionPool) -> None:
    """The home of :func:`_seed` with a home gateway gw-1, and r2, whose only emergency device,
    a button, speaks through it."""
    await _seed(pool)
    async with pool.connection() as conn:
        await registry.seed(conn, {
            "residents": [{"id": "r2", "site_id": SITE, "name": "钱桂芳"}],
            "devices": [{"id": "gw-1", "site_id": SITE, "kind": "gateway", "resident_id": None,
                         "via": None},
                        {"id": "btn-2", "site_id": SITE, "kind": "button", "resident_id": "r2",
                         "via": "gw-1"}]})


async def test_an_elder_whose_home_gateway_is_cut_off_gets_a_welfare_check_in_minutes(
        pool: AsyncConnectionPool) -> None:
    """r2's only emergency device, a button, speaks to the platform through the home gateway
    gw-1 (``devices.via``). The gateway's line is cut at 10:00: its last will comes; at 10:02
    the gateway is a maintenance item and r2 gets a P3 welfare check for the centre that names
    the gateway, since nothing could raise her alarm now. (Before, nothing until the button
    missed its daily check-in, 37.5 h later.) r1, whose watch connects by itself, gets none.
    The line back at 10:30, the welfare check is marked heard again, and the gateway's item
    closes itself."""
    await _seed_gateway(pool)
    day = NIGHT + 8 * 3600  # 10:00 in Shanghai
    clock = Clock(day)
    home = _Home(*await _ingest(pool, clock), clock)
    send, state, seq = home.send, home.state, home.seq
    for device in ("gw-1", "btn-2", "btn-1"):
        await send(device, "checkin", Checkin(seq=next(seq), ts=_ms(clock.t), battery=90))
    await send("watch-1", "telemetry", Telemetry(seq=next(seq), ts=_ms(clock.t), battery=80,
                                                 steps=10, worn=True))
    await state("gw-1", up=False)
    await home.until(day + 90)
    assert await _alarms(pool) == []  # a blip would be over by now
    for minute in (2.5, 5, 10, 20, 30):
        await send("watch-1", "telemetry", Telemetry(seq=next(seq), ts=_ms(clock.t),
                                                     battery=80, steps=10 + int(minute), worn=True))
        await send("gw-1" if minute == 30 else "btn-1", "checkin",
                   Checkin(seq=next(seq), ts=_ms(clock.t), battery=90))
        await home.until(day + 60 * minute)
    alarms = await _alarms(pool)
    assert [(a["kind"], a["priority"], a["device_id"], a["route"], a["details"].get("problem"),
             a["details"].get("gateways_down")) for a in alarms] == [
        ("maintenance", 4, "gw-1", "maintenance", "offline", None),
        ("welfare_check", 3, "btn-2", "centre", "welfare_check", ["gw-1"])]
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT a.kind, a.details ->> 'heard_again_at' AS heard, i.status FROM alarms a"
            " JOIN incidents i ON i.id = a.incident_id ORDER BY a.id")
        rows = [(r["kind"], r["heard"] is not None, r["status"]) for r in await cur.fetchall()]
    assert rows == [("maintenance", False, "resolved"), ("welfare_check", True, "new")]


async def test_the_family_is_asked_to_see_to_a_home_gateway_gone_offline(
        pool: AsyncConnectionPool) -> None:
    """r1's button and r2's speak through the home gateway gw-1; r1 also wears a 4G watch of
    her own. The gateway goes offline: r1's daughter is asked to check its power and internet
    ('device', gateway_down): r1's button cannot call meanwhile, her watch can. r2 is left with
    nothing: her son hears of it as her welfare check (an 'alarm' saying the gateway is
    offline), and not twice."""
    await _seed_gateway(pool)
    async with pool.connection() as conn:
        await conn.execute("UPDATE devices SET via = 'gw-1' WHERE id = 'btn-1'")
        for resident, name in (("r1", "赵丽"), ("r2", "钱明")):
            await conn.execute("INSERT INTO contacts (resident_id, name, relation, phone, lang,"
                               " priority) VALUES (%s, %s, 'child', '13800000001', 'zh-CN', 1)",
                               (resident, name))
    day = NIGHT + 8 * 3600  # 10:00 in Shanghai
    clock = Clock(day)
    home = _Home(*await _ingest(pool, clock), clock)
    send, seq = home.send, home.seq
    for device in ("gw-1", "btn-2", "btn-1"):
        await send(device, "checkin", Checkin(seq=next(seq), ts=_ms(clock.t), battery=90))
    await home.state("gw-1", up=False)
    for minute in (1, 2, 3, 4):
        await send("watch-1", "telemetry", Telemetry(seq=next(seq), ts=_ms(clock.t), battery=80,
                                                     steps=minute, worn=True))
        await home.until(day + 60 * minute)
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT c.name, n.kind, n.payload ->> 'note' AS note, n.payload ->> 'alarm_kind' AS k"
            " FROM notifications n JOIN contacts c ON c.id = n.contact_id ORDER BY n.id")
        told = sorted((r["name"], r["kind"], r["note"], r["k"]) for r in await cur.fetchall())
    assert told == [("赵丽", "device", "gateway_down", "maintenance"),
                    ("钱明", "alarm", "gateway_down", "welfare_check")]
    # the centre's view of the gateway's item names the elders behind it (store/alarms.py)
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT id FROM alarms WHERE device_id = 'gw-1'")
        row = await cur.fetchone()
        assert row is not None
        item = await store_alarms.alarm(conn, row["id"])
        cur = await conn.execute("SELECT name FROM residents WHERE id = 'r1'")
        r1 = await cur.fetchone()
    assert r1 is not None and item["details"]["behind"] == ["r1", "r2"]
    assert item["named"] == {"r1": r1["name"], "r2": "钱桂芳"}


@pytest.mark.parametrize("snapshot", ["forgot", "none"])
async def test_an_item_the_store_holds_open_closes_itself_after_a_restart(
        pool: AsyncConnectionPool, snapshot: str) -> None:
    """btn-1 goes offline (an item) and watch-1 reports a fault (another). Ingest restarts from
    a snapshot that no longer remembers either problem (``forgot``: taken between a restore's
    finding and its write, when ingest died before writing it) or from none at all. The store
    holds the items open, so they are what counts: the button heard whole closes its item;
    the watch's stays open until it says the fault is over. (Before, both stayed open until
    someone closed them by hand.)"""
    await _seed(pool)
    clock = Clock(NIGHT)
    home = _Home(*await _ingest(pool, clock), clock)
    send, state, seq = home.send, home.state, home.seq
    await send("btn-1", "checkin", Checkin(seq=next(seq), ts=_ms(clock.t), battery=90))
    await send("watch-1", "event", Event(seq=next(seq), ts=_ms(clock.t), type=EventType.FAULT))
    await state("btn-1", up=False)
    await home.until(NIGHT + 300)
    assert await _items(pool, "btn-1") == [("new", None, "offline")]
    assert await _items(pool, "watch-1") == [("new", None, "fault")]
    welfare = home.ingest._welfare
    assert welfare is not None
    if snapshot == "forgot":
        for device in ("btn-1", "watch-1"):
            kept = welfare.health._devices[device]
            kept.reported, kept.said = False, []
        await home.ingest.save_state()
    async with pool.connection() as conn:
        if snapshot == "none":  # lost, or never taken
            await conn.execute("DELETE FROM detector_state_parts")
            await conn.execute("DELETE FROM detector_state")
        saved = await detector_state.load(conn, "welfare")
    assert (saved is None) == (snapshot == "none")
    again = _Home(*await _ingest(pool, clock), clock)
    again.seq = seq
    await again.state("btn-1", up=True)
    await again.send("watch-1", "telemetry", Telemetry(seq=next(seq), ts=_ms(clock.t),
                                                       battery=80))
    await again.until(NIGHT + 400)
    assert await _items(pool, "btn-1") == [("resolved", "self_cleared", "offline")]
    assert await _items(pool, "watch-1") == [("new", None, "fault")]
    await again.send("watch-1", "event", Event(seq=next(seq), ts=_ms(clock.t),
                                               type=EventType.FAULT_CLEARED))
    assert await _items(pool, "watch-1") == [("resolved", "self_cleared", "fault")]


async def test_the_family_is_asked_to_charge_a_watch_gone_flat_once_each_time_it_does(
        pool: AsyncConnectionPool) -> None:
    """r1 at home has a watch and a call button; a daughter (no preferences saved) and a son
    who wants only alarms and "handled". The watch warns at 15 % (a maintenance item, no
    message: it may yet be charged), drains to 3 % and goes flat: its offline joins that item,
    and the daughter alone is sent a 'device' message asking for it to be charged (P4: her quiet
    hours would delay it). Charged, the item closes itself. Flat again the next day: a new item,
    a second message. A third time, with the button already offline, nothing can call for
    help: the welfare check tells the family (saying a device may be flat), and no 'device'
    message comes besides."""
    await _seed(pool)
    async with pool.connection() as conn:
        for name, lang, priority in (("赵丽", "zh-CN", 1), ("Tom", "en", 2)):
            cur = await conn.execute(
                "INSERT INTO contacts (resident_id, name, relation, phone, lang, priority)"
                " VALUES ('r1', %s, 'child', '13800000001', %s, %s) RETURNING id",
                (name, lang, priority))
            row = await cur.fetchone()
            assert row is not None
            if name == "Tom":
                await conn.execute("INSERT INTO notification_prefs (contact_id, kinds)"
                                   " VALUES (%s, '{alarm,handled}')", (row["id"],))
    day = NIGHT + 8 * 3600  # 10:00 in Shanghai
    clock = Clock(day)
    home = _Home(*await _ingest(pool, clock), clock)
    send, state, until, seq = home.send, home.state, home.until, home.seq

    async def watch(battery: int) -> None:
        await send("watch-1", "telemetry", Telemetry(seq=next(seq), ts=_ms(clock.t), steps=0,
                                                     worn=True, hr=70, battery=battery))

    async def told() -> list[dict[str, Any]]:
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT n.kind, c.name, n.incident_id, n.subject, n.payload ->> 'note' AS note"
                " FROM notifications n JOIN contacts c ON c.id = n.contact_id ORDER BY n.id")
            return [dict(r) for r in await cur.fetchall()]

    async def flat(start: float, *, button: bool = True) -> None:
        await until(start)
        if button:
            await send("btn-1", "checkin", Checkin(seq=next(seq), ts=_ms(clock.t), battery=90))
        for battery in (16, 15, 9, 3):
            await watch(battery)
            await until(clock.t + 600)
        await state("watch-1", up=False)
        await until(clock.t + 180)

    await flat(day)
    [first] = await told()
    assert (first["kind"], first["name"], first["note"]) == ("device", "赵丽", "watch_flat")
    assert first["subject"] == "【12349】赵玉兰的手表可能没电了"
    async with pool.connection() as conn:  # what the notifier does by day, within a second
        await conn.execute("UPDATE notifications SET status = 'sent', sent_at = now()")
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT alarm_count, status FROM incidents WHERE id = %s",
                                 (first["incident_id"],))
        assert dict(await cur.fetchone() or {}) == {"alarm_count": 2, "status": "new"}
    await until(clock.t + 3600)  # found and charged
    await state("watch-1", up=True)
    for battery in (5, 40):
        await watch(battery)
        await until(clock.t + 600)
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT outcome FROM incidents WHERE id = %s",
                                 (first["incident_id"],))
        assert (await cur.fetchone() or {}).get("outcome") == "self_cleared"
    await flat(day + 86400)
    first, second = await told()
    assert second["kind"] == "device" and second["incident_id"] != first["incident_id"]
    async with pool.connection() as conn:
        await conn.execute("UPDATE notifications SET status = 'sent', sent_at = now()")
    await until(day + 2 * 86400)
    await state("watch-1", up=True)
    await send("btn-1", "checkin", Checkin(seq=next(seq), ts=_ms(clock.t), battery=90))
    await watch(60)
    await state("btn-1", up=False)
    await until(clock.t + 180)
    await flat(clock.t, button=False)
    later = (await told())[2:]
    assert {(m["kind"], m["note"]) for m in later} == {("alarm", "device_flat")}
    assert {m["name"] for m in later} == {"赵丽", "Tom"}


async def test_a_welfare_check_says_when_the_devices_were_heard_again_and_stays_open(
        pool: AsyncConnectionPool) -> None:
    """r1's button (their only emergency device heard) loses its connection: a welfare check
    for the centre 2 minutes after its last will. Eight minutes later it is back: the check's
    alarm says so (``heard_again_at``), for the operator who opens it, and stays open (someone
    still calls: the devices being back says nothing of how r1 is). Before 2026-12-07 the card
    said nothing, and the operator found out from the device list."""
    from detection.device_health import OFFLINE_DELAY_S
    from ingest.contract import Status

    await _seed(pool)
    clock = Clock(NIGHT)
    ingest, source = await _ingest(pool, clock)
    topic = f"eldercare/v1/{SITE}/btn-1/"
    await ingest.process([source.add(topic + "checkin", encode(Checkin(seq=1, ts=_ms(NIGHT),
                                                                      battery=80)))])
    will = Status(seq=2, ts=_ms(NIGHT), state="offline")  # set at its connect
    clock.t = NIGHT + 60
    await ingest.process([source.add(topic + "status", encode(will))])
    clock.t = NIGHT + 60 + OFFLINE_DELAY_S + 1
    await ingest.process([])
    [check] = [a for a in await _alarms(pool) if a["kind"] == "welfare_check"]
    assert "heard_again_at" not in check["details"]
    back = NIGHT + 600
    clock.t = back
    online = Status(seq=3, ts=_ms(back), state="online")
    await ingest.process([source.add(topic + "status", encode(online))])
    [check] = [a for a in await _alarms(pool) if a["kind"] == "welfare_check"]
    assert check["details"]["heard_again_at"] == dt.datetime.fromtimestamp(back, dt.UTC).isoformat()
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT status FROM incidents WHERE kind = 'welfare_check'")
        assert [r["status"] for r in await cur.fetchall()] == ["new"]


async def test_a_communitys_lines_cut_together_are_one_area_outage_for_the_centre(
        pool: AsyncConnectionPool) -> None:
    """Three homes of 幸福里社区 each have a gateway with the elder's button behind it (one of
    them routed family first). At 02:00 the provider's works cut the three lines: one P3
    ``area_outage`` for the centre (not the family's, whatever a home's routing), about no
    elder, one incident for the community; no maintenance item per gateway; and each elder,
    left with no way to call, their own welfare check saying it is part of the community's
    outage. The lines back, the area's alarm says when, and its item, which nobody had taken,
    closes itself; the elders' checks stay open."""
    from psycopg.types.json import Jsonb

    from detection.device_health import OFFLINE_DELAY_S
    from ingest.contract import Status

    homes = (1, 2, 3)
    async with pool.connection() as conn:
        await registry.seed(conn, {
            "sites": [{"id": f"home-{k}", "kind": "home", "name": f"home {k}", "lat": 31.2,
                       "lon": 121.4, "community": "幸福里社区",
                       "routing": Jsonb({"mode": "family_first"} if k == 1 else {})}
                      for k in homes],
            "residents": [{"id": f"r{k}", "site_id": f"home-{k}", "name": f"resident {k}"}
                          for k in homes],
            "devices": [{"id": f"gw-{k}", "site_id": f"home-{k}", "kind": "gateway",
                         "resident_id": None, "via": None} for k in homes]
            + [{"id": f"btn-{k}", "site_id": f"home-{k}", "kind": "button",
                "resident_id": f"r{k}", "via": f"gw-{k}"} for k in homes],
            "contacts": [{"resident_id": f"r{k}", "name": f"child {k}", "relation": "child",
                          "phone": f"1380000000{k}", "lang": "zh-CN", "priority": 1}
                         for k in homes],
        })
    clock = Clock(NIGHT)
    ingest, source = await _ingest(pool, clock)
    await ingest.process([source.add(f"eldercare/v1/home-{k}/{d}-{k}/checkin",
                                     encode(Checkin(seq=1, ts=_ms(NIGHT), battery=80)))
                          for k in homes for d in ("gw", "btn")])
    for k in homes:  # the broker times the three connections out 20 s apart
        clock.t = NIGHT + 40 + 20 * k
        await ingest.process([source.add(f"eldercare/v1/home-{k}/gw-{k}/status", encode(
            Status(seq=2, ts=_ms(NIGHT), state="offline")))])
    for minute in range(1, 6):
        clock.t = NIGHT + 60 + OFFLINE_DELAY_S + 60 * minute
        await ingest.process([])
    alarms = await _alarms(pool)
    assert sorted((a["kind"], a["priority"], a["route"]) for a in alarms) == [
        ("area_outage", 3, "centre")] + [("welfare_check", 3, "centre")] * 2 + [
        ("welfare_check", 3, "family_first")], alarms
    [area] = [a for a in alarms if a["kind"] == "area_outage"]
    assert area["device_id"] == "gw-1" and area["details"]["area_outage"] == "幸福里社区"
    assert area["details"]["gateways_down"] == ["gw-1", "gw-2", "gw-3"]
    assert area["details"]["behind"] == area["details"]["cut_off"] == ["r1", "r2", "r3"]
    assert all(a["details"].get("area_outage") == "幸福里社区" for a in alarms)
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT resident_id, correlation_key FROM incidents"
                                 " WHERE kind = 'area_outage'")
        assert [tuple(r.values()) for r in await cur.fetchall()] == [
            (None, "area_outage:幸福里社区")]
        # each family hears of their elder's check as part of the community's outage, and
        # nobody is asked to see to a gateway the provider cut
        cur = await conn.execute(
            "SELECT c.name, n.kind, n.payload ->> 'note' AS note FROM notifications n"
            " JOIN contacts c ON c.id = n.contact_id ORDER BY c.name")
        assert [tuple(r.values()) for r in await cur.fetchall()] == [
            (f"child {k}", "alarm", "area_down") for k in homes]
    back = clock.t = NIGHT + 3600
    await ingest.process([source.add(f"eldercare/v1/home-{k}/gw-{k}/status", encode(
        Status(seq=3, ts=_ms(back), state="online"))) for k in homes])
    [area] = [a for a in await _alarms(pool) if a["kind"] == "area_outage"]
    assert area["details"]["area_heard_again_at"] == dt.datetime.fromtimestamp(
        back, dt.UTC).isoformat()
    # nobody had taken it: it closes itself, as a device's item does; the elders' checks stay
    # open (someone still calls each of them)
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT kind, status, outcome FROM incidents ORDER BY kind, id")
        assert [tuple(r.values()) for r in await cur.fetchall()] == [
            ("area_outage", "resolved", "self_cleared")] + [("welfare_check", "new", None)] * 3


async def test_a_site_moved_to_another_community_is_heard_by_a_running_ingest(
        pool: AsyncConnectionPool, db_url: str) -> None:
    """The community a gateway's home is in decides which area outage it counts towards: a
    change of it is announced to a running ingest (migration 0036), as its routing is."""
    await _seed(pool)
    ingest, _ = await _ingest(pool, Clock(NIGHT))
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as listener:
        await listener.execute("LISTEN registry")
        async with pool.connection() as conn:
            await conn.execute("UPDATE sites SET community = '长青社区' WHERE id = %s", (SITE,))
        told = [n.payload async for n in listener.notifies(timeout=0.5)]
    assert "sites" in told, "a running ingest must re-read the site's community at once"
    await ingest.refresh_registry()
    assert {ref.site_community for ref in ingest._devices.values()} == {"长青社区"}


async def _seed_care_home(pool: AsyncConnectionPool) -> None:
    """Care home care-9: six rooms' elders, each with a wall button (mains, every 10 min)."""
    async with pool.connection() as conn:
        await registry.seed(conn, {
            "sites": [{"id": "care-9", "kind": "care_home", "name": "home 9", "lat": 31.2,
                       "lon": 121.4}],
            "residents": [{"id": f"c{i}", "site_id": "care-9", "name": f"resident {i}"}
                          for i in range(6)],
            "devices": [{"id": f"wall-{i}", "site_id": "care-9", "kind": "button",
                         "resident_id": f"c{i}"} for i in range(6)],
        })


async def test_a_care_home_whose_call_buttons_fall_silent_together_is_one_alarm(
        pool: AsyncConnectionPool) -> None:
    """Six rooms' wall buttons (mains, every 10 min) last heard at 08:00: the home's network is
    down. At 08:16 one P2 ``site_silent`` alarm for the home, routed to its staff and the
    centre, about no one elder; not six maintenance items and six welfare checks. Back at
    08:30: the alarm says so (``site_heard_again_at``) and stays open."""
    await _seed_care_home(pool)
    morning = NIGHT + 6 * 3600  # 08:00 in Shanghai
    clock = Clock(morning)
    ingest, source = await _ingest(pool, clock)

    async def heard_then_quiet(seq: int, at: float, minutes: int) -> None:
        """The six wall buttons check in at ``at``; then nothing for ``minutes`` minutes."""
        await ingest.process([source.add(f"eldercare/v1/care-9/wall-{i}/checkin",
                                         encode(Checkin(seq=seq, ts=_ms(at), battery=100)))
                              for i in range(6)])
        for minute in range(1, minutes + 1):
            clock.t = at + 60 * minute
            await ingest.process([])

    await heard_then_quiet(1, morning, 16)
    alarms = await _alarms(pool)
    assert [(a["kind"], a["priority"], a["route"]) for a in alarms] == [
        ("site_silent", 2, "care_home")], alarms
    assert alarms[0]["details"]["detail"].startswith("6 of 6 devices silent")
    async with pool.connection() as conn:
        [incident] = await (await conn.execute(
            "SELECT resident_id, correlation_key FROM incidents")).fetchall()
    assert (incident["resident_id"], incident["correlation_key"]) == (None, "site_silent:care-9")
    # 08:30 the network is back: the alarm, still open, says when (the operator who opens it
    # still calls the home), once, and no device of it is reported on its own
    back = clock.t = morning + 30 * 60
    await heard_then_quiet(2, back, 5)
    [alarm] = await _alarms(pool)
    assert alarm["details"]["site_heard_again_at"] == dt.datetime.fromtimestamp(
        back, dt.UTC).isoformat()
    async with pool.connection() as conn:
        [row] = await (await conn.execute("SELECT status FROM incidents")).fetchall()
    assert row["status"] == "new"


class HearingSource(ListSource):
    """A test source that, like an MqttSource, says whether it holds the broker."""

    def __init__(self) -> None:
        super().__init__()
        self.connected = asyncio.Event()


async def test_a_broker_outage_is_not_held_against_the_devices(pool: AsyncConnectionPool) -> None:
    """The care home's six wall buttons are heard at 08:00; at 08:05 ingest loses the broker
    for twenty minutes. Nothing is called while it cannot hear, nor when it hears again: the
    outage was the platform's. Still silent fifteen minutes of hearing later, the home is."""
    await _seed_care_home(pool)
    morning = NIGHT + 6 * 3600
    clock = Clock(morning)
    source = HearingSource()
    ingest = Ingest(pool=pool, source=source, clock=clock, decoder=Decoder(clock=clock))
    await ingest.load_registry()
    source.connected.set()
    await ingest.process([source.add(f"eldercare/v1/care-9/wall-{i}/checkin",
                                     encode(Checkin(seq=1, ts=_ms(morning), battery=100)))
                          for i in range(6)])
    for minutes in range(1, 41):
        clock.t = morning + 60 * minutes
        if minutes == 5:
            source.connected.clear()
        if minutes == 25:
            source.connected.set()
        await ingest.process([])
        if minutes == 34:
            assert await _alarms(pool) == []  # 08:34: 9 min of hearing since 08:25, + 5 before
    assert [a["kind"] for a in await _alarms(pool)] == ["site_silent"]  # by 08:40


async def test_welfare_state_is_kept_across_a_restart(pool: AsyncConnectionPool) -> None:
    await _seed(pool)
    clock = Clock(NIGHT)
    ingest, source = await _ingest(pool, clock)
    body = Telemetry(seq=1, ts=_ms(NIGHT), hr=150, steps=100, worn=True)
    await ingest.process([source.add(f"eldercare/v1/{SITE}/watch-1/telemetry", encode(body))])
    await ingest.save_state()
    restarted, source2 = await _ingest(pool, clock)
    # Two more high readings after the restart complete "3 of 5": the first was remembered.
    for i in (2, 3):
        clock.t = NIGHT + 10 * i
        body = Telemetry(seq=i, ts=_ms(clock.t), hr=150, steps=100, worn=True)
        await restarted.process([source2.add(f"eldercare/v1/{SITE}/watch-1/telemetry",
                                             encode(body))])
    assert [a["kind"] for a in await _alarms(pool)] == ["vitals_critical"]


async def test_the_periodic_snapshot_is_written_while_the_lane_goes_on(
        pool: AsyncConnectionPool) -> None:
    """Taking the snapshot holds the lane; writing it does not: process() returns with the
    write under way, and the row it leaves restores the baselines."""
    from ingest.pipeline import WELFARE_SAVE_EVERY_S

    await _seed(pool)
    clock = Clock(NIGHT)
    ingest, source = await _ingest(pool, clock)
    topic = f"eldercare/v1/{SITE}/watch-1/telemetry"
    await ingest.process([source.add(topic, encode(Telemetry(seq=1, ts=_ms(NIGHT), hr=150,
                                                            steps=100, worn=True)))])
    first = ingest._saving
    assert first is not None  # the first batch saves (nothing was saved yet)
    await first
    clock.t = NIGHT + WELFARE_SAVE_EVERY_S + 1
    await ingest.process([source.add(topic, encode(Telemetry(seq=2, ts=_ms(clock.t), hr=150,
                                                            steps=100, worn=True)))])
    second = ingest._saving
    assert second is not None and second is not first
    await second
    async with pool.connection() as conn:
        saved = await detector_state.load(conn, "welfare")
    assert saved is not None and "vitals" in saved
    # The saved state is what a restart resumes from: one more high reading completes 3 of 5.
    restarted, source2 = await _ingest(pool, clock)
    clock.t += 10
    await restarted.process([source2.add(topic, encode(Telemetry(seq=3, ts=_ms(clock.t), hr=150,
                                                                steps=100, worn=True)))])
    assert [a["kind"] for a in await _alarms(pool)] == ["vitals_critical"]


async def test_two_lanes_sharing_the_detectors_keep_them_once(pool: AsyncConnectionPool) -> None:
    """Lanes in one process share one WelfareStage (eldercare/platform.py): only the one with
    the chores restores, saves and reads outcomes; the other still feeds the detectors. Both
    used to save the same snapshot, and a second writer met the first's rows."""
    from ingest.welfare import WelfareStage

    await _seed(pool)
    clock = Clock(NIGHT)
    shared = WelfareStage()
    alarms = Ingest(pool=pool, source=ListSource(), clock=clock, decoder=Decoder(clock=clock),
                    welfare=shared, welfare_chores=False)
    streams = Ingest(pool=pool, source=ListSource(), clock=clock, decoder=Decoder(clock=clock),
                     welfare=shared)
    for lane in (alarms, streams):
        await lane.load_registry()
    topic = f"eldercare/v1/{SITE}/watch-1/telemetry"
    high = [ListSource().add(topic, encode(Telemetry(seq=i, ts=_ms(NIGHT + 10 * i), hr=150,
                                                     steps=100, worn=True))) for i in (1, 2, 3)]
    clock.t = NIGHT + 20
    await alarms.process(high[:2])  # the lane without the chores still feeds the detectors
    assert alarms._saving is None and alarms._outcomes_read < 0
    clock.t = NIGHT + 30
    await streams.process(high[2:])
    assert streams._saving is not None
    await streams._saving
    assert [a["kind"] for a in await _alarms(pool)] == ["vitals_critical"]  # 3 of 5, across lanes


async def test_two_writers_of_one_snapshot_take_turns(pool: AsyncConnectionPool) -> None:
    import asyncio

    bodies = [b'{"who": "first", "pad": "' + b"x" * 100 + b'"}',
              b'{"who": "second", "pad": "' + b"y" * 100 + b'"}']

    async def write(body: bytes) -> None:
        async with pool.connection() as conn:
            await detector_state.save_encoded(conn, "welfare", [body[:20], body[20:]])

    for _ in range(5):
        await asyncio.gather(*(write(b) for b in bodies))  # no unique violation
        async with pool.connection() as conn:
            saved = await detector_state.load(conn, "welfare")
        assert saved is not None and saved["who"] in ("first", "second")  # one of them, whole


async def test_an_inactivity_alarm_resolved_genuine_is_not_learnt_as_ordinary_life(
        pool: AsyncConnectionPool) -> None:
    """09:00 the watch's steps stop; the 4 h default raises an inactivity alarm at 13:00; help
    comes and the steps go on at 14:00, which teaches the 08:00-10:00 bin a 5 h silence; the
    operator resolves the incident as genuine, and within a minute ingest has it unlearnt. A
    restart from a snapshot taken before that unlearns it again from the week's outcomes; a
    false alarm's silence stays learnt."""
    from ingest.pipeline import OUTCOMES_EVERY_S

    await _seed(pool)
    morning = NIGHT + 7 * 3600  # 09:00 in Shanghai
    clock = Clock(morning)
    ingest, source = await _ingest(pool, clock)
    topic = f"eldercare/v1/{SITE}/watch-1/telemetry"

    sent = [0]

    async def steps(count: int) -> None:
        sent[0] += 1
        body = Telemetry(seq=sent[0], ts=_ms(clock.t), hr=70, steps=count, worn=True)
        await ingest.process([source.add(topic, encode(body))])

    async def still(since: float, count: int) -> None:
        """Five hours without a step, the watch reporting every ten minutes."""
        for minutes in range(10, 5 * 60, 10):
            clock.t = since + 60 * minutes
            await steps(count)

    def learnt(at: Ingest) -> list[float]:
        assert at._welfare is not None
        return list(at._welfare.inactivity._residents["r1"].silences.get(4, ()))

    async def resolve(outcome: str) -> None:
        await _resolve(pool, "inactivity", outcome, at=clock.t)

    await steps(100)
    await steps(120)  # 09:00: moving
    await still(morning, 120)
    alarms = await _alarms(pool)
    assert [a["kind"] for a in alarms] == ["inactivity"]
    # what the operator's card shows: since when, how long, against what usual limit
    details = alarms[0]["details"]
    assert details["last_movement_at"] == dt.datetime.fromtimestamp(morning, dt.UTC).isoformat()
    assert (details["limit_h"], details["count"]) == (4.0, 1) and details["silent_h"] > 4.0
    assert "watch_off_since" not in details  # worn all along: the stillness is the wearer's
    clock.t = morning + 5 * 3600
    await steps(140)
    assert learnt(ingest) == [5 * 3600.0]
    await ingest.save_state()  # the snapshot a restart will resume from
    await resolve("genuine")
    clock.t += OUTCOMES_EVERY_S
    await ingest.process([])
    assert learnt(ingest) == []

    restarted, source = await _ingest(pool, clock)
    assert learnt(restarted) == [5 * 3600.0]
    ingest = restarted
    await ingest.process([])
    assert learnt(ingest) == []

    # the next day: the same silence, resolved as a false alarm, stays learnt
    morning += 24 * 3600
    clock.t = morning
    await steps(200)
    await still(morning, 200)
    clock.t = morning + 5 * 3600
    await steps(220)
    await resolve("false_alarm")
    clock.t += OUTCOMES_EVERY_S
    await ingest.process([])
    assert learnt(ingest) == [5 * 3600.0]


def _watch_telemetry(ingest: Ingest, source: ListSource, clock: Clock
                     ) -> Callable[..., Awaitable[None]]:
    """watch-1's telemetry at ``clock``'s time, numbered, as one batch each."""
    topic = f"eldercare/v1/{SITE}/watch-1/telemetry"
    seq = iter(range(1, 10_000))

    async def send(steps: int, *, worn: bool | None) -> None:
        body = Telemetry(seq=next(seq), ts=_ms(clock.t), steps=steps, worn=worn,
                         hr=70 if worn else None)
        await ingest.process([source.add(topic, encode(body))])

    return send


async def test_a_watch_an_hour_slow_is_judged_still_from_when_it_stopped_not_an_hour_early(
        pool: AsyncConnectionPool) -> None:
    """A watch set an hour behind (a zone slip, ingest/codec.py): moving from 09:00 to 10:00,
    still from then on. Its readings are placed by its clock until the slip is learnt, half an
    hour in, then by the slip: the 4 h limit calls at 14:00, not at 13:00 as when its last
    movement was taken to be an hour older than it was. Its row says how slow its clock is."""
    await _seed(pool)
    morning = NIGHT + 7 * 3600  # 09:00 in Shanghai
    clock = Clock(morning)
    ingest, source = await _ingest(pool, clock)
    topic = f"eldercare/v1/{SITE}/watch-1/telemetry"
    steps = 0
    for i, minutes in enumerate(range(0, 6 * 60, 5)):
        clock.t = morning + 60 * minutes
        steps += 40 if minutes <= 60 else 0
        body = Telemetry(seq=i + 1, ts=_ms(clock.t - 3602), steps=steps, worn=True, hr=70)
        await ingest.process([source.add(topic, encode(body))])
        if await _alarms(pool):
            break
    [alarm] = await _alarms(pool)
    assert alarm["kind"] == "inactivity"
    assert (clock.t - morning) / 3600 == pytest.approx(5.0, abs=5 / 60)  # 14:00, give or take
    last = dt.datetime.fromisoformat(alarm["details"]["last_movement_at"]).timestamp()
    assert last == pytest.approx(morning + 3600, abs=5)
    async with pool.connection() as conn:
        row = await (await conn.execute(
            "SELECT clock_offset_s FROM devices WHERE id = 'watch-1'")).fetchone()
    assert row is not None and row["clock_offset_s"] == 3600


async def test_an_inactivity_alarm_says_since_when_the_watch_was_off_the_wrist(
        pool: AsyncConnectionPool) -> None:
    """Moving at 09:00, the watch taken off at 09:30 (its telemetry says ``worn: false`` from
    then on): at 13:00 the 4 h limit is passed and the alarm says since when the watch is off,
    so the operator knows the stillness may be the watch's; put back on, it is not said."""
    await _seed(pool)
    morning = NIGHT + 7 * 3600  # 09:00 in Shanghai
    clock = Clock(morning)
    ingest, source = await _ingest(pool, clock)
    telemetry = _watch_telemetry(ingest, source, clock)

    await telemetry(100, worn=True)
    await telemetry(120, worn=True)
    for minutes in range(30, 5 * 60, 10):
        clock.t = morning + 60 * minutes
        await telemetry(120, worn=False if minutes < 280 else None)  # no word either way
    [alarm] = await _alarms(pool)
    assert alarm["kind"] == "inactivity"
    assert alarm["details"]["watch_off_since"] == dt.datetime.fromtimestamp(
        morning + 30 * 60, dt.UTC).isoformat()
    await _resolve(pool, "inactivity", "false_alarm", at=clock.t)
    # back on the wrist at 14:00 and moving; still again from 14:10: worn, so not said
    clock.t = morning + 5 * 3600
    await telemetry(130, worn=True)
    for minutes in range(10, 5 * 60, 10):
        clock.t = morning + 5 * 3600 + 60 * minutes
        await telemetry(140, worn=True)
    second = (await _alarms(pool))[1]
    assert second["kind"] == "inactivity" and "watch_off_since" not in second["details"]


async def test_a_no_activity_alarm_over_a_flat_watch_says_when_the_watch_was_heard_again(
        pool: AsyncConnectionPool) -> None:
    """Walking at 09:00, the watch says 3 % and goes flat at 09:20 (its last will); the button
    checks in hourly. At 13:00 the no-activity alarm is raised on the watch, saying it is
    unheard since 09:20 at 3 %, probably flat. At 14:30 the watch is on its charger and
    connects again: the alarm, still open, says so (``watch_heard_again_at``), so the operator
    knows someone has had it in hand; it is not closed."""
    from ingest.contract import Status

    await _seed(pool)
    morning = NIGHT + 7 * 3600  # 09:00 in Shanghai
    clock = Clock(morning)
    ingest, source = await _ingest(pool, clock)
    watch = f"eldercare/v1/{SITE}/watch-1/"
    seq = iter(range(1, 10_000))

    async def send(topic: str, body: Any) -> None:
        await ingest.process([source.add(topic, encode(body))])

    for steps in (100, 120):
        await send(watch + "telemetry", Telemetry(seq=next(seq), ts=_ms(clock.t), steps=steps,
                                                  worn=True, hr=70, battery=3))
        clock.t += 60
    clock.t = morning + 20 * 60
    await send(watch + "status", Status(seq=next(seq), ts=_ms(morning), state="offline"))
    for minutes in range(30, 5 * 60 + 30, 10):
        clock.t = morning + 60 * minutes
        if minutes % 60 == 0:
            await send(f"eldercare/v1/{SITE}/btn-1/checkin",
                       Checkin(seq=next(seq), ts=_ms(clock.t), battery=90))
        else:
            await ingest.process([])
    [alarm] = [a for a in await _alarms(pool) if a["kind"] == "inactivity"]
    assert alarm["device_id"] == "watch-1"
    details = alarm["details"]
    assert (details["watch_battery_pct"], details["watch_flat"]) == (3, True)
    assert "watch_heard_again_at" not in details
    back = clock.t = morning + 5.5 * 3600
    await send(watch + "status", Status(seq=next(seq), ts=_ms(back), state="online"))
    await send(watch + "telemetry", Telemetry(seq=next(seq), ts=_ms(back + 10), steps=0,
                                              worn=False, battery=4))
    [alarm] = [a for a in await _alarms(pool) if a["kind"] == "inactivity"]
    assert alarm["details"]["watch_heard_again_at"] == dt.datetime.fromtimestamp(
        back, dt.UTC).isoformat()
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT a.status AS alarm, i.status AS incident FROM alarms a"
                                 " JOIN incidents i ON i.id = a.incident_id"
                                 " WHERE a.kind = 'inactivity'")
        assert [dict(r) for r in await cur.fetchall()] == [{"alarm": "new", "incident": "new"}]


async def test_a_silence_with_the_watch_off_is_not_learnt(pool: AsyncConnectionPool) -> None:
    """Walking until 13:00, the watch on its charger from 13:10 to 15:10 (``worn: false``), on
    again and walking; then still, worn, from 15:20 to 17:20. The charger's two hours are not
    what the elder does at that hour (the watch saw nobody): not learnt. The worn two hours
    are."""
    await _seed(pool)
    afternoon = NIGHT + 11 * 3600  # 13:00 in Shanghai
    clock = Clock(afternoon)
    ingest, source = await _ingest(pool, clock)
    telemetry = _watch_telemetry(ingest, source, clock)
    steps = 100

    async def at(minutes: int, *, worn: bool, walk: bool = False) -> None:
        nonlocal steps
        clock.t = afternoon + 60 * minutes
        steps += 20 if walk else 0
        await telemetry(steps, worn=worn)

    await at(0, worn=True)
    await at(1, worn=True, walk=True)  # last steps before the charger: 13:01
    for minutes in range(10, 130, 10):
        await at(minutes, worn=False)
    await at(130, worn=True, walk=True)  # 15:10
    for minutes in range(140, 260, 10):
        await at(minutes, worn=True)
    await at(260, worn=True, walk=True)  # 17:20
    assert await _alarms(pool) == []
    assert ingest._welfare is not None
    learnt = ingest._welfare.inactivity.snapshot_part(["r1"])["r1"]["recent"]
    assert [afternoon + 60, afternoon + 130 * 60] not in learnt, learnt
    assert [afternoon + 130 * 60, afternoon + 260 * 60] in learnt, learnt


async def test_the_time_on_the_floor_after_a_genuine_sos_is_not_learnt(
        pool: AsyncConnectionPool) -> None:
    """11:00 r1 stops walking and at 11:02 presses the pendant from the floor; the watch's report
    at 11:03 counts two steps (the fall); help gets them up at 12:30 (steps again), under the
    4 h default, so no inactivity alarm: the 10:00-12:00 bin learns the 87 minutes from the
    last step. The SOS call resolved genuine, ingest unlearns it within a minute;
    the next day's, resolved as an accidental press, stays learnt. Both outcomes corrected by a
    supervisor (reopened, resolved otherwise): the detector follows."""
    from ingest.pipeline import OUTCOMES_EVERY_S

    await _seed(pool)
    clock = Clock(NIGHT + 9 * 3600)  # 11:00 in Shanghai
    ingest, source = await _ingest(pool, clock)
    sent = [0, 0]

    async def steps(count: int) -> None:
        sent[0] += 1
        body = Telemetry(seq=sent[0], ts=_ms(clock.t), hr=70, steps=count, worn=True)
        await ingest.process([source.add(f"eldercare/v1/{SITE}/watch-1/telemetry",
                                         encode(body))])

    def learnt() -> list[float]:
        assert ingest._welfare is not None
        return list(ingest._welfare.inactivity._residents["r1"].silences.get(5, ()))

    floor = 5400.0 - 180
    for day, outcome, kept in ((0, "genuine", []), (1, "accidental", [floor])):
        eleven = NIGHT + 9 * 3600 + day * 24 * 3600
        clock.t = eleven - 60
        await steps(1000 * day + 100)
        clock.t = eleven
        await steps(1000 * day + 120)
        clock.t = eleven + 120
        sent[1] += 1
        await ingest.process([source.add(
            f"eldercare/v1/{SITE}/btn-1/event",
            encode(Event(seq=sent[1], ts=_ms(clock.t), type=EventType.SOS)))])
        clock.t = eleven + 180
        await steps(1000 * day + 122)
        for minutes in range(10, 90, 10):
            clock.t = eleven + 60 * minutes
            await steps(1000 * day + 122)
        clock.t = eleven + 5400
        await steps(1000 * day + 140)
        assert learnt() == [floor]
        assert [a["kind"] for a in await _alarms(pool)][day:] == ["sos"]
        await _resolve(pool, "sos", outcome, at=clock.t)
        clock.t += OUTCOMES_EVERY_S
        await ingest.process([])
        assert learnt() == kept

    # a supervisor corrects both: the first was a false alarm after all, the second genuine;
    # within a minute the detector holds the latest outcomes
    from alerts import lifecycle

    async with pool.connection() as conn:
        cur = await conn.execute("SELECT id FROM incidents WHERE kind = 'sos' ORDER BY id")
        first, second = [r["id"] for r in await cur.fetchall()]
    for incident, outcome in ((first, "false_alarm"), (second, "genuine")):
        async with pool.connection() as conn:
            user = {"username": "sup", "role": "supervisor"}
            now = dt.datetime.fromtimestamp(clock.t, dt.UTC)
            await lifecycle.apply(conn, incident, action="reopen", user=user, now=now)
        await _resolve(pool, "sos", outcome, at=clock.t)
        clock.t += OUTCOMES_EVERY_S
        await ingest.process([])
        assert learnt() == {"false_alarm": [floor, floor], "genuine": [floor]}[outcome]


async def test_a_resident_with_their_own_night_is_called_from_their_rising_not_at_dawn(
        pool: AsyncConnectionPool) -> None:
    """Carers set r1's night to 19:00-05:00 (migration 0017). Still from 18:50, the watch
    reporting every ten minutes: the centre's night would call at 06:00, 11 h on; r1's own
    night counts the day's 4 h from 05:00 and the call comes at the first report after 09:00."""
    await _seed(pool)
    async with pool.connection() as conn:
        await conn.execute("UPDATE residents SET asleep_from = 19, up_by = 5 WHERE id = 'r1'")
    evening = NIGHT - 7 * 3600 - 10 * 60  # 18:50 in Shanghai
    clock = Clock(evening)
    ingest, source = await _ingest(pool, clock)
    topic = f"eldercare/v1/{SITE}/watch-1/telemetry"
    for seq, minutes in enumerate(range(-10, 16 * 60, 10), start=1):
        clock.t = evening + 60 * minutes
        steps = 100 if minutes < 0 else 120  # a last walk at 18:50, then stillness
        body = Telemetry(seq=seq, ts=_ms(clock.t), hr=62, steps=steps, worn=True)
        await ingest.process([source.add(topic, encode(body))])
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT occurred_at FROM alarms WHERE kind = 'inactivity'")
        rows = await cur.fetchall()
    local = [r["occurred_at"].astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%H:%M")
             for r in rows]
    assert local == ["09:10"]


async def test_residents_inactivity_summaries_are_kept_for_the_console(
        pool: AsyncConnectionPool) -> None:
    """Once a minute ingest writes the summaries that changed: r1's first step at 09:00 with the
    programme's limits; a step two minutes on is not worth a write, one ten minutes on is; a
    night set by carers is written at once. The row reads back as the detector holds it."""
    from ingest.pipeline import SUMMARIES_EVERY_S
    from store import resident_welfare

    await _seed(pool)
    nine = NIGHT + 7 * 3600
    clock = Clock(nine)
    ingest, source = await _ingest(pool, clock)
    sent = [0]

    async def step(at: float, count: int) -> None:
        clock.t = at
        sent[0] += 1
        body = Telemetry(seq=sent[0], ts=_ms(at), hr=70, steps=count, worn=True)
        await ingest.process([source.add(f"eldercare/v1/{SITE}/watch-1/telemetry",
                                         encode(body))])

    async def kept() -> tuple[Any, dt.datetime] | None:
        if ingest._keeping is not None:
            await ingest._keeping
        async with pool.connection() as conn:
            return await resident_welfare.read(conn, "r1")

    await step(nine - 60, 100)
    await step(nine, 120)
    assert ingest._welfare is not None
    held = ingest._welfare.inactivity.summary("r1")
    assert held is not None and held.last_movement == nine
    ingest.keep_summaries()  # the first batch's turn came before r1 moved
    found = await kept()
    assert found is not None and found[0] == held
    assert found[0].day_limits[4] == 4 * 3600 and found[0].night_limit == 11 * 3600
    assert found[0].morning_limit is None  # no night known yet: the day's allowance alone
    assert found[1] == dt.datetime.fromtimestamp(nine, dt.UTC)

    await step(nine + SUMMARIES_EVERY_S + 60, 130)  # two minutes on: not worth a write
    assert (await kept() or (None, None))[0] == held
    await step(nine + 10 * 60, 140)
    await step(nine + 10 * 60 + SUMMARIES_EVERY_S, 140)
    found = await kept()
    assert found is not None and found[0].last_movement == nine + 10 * 60

    async with pool.connection() as conn:
        await conn.execute("UPDATE residents SET asleep_from = 19, up_by = 5 WHERE id = 'r1'")
    await ingest.load_registry()
    await step(nine + 10 * 60 + 2 * SUMMARIES_EVERY_S, 140)
    found = await kept()
    assert found is not None and (found[0].sleep_hour, found[0].wake_hour) == (19, 5)


async def test_an_elder_with_a_call_button_alone_is_never_called_still(
        pool: AsyncConnectionPool) -> None:
    """r2 has a call button and no watch. Their press at 09:00 is an SOS, and their hours
    without one say nothing: no inactivity alarm at 13:00, nor the next morning (found by
    running the demo district through the welfare stage, 2026-12-07: every button-only elder
    who pressed was called still the next day at 11:00). r1, who wears a watch, is called; when
    their watch is retired they stop being judged, and a new watch counts from when it came.
    That call lands on one of r1's devices: before, it went to the device last heard from, the
    retired watch, and was dropped unseen."""
    await _seed(pool)
    async with pool.connection() as conn:
        await registry.seed(conn, {
            "sites": [{"id": "home-0002", "kind": "home", "name": "home 2", "lat": 31.3,
                       "lon": 121.5}],
            "residents": [{"id": "r2", "site_id": "home-0002", "name": "钱桂英"}],
            "devices": [{"id": "btn-2", "site_id": "home-0002", "kind": "button",
                         "resident_id": "r2"}]})
    nine = NIGHT + 7 * 3600
    clock = Clock(nine)
    ingest, source = await _ingest(pool, clock)
    sos = Event(seq=1, ts=_ms(nine), type=EventType.SOS)
    walked = [Telemetry(seq=i + 1, ts=_ms(nine - 60 + 60 * i), hr=70, steps=100 + 20 * i,
                        worn=True) for i in range(2)]
    await ingest.process([source.add("eldercare/v1/home-0002/btn-2/event", encode(sos))] + [
        source.add(f"eldercare/v1/{SITE}/watch-1/telemetry", encode(t)) for t in walked])
    for hours in range(1, 27):  # the buttons check in hourly: both elders' devices are well
        clock.t = nine + hours * 3600
        await ingest.process([
            source.add(f"eldercare/v1/{where}/checkin",
                       encode(Checkin(seq=hours + 1, ts=_ms(clock.t), battery=90)))
            for where in ("home-0002/btn-2", f"{SITE}/btn-1")])

    async def calls() -> list[tuple[str, str, str, dict[str, Any]]]:
        async with pool.connection() as conn:
            cur = await conn.execute("SELECT kind, resident_id, device_id, details FROM alarms"
                                     " WHERE kind <> 'maintenance' ORDER BY id")
            return [(r["kind"], r["resident_id"], r["device_id"], r["details"])
                    for r in await cur.fetchall()]

    assert [c[:2] for c in await calls()] == [("sos", "r2"), ("inactivity", "r1")]

    await _resolve(pool, "inactivity", "false_alarm", at=clock.t)  # else a new one merges in
    clock.t += 600  # r1 walks; then their watch goes back for repair
    await ingest.process([source.add(f"eldercare/v1/{SITE}/watch-1/telemetry", encode(
        Telemetry(seq=3, ts=_ms(clock.t), hr=70, steps=300, worn=True)))])
    async with pool.connection() as conn:
        await conn.execute("UPDATE devices SET retired_at = now() WHERE id = 'watch-1'")
    await ingest.load_registry()
    for _ in range(29):  # 5 h without a watch: nobody can see r1 still
        clock.t += 600
        await ingest.process([])
    assert len(await calls()) == 2
    async with pool.connection() as conn:
        await registry.seed(conn, {"devices": [{"id": "watch-2", "site_id": SITE,
                                                "kind": "wearable", "resident_id": "r1"}]})
    await ingest.load_registry()
    came = clock.t
    for minutes in range(1, 6 * 60, 10):  # r1 never moves with the new watch
        clock.t = came + minutes * 60
        await ingest.process([])
    found = await calls()
    assert [c[:2] for c in found] == [("sos", "r2"), ("inactivity", "r1"), ("inactivity", "r1")]
    assert found[2][2] == "watch-2"
    # counted from the first tick with the new watch, not from r1's last step yesterday
    assert found[2][3]["last_movement_at"] == dt.datetime.fromtimestamp(
        came + 60, dt.UTC).isoformat()
