"""A home gateway's ``online`` lists the devices it speaks for (``Status.devices``): ingest
records them as going through it (``devices.via``) on a real PostgreSQL, so a cut line leaves
their elder cut off within minutes without anyone wiring them by hand; what it may not speak
for is said in a dead letter and the rest is taken."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from detection.device_health import OFFLINE_DELAY_S
from ingest.codec import encode
from ingest.contract import Checkin, Status
from store import registry
from tests.clock import Clock
from tests.ingest.test_welfare import NIGHT, _alarms, _ingest, _ms

pytestmark = pytest.mark.db


async def _via(pool: AsyncConnectionPool) -> dict[str, str | None]:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT id, via FROM devices ORDER BY id")
        return {r["id"]: r["via"] for r in await cur.fetchall()}


async def _dead(pool: AsyncConnectionPool) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT code, reason, device_id FROM dead_letters ORDER BY id")
        return [dict(r) for r in await cur.fetchall()]


async def test_a_gateways_online_wires_its_devices_and_a_cut_line_then_cuts_them_off(
        pool: AsyncConnectionPool, db_url: str) -> None:
    async with pool.connection() as conn:
        await registry.seed(conn, {
            "sites": [{"id": f"home-{k}", "kind": "home", "name": f"home {k}", "lat": 31.2,
                       "lon": 121.4} for k in (1, 2)],
            "residents": [{"id": f"r{k}", "site_id": f"home-{k}", "name": f"resident {k}"}
                          for k in (1, 2)],
            "devices": [
                {"id": "gw-1", "site_id": "home-1", "kind": "gateway", "resident_id": None},
                {"id": "btn-1", "site_id": "home-1", "kind": "button", "resident_id": "r1"},
                {"id": "smoke-1", "site_id": "home-1", "kind": "smoke", "resident_id": "r1"},
                {"id": "btn-2", "site_id": "home-2", "kind": "button", "resident_id": "r2"}],
        })
    clock = Clock(NIGHT)
    ingest, source = await _ingest(pool, clock)
    seq = iter(range(1, 100))

    async def say(site: str, device: str, kind: str, body: Any) -> None:
        await ingest.process([source.add(f"eldercare/v1/{site}/{device}/{kind}", encode(body))])

    await say("home-1", "btn-1", "checkin", Checkin(seq=next(seq), ts=_ms(NIGHT), battery=80))
    await say("home-1", "smoke-1", "checkin", Checkin(seq=next(seq), ts=_ms(NIGHT), battery=80))
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as listener:
        await listener.execute("LISTEN registry")
        # it lists a device of another home and one nobody registered: those are refused, said
        # in a dead letter; its own home's two are recorded as going through it
        await say("home-1", "gw-1", "status", Status(
            seq=next(seq), ts=_ms(NIGHT), state="online",
            devices=["btn-1", "smoke-1", "btn-2", "ghost-9"]))
        told = [n.payload async for n in listener.notifies(timeout=0.5)]
    assert "devices" in told, "a running ingest must re-read who goes through which gateway"
    assert await _via(pool) == {"btn-1": "gw-1", "btn-2": None, "gw-1": None, "smoke-1": "gw-1"}
    [dead] = await _dead(pool)
    assert (dead["code"], dead["device_id"]) == ("not_its_devices", "gw-1")
    assert "not registered (or retired): ghost-9" in dead["reason"]
    assert "registered at another site: btn-2" in dead["reason"], dead
    await ingest.refresh_registry()  # as the platform does on the registry's NOTIFY

    # the line is cut: its last will, and two minutes later r1, whose button and smoke
    # detector both go through it, is cut off: a welfare check naming the gateway, not one
    # when the button misses its daily check-in 37.5 h later
    clock.t = NIGHT + 60
    await say("home-1", "gw-1", "status", Status(seq=next(seq), ts=_ms(NIGHT), state="offline"))
    clock.t = NIGHT + 60 + OFFLINE_DELAY_S + 1
    await ingest.process([])
    [check] = [a for a in await _alarms(pool) if a["kind"] == "welfare_check"]
    assert check["details"]["gateways_down"] == ["gw-1"]

    # back, with a new configuration that no longer has the smoke detector: it is by itself
    clock.t = NIGHT + 600
    await say("home-1", "gw-1", "status", Status(seq=next(seq), ts=_ms(clock.t), state="online",
                                                 devices=["btn-1"]))
    assert (await _via(pool))["smoke-1"] is None and (await _via(pool))["btn-1"] == "gw-1"

    # the same list again (its next reconnect) changes nothing, and tells no ingest to re-read
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as listener:
        await listener.execute("LISTEN registry")
        await say("home-1", "gw-1", "status", Status(seq=next(seq), ts=_ms(clock.t),
                                                     state="online", devices=["btn-1"]))
        assert [n.payload async for n in listener.notifies(timeout=0.5)] == []

    # a button saying it speaks for others is no gateway: its list is refused, its status taken
    await say("home-1", "btn-1", "status", Status(seq=next(seq), ts=_ms(clock.t), state="online",
                                                  devices=["smoke-1"]))
    assert (await _via(pool))["smoke-1"] is None
    assert [(d["code"], d["device_id"]) for d in await _dead(pool)][-1] == (
        "not_a_gateway", "btn-1")
