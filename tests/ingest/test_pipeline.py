"""Ingest against a real PostgreSQL, fed from an in-memory source: bad input is dead-lettered
with its reason, nothing is acknowledged before it is stored, duplicates never double up."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool

from ingest.codec import encode
from ingest.contract import Checkin, Event, EventType, Telemetry
from ingest.mqtt import Incoming
from ingest.pipeline import Ingest
from store import registry

pytestmark = pytest.mark.db

SITE, DEVICE = "home-0001", "btn-0001"


class ListSource:
    """Delivers the given messages and records what was acknowledged, in order."""

    def __init__(self) -> None:
        self.items: list[Incoming] = []
        self.acked: list[int] = []

    def add(self, topic: str, payload: bytes) -> Incoming:
        item = Incoming(topic=topic, payload=payload, mid=len(self.items) + 1, qos=1,
                        generation=1, received=time.time())
        self.items.append(item)
        return item

    async def get(self) -> Incoming:
        raise AssertionError("tests call process() directly")

    def get_nowait(self) -> Incoming | None:
        return None

    def ack_all(self, items: list[Incoming]) -> None:
        self.acked.extend(item.mid for item in items)


async def _seed(pool: AsyncConnectionPool) -> None:
    async with pool.connection() as conn:
        await registry.seed(conn, {
            "sites": [{"id": SITE, "kind": "home", "name": "home 1"},
                      {"id": "home-0002", "kind": "home", "name": "home 2"}],
            "residents": [{"id": "r1", "site_id": SITE, "name": "张秀英"}],
            "devices": [{"id": DEVICE, "site_id": SITE, "kind": "button", "resident_id": "r1"}],
        })


def _now_ms() -> int:
    return int(time.time() * 1000)


def _sos(seq: int, ts: int | None = None) -> bytes:
    return encode(Event(seq=seq, ts=ts or _now_ms(), type=EventType.SOS))


async def _rows(pool: AsyncConnectionPool, query: str) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cur = await conn.execute(query)
        return list(await cur.fetchall())


async def test_sos_is_stored_and_raises_one_p1_alarm_then_acked(pool: AsyncConnectionPool) -> None:
    await _seed(pool)
    source = ListSource()
    raised: list[int] = []
    ingest = Ingest(pool=pool, source=source, on_alarms=raised.extend)
    await ingest.load_registry()
    item = source.add(f"eldercare/v1/{SITE}/{DEVICE}/event", _sos(1))
    await ingest.process([item])
    alarms = await _rows(pool, "SELECT kind, priority, resident_id, source_seq FROM alarms")
    assert alarms == [{"kind": "sos", "priority": 1, "resident_id": "r1", "source_seq": 1}]
    assert len(raised) == 1
    assert source.acked == [item.mid]


async def test_redelivered_alarm_is_stored_once(pool: AsyncConnectionPool) -> None:
    await _seed(pool)
    payload = _sos(5)
    for _ in range(2):  # a fresh ingest (after a restart) has no memory of the first delivery
        source = ListSource()
        ingest = Ingest(pool=pool, source=source)
        await ingest.load_registry()
        await ingest.process([source.add(f"eldercare/v1/{SITE}/{DEVICE}/event", payload)])
        assert source.acked == [1]
    assert len(await _rows(pool, "SELECT id FROM alarms")) == 1
    assert len(await _rows(pool, "SELECT id FROM events")) == 1


async def test_duplicate_in_memory_is_dropped_and_still_acknowledged(
        pool: AsyncConnectionPool) -> None:
    await _seed(pool)
    source = ListSource()
    ingest = Ingest(pool=pool, source=source)
    await ingest.load_registry()
    topic = f"eldercare/v1/{SITE}/{DEVICE}/event"
    # one payload twice (a redelivery): two made apart could differ by the millisecond their
    # times were read in, and that is a new press under a reused number, not a duplicate
    payload = _sos(9)
    items = [source.add(topic, payload), source.add(topic, payload)]
    await ingest.process(items)
    assert ingest.stats.duplicates == 1
    assert source.acked == [1, 2]
    assert len(await _rows(pool, "SELECT id FROM alarms")) == 1


async def test_made_up_device_ids_are_dead_lettered_and_remembered_within_a_bound(
        pool: AsyncConnectionPool, monkeypatch: pytest.MonkeyPatch) -> None:
    from ingest import pipeline

    monkeypatch.setattr(pipeline, "UNKNOWN_MAX", 5)
    await _seed(pool)
    source = ListSource()
    ingest = Ingest(pool=pool, source=source)
    await ingest.load_registry()
    items = [source.add(f"eldercare/v1/{SITE}/ghost-{i}/event", _sos(i)) for i in range(20)]
    await ingest.process(items)
    assert len(await _rows(pool, "SELECT id FROM dead_letters WHERE code = 'unknown_device'")) == 20
    assert 0 < len(ingest._unknown_until) <= 5
    assert source.acked == [item.mid for item in items]


BAD = [
    ("malformed JSON", f"eldercare/v1/{SITE}/{DEVICE}/event", b"{oops", "json"),
    ("wrong types", f"eldercare/v1/{SITE}/{DEVICE}/event",
     json.dumps({"seq": "one", "ts": 1, "type": "sos"}).encode(), "schema"),
    ("unknown device", f"eldercare/v1/{SITE}/btn-9999/event", _sos(1), "unknown_device"),
    ("device under another site", f"eldercare/v1/home-0002/{DEVICE}/event", _sos(2),
     "wrong_site"),
    ("over 64 KiB", f"eldercare/v1/{SITE}/{DEVICE}/event", b" " * (64 * 1024 + 1), "too_large"),
    # a reading at a time that cannot be (an event, a status or a check-in is placed at its
    # arrival instead: below)
    ("far future", f"eldercare/v1/{SITE}/{DEVICE}/telemetry",
     encode(Telemetry(seq=3, ts=_now_ms() + 86_400_000, battery=80)), "ts_future"),
    ("far past", f"eldercare/v1/{SITE}/{DEVICE}/telemetry",
     encode(Telemetry(seq=4, ts=_now_ms() - 30 * 86_400_000, battery=80)), "ts_past"),
    ("bad topic", "eldercare/v1/oops", _sos(5), "topic"),
]


@pytest.mark.parametrize(("case", "topic", "payload", "code"), BAD, ids=[b[0] for b in BAD])
async def test_bad_input_goes_to_dead_letters_and_the_next_good_message_is_processed(
        pool: AsyncConnectionPool, case: str, topic: str, payload: bytes, code: str) -> None:
    await _seed(pool)
    source = ListSource()
    ingest = Ingest(pool=pool, source=source)
    await ingest.load_registry()
    bad = source.add(topic, payload)
    good = source.add(f"eldercare/v1/{SITE}/{DEVICE}/event", _sos(100))
    await ingest.process([bad, good])
    dead = await _rows(pool, "SELECT topic, payload, code, reason FROM dead_letters")
    assert len(dead) == 1
    assert dead[0]["code"] == code and dead[0]["reason"]
    assert bytes(dead[0]["payload"]) == payload  # kept whole: nothing is lost
    assert ingest.stats.dead_by_code == {code: 1}
    assert len(await _rows(pool, "SELECT id FROM alarms")) == 1
    assert source.acked == [bad.mid, good.mid]


@pytest.mark.parametrize(("case", "device_ms"), [
    ("reset to 2000 after a flat battery", 946_684_800_000),
    ("a month slow", -30 * 86_400_000),
    ("a day fast", 86_400_000),
])
async def test_an_sos_from_a_device_whose_clock_is_wrong_is_raised_at_its_arrival(
        pool: AsyncConnectionPool, case: str, device_ms: int) -> None:
    """A press is a press whatever the device's clock says: refused for its time (before
    2026-12-07 it was dead-lettered as ts_past or ts_future, and no alarm was raised), the call
    for help was lost. It is raised at its arrival, its device's time kept in the alarm's and
    the event's details (``device_clock_ts``), and nothing is dead-lettered; a cancel from the
    same clock annotates it as any cancel does. A check-in from that clock is placed at its
    arrival too (the button is heard, not "not checking in", and its row says how wrong its
    clock is); a reading of another kind is refused while its clock's error is learnt."""
    await _seed(pool)
    source = ListSource()
    ingest = Ingest(pool=pool, source=source)
    await ingest.load_registry()
    topic = f"eldercare/v1/{SITE}/{DEVICE}/event"
    said = device_ms if device_ms > 10**12 else _now_ms() + device_ms
    before = dt.datetime.now(dt.UTC)
    await ingest.process([source.add(topic, _sos(7, said))])
    after = dt.datetime.now(dt.UTC)
    [alarm] = await _rows(pool, "SELECT kind, occurred_at, status, details FROM alarms")
    assert alarm["kind"] == "sos" and alarm["status"] == "new"
    assert before - dt.timedelta(seconds=1) <= alarm["occurred_at"] <= after
    assert alarm["details"]["device_clock_ts"] == said
    [event] = await _rows(pool, "SELECT ts, detail FROM events")
    assert event["ts"] == alarm["occurred_at"] and event["detail"]["device_clock_ts"] == said
    cancel = encode(Event(seq=8, ts=said + 5000, type=EventType.CANCEL))
    reading = encode(Telemetry(seq=9, ts=said, battery=80))
    here = encode(Checkin(seq=10, ts=said, battery=80))
    await ingest.process([source.add(topic, cancel),
                          source.add(f"eldercare/v1/{SITE}/{DEVICE}/telemetry", reading),
                          source.add(f"eldercare/v1/{SITE}/{DEVICE}/checkin", here)])
    [alarm] = await _rows(pool, "SELECT details FROM alarms")
    assert "cancelled_at" in alarm["details"]
    [row] = await _rows(pool, "SELECT last_checkin, battery, clock_offset_s FROM devices"
                              f" WHERE id = '{DEVICE}'")
    assert row["last_checkin"] >= before and row["battery"] == 80
    assert abs(row["clock_offset_s"] - (before.timestamp() - said / 1000)) < 5
    dead = await _rows(pool, "SELECT code, device_id FROM dead_letters")
    # named by its device: the maintenance list says its clock is wrong (alerts/maintenance.py)
    assert dead == [{"code": "ts_past" if said < _now_ms() else "ts_future", "device_id": DEVICE}]


