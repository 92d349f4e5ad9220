"""The console's per-role API: residents (scope, audit of health-record reads), a care home's
floors and maintenance list, the supervisor's overview, administration and CSV import."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest

from console.residents import FAMILY_STAY_DAYS
from eldercare.platform import Platform
from simulators.district import District
from store.batch import Batch, write
from tests.console.district_console import district_console, signed_in

pytestmark = pytest.mark.db



@pytest.fixture
async def console(db_url: str) -> AsyncIterator[Platform]:
    async with district_console(db_url, District.generate(seed=21, homes=3, care_homes=1)) as p:
        yield p


async def _sql(platform: Platform, query: str, *args: Any) -> list[dict[str, Any]]:
    assert platform.pool is not None
    async with platform.pool.connection() as conn, conn.transaction():
        cur = await conn.execute(query, args)
        return [dict(r) for r in await cur.fetchall()] if cur.description else []


async def test_family_sees_their_elder_only_and_reads_are_audited(console: Platform) -> None:
    now = dt.datetime.now(dt.UTC)
    assert console.pool is not None
    async with console.pool.connection() as conn:
        await write(conn, Batch(telemetry=[
            ("btn-0001", 1, now - dt.timedelta(minutes=5), 74, 97, 33.1, 1200, 80, True)]))
    async with signed_in(console, "family1") as family:
        mine = (await family.get("/api/v1/me/residents")).json()["residents"]
        assert [r["id"] for r in mine] == ["r-h0001"]
        profile = (await family.get("/api/v1/residents/r-h0001")).json()
        assert profile["resident"]["site"]["id"] == "home-0001" and profile["contacts"]
        vitals = (await family.get("/api/v1/residents/r-h0001/vitals?hours=1")).json()
        assert [p["hr"] for p in vitals["points"]] == [74]
        status = (await family.get("/api/v1/residents/r-h0001/status")).json()
        assert status["last_hr"]["hr"] == 74 and status["steps_today"] in (1200, None)
        for path in ("", "/vitals", "/locations", "/incidents", "/status"):
            assert (await family.get(f"/api/v1/residents/r-h0002{path}")).status_code == 404
        assert (await family.get("/api/v1/sites/care-01/floors")).status_code == 404
    audit = await _sql(console, "SELECT actor, action, target FROM audit ORDER BY id")
    assert {"actor": "family1", "action": "read_health_record",
            "target": "resident:r-h0001"} in audit
    assert all(a["target"] == "resident:r-h0001" for a in audit)  # refused reads read nothing


async def test_care_home_floor_plan_shows_smoke_and_the_maintenance_list(console: Platform) -> None:
    now = dt.datetime.now(dt.UTC)
    assert console.pool is not None
    async with console.pool.connection() as conn:
        await write(conn, Batch(events=[("smoke-care-01-203", 5, now, "smoke", None)]))
        # 106 taken off its base, then a fault that passed: the tamper still stands
        await write(conn, Batch(events=[
            ("smoke-care-01-106", 6, now - dt.timedelta(hours=2), "tamper", None),
            ("smoke-care-01-106", 7, now - dt.timedelta(hours=1), "fault", None),
            ("smoke-care-01-106", 8, now - dt.timedelta(minutes=30), "fault_cleared", None)]))
    await _sql(console, "UPDATE devices SET battery = 9 WHERE id = 'smoke-care-01-101'")
    await _sql(console, "UPDATE devices SET last_checkin = now() - interval '30 hours'"
                        " WHERE id = 'smoke-care-01-102'")
    # two detectors' check-ins refused for their time (ingest names the device on the dead
    # letter): 103's since it was last heard at a right time, so its clock is wrong now; 104
    # has checked in since, so its clock was set; 105's clock's error has been learnt, and its
    # readings are placed by it (ingest/codec.py), 9,740 days slow
    await _sql(console, "UPDATE devices SET last_checkin = now() - interval '2 hours',"
                        " last_seen = now() - interval '2 hours'"
                        " WHERE id IN ('smoke-care-01-103', 'smoke-care-01-104')")
    await _sql(console, "UPDATE devices SET last_seen = now(), clock_offset_s = 841536000.4"
                        " WHERE id = 'smoke-care-01-105'")
    for device, ago in (("smoke-care-01-103", "1 hour"), ("smoke-care-01-104", "3 hours")):
        await _sql(console, "INSERT INTO dead_letters (topic, payload, code, reason, device_id,"
                            " received_at) VALUES ('t', 'p', 'ts_past',"
                            " 'timestamp 841000000 s in the past', %s, now() - %s::interval)",
                   device, ago)
    async with signed_in(console, "care1") as staff:
        plan = (await staff.get("/api/v1/sites/care-01/floors")).json()
        assert [f["floor"] for f in plan["floors"]] == [1, 2, 3]
        rooms = {r["name"]: r for f in plan["floors"] for r in f["rooms"]}
        assert rooms["203"]["detectors"][0]["state"] == "smoke"
        assert rooms["204"]["detectors"][0]["state"] == "clear"
        assert rooms["106"]["detectors"][0]["state"] == "fault"  # off its base still
        assert rooms["203"]["residents"]
        items = (await staff.get("/api/v1/sites/care-01/maintenance")).json()["items"]
        found = {(i["device_id"], i["problem"]) for i in items}
        assert ("smoke-care-01-101", "battery_low") in found
        assert ("smoke-care-01-102", "no_checkin") in found
        assert {p for d, p in found if d == "smoke-care-01-106"} == {"tamper"}
        clock = [i for i in items if i["problem"].startswith("clock")]
        assert [(i["device_id"], i["problem"], i["detail"], i.get("offset_s")) for i in clock] == [
            ("smoke-care-01-103", "clock_wrong", "timestamp 841000000 s in the past", None),
            ("smoke-care-01-105", "clock_corrected", "", 841536000)]
        assert (await staff.get("/api/v1/sites/home-0001/floors")).status_code == 404
        assert (await staff.get("/api/v1/residents/r-h0001")).status_code == 404


async def test_supervisor_overview_is_for_supervisors(console: Platform) -> None:
    async with signed_in(console, "op1") as op, signed_in(console, "sup1") as sup:
        assert (await op.get("/api/v1/supervisor/overview")).status_code == 403
        overview = (await sup.get("/api/v1/supervisor/overview")).json()
        assert overview["waiting"] == 0 and overview["hourly"] == []


async def test_admin_creates_validates_and_imports(console: Platform) -> None:
    async with signed_in(console, "admin") as admin, signed_in(console, "op1") as op:
        assert (await op.get("/api/v1/admin/residents")).status_code == 403
        r = await admin.post("/api/v1/admin/residents", json={
            "id": "r-new", "site_id": "nowhere", "name": "周淑珍"})
        assert r.status_code == 422 and "nowhere" in r.json()["detail"]
        r = await admin.post("/api/v1/admin/residents", json={
            "id": "r-new", "site_id": "home-0001", "name": "周淑珍", "birth_year": 1936})
        assert r.status_code == 201
        r = await admin.post("/api/v1/admin/residents", json={
            "id": "r-new", "site_id": "home-0001", "name": "again"})
        assert r.status_code == 409 and "already exists" in r.json()["detail"]
        r = await admin.post("/api/v1/admin/residents", json={
            "id": "bad id!", "site_id": "home-0001", "name": "x"})
        assert r.status_code == 422 and "id" in r.json()["detail"]
        csv_text = ("id,site_id,kind,model,resident_id\n"
                    "btn-9001,home-0001,button,P1,r-new\n"
                    "btn-9002,home-0001,toaster,P1,\n"
                    "btn-9003,nowhere,button,P1,\n"
                    "btn-9004,home-0002,button,P1,\n")
        r = await admin.post("/api/v1/admin/import/devices", content=csv_text.encode(),
                             headers={"Content-Type": "text/csv"})
        report = r.json()
        assert report["created"] == 2
        assert [e["row"] for e in report["errors"]] == [3, 4]
        assert "kind" in report["errors"][0]["message"]
        r = await admin.post("/api/v1/admin/import/devices", content=b"colour,size\nred,9\n")
        assert r.status_code == 422 and "unknown columns" in r.json()["detail"]
        r = await admin.post("/api/v1/admin/devices/btn-9001/retire")
        assert r.json()["device"]["retired_at"] is not None
        r = await admin.post("/api/v1/admin/users", json={
            "username": "fam2", "password": "long-enough-pw", "role": "family",
            "display_name": "家属"})
        assert r.status_code == 422 and "scope_resident" in r.json()["detail"]
        r = await admin.post("/api/v1/admin/users", json={
            "username": "fam2", "password": "long-enough-pw", "role": "family",
            "display_name": "家属", "scope_resident": "r-new"})
        assert r.status_code == 201 and "password_hash" not in r.json()["user"]
    async with signed_in(console, "fam2", "long-enough-pw") as fam2:
        assert (await fam2.get("/api/v1/residents/r-new")).status_code == 200
        r = await fam2.put("/api/v1/me", json={"lang": "en"})
        assert r.json()["user"]["lang"] == "en"
        assert (await fam2.get("/api/v1/me")).json()["user"]["lang"] == "en"


async def test_an_admin_says_which_gateway_a_device_goes_through(console: Platform) -> None:
    """A home gateway registered, a button through it is taken; through a button, through a
    gateway of another home, or through itself, refused with a reason (422); by CSV too, the
    gateway's row before its devices'. The registry hands ingest the relation."""
    from store.registry import active_devices

    async with signed_in(console, "admin") as admin:
        r = await admin.post("/api/v1/admin/devices", json={
            "id": "gw-9001", "site_id": "home-0001", "kind": "gateway"})
        assert r.status_code == 201, r.text
        r = await admin.post("/api/v1/admin/devices", json={
            "id": "btn-9101", "site_id": "home-0001", "kind": "button", "via": "gw-9001"})
        assert r.status_code == 201 and r.json()["device"]["via"] == "gw-9001"
        for device, site, via in (("btn-9102", "home-0001", "btn-9101"),
                                  ("btn-9103", "home-0002", "gw-9001"),
                                  ("btn-9104", "home-0001", "btn-9104")):
            r = await admin.post("/api/v1/admin/devices", json={
                "id": device, "site_id": site, "kind": "button", "via": via})
            assert r.status_code == 422, r.text
            assert "gateway" in r.json()["detail"] or "via" in r.json()["detail"], r.text
        csv_text = ("id,site_id,kind,via\n"
                    "gw-9002,home-0002,gateway,\n"
                    "smoke-9201,home-0002,smoke,gw-9002\n"
                    "smoke-9202,home-0002,smoke,gw-9001\n")
        report = (await admin.post("/api/v1/admin/import/devices", content=csv_text.encode(),
                                   headers={"Content-Type": "text/csv"})).json()
        assert report["created"] == 2 and [e["row"] for e in report["errors"]] == [4]
        listed = {d["id"]: d for d in (await admin.get("/api/v1/admin/devices")).json()["devices"]}
        assert listed["smoke-9201"]["via"] == "gw-9002"
    assert console.pool is not None
    async with console.pool.connection() as conn:
        devices = await active_devices(conn)
    assert (devices["btn-9101"].via, devices["gw-9001"].via) == ("gw-9001", None)


async def test_a_residents_own_night_is_set_whole_and_a_sites_zone_must_exist(
        console: Platform) -> None:
    """Carers set an early sleeper's night (19:00 to 05:00): both hours or neither, never the
    same; operators see it on the resident's card; a running ingest is told at once (NOTIFY
    registry). A site whose zone does not exist is refused, not stored for the detectors to
    trip on."""
    async with signed_in(console, "admin") as admin:
        base = "/api/v1/admin/residents/r-h0001"
        r = await admin.put(base, json={"asleep_from": 19})
        assert r.status_code == 422 and "together" in r.json()["detail"]
        r = await admin.put(base, json={"asleep_from": 19, "up_by": 19})
        assert r.status_code == 422 and "same hour" in r.json()["detail"]
        r = await admin.put(base, json={"asleep_from": 24, "up_by": 5})
        assert r.status_code == 422 and "asleep_from" in r.json()["detail"]
        r = await admin.post("/api/v1/admin/residents", json={
            "id": "r-early", "site_id": "home-0001", "name": "钱桂英", "up_by": 5})
        assert r.status_code == 422 and "together" in r.json()["detail"]
        r = await admin.post("/api/v1/admin/sites", json={
            "id": "home-away", "kind": "home", "name": "x", "tz": "Europe/Lodnon"})
        assert r.status_code == 422 and "unknown time zone" in r.json()["detail"]
        r = await admin.post("/api/v1/admin/sites", json={
            "id": "home-away", "kind": "home", "name": "x", "tz": "Europe/London"})
        assert r.status_code == 201
        assert console.pool is not None
        async with console.pool.connection() as listen:
            await listen.set_autocommit(True)
            await listen.execute("LISTEN registry")
            r = await admin.put(base, json={"asleep_from": 19, "up_by": 5})
            assert r.status_code == 200, r.text
            told = await anext(listen.notifies(timeout=5))
            assert told.payload == "residents"
    async with signed_in(console, "op1") as op:
        resident = (await op.get("/api/v1/residents/r-h0001")).json()
        assert (resident["resident"]["asleep_from"], resident["resident"]["up_by"]) == (19, 5)
    async with signed_in(console, "admin") as admin:
        r = await admin.put(base, json={"asleep_from": None, "up_by": None})
        assert r.status_code == 200
    rows = await _sql(console, "SELECT asleep_from, up_by FROM residents WHERE id = 'r-h0001'")
    assert rows == [{"asleep_from": None, "up_by": None}]


async def test_an_admin_names_a_residents_safe_places_and_sets_their_homes_radius(
        console: Platform) -> None:
    """A daughter's flat becomes a safe place (the geofence lets her mother be there at night),
    the home's circle is widened for a village home; bad places are refused with a message,
    each change reaches a running ingest (NOTIFY registry), and the operator's card and the
    locations map see them. Only an administrator changes them."""
    base = "/api/v1/admin/residents/r-h0001"
    flat = {"lat": 31.25, "lon": 121.47, "radius_m": 250}
    async with signed_in(console, "op1") as op:
        assert (await op.put(f"{base}/places/flat", json=flat)).status_code == 403
    async with signed_in(console, "admin") as admin:
        for name, body, status, said in [
            ("home", flat, 422, "safe_radius_m"),
            ("家", flat, 422, "safe_radius_m"),
            ("flat", {**flat, "lat": 91}, 422, "lat"),
            ("flat", {**flat, "radius_m": 20}, 422, "radius_m"),
            ("flat", {"lat": 31.25}, 422, "lon"),
        ]:
            r = await admin.put(f"{base}/places/{name}", json=body)
            assert (r.status_code, said in r.text) == (status, True), r.text
        r = await admin.put("/api/v1/admin/residents/nobody/places/flat", json=flat)
        assert r.status_code == 404 and "nobody" in r.json()["detail"]
        r = await admin.get("/api/v1/admin/residents/nobody/places")
        assert r.status_code == 404 and "nobody" in r.json()["detail"]
        assert console.pool is not None
        async with console.pool.connection() as listen:
            await listen.set_autocommit(True)
            await listen.execute("LISTEN registry")
            r = await admin.put(f"{base}/places/女儿家", json=flat)
            assert r.status_code == 200, r.text
            assert (await anext(listen.notifies(timeout=5))).payload == "resident_places"
            r = await admin.put(base, json={"safe_radius_m": 800})
            assert r.status_code == 200 and r.json()["resident"]["safe_radius_m"] == 800
            assert (await anext(listen.notifies(timeout=5))).payload == "residents"
        # a name with a slash in it is a name like any other (the path takes it whole)
        r = await admin.put(f"{base}/places/儿子家%2F二楼", json=flat)
        assert r.status_code == 200 and r.json()["place"]["name"] == "儿子家/二楼", r.text
        assert (await admin.delete(f"{base}/places/儿子家%2F二楼")).status_code == 200
        r = await admin.put(f"{base}/places/女儿家", json={**flat, "radius_m": 300})  # resized
        assert r.json()["place"]["radius_m"] == 300 and r.json()["place"]["changed_by"] == "admin"
        for i in range(9):
            assert (await admin.put(f"{base}/places/p{i}", json=flat)).status_code == 200
        r = await admin.put(f"{base}/places/one-too-many", json=flat)
        assert r.status_code == 422 and "at most 10" in r.json()["detail"]
        for i in range(9):
            assert (await admin.delete(f"{base}/places/p{i}")).status_code == 200
        r = await admin.delete(f"{base}/places/p0")
        assert r.status_code == 404 and "p0" in r.json()["detail"]
        places = (await admin.get(f"{base}/places")).json()["places"]
        assert [(p["name"], p["radius_m"]) for p in places] == [("女儿家", 300)]
    async with signed_in(console, "op1") as op:
        resident = (await op.get("/api/v1/residents/r-h0001")).json()["resident"]
        assert resident["safe_radius_m"] == 800
        assert [(p["name"], p["lat"], p["lon"]) for p in resident["places"]] == [
            ("女儿家", 31.25, 121.47)]
        where = (await op.get("/api/v1/residents/r-h0001/locations")).json()
        assert where["home"]["radius_m"] == 800 and where["places"][0]["name"] == "女儿家"
        # r-h0001 wears no watch: the geofence does not hold her (the card says no places);
        # r-h0003 does, with the flat the district gave her
        assert resident["geofenced"] is False
        watched = (await op.get("/api/v1/residents/r-h0003")).json()["resident"]
        assert watched["geofenced"] is True and watched["places"][0]["name"] == "女儿家"
    async with signed_in(console, "admin") as admin:
        assert (await admin.put(base, json={"safe_radius_m": None})).status_code == 200
    async with signed_in(console, "op1") as op:
        where = (await op.get("/api/v1/residents/r-h0001/locations")).json()
        assert where["home"]["radius_m"] == 300


async def test_a_family_tells_the_centre_where_their_elder_is_staying_and_until_when(
        console: Platform) -> None:
    """A daughter sets her flat as a stay until a time (the geofence counts it until then); a
    stay without an end, in the past or longer than a month is refused with a message; another
    elder's places are not hers to see (404); the centre's own place she cannot change or
    remove (409), the operator she phones can, and lasting. A stay that has ended is not
    listed and takes no room; every change is in the audit trail."""
    base = "/api/v1/residents/r-h0001/places"
    now = dt.datetime.now(dt.UTC)
    flat = {"lat": 31.25, "lon": 121.47, "radius_m": 250}
    sunday = (now + dt.timedelta(days=3)).isoformat()
    async with signed_in(console, "family1") as family:
        for body, said in [
            (flat, "until when"),
            ({**flat, "ends_at": (now - dt.timedelta(minutes=1)).isoformat()}, "in the past"),
            ({**flat, "ends_at": (now + dt.timedelta(days=FAMILY_STAY_DAYS + 1)).isoformat()},
             f"at most {FAMILY_STAY_DAYS} days"),
            ({**flat, "ends_at": "2026-12-13T18:00:00"}, "timezone"),  # whose 18:00?
        ]:
            r = await family.put(f"{base}/我家", json=body)
            assert (r.status_code, said in r.text) == (422, True), r.text
        r = await family.put("/api/v1/residents/r-h0002/places/我家", json={**flat, "ends_at": sunday})
        assert r.status_code == 404
        r = await family.put(f"{base}/我家", json={**flat, "ends_at": sunday})
        assert r.status_code == 200, r.text
        place = r.json()["place"]
        assert (place["by_family"], place["changed_by"]) == (True, "family1")
        assert dt.datetime.fromisoformat(place["ends_at"]) == dt.datetime.fromisoformat(sunday)
        # she is reminded three hours before it ends (alerts/notify.py), on her own contact
        remind_at = dt.datetime.fromisoformat(r.json()["remind_at"])
        assert remind_at == dt.datetime.fromisoformat(sunday) - dt.timedelta(hours=3)
        waiting = await _sql(console, "SELECT n.next_attempt_at, n.kind FROM notifications n"
                                      " JOIN users u ON u.contact_id = n.contact_id"
                                      " WHERE u.username = 'family1' AND n.about = %s",
                             "stay:r-h0001:我家")
        assert waiting == [{"next_attempt_at": remind_at, "kind": "stay"}]
        mine = (await family.get("/api/v1/residents/r-h0001")).json()["resident"]["places"]
        assert [(p["name"], p["by_family"]) for p in mine] == [("我家", True)]
    async with signed_in(console, "care1") as care:
        assert (await care.put(f"{base}/x", json={**flat, "ends_at": sunday})).status_code == 403
    async with signed_in(console, "op1") as op:
        # the operator writes in what a son said on the phone: the centre's, and lasting
        r = await op.put(f"{base}/儿子家", json={"lat": 31.3, "lon": 121.5})
        assert r.status_code == 200 and r.json()["place"]["ends_at"] is None, r.text
        assert r.json()["remind_at"] is None  # nobody to remind of a lasting place
        assert r.json()["place"]["by_family"] is False
    async with signed_in(console, "family1") as family:
        for r in [await family.put(f"{base}/儿子家", json={**flat, "ends_at": sunday}),
                  await family.delete(f"{base}/儿子家")]:
            assert r.status_code == 409 and "set by the centre" in r.json()["detail"], r.text
        assert (await family.delete(f"{base}/我家")).status_code == 200  # home early
        assert (await family.delete(f"{base}/我家")).status_code == 404
    # ended early: her reminder is taken back
    assert await _sql(console, "SELECT id FROM notifications WHERE about = 'stay:r-h0001:我家'") == []
    # a stay whose end has passed: not listed, not counted, its name free again
    await _sql(console, "INSERT INTO resident_places (resident_id, name, lat, lon, radius_m,"
                        " changed_by, changed_at, ends_at, by_family) VALUES ('r-h0001', '旧的',"
                        " 31.2, 121.4, 300, 'family1', now() - interval '2 days',"
                        " now() - interval '1 day', true)")
    async with signed_in(console, "admin") as admin:
        listed = (await admin.get("/api/v1/admin/residents/r-h0001/places")).json()["places"]
        assert [p["name"] for p in listed] == ["儿子家"]
        assert (await admin.delete(f"{base}/儿子家")).status_code == 200
    async with signed_in(console, "family1") as family:
        r = await family.put(f"{base}/旧的", json={**flat, "ends_at": sunday})
        assert r.status_code == 200 and r.json()["place"]["lat"] == 31.25
        assert (await family.delete(f"{base}/旧的")).status_code == 200
    audit = await _sql(console, "SELECT actor, action, details->>'name' AS name FROM audit"
                                " WHERE action LIKE '%%safe_place' ORDER BY id")
    assert [(a["actor"], a["action"], a["name"]) for a in audit] == [
        ("family1", "set_safe_place", "我家"), ("op1", "set_safe_place", "儿子家"),
        ("family1", "remove_safe_place", "我家"), ("admin", "remove_safe_place", "儿子家"),
        ("family1", "set_safe_place", "旧的"), ("family1", "remove_safe_place", "旧的")]


async def test_family_sets_notification_preferences_and_contacts_can_be_added(
        console: Platform) -> None:
    async with signed_in(console, "family1") as family:
        assert (await family.get("/api/v1/me/notification-prefs")).json()["kinds"] == [
            "alarm", "handled", "device"]
        r = await family.put("/api/v1/me/notification-prefs", json={
            "kinds": ["alarm", "battery"], "channels": ["sms"]})
        assert r.status_code == 422
        r = await family.put("/api/v1/me/notification-prefs", json={
            "kinds": ["device"], "channels": ["sms"]})
        assert r.json()["kinds"] == ["device"]
        r = await family.put("/api/v1/me/notification-prefs", json={
            "kinds": ["alarm"], "channels": ["email"], "quiet_start": "22:00"})
        assert r.status_code == 422 and "both a start and an end" in r.json()["detail"]
        r = await family.put("/api/v1/me/notification-prefs", json={
            "kinds": ["alarm"], "channels": ["email", "sms"], "quiet_start": "22:00",
            "quiet_end": "07:00"})
        assert r.json() == {"kinds": ["alarm"], "channels": ["email", "sms"],
                            "quiet_start": "22:00", "quiet_end": "07:00"}
    async with signed_in(console, "op1") as op:
        assert (await op.get("/api/v1/me/notification-prefs")).status_code == 409
    async with signed_in(console, "admin") as admin:
        r = await admin.post("/api/v1/admin/residents/r-h0001/contacts", json={
            "name": "王小明", "relation": "孙子", "phone": "13800000000"})
        assert r.status_code == 201, r.text  # the id sequence starts after the seeded contacts
