"""The console's REST API on a real server and database: sign-in, CSRF, rate limit, scope,
acknowledge races and clear 4xx errors."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest

from eldercare.platform import Platform, seed_district
from eldercare.settings import Settings
from simulators.district import District
from store.batch import Batch, NewAlarm
from store.batch import write as write_batch
from tests.servers import free_port

pytestmark = pytest.mark.db

PASSWORD = "api-pass-1"
CSRF = {"X-Requested-With": "eldercare"}


@pytest.fixture
async def console(db_url: str) -> AsyncIterator[tuple[Platform, District]]:
    district = District.generate(seed=4, homes=3, care_homes=1)
    async with Platform(settings=Settings(), db_url=db_url, broker_url=None,
                        services=("console",), port=free_port()) as platform:
        await seed_district(db_url, district, demo_password=PASSWORD)
        yield platform, district


async def _raise(platform: Platform, device_id: str, district: District, seq: int = 1) -> int:
    device = next(d for d in district.devices if d.id == device_id)
    import datetime as dt

    assert platform.pool is not None
    async with platform.pool.connection() as conn:
        written = await write_batch(conn, Batch(alarms=[NewAlarm(
            kind="sos", priority=1, device_id=device.id, site_id=device.site_id,
            resident_id=device.resident_id, room_id=device.room_id, source_seq=seq,
            occurred_at=dt.datetime.now(dt.UTC), details={})]))
    return written.new_alarm_ids[0]


@contextlib.asynccontextmanager
async def _client(platform: Platform, user: str = "op1") -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=platform.console_url) as client:
        r = await client.post("/api/v1/session", json={"username": user, "password": PASSWORD},
                              headers=CSRF)
        assert r.status_code == 200, r.text
        yield client


async def test_sign_in_sets_an_httponly_strict_cookie(console: tuple[Platform, District]) -> None:
    platform, _ = console
    async with httpx.AsyncClient(base_url=platform.console_url) as client:
        r = await client.post("/api/v1/session", json={"username": "op1", "password": PASSWORD},
                              headers=CSRF)
        assert r.status_code == 200
        assert r.json()["user"]["role"] == "operator"
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert (await client.get("/api/v1/me")).json()["user"]["username"] == "op1"
        assert (await client.delete("/api/v1/session", headers=CSRF)).status_code == 204
        assert (await client.get("/api/v1/me")).status_code == 401


async def test_wrong_password_then_rate_limit(console: tuple[Platform, District]) -> None:
    platform, _ = console
    async with httpx.AsyncClient(base_url=platform.console_url) as client:
        codes = [(await client.post("/api/v1/session", headers=CSRF,
                                    json={"username": "op2", "password": "nope"})).status_code
                 for _ in range(6)]
        assert codes[:5] == [401] * 5
        assert codes[5] == 429
        assert "wait" in (await client.post("/api/v1/session", headers=CSRF, json={
            "username": "op2", "password": PASSWORD})).json()["detail"]


async def test_state_changes_need_the_csrf_header(console: tuple[Platform, District]) -> None:
    platform, district = console
    alarm_id = await _raise(platform, "btn-0001", district)
    async with _client(platform) as client:
        r = await client.post(f"/api/v1/alarms/{alarm_id}/acknowledge")
        assert r.status_code == 403 and "x-requested-with" in r.json()["detail"]


async def test_queue_detail_and_acknowledge(console: tuple[Platform, District]) -> None:
    platform, district = console
    alarm_id = await _raise(platform, "btn-0001", district)
    async with _client(platform) as client:
        queue = (await client.get("/api/v1/alarms?status=open")).json()["alarms"]
        assert [a["id"] for a in queue] == [alarm_id]
        detail = (await client.get(f"/api/v1/alarms/{alarm_id}")).json()
        assert detail["resident"]["id"] == "r-h0001"
        assert detail["contacts"] and detail["device"]["id"] == "btn-0001"
        r = await client.post(f"/api/v1/alarms/{alarm_id}/acknowledge", headers=CSRF)
        assert r.json()["alarm"]["status"] == "acknowledged"
        assert (await client.get("/api/v1/alarms")).json()["alarms"] == []


async def test_two_operators_acknowledging_at_once_exactly_one_wins(
        console: tuple[Platform, District]) -> None:
    platform, district = console
    alarm_id = await _raise(platform, "btn-0002", district)
    async with _client(platform, "op1") as a, _client(platform, "op2") as b:
        ra, rb = await asyncio.gather(
            a.post(f"/api/v1/alarms/{alarm_id}/acknowledge", headers=CSRF),
            b.post(f"/api/v1/alarms/{alarm_id}/acknowledge", headers=CSRF))
    assert sorted([ra.status_code, rb.status_code]) == [200, 409]
    loser = ra if ra.status_code == 409 else rb
    assert "already acknowledged" in loser.json()["detail"]


async def test_family_sees_only_their_elder(console: tuple[Platform, District]) -> None:
    platform, district = console
    theirs = await _raise(platform, "btn-0001", district)  # family1's elder is r-h0001
    other = await _raise(platform, "btn-0002", district)
    async with _client(platform, "family1") as client:
        queue = (await client.get("/api/v1/alarms")).json()["alarms"]
        assert [a["id"] for a in queue] == [theirs]
        assert (await client.get(f"/api/v1/alarms/{other}")).status_code == 404
        assert (await client.post(f"/api/v1/alarms/{other}/acknowledge",
                                  headers=CSRF)).status_code == 404


@pytest.mark.parametrize(("method", "path", "body", "status"), [
    ("get", "/api/v1/alarms/abc", None, 422),
    ("get", "/api/v1/alarms/0", None, 422),
    ("get", "/api/v1/alarms/999999", None, 404),
    ("get", "/api/v1/alarms?status=everything", None, 422),
    ("post", "/api/v1/session", {"username": ""}, 422),
])
async def test_bad_requests_get_4xx_with_a_message(console: tuple[Platform, District], method: str,
                                                   path: str, body: object, status: int) -> None:
    platform, _ = console
    async with _client(platform) as client:
        r = await client.request(method, path, json=body, headers=CSRF)
    assert r.status_code == status
    assert isinstance(r.json()["detail"], str) and r.json()["detail"]


async def test_unsigned_requests_get_401(console: tuple[Platform, District]) -> None:
    platform, _ = console
    async with httpx.AsyncClient(base_url=platform.console_url) as client:
        assert (await client.get("/api/v1/alarms")).status_code == 401


async def test_the_alarm_detail_shows_the_wearables_last_location(
        console: tuple[Platform, District]) -> None:
    platform, district = console
    watch = next(d for d in district.devices if d.kind == "wearable")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    assert platform.pool is not None
    async with platform.pool.connection() as conn:
        written = await write_batch(conn, Batch(
            locations=[(watch.id, 7, now - dt.timedelta(minutes=4), 31.2211, 121.5432, 18.0,
                        "gps")],
            alarms=[NewAlarm(kind="sos", priority=1, device_id=watch.id, site_id=watch.site_id,
                             resident_id=watch.resident_id, room_id=None, source_seq=8,
                             occurred_at=now, details={"event": "sos"})]))
    async with _client(platform) as client:
        detail = (await client.get(f"/api/v1/alarms/{written.new_alarm_ids[0]}")).json()
    fix_at = now - dt.timedelta(minutes=4)
    assert detail["alarm"]["details"] == {"event": "sos", "last_location": {
        "lat": 31.2211, "lon": 121.5432, "acc_m": 18.0, "source": "gps",
        "at": f"{fix_at:%Y-%m-%dT%H:%M:%S}.000Z"}}