SALVAGED = [
    ("a press count of 12", {"presses": 12}, {}),
    ("a version 2", {"v": 2, "detail": {"zone": "bed"}}, {"zone": "bed"}),
    ("a nested detail", {"detail": {"where": {"room": 3}}}, {}),
    ("a NUL in its detail", {"detail": {"note": "a\x00b"}}, {}),
    ("no time at all", {"ts": None}, {}),
]


@pytest.mark.parametrize(("case", "extra", "detail"), SALVAGED, ids=[c[0] for c in SALVAGED])
async def test_an_sos_that_breaks_the_contract_in_a_side_field_is_raised_and_dead_lettered(
        pool: AsyncConnectionPool, case: str, extra: dict[str, Any], detail: dict[str, Any]
        ) -> None:
    """A call for help is not lost to a field beside it: an SOS whose seq and type are sound
    is raised from its sound fields (before 2026-12-07 it was dead-lettered and no alarm was
    raised), with what was wrong in its details, and the message is dead-lettered whole all the
    same, so the device's fault is on record. Redelivered, it raises nothing more. One without a
    sound seq (its identity) is only dead-lettered."""
    await _seed(pool)
    source = ListSource()
    ingest = Ingest(pool=pool, source=source)
    await ingest.load_registry()
    topic = f"eldercare/v1/{SITE}/{DEVICE}/event"
    body = {"seq": 11, "ts": _now_ms(), "type": "sos", **extra}
    payload = json.dumps(body).encode()  # a NUL goes as the escape \\u0000
    await ingest.process([source.add(topic, payload), source.add(topic, payload)])
    [alarm] = await _rows(pool, "SELECT kind, details FROM alarms")
    assert alarm["kind"] == "sos"
    error = alarm["details"].pop("contract_error")
    assert error.startswith("invalid event")
    alarm["details"].pop("device_clock_ts", None)
    assert alarm["details"] == {"event": "sos", **detail}
    dead = await _rows(pool, "SELECT code, reason, payload FROM dead_letters")
    # each delivery is dead-lettered, as any malformed message is; the alarm is raised once
    assert [d["code"] for d in dead] == ["schema", "schema"]
    assert all(d["reason"].endswith("raised all the same from its sound fields") for d in dead)
    assert bytes(dead[0]["payload"]) == payload
    unsound = json.dumps({"seq": -1, "ts": _now_ms(), "type": "sos"}).encode()
    await ingest.process([source.add(topic, unsound)])
    assert len(await _rows(pool, "SELECT id FROM alarms")) == 1
    assert len(await _rows(pool, "SELECT id FROM dead_letters")) == 3


