"""A button's service press through the real ingest pipeline on a real PostgreSQL: it opens
exactly one routed ticket in the transaction that acknowledges it, never an alarm; the same
press on a button not configured for it is an SOS; an SOS in the same batch is never held up."""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from ingest.codec import encode
from ingest.contract import Event, EventType
from ingest.pipeline import Ingest
from simulators.district import grid
from store import registry
from store import tickets as store_tickets
from tests.ingest.test_pipeline import ListSource

pytestmark = pytest.mark.db

SITE = "home-0001"
DOUBLE, PLAIN, KEY = "btn-double", "btn-plain", "btn-key"


async def _seed(pool: AsyncConnectionPool) -> None:
    async with pool.connection() as conn:
        await registry.seed(conn, {
            "org_nodes": [dataclasses.asdict(n) for n in grid()],
            "service_providers": [{"id": "meals-st01", "name": "街道食堂", "types": ["meal"]},
                                  {"id": "repairs", "name": "维修", "types": ["repair"]}],
            "provider_areas": [{"provider_id": "meals-st01", "node_id": "st-01"},
                               {"provider_id": "repairs", "node_id": "city-01"}],
            "sites": [{"id": SITE, "kind": "home", "name": "home 1", "node_id": "cm-01"}],
            "residents": [{"id": "r1", "site_id": SITE, "name": "张秀英"}],
            "devices": [
                {"id": DOUBLE, "site_id": SITE, "kind": "button", "resident_id": "r1",
                 "service_press": "double_press", "service_type": "meal"},
                {"id": PLAIN, "site_id": SITE, "kind": "button", "resident_id": "r1",
                 "service_press": "none", "service_type": "other"},
                {"id": KEY, "site_id": SITE, "kind": "button", "resident_id": "r1",
                 "service_press": "second_key", "service_type": "meal"},
            ],
        })


def _press(device: str, seq: int, **fields: Any) -> tuple[str, bytes]:
    body = Event(seq=seq, ts=int(time.time() * 1000), **{"type": EventType.SOS, **fields})
    return f"eldercare/v1/{SITE}/{device}/event", encode(body)


async def _rows(pool: AsyncConnectionPool, query: str) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        return [dict(r) for r in await (await conn.execute(query)).fetchall()]


async def _ingest(pool: AsyncConnectionPool, *messages: tuple[str, bytes]) -> ListSource:
    source = ListSource()
    ingest = Ingest(pool=pool, source=source)
    await ingest.load_registry()
    items = [source.add(topic, payload) for topic, payload in messages]
    await ingest.process(items)
    assert source.acked == [i.mid for i in items]
    return source


async def test_a_double_press_on_a_configured_button_opens_one_ticket_and_no_alarm(
        pool: AsyncConnectionPool, db_url: str) -> None:
    await _seed(pool)
    press = _press(DOUBLE, 7, presses=2)
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as listener:
        await listener.execute("LISTEN alarms")
        await listener.execute("LISTEN tickets")
        for _ in range(2):  # a fresh ingest (after a restart) has no memory of the first delivery
            await _ingest(pool, press)
        heard = [(n.channel, json.loads(n.payload))
                 async for n in listener.notifies(timeout=0.5)]
    tickets = await _rows(pool, "SELECT id, resident_id, type, source, status, provider_id,"
                                " device_id, source_seq, node_id FROM service_tickets")
    assert tickets == [{"id": tickets[0]["id"], "resident_id": "r1", "type": "meal",
                        "source": "button", "status": "assigned", "provider_id": "meals-st01",
                        "device_id": DOUBLE, "source_seq": 7, "node_id": "cm-01"}]
    assert await _rows(pool, "SELECT id FROM alarms") == []
    assert await _rows(pool, "SELECT id FROM incidents") == []
    assert [e["type"] for e in await _rows(pool, "SELECT type FROM events")] == ["sos"]
    assert {channel for channel, _ in heard} == {"tickets"}, "a ticket is never on 'alarms'"
    async with pool.connection() as conn:
        steps = await store_tickets.timeline(conn, tickets[0]["id"])
    assert [(s["action"], s["actor"]) for s in steps] == [("opened", f"device:{DOUBLE}"),
                                                        ("assign", "system")]
    assert steps[0]["details"]["source_seq"] == 7 and "pressed_at" in steps[0]["details"]


