"""Kiosk check-ups through the real ingest pipeline and PostgreSQL: a normal one is stored and
raises nothing; an abnormal one is stored and raises a vitals alarm with an incident (issue 9:
"a kiosk reading that is abnormal raises a vitals alert"); a redelivery stores nothing new; a bad
one is dead-lettered with its reason."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool

from ingest.codec import encode
from ingest.contract import Checkup, Readings
from ingest.pipeline import Ingest
from store import registry
from tests.ingest.test_pipeline import ListSource

pytestmark = pytest.mark.db

KIOSK_SITE, KIOSK = "dc-01", "kiosk-01"
TOPIC = f"eldercare/v1/{KIOSK_SITE}/{KIOSK}/checkup"


async def _seed(pool: AsyncConnectionPool) -> None:
    async with pool.connection() as conn:
        await registry.seed(conn, {
            "org_nodes": [
                {"id": "city", "parent_id": None, "level": "city", "name": "市"},
                {"id": "dist", "parent_id": "city", "level": "district", "name": "区"},
                {"id": "st", "parent_id": "dist", "level": "street", "name": "街道"},
                {"id": "cm-a", "parent_id": "st", "level": "community", "name": "甲社区"},
                {"id": "cm-b", "parent_id": "st", "level": "community", "name": "乙社区"},
            ],
            "sites": [{"id": KIOSK_SITE, "kind": "day_care", "name": "日间照料中心", "node_id": "cm-a"},
                      {"id": "home-a", "kind": "home", "name": "home a", "node_id": "cm-a"},
                      {"id": "home-b", "kind": "home", "name": "home b", "node_id": "cm-b"}],
            "residents": [{"id": "r-a", "site_id": "home-a", "name": "张秀英"},
                          {"id": "r-b", "site_id": "home-b", "name": "李建国"}],
            "devices": [{"id": KIOSK, "site_id": KIOSK_SITE, "kind": "kiosk", "resident_id": None},
                        {"id": "meter-a", "site_id": "home-a", "kind": "button",
                         "resident_id": "r-a"}],
        })


def _now_ms() -> int:
    return int(time.time() * 1000)


def _checkup(seq: int, resident: str = "r-a", ago_s: float = 0.0, **readings: float) -> bytes:
    return encode(Checkup(seq=seq, ts=_now_ms() - int(ago_s * 1000), resident=resident,
                          readings=Readings(**readings)))


async def _rows(pool: AsyncConnectionPool, query: str) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        return [dict(r) for r in await (await conn.execute(query)).fetchall()]


async def _ingest(pool: AsyncConnectionPool, *payloads: tuple[str, bytes]) -> tuple[Ingest, ListSource]:
    source = ListSource()
    raised: list[int] = []
    ingest = Ingest(pool=pool, source=source, on_alarms=raised.extend)
    await ingest.load_registry()
    await ingest.process([source.add(topic, payload) for topic, payload in payloads])
    return ingest, source


async def test_a_normal_check_up_is_stored_and_raises_nothing(pool: AsyncConnectionPool) -> None:
    await _seed(pool)
    ingest, source = await _ingest(pool, (TOPIC, _checkup(
        1, bp_systolic=128, bp_diastolic=82, glucose=6.1, weight=58.5, temperature=36.6)))
    assert source.acked == [1]
    rows = await _rows(pool, "SELECT resident_id, kind, value, unit, source, device_id, source_seq,"
                             " abnormal FROM health_readings ORDER BY kind")
    assert [(r["kind"], r["value"], r["unit"]) for r in rows] == [
        ("bp_diastolic", 82.0, "mmHg"), ("bp_systolic", 128.0, "mmHg"), ("glucose", 6.1, "mmol/L"),
        ("temperature", 36.6, "°C"), ("weight", 58.5, "kg")]
    assert {(r["resident_id"], r["source"], r["device_id"], r["source_seq"], r["abnormal"])
            for r in rows} == {("r-a", "kiosk", KIOSK, 1, False)}
    assert await _rows(pool, "SELECT id FROM alarms") == []
    assert ingest.stats.alarms_raised == 0 and ingest.stats.dead_letters == 0


async def test_an_abnormal_kiosk_reading_raises_a_vitals_alert_with_an_incident(
        pool: AsyncConnectionPool) -> None:
    await _seed(pool)
    ingest, source = await _ingest(pool, (TOPIC, _checkup(2, bp_systolic=195, bp_diastolic=100)))
    assert source.acked == [1]
    rows = await _rows(pool, "SELECT kind, abnormal, finding FROM health_readings ORDER BY kind")
    assert rows == [{"kind": "bp_diastolic", "abnormal": False, "finding": None},
                    {"kind": "bp_systolic", "abnormal": True, "finding": "above_bound"}]
    [alarm] = await _rows(pool, "SELECT kind, priority, device_id, site_id, resident_id,"
                                " source_seq, details, incident_id FROM alarms")
    assert (alarm["kind"], alarm["priority"], alarm["device_id"], alarm["resident_id"],
            alarm["source_seq"]) == ("vitals_critical", 2, KIOSK, "r-a", 2)
    assert alarm["details"]["vital"] == "bp_systolic" and alarm["details"]["value"] == 195.0
    assert alarm["details"]["checkup"] == "kiosk"
    [incident] = await _rows(pool, "SELECT id, kind, resident_id, route, node_id, status"
                                   " FROM incidents")
    assert incident["id"] == alarm["incident_id"]
    # The operators' queue: routed to the centre, placed in the resident's community.
    assert (incident["kind"], incident["resident_id"], incident["route"], incident["node_id"],
            incident["status"]) == ("vitals_critical", "r-a", "centre", "cm-a", "new")
    assert ingest.stats.alarms_raised == 1


async def test_a_redelivered_check_up_stores_nothing_new(pool: AsyncConnectionPool) -> None:
    await _seed(pool)
    payload = _checkup(3, bp_systolic=200, bp_diastolic=115, glucose=2.9)
    for _ in range(2):  # a fresh ingest (after a restart) has no memory of the first delivery
        _, source = await _ingest(pool, (TOPIC, payload))
        assert source.acked == [1]
    assert len(await _rows(pool, "SELECT id FROM health_readings")) == 3
    [alarm] = await _rows(pool, "SELECT kind, details FROM alarms")
    assert alarm["kind"] == "vitals_critical"
    assert [f["measure"] for f in alarm["details"]["findings"]] == [
        "bp_systolic", "bp_diastolic", "glucose"]
    assert len(await _rows(pool, "SELECT id FROM incidents")) == 1


async def test_a_reading_far_from_the_residents_own_check_ups_is_a_deviation(
        pool: AsyncConnectionPool) -> None:
    await _seed(pool)
    usual = [(TOPIC, _checkup(10 + i, ago_s=86400.0 * (5 - i), bp_systolic=s, bp_diastolic=80))
             for i, s in enumerate((120, 122, 118, 121, 119))]
    await _ingest(pool, *usual)
    assert await _rows(pool, "SELECT id FROM alarms") == []
    # Median 120, spread floored at 5 mmHg: 150 is z = +6, inside the clinical bounds.
    await _ingest(pool, (TOPIC, _checkup(20, bp_systolic=150, bp_diastolic=82)))
    [alarm] = await _rows(pool, "SELECT kind, priority, details FROM alarms")
    assert (alarm["kind"], alarm["priority"]) == ("vitals_deviation", 3)
    assert alarm["details"]["findings"][0]["limit"] == 120.0
    [row] = await _rows(pool, "SELECT finding FROM health_readings WHERE source_seq = 20"
                              " AND kind = 'bp_systolic'")
    assert row["finding"] == "deviation"


async def test_a_residents_own_meter_reports_self_measurements(pool: AsyncConnectionPool) -> None:
    await _seed(pool)
    topic = "eldercare/v1/home-a/meter-a/checkup"
    await _ingest(pool, (topic, _checkup(1, glucose=5.4)), (topic, _checkup(2, "r-b", glucose=5.4)))
    assert [r["source"] for r in await _rows(pool, "SELECT source FROM health_readings")] == ["self"]
    [dead] = await _rows(pool, "SELECT code, reason FROM dead_letters")
    assert dead == {"code": "not_served", "reason": "device meter-a belongs to another resident"}


BAD = [
    ("no readings", json.dumps({"seq": 1, "ts": 0, "resident": "r-a", "readings": {}}),
     "schema", "no readings"),
    ("systolic alone", _checkup(2, bp_systolic=120), "schema", "together"),
    ("systolic below diastolic", _checkup(3, bp_systolic=80, bp_diastolic=90), "schema",
     "not above"),
    ("glucose out of what a meter shows", json.dumps(
        {"seq": 4, "ts": 0, "resident": "r-a", "readings": {"glucose": 55}}), "schema", "glucose"),
    ("resident id with a slash", json.dumps(
        {"seq": 5, "ts": 0, "resident": "r/a", "readings": {"weight": 60}}), "schema", "resident"),
    ("unknown resident", _checkup(6, "r-zzz", weight=60), "unknown_resident", "r-zzz"),
    ("resident of another community", _checkup(7, "r-b", weight=60), "not_served", "cm-a"),
]


@pytest.mark.parametrize(("what", "payload", "code", "says"), BAD, ids=[b[0] for b in BAD])
async def test_bad_check_ups_are_dead_lettered_with_a_reason(
        pool: AsyncConnectionPool, what: str, payload: str | bytes, code: str, says: str) -> None:
    await _seed(pool)
    raw = payload.replace('"ts": 0', f'"ts": {_now_ms()}').encode() if isinstance(
        payload, str) else payload
    _, source = await _ingest(pool, (TOPIC, raw))
    assert source.acked == [1]
    [dead] = await _rows(pool, "SELECT code, reason, payload FROM dead_letters")
    assert dead["code"] == code and says in dead["reason"], dead["reason"]
    assert bytes(dead["payload"]) == raw
    assert await _rows(pool, "SELECT id FROM health_readings") == []
    assert await _rows(pool, "SELECT id FROM alarms") == []


async def test_a_kiosk_outside_the_grid_serves_only_its_own_site(pool: AsyncConnectionPool) -> None:
    await _seed(pool)
    async with pool.connection() as conn:
        await registry.seed(conn, {
            "sites": [{"id": "dc-x", "kind": "day_care", "name": "unplaced", "node_id": None}],
            "residents": [{"id": "r-x", "site_id": "dc-x", "name": "王玉兰"}],
            "devices": [{"id": "kiosk-x", "site_id": "dc-x", "kind": "kiosk", "resident_id": None}],
        })
    topic = "eldercare/v1/dc-x/kiosk-x/checkup"
    await _ingest(pool, (topic, _checkup(1, "r-x", weight=50)), (topic, _checkup(2, weight=50)))
    assert [r["resident_id"] for r in await _rows(pool, "SELECT resident_id FROM health_readings")
            ] == ["r-x"]
    [dead] = await _rows(pool, "SELECT code, reason FROM dead_letters")
    assert dead["code"] == "not_served" and "not placed in the grid" in dead["reason"]