async def test_a_press_under_a_seq_the_device_used_before_is_raised_not_taken_for_a_repeat(
        pool: AsyncConnectionPool) -> None:
    """A device whose counter went back (a factory reset; against the contract) sends a new
    SOS under seq 5, which an earlier SOS had: before 2026-12-07 it was taken for a redelivery
    and no alarm was raised. A redelivery says the same time; this press does not: it is raised
    under a key of its own, saying which seq was reused, whether the ingest that saw seq 5 is
    still running or has restarted. Delivered again, it raises nothing more, and neither does a
    true redelivery of the first."""
    await _seed(pool)
    source = ListSource()
    topic = f"eldercare/v1/{SITE}/{DEVICE}/event"
    first, later = _now_ms() - 3_600_000, _now_ms()
    ingest = Ingest(pool=pool, source=source)
    await ingest.load_registry()
    await ingest.process([source.add(topic, _sos(5, first))])
    await ingest.process([source.add(topic, _sos(5, later)), source.add(topic, _sos(5, first))])
    restarted = Ingest(pool=pool, source=source)
    await restarted.load_registry()
    await restarted.process([source.add(topic, _sos(5, later)), source.add(topic, _sos(5, first)),
                             source.add(topic, _sos(5, later + 60_000))])
    alarms = await _rows(pool, "SELECT source_seq, occurred_at, details FROM alarms"
                               " ORDER BY occurred_at")
    assert [a["occurred_at"].timestamp() * 1000 for a in alarms] == pytest.approx(
        [first, later, later + 60_000])
    assert alarms[0]["source_seq"] == 5 and "seq_reused" not in alarms[0]["details"]
    for reused in alarms[1:]:
        assert reused["source_seq"] < 0 and reused["details"]["seq_reused"] == 5