async def test_a_service_press_under_a_seq_the_button_used_before_opens_its_own_ticket(
        pool: AsyncConnectionPool) -> None:
    """The button's counter went back (a factory reset, against the contract): its double press
    for a meal on Tuesday comes under seq 7, which Monday's press had. Until 2026-12-07 it was
    taken for Monday's redelivered and no ticket was opened: the elder asked and nobody came.
    Now it opens a ticket of its own, saying the seq was reused, and its own redelivery, to
    this ingest or to a fresh one, opens nothing more. A press from a clock placed at its
    arrival is judged by the time its device said, not by when it arrived."""
    await _seed(pool)
    day = 86_400_000
    monday = int(time.time() * 1000) - day

    def press(seq: int, ts: int) -> tuple[str, bytes]:
        return (f"eldercare/v1/{SITE}/{DOUBLE}/event",
                encode(Event(seq=seq, ts=ts, type=EventType.SOS, presses=2)))

    await _ingest(pool, press(7, monday))
    source = ListSource()
    ingest = Ingest(pool=pool, source=source)
    await ingest.load_registry()
    for message in (press(7, monday + day), press(7, monday + day), press(7, monday)):
        await ingest.process([source.add(*message)])
    await _ingest(pool, press(7, monday + day))  # after a restart
    y2k = 946_684_800_000  # a clock reset to 2000: placed at its arrival, twice
    await _ingest(pool, press(8, y2k))
    await _ingest(pool, press(8, y2k))
    tickets = await _rows(pool, "SELECT id, type, source_seq FROM service_tickets ORDER BY id")
    assert [(t["type"], t["source_seq"]) for t in tickets] == [
        ("meal", 7), ("meal", -(monday + day)), ("meal", 8)]
    async with pool.connection() as conn:
        opened = (await store_tickets.timeline(conn, tickets[1]["id"]))[0]["details"]
    assert (opened["seq_reused"], opened["said_ms"]) == (7, monday + day)
    assert await _rows(pool, "SELECT id FROM alarms") == []


async def test_a_double_press_on_an_unconfigured_button_is_an_sos(
        pool: AsyncConnectionPool) -> None:
    await _seed(pool)
    await _ingest(pool, _press(PLAIN, 3, presses=2), _press(KEY, 4, presses=2))
    alarms = await _rows(pool, "SELECT device_id, kind, priority, details FROM alarms"
                               " ORDER BY device_id")
    assert [(a["device_id"], a["kind"], a["priority"]) for a in alarms] == [
        (KEY, "sos", 1), (PLAIN, "sos", 1)]
    assert alarms[1]["details"]["presses"] == 2  # the operator sees how it was pressed
    assert len(await _rows(pool, "SELECT id FROM incidents")) == 1  # one elder, one incident
    assert await _rows(pool, "SELECT id FROM service_tickets") == []


async def test_a_service_key_opens_the_ticket_it_names_and_is_an_sos_elsewhere(
        pool: AsyncConnectionPool) -> None:
    await _seed(pool)
    await _ingest(pool, _press(KEY, 1, type=EventType.SERVICE, service_type="repair"),
                  _press(DOUBLE, 2, type=EventType.SERVICE))
    tickets = await _rows(pool, "SELECT device_id, type, provider_id FROM service_tickets")
    assert tickets == [{"device_id": KEY, "type": "repair", "provider_id": "repairs"}]
    alarms = await _rows(pool, "SELECT device_id, kind, details FROM alarms")
    assert [(a["device_id"], a["kind"], a["details"]["event"]) for a in alarms] == [
        (DOUBLE, "sos", "service")]


async def test_an_sos_in_the_same_batch_is_stored_even_when_routing_breaks(
        pool: AsyncConnectionPool, monkeypatch: pytest.MonkeyPatch) -> None:
    await _seed(pool)

    async def broken(*args: object) -> list[dict[str, Any]]:
        raise RuntimeError("routing bug")

    monkeypatch.setattr(store_tickets, "covering", broken)
    await _ingest(pool, _press(DOUBLE, 10, presses=2), _press(PLAIN, 11))
    alarms = await _rows(pool, "SELECT device_id, kind FROM alarms")
    assert alarms == [{"device_id": PLAIN, "kind": "sos"}]
    tickets = await _rows(pool, "SELECT device_id, status, provider_id FROM service_tickets")
    assert tickets == [{"device_id": DOUBLE, "status": "open", "provider_id": None}]


def test_the_gateway_passes_a_zigbee_double_press_on_as_presses_2() -> None:
    from gateway.translate import Translator
    from tests.gateway.test_adapters import CONFIG, DECODER, feed

    out = feed(Translator(CONFIG), [
        {"topic": "zigbee2mqtt/sos-pendant", "payload": {"action": action}}
        for action in ("single", "double", "hold")])
    events = [DECODER.decode(m.topic, m.payload).body for m in out if m.topic.endswith("/event")]
    assert [(e.type, e.presses) for e in events if isinstance(e, Event)] == [
        (EventType.SOS, None), (EventType.SOS, 2), (EventType.SOS, None)]
