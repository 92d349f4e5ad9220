"""The health record through the console: every read audited, scoped like every resident route;
staff-entered check-ups judged like a kiosk's, an abnormal one reaching the operators' queue and
WebSocket; record updates audited with the names of the fields, never their values."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from eldercare.platform import Platform
from eldercare.watcher import watching
from simulators.district import District
from tests.console.district_console import (
    PASSWORD,
    STREET_1,
    district_console,
)
from tests.console.district_console import signed_in as _client

pytestmark = pytest.mark.db



@pytest.fixture
async def console(db_url: str) -> AsyncIterator[tuple[Platform, District]]:
    district = District.generate(seed=7, homes=40, care_homes=1)
    async with district_console(db_url, district) as platform:
        yield platform, district


async def _rows(platform: Platform, query: str, *args: Any) -> list[dict[str, Any]]:
    assert platform.pool is not None
    async with platform.pool.connection() as conn:
        return [dict(r) for r in await (await conn.execute(query, args)).fetchall()]


def _homes(district: District, inside: bool) -> list[str]:
    node = {s.id: s.node_id for s in district.sites}
    return sorted(r.id for r in district.residents
                  if r.site_id.startswith("home-") and (node[r.site_id] in STREET_1) == inside)


def _site_of(district: District, resident: str) -> str:
    return next(r.site_id for r in district.residents if r.id == resident)


async def test_reading_a_record_is_audited_and_scoped(console: tuple[Platform, District]) -> None:
    platform, district = console
    mine, theirs = _homes(district, True)[0], _homes(district, False)[0]
    async with _client(platform, "grid1") as client:
        r = await client.get(f"/api/v1/residents/{mine}/health")
        assert r.status_code == 200, r.text
        record = r.json()["record"]
        expected = next(x for x in district.residents if x.id == mine)
        assert (record["blood_type"], record["allergies"], record["doctor"],
                record["conditions"], record["medications"], record["mobility"],
                record["care_setting"]) == (
            expected.blood_type, expected.allergies, expected.doctor, expected.conditions,
            expected.medications, expected.mobility, "home")
        assert {b["kind"] for b in r.json()["bounds"]} >= {"bp_systolic", "glucose", "weight"}
        # Another street's resident: not found, as if they did not exist, and nothing read.
        assert (await client.get(f"/api/v1/residents/{theirs}/health")).status_code == 404
    audit = await _rows(platform, "SELECT actor, action, target FROM audit"
                                  " WHERE action = 'read_health_record'")
    assert audit == [{"actor": "grid1", "action": "read_health_record",
                      "target": f"resident:{mine}"}]


async def test_high_age_follows_the_birth_year(console: tuple[Platform, District]) -> None:
    platform, district = console
    year = dt.datetime.now(dt.UTC).year
    old = next(r for r in district.residents if year - r.birth_year >= 80)
    young = next(r for r in district.residents if year - r.birth_year < 80)
    async with _client(platform, "op1") as client:
        for resident, high in ((old, True), (young, False)):
            needs = (await client.get(f"/api/v1/residents/{resident.id}/health")).json()[
                "record"]["needs"]
            assert ("high_age" in needs) is high
            assert set(needs) - {"high_age"} == set(resident.needs)


async def test_wearable_days_summarise_heart_rate_and_spo2(
        console: tuple[Platform, District]) -> None:
    platform, district = console
    watch = next(d for d in district.devices if d.kind == "wearable")
    shanghai = ZoneInfo("Asia/Shanghai")
    noon = dt.datetime.now(shanghai).replace(hour=12, minute=0, second=0,
                                             microsecond=0) - dt.timedelta(days=1)
    samples = [(60, 95, True), (70, 97, True), (80, None, True), (90, 98, True),
               (150, 80, False)]  # the last taken off the wrist: left out
    assert platform.pool is not None
    async with platform.pool.connection() as conn:
        await conn.cursor().executemany(
            "INSERT INTO telemetry (device_id, seq, ts, hr, spo2, worn) VALUES (%s, %s, %s, %s, %s, %s)",
            [(watch.id, i + 1, noon + dt.timedelta(minutes=i), hr, spo2, worn)
             for i, (hr, spo2, worn) in enumerate(samples)])
    async with _client(platform, "op1") as client:
        body = (await client.get(f"/api/v1/residents/{watch.resident_id}/health",
                                 params={"days": 7})).json()
    [day] = body["wearable_days"]
    assert day["day"] == noon.date().isoformat()
    assert (day["hr_min"], day["hr_median"], day["hr_max"], day["hr_n"]) == (60, 75.0, 90, 4)
    assert (day["spo2_min"], day["spo2_median"], day["spo2_max"], day["spo2_n"]) == (95, 97.0, 98, 3)


async def test_a_staff_entered_abnormal_check_up_reaches_the_operator(
        console: tuple[Platform, District]) -> None:
    platform, district = console
    resident = _homes(district, True)[0]
    async with watching(platform.console_url, "op1", PASSWORD) as watcher, \
            _client(platform, "grid1") as grid:
        r = await grid.post(f"/api/v1/residents/{resident}/checkups",
                            json={"readings": {"bp_systolic": 128, "bp_diastolic": 80,
                                               "glucose": 5.8}})
        assert r.status_code == 201, r.text
        assert r.json()["alarm_ids"] == [] and r.json()["findings"] == []
        r = await grid.post(f"/api/v1/residents/{resident}/checkups",
                            json={"readings": {"bp_systolic": 196, "bp_diastolic": 104}})
        assert r.status_code == 201, r.text
        [alarm_id] = r.json()["alarm_ids"]
        assert [f["finding"] for f in r.json()["findings"]] == ["above_bound"]
        seen = await watcher.wait_for(lambda a: a["id"] == alarm_id, timeout=5)
        assert (seen["kind"], seen["priority"], seen["resident_id"]) == (
            "vitals_critical", 2, resident)
        record = (await grid.get(f"/api/v1/residents/{resident}/health")).json()
    assert [(c["value"], c["source"], c["entered_by"], c["finding"])
            for c in record["checkups"]["bp_systolic"]] == [
        (128.0, "staff", "grid1", None), (196.0, "staff", "grid1", "above_bound")]
    async with _client(platform, "op1") as op:
        incidents = (await op.get("/api/v1/incidents")).json()["incidents"]
        assert [(i["kind"], i["resident_id"], i["route"]) for i in incidents] == [
            ("vitals_critical", resident, "centre")]
        detail = (await op.get(f"/api/v1/alarms/{alarm_id}")).json()["alarm"]
        assert detail["details"]["checkup"] == "staff"
        assert detail["details"]["entered_by"] == "grid1"
    # The staff-entry source is no device anybody maintains.
    assert (await _rows(platform, "SELECT kind, retired_at IS NOT NULL AS retired FROM devices"
                                  " WHERE id = %s", f"entry-{_site_of(district, resident)}")
            ) == [{"kind": "staff_entry", "retired": True}]
    entries = await _rows(platform, "SELECT actor, details FROM audit WHERE action = 'enter_checkup'")
    assert [(e["actor"], e["details"]["kinds"]) for e in entries] == [
        ("grid1", ["bp_diastolic", "bp_systolic", "glucose"]),
        ("grid1", ["bp_diastolic", "bp_systolic"])]


async def test_who_may_enter_a_check_up(console: tuple[Platform, District]) -> None:
    platform, district = console
    mine, theirs = _homes(district, True)[0], _homes(district, False)[0]
    reading = {"readings": {"weight": 61.5}}
    async with _client(platform, "grid1") as grid:
        assert (await grid.post(f"/api/v1/residents/{theirs}/checkups",
                                json=reading)).status_code == 404
    for user in ("bureau1", "family1"):
        async with _client(platform, user) as client:
            r = await client.post("/api/v1/residents/r-h0001/checkups", json=reading)
            assert r.status_code == 403, (user, r.text)
    care_home = next(r.id for r in district.residents if r.site_id == "care-01")
    async with _client(platform, "care1") as care:
        assert (await care.post(f"/api/v1/residents/{care_home}/checkups",
                                json=reading)).status_code == 201
        assert (await care.post(f"/api/v1/residents/{mine}/checkups",
                                json=reading)).status_code == 404
    async with _client(platform, "op1") as op:
        assert (await op.post(f"/api/v1/residents/{mine}/checkups",
                              json=reading)).status_code == 201


@pytest.mark.parametrize(("body", "says"), [
    ({"readings": {}}, "no readings"),
    ({"readings": {"bp_systolic": 140}}, "together"),
    ({"readings": {"bp_systolic": 80, "bp_diastolic": 90}}, "not above"),
    ({"readings": {"glucose": 55}}, "glucose"),
    ({"readings": {"pulse": 70}}, "pulse"),
    ({"readings": {"weight": 60}, "at": "2020-01-01T00:00:00+08:00"}, "7 days"),
    ({"readings": {"weight": 60}, "at": "2030-01-01T00:00:00"}, "time zone"),
])
async def test_bad_check_ups_are_refused(console: tuple[Platform, District],
                                         body: dict[str, Any], says: str) -> None:
    platform, _ = console
    async with _client(platform, "op1") as op:
        r = await op.post("/api/v1/residents/r-h0001/checkups", json=body)
    assert r.status_code == 422 and says in r.json()["detail"], r.text
    assert await _rows(platform, "SELECT id FROM health_readings") == []


async def test_record_updates_are_audited_by_field_name(console: tuple[Platform, District]) -> None:
    platform, district = console
    before = next(r for r in district.residents if r.site_id == "care-01")
    resident = before.id
    mine = _homes(district, True)[0]
    async with _client(platform, "care1") as care:
        r = await care.put(f"/api/v1/residents/{resident}/record",
                           json={"allergies": ["青霉素", "头孢"],
                                 "blood_type": "AB" if before.blood_type != "AB" else "O",
                                 "doctor": before.doctor,  # as it was: not a change
                                 "checkup_bounds": {"bp_systolic": {"high": 160}}})
        assert r.status_code == 200, r.text
        assert r.json() == {"updated": ["allergies", "blood_type", "checkup_bounds"]}
        record = (await care.get(f"/api/v1/residents/{resident}/health")).json()
        assert record["record"]["allergies"] == ["青霉素", "头孢"]
        assert next(b for b in record["bounds"] if b["kind"] == "bp_systolic")["high"] == 160
        # The resident's own limit is what a check-up is judged by.
        r = await care.post(f"/api/v1/residents/{resident}/checkups",
                            json={"readings": {"bp_systolic": 165, "bp_diastolic": 85}})
        assert [f["finding"] for f in r.json()["findings"]] == ["above_bound"]
        assert (await care.put(f"/api/v1/residents/{mine}/record",
                               json={"doctor": "x"})).status_code == 404
    [entry] = await _rows(platform, "SELECT actor, target, details FROM audit"
                                    " WHERE action = 'update_health_record'")
    assert entry == {"actor": "care1", "target": f"resident:{resident}",
                     "details": {"fields": ["allergies", "blood_type", "checkup_bounds"]}}
    assert "青霉素" not in str(entry) and "160" not in str(entry)
    async with _client(platform, "grid1") as grid:
        assert (await grid.put(f"/api/v1/residents/{mine}/record",
                               json={"mobility": "使用拐杖", "needs": ["living_alone"]})
                ).status_code == 200
        r = await grid.put(f"/api/v1/residents/{mine}/record",
                           json={"checkup_bounds": {"glucose": {"low": 4.5}}})
        assert r.status_code == 403  # limits are a clinician's call
        assert (await grid.put(f"/api/v1/residents/{mine}/record",
                               json={"doctor": None})).status_code == 422
    async with _client(platform, "op1") as op:
        assert (await op.put(f"/api/v1/residents/{mine}/record",
                             json={"doctor": "x"})).status_code == 403
    async with _client(platform, "admin") as admin:
        r = await admin.put(f"/api/v1/residents/{mine}/record",
                            json={"checkup_bounds": {"glucose": {"low": 20}}})
        assert r.status_code == 422 and "not below high" in r.json()["detail"]
