"""The grid decides what civil-affairs staff see: a street's staff see their street's residents
and no one else's; the bureau sees its district; moving a resident is checked at both ends."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from eldercare.platform import Platform
from simulators.district import District
from tests.console.district_console import (
    STREET_1,
    district_console,
)
from tests.console.district_console import signed_in as _client

pytestmark = pytest.mark.db

DISTRICT_1 = {"cm-01", "cm-02", "cm-03", "cm-04"}  # bureau1's district (dist-01)


@pytest.fixture
async def console(db_url: str) -> AsyncIterator[tuple[Platform, District]]:
    district = District.generate(seed=7, homes=40, care_homes=1)
    async with district_console(db_url, district) as platform:
        yield platform, district


def _node_of(district: District) -> dict[str, str]:
    site_node = {s.id: s.node_id for s in district.sites}
    return {r.id: site_node[r.site_id] for r in district.residents}


async def test_street_staff_see_their_street_only(console: tuple[Platform, District]) -> None:
    platform, district = console
    node_of = _node_of(district)
    inside = sorted(r for r, n in node_of.items() if n in STREET_1)
    outside = sorted(r for r, n in node_of.items() if n not in STREET_1)
    assert inside and outside  # the seed spreads homes over every community
    async with _client(platform, "grid1") as client:
        listed = (await client.get("/api/v1/me/residents")).json()["residents"]
        assert sorted(r["id"] for r in listed) == inside
        assert (await client.get(f"/api/v1/residents/{inside[0]}")).status_code == 200
        for rid in outside[:5]:
            assert (await client.get(f"/api/v1/residents/{rid}")).status_code == 404
            assert (await client.get(f"/api/v1/residents/{rid}/vitals")).status_code == 404
        # Asking for another street's community by name does not widen the scope.
        assert (await client.get("/api/v1/me/residents", params={"node": "cm-05"})).status_code == 404
        tree = (await client.get("/api/v1/org")).json()
        assert [n["id"] for n in tree["above"]] == ["city-01", "dist-01"]
        assert {n["id"] for n in tree["nodes"]} == {"st-01"} | STREET_1
        # Not a responder: the live emergency queue is empty for them.
        assert (await client.get("/api/v1/alarms")).json().get("alarms", []) == []


async def test_the_bureau_sees_its_district_and_the_centre_sees_everything(
        console: tuple[Platform, District]) -> None:
    platform, district = console
    node_of = _node_of(district)
    async with _client(platform, "bureau1") as client:
        listed = (await client.get("/api/v1/me/residents", params={"node": "st-02"})).json()
        assert {node_of[r["id"]] for r in listed["residents"]} <= {"cm-03", "cm-04"}
        listed = (await client.get("/api/v1/me/residents")).json()["residents"]
        assert sorted(r["id"] for r in listed) == sorted(
            r for r, n in node_of.items() if n in DISTRICT_1)
    async with _client(platform, "op1") as client:
        listed = (await client.get("/api/v1/me/residents")).json()["residents"]
        assert len(listed) == len(district.residents)
        alone = (await client.get("/api/v1/me/residents",
                                  params={"need": "living_alone"})).json()["residents"]
        assert sorted(r["id"] for r in alone) == sorted(
            r.id for r in district.residents if "living_alone" in r.needs)


async def test_a_move_is_checked_at_both_ends_and_kept(console: tuple[Platform, District]) -> None:
    platform, district = console
    node_of = _node_of(district)
    mover = min(r for r, n in node_of.items() if n == "cm-01")
    in_street = min(s.id for s in district.sites if s.node_id == "cm-02")
    elsewhere = min(s.id for s in district.sites if s.node_id == "cm-05")
    async with _client(platform, "grid1") as client:
        r = await client.post(f"/api/v1/residents/{mover}/move",
                              json={"site_id": elsewhere, "reason": "to her son's"})
        assert r.status_code == 403, r.text
        r = await client.post(f"/api/v1/residents/{mover}/move",
                              json={"site_id": in_street, "reason": "to her daughter's"})
        assert r.status_code == 200, r.text
        moves = (await client.get(f"/api/v1/residents/{mover}/moves")).json()["moves"]
        assert [(m["from_node"], m["to_node"], m["actor"]) for m in moves] == [
            ("cm-01", "cm-02", "grid1")]
        r = await client.post(f"/api/v1/residents/{mover}/move", json={"site_id": in_street})
        assert r.status_code == 422  # a reason is required
    async with _client(platform, "op1") as client:
        r = await client.post(f"/api/v1/residents/{mover}/move",
                              json={"site_id": elsewhere, "reason": "x"})
        assert r.status_code == 403  # operators do not edit the register
