"""Service tickets through the console's API on a real PostgreSQL, with the simulated district's
providers: a ticket's full lifecycle with its timeline and times, routing and hand assignment,
who may do what (403), who may see what (404), and steps out of order (409)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from eldercare.platform import Platform
from simulators.district import District
from tests.console.district_console import (
    PASSWORD,
    STREET_1,
    district_console,
)
from tests.console.district_console import signed_in as _client

pytestmark = pytest.mark.db



@pytest.fixture
async def console(db_url: str) -> AsyncIterator[tuple[Platform, dict[str, str]]]:
    district = District.generate(seed=7, homes=40, care_homes=1)
    async with district_console(db_url, district) as platform:
        site_node = {s.id: s.node_id for s in district.sites}
        yield platform, {r.id: site_node[r.site_id] for r in district.residents}


async def _open(client: httpx.AsyncClient, resident: str, kind: str,
                **extra: Any) -> dict[str, Any]:
    r = await client.post("/api/v1/tickets", json={"resident_id": resident, "type": kind, **extra})
    assert r.status_code == 201, r.text
    ticket: dict[str, Any] = r.json()["ticket"]
    return ticket


def _in(node_of: dict[str, str], nodes: set[str]) -> str:
    return min(r for r, n in node_of.items() if n in nodes and r.startswith("r-h"))


async def test_a_ticket_lives_from_a_call_to_the_elders_rating(
        console: tuple[Platform, dict[str, str]]) -> None:
    platform, _ = console
    wanted = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).replace(microsecond=0)
    async with _client(platform, "op1") as op:
        ticket = await _open(op, "r-h0001", "housekeeping", notes="厨房需要打扫",
                             requested_for=wanted.isoformat())
    assert ticket["status"] == "assigned" and ticket["provider_id"] == "home-city-01"
    assert ticket["source"] == "operator" and ticket["opened_by"] == "op1"
    tid = ticket["id"]
    async with _client(platform, "prov1") as prov:
        mine = (await prov.get("/api/v1/tickets")).json()["tickets"]
        assert [t["id"] for t in mine] == [tid]
        assert mine[0]["resident_name"] and mine[0]["address"]
        for path, body in ((f"/api/v1/tickets/{tid}/accept", None),
                           (f"/api/v1/tickets/{tid}/start", {"lat": 31.25, "lon": 121.45}),
                           (f"/api/v1/tickets/{tid}/finish", {"lat": 31.2501, "lon": 121.4502,
                                                              "notes": "已打扫"})):
            r = await prov.post(path, json=body)
            assert r.status_code == 200, r.text
    async with _client(platform, "family1") as family:
        assert [t["id"] for t in (await family.get("/api/v1/tickets")).json()["tickets"]] == [tid]
        r = await family.post(f"/api/v1/tickets/{tid}/rate", json={"rating": 5, "comment": "很好"})
        assert r.status_code == 200, r.text
        detail = (await family.get(f"/api/v1/tickets/{tid}")).json()
    t = detail["ticket"]
    assert t["status"] == "rated" and t["rating"] == 5 and t["rating_comment"] == "很好"
    assert (t["accepted_by"], t["visit_by"], t["rated_by"]) == ("prov1", "prov1", "family1")
    assert (t["visit_start_lat"], t["visit_finish_lon"]) == (31.25, 121.4502)
    assert dt.datetime.fromisoformat(t["requested_for"]) == wanted
    times = [dt.datetime.fromisoformat(t[k]) for k in (
        "opened_at", "assigned_at", "accepted_at", "visit_started_at", "visit_finished_at",
        "rated_at")]
    assert times == sorted(times)
    steps = [(s["action"], s["to_status"], s["actor"]) for s in detail["timeline"]]
    assert steps == [("opened", "open", "op1"), ("assign", "assigned", "system"),
                     ("accept", "accepted", "prov1"), ("start", "visit_started", "prov1"),
                     ("finish", "visit_finished", "prov1"), ("rate", "rated", "family1")]
    assert detail["timeline"][4]["details"] == {"lat": 31.2501, "lon": 121.4502, "notes": "已打扫"}
    stamps = [dt.datetime.fromisoformat(s["at"]) for s in detail["timeline"]]
    assert stamps == sorted(stamps)


async def test_a_ticket_says_the_elder_is_away_on_a_stay_when_the_visit_is_wanted(
        console: tuple[Platform, dict[str, str]]) -> None:
    """A daughter sets "Mum is with me for three days": a meal ticket opened now, or wanted
    tomorrow, tells the provider going to the address that she is staying at the daughter's
    until then (they phone first); one wanted after the stay's end, or another elder's, says
    nothing. The stay removed, the ticket no longer says it. (Before, the provider found an
    empty flat.)"""
    platform, _ = console
    ends = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).replace(microsecond=0)
    stay = {"lat": 31.21, "lon": 121.42, "radius_m": 200, "ends_at": ends.isoformat()}
    async with _client(platform, "family1") as family:
        r = await family.put("/api/v1/residents/r-h0001/places/女儿家", json=stay)
        assert r.status_code == 200, r.text
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    later = ends + dt.timedelta(days=1)
    async with _client(platform, "op1") as op:
        now_ = await _open(op, "r-h0001", "meal")
        tomorrow = await _open(op, "r-h0001", "meal", requested_for=soon.isoformat())
        after = await _open(op, "r-h0001", "meal", requested_for=later.isoformat())
        other = await _open(op, "r-h0002", "meal")
    for ticket in (now_, tomorrow):
        assert (ticket["away_at"], ticket["away_by_family"]) == ("女儿家", True)
        assert dt.datetime.fromisoformat(ticket["away_until"]) == ends
    assert (after["away_at"], other["away_at"]) == (None, None)
    async with _client(platform, "op1") as op:
        listed = {t["id"]: t for t in (await op.get("/api/v1/tickets")).json()["tickets"]}
        assert listed[now_["id"]]["away_at"] == "女儿家"
    async with _client(platform, "family1") as family:
        r = await family.delete("/api/v1/residents/r-h0001/places/女儿家")
        assert r.status_code == 200, r.text
    async with _client(platform, "op1") as op:
        again = (await op.get(f"/api/v1/tickets/{now_['id']}")).json()["ticket"]
    assert again["away_at"] is None


async def test_wrong_role_wrong_provider_and_wrong_status_are_refused(
        console: tuple[Platform, dict[str, str]]) -> None:
    platform, node_of = console
    async with _client(platform, "admin") as admin:
        r = await admin.post("/api/v1/admin/users", json={
            "username": "meals1", "password": PASSWORD, "role": "provider",
            "display_name": "食堂", "provider_id": "meal-dist-01"})
        assert r.status_code == 201, r.text
    async with _client(platform, "op1") as op:
        ticket = await _open(op, "r-h0001", "repair")
        tid = ticket["id"]
        assert (await op.post(f"/api/v1/tickets/{tid}/accept")).status_code == 403
        assert (await op.post(f"/api/v1/tickets/{tid}/assign",
                              json={"provider_id": "meal-dist-01"})).status_code == 403
        assert (await op.post("/api/v1/tickets", json={"resident_id": "r-h0001",
                                                       "type": "pizza"})).status_code == 422
    async with _client(platform, "meals1") as other:
        for step in ("accept", "start", "finish"):
            assert (await other.post(f"/api/v1/tickets/{tid}/{step}")).status_code == 404
        assert (await other.get(f"/api/v1/tickets/{tid}")).status_code == 404
    async with _client(platform, "prov1") as prov:
        r = await prov.post(f"/api/v1/tickets/{tid}/finish")
        assert r.status_code == 409 and "is assigned; cannot finish" in r.json()["detail"]
        assert (await prov.post(f"/api/v1/tickets/{tid}/accept")).status_code == 200
        assert (await prov.post(f"/api/v1/tickets/{tid}/accept")).status_code == 409
        assert (await prov.post(f"/api/v1/tickets/{tid}/rate",
                                json={"rating": 5})).status_code == 403
        assert (await prov.post(f"/api/v1/tickets/{tid}/start",
                                json={"lat": 91, "lon": 0})).status_code == 422
        assert (await prov.post("/api/v1/tickets", json={"resident_id": "r-h0001",
                                                         "type": "meal"})).status_code == 403
    async with _client(platform, "family1") as family:
        r = await family.post(f"/api/v1/tickets/{tid}/rate", json={"rating": 4})
        assert r.status_code == 409  # no visit yet
        assert (await family.post(f"/api/v1/tickets/{tid}/rate",
                                  json={"rating": 6})).status_code == 422
        stranger = min(r for r in node_of if r != "r-h0001")
        assert (await family.post("/api/v1/tickets", json={
            "resident_id": stranger, "type": "meal"})).status_code == 404
        r = await family.post(f"/api/v1/tickets/{tid}/cancel", json={"reason": "儿子已修好"})
        assert r.status_code == 200 and r.json()["ticket"]["status"] == "cancelled"
        assert (await family.post(f"/api/v1/tickets/{tid}/cancel",
                                  json={"reason": "again"})).status_code == 409
    async with _client(platform, "care1") as care:
        assert (await care.post("/api/v1/tickets", json={
            "resident_id": "r-h0001", "type": "meal"})).status_code == 403


async def test_grid_staff_see_their_street_and_providers_their_own_tickets(
        console: tuple[Platform, dict[str, str]]) -> None:
    platform, node_of = console
    inside, outside = _in(node_of, STREET_1), _in(node_of, {"cm-03", "cm-04"})
    async with _client(platform, "op1") as op:
        near = await _open(op, inside, "housekeeping")
        far = await _open(op, outside, "meal")
    assert far["provider_id"] == "meal-dist-01" and near["provider_id"] == "home-city-01"
    async with _client(platform, "grid1") as grid:
        listed = {t["id"] for t in (await grid.get("/api/v1/tickets")).json()["tickets"]}
        assert near["id"] in listed and far["id"] not in listed
        assert (await grid.get(f"/api/v1/tickets/{far['id']}")).status_code == 404
        assert (await grid.post(f"/api/v1/tickets/{far['id']}/cancel",
                                json={"reason": "x"})).status_code == 404
        assert (await grid.get(f"/api/v1/tickets/{near['id']}")).status_code == 200
        assert (await grid.get("/api/v1/tickets", params={"node": "cm-03"})).status_code == 404
        r = await grid.post("/api/v1/tickets", json={"resident_id": outside, "type": "meal"})
        assert r.status_code == 404
        own = await _open(grid, inside, "companionship")
        assert own["source"] == "staff" and own["provider_id"] == "care-st-01"
        providers = {p["id"] for p in (await grid.get("/api/v1/providers")).json()["providers"]}
        assert providers == {"meal-dist-01", "home-city-01", "care-st-01"}
    async with _client(platform, "bureau1") as bureau:
        listed = {t["id"] for t in (await bureau.get("/api/v1/tickets")).json()["tickets"]}
        assert {near["id"], far["id"]} <= listed
        assert (await bureau.post(f"/api/v1/tickets/{far['id']}/cancel",
                                  json={"reason": "x"})).status_code == 403
    async with _client(platform, "prov1") as prov:
        listed = {t["id"] for t in (await prov.get("/api/v1/tickets")).json()["tickets"]}
        assert listed == {near["id"]}
        assert (await prov.get(f"/api/v1/tickets/{far['id']}")).status_code == 404
        providers = (await prov.get("/api/v1/providers")).json()["providers"]
        assert [p["id"] for p in providers] == ["home-city-01"]


async def test_an_unrouted_ticket_waits_for_grid_staff_to_assign_it(
        console: tuple[Platform, dict[str, str]]) -> None:
    platform, node_of = console
    inside = _in(node_of, STREET_1)
    async with _client(platform, "admin") as admin:
        r = await admin.put("/api/v1/admin/providers/care-st-01", json={"active": False})
        assert r.status_code == 200 and r.json()["provider"]["active"] is False
    async with _client(platform, "op1") as op:
        ticket = await _open(op, inside, "medical_escort", notes="周三去医院复查")
    assert ticket["status"] == "open" and ticket["provider_id"] is None
    async with _client(platform, "grid1") as grid:
        waiting = (await grid.get("/api/v1/tickets", params={"status": "open"})).json()["tickets"]
        assert [t["id"] for t in waiting] == [ticket["id"]]
        r = await grid.post(f"/api/v1/tickets/{ticket['id']}/assign",
                            json={"provider_id": "meal-dist-01"})
        assert r.status_code == 422 and "does not offer" in r.json()["detail"]
        r = await grid.post(f"/api/v1/tickets/{ticket['id']}/assign",
                            json={"provider_id": "care-st-02"})
        assert r.status_code == 200, r.text
        assert r.json()["ticket"]["status"] == "assigned"
        detail = (await grid.get(f"/api/v1/tickets/{ticket['id']}")).json()
    assert detail["timeline"][-1]["actor"] == "grid1"
    assert detail["timeline"][-1]["details"] == {"provider_id": "care-st-02", "by": "hand"}


async def test_admin_registers_providers_areas_and_service_buttons(
        console: tuple[Platform, dict[str, str]]) -> None:
    platform, _ = console
    async with _client(platform, "admin") as admin:
        r = await admin.post("/api/v1/admin/providers", json={
            "id": "repairs-cm01", "name": "社区维修队", "types": ["repair"]})
        assert r.status_code == 201, r.text
        assert (await admin.post("/api/v1/admin/providers", json={
            "id": "repairs-cm01", "name": "x", "types": ["repair"]})).status_code == 409
        assert (await admin.post("/api/v1/admin/providers", json={
            "id": "empty", "name": "x", "types": []})).status_code == 422
        r = await admin.post("/api/v1/admin/providers/repairs-cm01/areas", json={"node_id": "cm-01"})
        assert r.status_code == 201 and r.json()["provider"]["areas"] == ["cm-01"]
        assert (await admin.post("/api/v1/admin/providers/repairs-cm01/areas",
                                 json={"node_id": "cm-99"})).status_code == 422
        r = await admin.put("/api/v1/admin/devices/btn-0002/service",
                            json={"service_press": "second_key", "service_type": "meal"})
        assert r.status_code == 200, r.text
        assert (r.json()["device"]["service_press"], r.json()["device"]["service_type"]) == (
            "second_key", "meal")
        assert (await admin.put("/api/v1/admin/devices/btn-0002/service",
                                json={"service_press": "triple"})).status_code == 422
    async with _client(platform, "op1") as op:
        assert (await op.post("/api/v1/admin/providers", json={
            "id": "x", "name": "x", "types": ["meal"]})).status_code == 403