async def test_cancel_annotates_the_open_alarm_without_closing_it(
        pool: AsyncConnectionPool) -> None:
    await _seed(pool)
    source = ListSource()
    ingest = Ingest(pool=pool, source=source)
    await ingest.load_registry()
    topic = f"eldercare/v1/{SITE}/{DEVICE}/event"
    await ingest.process([source.add(topic, _sos(1))])
    cancel = encode(Event(seq=2, ts=_now_ms() + 1000, type=EventType.CANCEL))
    await ingest.process([source.add(topic, cancel)])
    alarms = await _rows(pool, "SELECT status, details FROM alarms")
    assert alarms[0]["status"] == "new"
    assert "cancelled_at" in alarms[0]["details"]


async def test_telemetry_and_device_state_are_stored(pool: AsyncConnectionPool) -> None:
    await _seed(pool)
    source = ListSource()
    ingest = Ingest(pool=pool, source=source)
    await ingest.load_registry()
    payload = encode(Telemetry(seq=1, ts=_now_ms(), hr=71, spo2=97, battery=64, worn=True))
    await ingest.process([source.add(f"eldercare/v1/{SITE}/{DEVICE}/telemetry", payload)])
    rows = await _rows(pool, "SELECT hr, spo2, battery FROM telemetry")
    assert rows == [{"hr": 71, "spo2": 97, "battery": 64}]
    device = await _rows(pool, f"SELECT battery, last_seen FROM devices WHERE id = '{DEVICE}'")
    assert device[0]["battery"] == 64 and device[0]["last_seen"] is not None


async def test_gateway_rejection_lands_in_dead_letters_with_the_original_payload(
        pool: AsyncConnectionPool) -> None:
    await _seed(pool)
    async with pool.connection() as conn:
        await registry.seed(conn, {"devices": [
            {"id": "gw-0001", "site_id": SITE, "kind": "gateway", "resident_id": None}]})
    source = ListSource()
    ingest = Ingest(pool=pool, source=source)
    await ingest.load_registry()
    original = b'{"smoke": "maybe"}'
    import base64

    from ingest.contract import Rejected

    payload = encode(Rejected(seq=1, ts=_now_ms(), topic="zigbee2mqtt/kitchen-smoke",
                              payload=base64.b64encode(original).decode(),
                              reason="smoke is not a boolean"))
    await ingest.process([source.add(f"eldercare/v1/{SITE}/gw-0001/rejected", payload)])
    dead = await _rows(pool, "SELECT topic, payload, code, reason, device_id FROM dead_letters")
    assert len(dead) == 1
    assert dead[0]["topic"] == "zigbee2mqtt/kitchen-smoke"
    assert bytes(dead[0]["payload"]) == original
    assert dead[0]["code"] == "gateway_rejected" and "not a boolean" in dead[0]["reason"]


def test_a_merge_of_parts_keeps_every_list_of_every_part_in_order() -> None:
    """Ingest writes a round's parts as one batch: whatever a part holds must reach the merged
    one. A list added to Batch and missed by the merge was once silently never written (a
    gateway's wiring, 2026-12-08)."""
    import dataclasses

    from store.batch import Batch

    names = [f.name for f in dataclasses.fields(Batch) if f.name != "devices"]
    assert "wirings" in names and "alarms" in names
    parts: list[tuple[Incoming | None, Batch]] = []
    for i in range(2):
        part = Batch()
        for name in names:
            getattr(part, name).append((name, i))  # stand-ins: the merge must not look inside
        parts.append((None, part))
    merged = Ingest._merge(parts)
    for name in names:
        assert getattr(merged, name) == [(name, 0), (name, 1)], name
