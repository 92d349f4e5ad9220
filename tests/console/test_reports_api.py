"""GET /api/v1/reports/{node}: who may read which node's report, what an export carries and that
it is audited, and how the period is checked."""

from __future__ import annotations

import csv
import datetime as dt
import io
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



@pytest.fixture
async def console(db_url: str) -> AsyncIterator[tuple[Platform, District]]:
    district = District.generate(seed=7, homes=40, care_homes=1)
    async with district_console(db_url, district) as platform:
        assert platform.pool is not None
        async with platform.pool.connection() as conn:
            # Every device registered three days ago and never heard from: all are "not
            # reporting", so the exports list residents' names — the privacy check below.
            await conn.execute("UPDATE devices SET registered_at = now() - interval '3 days'")
            # One incident per resident, opened an hour ago, answered in 30 s.
            await conn.execute(
                "INSERT INTO incidents (correlation_key, kind, priority, status, route, site_id,"
                " resident_id, opened_at, last_alarm_at, first_claimed_at, claimed_by)"
                " SELECT 'resident:' || id, 'sos', 1, 'claimed', 'centre', site_id, id,"
                " now() - interval '1 hour', now() - interval '1 hour',"
                " now() - interval '1 hour' + interval '30 seconds', 'op1' FROM residents")
        yield platform, district


async def test_each_reader_sees_the_nodes_in_their_scope_only(
        console: tuple[Platform, District]) -> None:
    platform, _ = console
    expected = {
        "grid1": {"st-01": 200, "cm-01": 200, "st-02": 404, "dist-01": 404, "dist-02": 404,
                  "city-01": 404},
        "bureau1": {"dist-01": 200, "st-02": 200, "cm-04": 200, "dist-02": 404, "cm-05": 404,
                    "city-01": 404},
        "sup1": {"city-01": 200, "dist-02": 200, "cm-06": 200, "nowhere": 404},
        "admin": {"city-01": 200},
        "op1": {"city-01": 403},  # operators answer calls; they do not read reports
        "care1": {"cm-01": 403},
        "family1": {"cm-01": 403},
    }
    for user, nodes in expected.items():
        async with _client(platform, user) as client:
            got = {n: (await client.get(f"/api/v1/reports/{n}")).status_code for n in nodes}
            assert got == nodes, user


async def test_the_json_has_the_node_its_children_and_breadcrumbs_within_scope(
        console: tuple[Platform, District]) -> None:
    platform, district = console
    async with _client(platform, "grid1") as client:
        body = (await client.get("/api/v1/reports/cm-01")).json()
        assert body["node"]["id"] == "cm-01" and body["children"] == []
        assert [a["id"] for a in body["above"]] == ["st-01"]  # not above the reader's scope
        body = (await client.get("/api/v1/reports/st-01")).json()
    assert sorted(c["id"] for c in body["children"]) == sorted(STREET_1)
    in_street = sum(1 for r in district.residents
                    if next(s.node_id for s in district.sites if s.id == r.site_id) in STREET_1)
    totals = body["totals"]
    assert totals["incidents"]["total"] == totals["answer"]["within_60s"] == in_street
    assert totals["answer"]["answered_60s"] == 1.0 and totals["answer"]["median_answer_s"] == 30.0
    assert sum(c["incidents"]["total"] for c in body["children"]) == in_street
    assert totals["coverage"]["residents"] == in_street and totals["coverage"]["covered"] == 0
    assert body["not_reporting"]["total"] == len(body["not_reporting"]["rows"]) > 0
    assert body["targets"] == {"answered_60s": 0.975, "answered_180s": 0.99}
    period = body["period"]
    span = dt.datetime.fromisoformat(period["to"]) - dt.datetime.fromisoformat(period["from"])
    assert span == dt.timedelta(days=30)  # the default period


async def test_exports_are_audited_and_carry_only_the_readers_scope(
        console: tuple[Platform, District]) -> None:
    platform, district = console
    site_node = {s.id: s.node_id for s in district.sites}
    inside = {r.name for r in district.residents if site_node[r.site_id] in STREET_1}
    # (a name shared by someone inside is no evidence either way)
    outside = {r.name for r in district.residents if site_node[r.site_id] not in STREET_1} - inside
    assert outside
    params = {"from": "2026-01-01", "to": "2026-02-01", "tz": "Asia/Shanghai"}
    async with _client(platform, "grid1") as client:
        r = await client.get("/api/v1/reports/st-01", params=params | {"format": "csv"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        assert 'filename="report-st-01-20260101-20260201.csv"' in r.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(r.text.removeprefix("\ufeff"))))
        names = {row["value"] for row in rows if row["measure"] == "resident"} - {""}
        assert names and names <= inside and not names & outside
        assert {row["node_id"] for row in rows} == {"st-01"} | STREET_1
        html = await client.get("/api/v1/reports/st-01", params=params | {"format": "html",
                                                                         "lang": "en"})
        assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
        assert "script-src" not in html.headers["content-security-policy"]
        assert "default-src 'none'" in html.headers["content-security-policy"]
        assert "<svg" in html.text and '<html lang="en">' in html.text
        assert not any(name in html.text for name in outside)
        await client.get("/api/v1/reports/st-01", params=params)  # viewing is not exporting
    assert platform.pool is not None
    async with platform.pool.connection() as conn:
        audit = await (await conn.execute(
            "SELECT actor, target, details FROM audit WHERE action = 'export_report'"
            " ORDER BY id")).fetchall()
    assert [(a["actor"], a["target"], a["details"]["format"]) for a in audit] == [
        ("grid1", "node:st-01", "csv"), ("grid1", "node:st-01", "html")]
    assert audit[0]["details"]["from"] == "2026-01-01T00:00:00+08:00"
    assert audit[0]["details"]["to"] == "2026-02-01T00:00:00+08:00"
    assert audit[1]["details"]["lang"] == "en"


@pytest.mark.parametrize(("params", "problem"), [
    ({"from": "2026-02-01", "to": "2026-01-01"}, "before"),
    ({"from": "2026-02-01", "to": "2026-02-01"}, "before"),
    ({"from": "2025-01-01", "to": "2026-01-03"}, "366"),
    ({"from": "yesterday"}, "from"),
    ({"tz": "Mars/Olympus"}, "time zone"),
    ({"format": "pdf"}, "format"),
    ({"lang": "fr"}, "lang"),
])
async def test_a_bad_period_or_option_is_refused(console: tuple[Platform, District],
                                                 params: dict[str, str], problem: str) -> None:
    platform, _ = console
    async with _client(platform, "bureau1") as client:
        r = await client.get("/api/v1/reports/dist-01", params=params)
    assert r.status_code == 422, r.text
    assert problem in r.json()["detail"]


async def test_a_local_period_is_read_in_the_readers_zone(console: tuple[Platform, District]) -> None:
    platform, _ = console
    async with _client(platform, "bureau1") as client:
        body = (await client.get("/api/v1/reports/dist-01", params={
            "from": "2026-01-01", "to": "2027-01-01", "tz": "Asia/Shanghai"})).json()
        assert (body["period"]["from"], body["period"]["to"]) == (
            "2026-01-01T00:00:00+08:00", "2027-01-01T00:00:00+08:00")  # 365 days: allowed
        body = (await client.get("/api/v1/reports/dist-01", params={
            "from": "2026-01-01T00:00:00Z", "to": "2026-01-02T00:00:00Z"})).json()
        assert dt.datetime.fromisoformat(body["period"]["from"]) == dt.datetime(2026, 1, 1,
                                                                                tzinfo=dt.UTC)
