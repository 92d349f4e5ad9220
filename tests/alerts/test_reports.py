"""Grid reports against a real PostgreSQL: every node's counters are the sums of its communities'
(on a hand-made grid and on a seeded random district), hand-computed figures for a small grid,
answer-time shares that agree with the supervisor's KPIs, device coverage, and the exports (CSV
parses back to the same numbers; the printable HTML carries its charts and its language)."""

from __future__ import annotations

import csv
import datetime as dt
import doctest
import io
from collections import Counter
from dataclasses import asdict
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from psycopg_pool import AsyncConnectionPool

from alerts import kpis, report_csv, report_html, report_labels
from alerts import reports as rep
from alerts.report_html import render_html
from simulators.district import District, grid
from store import incidents as store_incidents
from store import registry
from store import reports as store_reports

pytestmark = pytest.mark.db

NOW = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
START = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
END = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
T0 = dt.datetime(2026, 2, 10, 8, tzinfo=dt.UTC)
S, H, D = dt.timedelta(seconds=1), dt.timedelta(hours=1), dt.timedelta(days=1)
COMMUNITIES = [n.id for n in grid() if n.level == "community"]
ALL_NODES = [n.id for n in grid()]


@pytest.mark.parametrize("module", [rep, report_csv, report_html, report_labels])
def test_docstring_examples(module: ModuleType) -> None:
    assert doctest.testmod(module).failed == 0


def test_every_label_exists_in_both_languages() -> None:
    assert set(report_labels._EN) == set(report_labels._ZH)


async def _insert(pool: AsyncConnectionPool, table: str, rows: list[dict[str, Any]]) -> list[Any]:
    ids = []
    async with pool.connection() as conn:
        for row in rows:
            cols = ", ".join(row)
            marks = ", ".join(f"%({c})s" for c in row)
            cur = await conn.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks}) RETURNING *", row)
            found = await cur.fetchone()
            assert found is not None
            ids.append(found.get("id"))
    return ids


async def _incident(pool: AsyncConnectionPool, *, resident: str | None, site: str, kind: str,
                    device: str | None, opened: dt.datetime, claimed_after: dt.timedelta | None,
                    outcome: str | None, route: str = "centre", seq: int) -> int:
    [iid] = await _insert(pool, "incidents", [{
        "correlation_key": f"resident:{resident}:{seq}" if resident else f"site:{site}:{seq}",
        "kind": kind, "priority": 4 if route == "maintenance" else 1,
        "status": "new" if outcome is None else "resolved", "route": route, "site_id": site,
        "resident_id": resident, "opened_at": opened, "last_alarm_at": opened,
        "first_claimed_at": None if claimed_after is None else opened + claimed_after,
        "claimed_by": None if claimed_after is None else "op1",
        "resolved_at": None if outcome is None else opened + 10 * 60 * S, "outcome": outcome}])
    if device is not None:
        await _insert(pool, "alarms", [{
            "kind": kind, "priority": 1, "status": "acknowledged", "device_id": device,
            "site_id": site, "resident_id": resident, "source_seq": seq, "occurred_at": opened,
            "incident_id": iid}])
    return int(iid)


async def _grid(pool: AsyncConnectionPool) -> None:
    await _insert(pool, "org_nodes", [{"id": n.id, "parent_id": n.parent_id, "level": n.level,
                                       "name": n.name} for n in grid()])


@pytest.fixture
async def small(pool: AsyncConnectionPool) -> AsyncConnectionPool:
    """Four sites in four communities, five residents, eight devices, nine incidents (three
    outside the report), five tickets (one outside). The expected figures are in the tests."""
    await _grid(pool)
    await _insert(pool, "sites", [
        {"id": "home-1", "kind": "home", "name": "Home 1", "node_id": "cm-01"},
        {"id": "home-2", "kind": "home", "name": "Home 2", "node_id": "cm-02"},
        {"id": "care-1", "kind": "care_home", "name": "Care 1", "node_id": "cm-03"},
        {"id": "home-5", "kind": "home", "name": "Home <5>", "node_id": "cm-05"}])
    await _insert(pool, "residents", [
        {"id": "r1", "site_id": "home-1", "name": "One", "birth_year": 1940, "needs": ["living_alone"]},
        {"id": "r2", "site_id": "home-1", "name": "Two", "birth_year": 1950, "needs": []},
        {"id": "r3", "site_id": "home-2", "name": "Three", "birth_year": 1946,
         "needs": ["empty_nest", "high_age"]},
        {"id": "r4", "site_id": "care-1", "name": "Four", "birth_year": 1930, "needs": ["disabled"]},
        {"id": "r5", "site_id": "home-5", "name": "<b>Five</b>", "birth_year": 1955,
         "needs": ["low_income"]}])
    reg = NOW - 3 * D
    await _insert(pool, "devices", [
        # working: a button heard from an hour ago (limit 1.5 x 25 h)
        {"id": "b1", "site_id": "home-1", "kind": "button", "model": "BTN-A", "resident_id": "r1",
         "last_checkin": NOW - H, "online": True, "registered_at": reg},
        # a wearable silent for 2 h (limit 1.5 x 1 h): not working, not reporting
        {"id": "w2", "site_id": "home-1", "kind": "wearable", "model": "W-1", "resident_id": "r2",
         "last_seen": NOW - 2 * H, "online": True, "registered_at": reg},
        # offline (its last will), though recently heard from
        {"id": "b3", "site_id": "home-2", "kind": "button", "model": "BTN-A", "resident_id": "r3",
         "last_checkin": NOW - 10 * H, "online": False, "registered_at": reg},
        {"id": "b3old", "site_id": "home-2", "kind": "button", "model": "BTN-B", "resident_id": "r3",
         "last_checkin": NOW - H, "online": True, "registered_at": reg, "retired_at": NOW - D},
        # a care home's wall button: 15 min limit, heard 5 min ago
        {"id": "b4", "site_id": "care-1", "kind": "button", "model": "BTN-B", "resident_id": "r4",
         "last_checkin": NOW - 5 * 60 * S, "online": True, "registered_at": reg},
        {"id": "s4", "site_id": "care-1", "kind": "smoke", "model": "SMK-1", "resident_id": None,
         "last_checkin": NOW - 30 * H, "online": True, "registered_at": reg},
        # never heard from since registration two days ago
        {"id": "b5", "site_id": "home-5", "kind": "button", "model": "BTN-A", "resident_id": "r5",
         "online": None, "registered_at": NOW - 2 * D},
        {"id": "s5", "site_id": "home-5", "kind": "smoke", "model": "SMK-1", "resident_id": None,
         "last_seen": NOW - 40 * H, "online": True, "registered_at": reg}])
    await _incident(pool, resident="r1", site="home-1", kind="sos", device="b1", opened=T0,
                    claimed_after=30 * S, outcome="genuine", seq=1)
    await _incident(pool, resident="r1", site="home-1", kind="fall", device="b1", opened=T0 + D,
                    claimed_after=90 * S, outcome="false_alarm", seq=2)
    await _incident(pool, resident="r2", site="home-1", kind="sos", device="w2", opened=T0 + 2 * D,
                    claimed_after=200 * S, outcome="accidental", seq=3)
    await _incident(pool, resident="r3", site="home-2", kind="sos", device="b3", opened=T0 + 3 * D,
                    claimed_after=None, outcome=None, seq=4)
    await _incident(pool, resident="r4", site="care-1", kind="smoke", device="s4", opened=T0,
                    claimed_after=45 * S, outcome="false_alarm", route="care_home", seq=5)
    await _incident(pool, resident="r5", site="home-5", kind="sos", device="b5", opened=T0,
                    claimed_after=60 * S, outcome="test", seq=6)  # 60 s exactly is in time
    # Not in the report: maintenance, before the period, at its (exclusive) end.
    await _incident(pool, resident=None, site="home-5", kind="maintenance", device="s5", opened=T0,
                    claimed_after=None, outcome=None, route="maintenance", seq=7)
    await _incident(pool, resident="r1", site="home-1", kind="sos", device="b1",
                    opened=START - S, claimed_after=10 * S, outcome="genuine", seq=8)
    await _incident(pool, resident="r1", site="home-1", kind="sos", device="b1", opened=END,
                    claimed_after=10 * S, outcome="genuine", seq=9)
    minute = 60 * S
    await _insert(pool, "service_tickets", [
        {"resident_id": "r1", "site_id": "home-1", "type": "meal", "source": "operator",
         "status": "rated", "opened_at": T0, "visit_started_at": T0 + 30 * minute},
        {"resident_id": "r1", "site_id": "home-1", "type": "meal", "source": "operator",
         "status": "visit_finished", "opened_at": T0 + D, "visit_started_at": T0 + D + 60 * minute},
        {"resident_id": "r3", "site_id": "home-2", "type": "repair", "source": "button",
         "status": "cancelled", "opened_at": T0},
        {"resident_id": "r5", "site_id": "home-5", "type": "meal", "source": "family",
         "status": "visit_started", "opened_at": T0, "visit_started_at": T0 + 10 * minute},
        {"resident_id": "r1", "site_id": "home-1", "type": "meal", "source": "operator",
         "status": "rated", "opened_at": START - D, "visit_started_at": START - D + minute}])
    return pool


async def _figures(pool: AsyncConnectionPool, nodes: list[str],
                   start: dt.datetime = START, end: dt.datetime = END,
                   now: dt.datetime = NOW) -> dict[str, rep.Figures]:
    async with pool.connection() as conn:
        tree = {n["id"]: n for n in await store_reports.path_nodes(conn, ALL_NODES)}
        raw = await store_reports.figures(conn, targets=nodes, start=start, end=end, now=now,
                                          rules=rep.RULES)
    return {n: rep.assemble(tree[n], raw[n]) for n in nodes}


def _assert_rolled_up(figures: dict[str, rep.Figures]) -> None:
    paths = {n.id: [n.id] for n in grid()}
    for n in grid():
        if n.parent_id:
            paths[n.id] = [*paths[n.parent_id], n.id]
    for node in ALL_NODES:
        leaves = [c for c in COMMUNITIES if node in paths[c]]
        summed: Counter[str] = Counter()
        for leaf in leaves:
            summed.update(rep.counters(figures[leaf]))
        assert rep.counters(figures[node]) == {k: v for k, v in summed.items() if v}, node


async def test_every_node_is_the_sum_of_its_communities(small: AsyncConnectionPool) -> None:
    figures = await _figures(small, ALL_NODES)
    _assert_rolled_up(figures)
    assert figures["city-01"].incidents.total == 6  # and so the sums were not all zeros


async def test_the_roll_up_holds_on_a_seeded_random_district(pool: AsyncConnectionPool) -> None:
    district = District.generate(seed=11, homes=60, care_homes=2)
    async with pool.connection() as conn:
        await registry.seed(conn, district.rows())
    rng = np.random.default_rng(5)
    outcomes = ("genuine", "false_alarm", "test", "accidental", "no_answer_escalated",
                "device_fault", None)
    by_resident: dict[str, list[Any]] = {}
    for d in district.devices:
        if d.resident_id:
            by_resident.setdefault(d.resident_id, []).append(d)
    seq = 0
    for r in district.residents:
        for _ in range(int(rng.integers(0, 4))):
            seq += 1
            devices = by_resident.get(r.id, [])
            device = devices[int(rng.integers(len(devices)))].id if devices else None
            opened = START - 3 * D + float(rng.uniform(0, 34)) * D
            claimed = None if rng.random() < 0.1 else float(rng.exponential(70)) * S
            outcome = outcomes[int(rng.integers(len(outcomes)))]
            await _incident(pool, resident=r.id, site=r.site_id,
                            kind=("sos", "fall", "inactivity")[int(rng.integers(3))],
                            device=device, opened=opened, claimed_after=claimed, outcome=outcome,
                            seq=seq)
        for _ in range(int(rng.integers(0, 3))):
            opened = START + float(rng.uniform(0, 28)) * D
            visited = None if rng.random() < 0.3 else opened + float(rng.exponential(3600)) * S
            await _insert(pool, "service_tickets", [{
                "resident_id": r.id, "site_id": r.site_id,
                "type": rep.TICKET_TYPES[int(rng.integers(len(rep.TICKET_TYPES)))],
                "source": "operator", "opened_at": opened, "visit_started_at": visited,
                "status": ("open", "visit_finished", "rated", "cancelled")[int(rng.integers(4))]}])
    async with pool.connection() as conn:
        for d in district.devices:
            await conn.execute(
                "UPDATE devices SET last_checkin = %s, online = %s WHERE id = %s",
                (NOW - float(rng.exponential(20)) * H, bool(rng.random() > 0.1), d.id))
    figures = await _figures(pool, ALL_NODES)
    _assert_rolled_up(figures)
    city = figures["city-01"]
    assert city.incidents.total > 50 and city.tickets.opened > 30
    assert 0 < city.coverage.covered < city.coverage.residents == len(district.residents)
    assert len(city.false_alarms.by_model) >= 2


async def test_hand_computed_figures(small: AsyncConnectionPool) -> None:
    f = await _figures(small, ["city-01", "dist-01", "cm-01", "cm-02", "cm-04"])
    city = f["city-01"]
    assert (city.incidents.total, city.incidents.open) == (6, 1)
    kinds = {k.kind: (k.total, k.open, {o: n for o, n in k.outcomes.items() if n})
             for k in city.incidents.by_kind}
    assert kinds == {"sos": (4, 1, {"genuine": 1, "accidental": 1, "test": 1}),
                     "fall": (1, 0, {"false_alarm": 1}), "smoke": (1, 0, {"false_alarm": 1})}
    assert asdict(city.answer) == {"incidents": 6, "within_60s": 3, "within_180s": 4,
                                   "unanswered": 1, "waiting_60s": 0, "waiting_180s": 0,
                                   "answered_60s": 0.5, "answered_180s": 0.667,
                                   "median_answer_s": 60.0}  # of 30, 45, 60, 90, 200
    models = {(m.kind, m.model): (m.resolved, m.false_alarms, m.rate)
              for m in city.false_alarms.by_model}
    assert models == {("button", "BTN-A"): (3, 1, 0.333), ("wearable", "W-1"): (1, 1, 1.0),
                      ("smoke", "SMK-1"): (1, 1, 1.0)}
    assert (city.false_alarms.resolved, city.false_alarms.false_alarms,
            city.false_alarms.rate) == (5, 3, 0.6)
    meal = next(t for t in city.tickets.by_type if t.type == "meal")
    repair = next(t for t in city.tickets.by_type if t.type == "repair")
    assert asdict(meal) == {"type": "meal", "opened": 3, "done": 2, "cancelled": 0, "visited": 3,
                            "median_to_visit_s": 1800.0}
    assert (repair.opened, repair.cancelled, repair.visited, repair.median_to_visit_s) == (1, 1, 0, None)
    assert city.needs == {"high_age": 3, "empty_nest": 1, "living_alone": 1, "disabled": 1,
                          "partly_disabled": 0, "low_income": 1, "five_guarantee": 0}
    assert [(s.care_setting, s.residents, s.covered) for s in city.care_settings] == [
        ("home", 4, 1), ("day_care", 0, 0), ("care_home", 1, 1)]

    cm1 = f["cm-01"]
    assert (cm1.answer.incidents, cm1.answer.within_60s, cm1.answer.within_180s,
            cm1.answer.median_answer_s) == (3, 1, 2, 90.0)
    assert next(t for t in cm1.tickets.by_type if t.type == "meal").median_to_visit_s == 2700.0
    assert f["cm-02"].answer.answered_60s == 0.0 and f["cm-02"].answer.median_answer_s is None
    assert f["cm-04"].answer.answered_60s is None and f["cm-04"].coverage.share is None
    assert f["dist-01"].incidents.total == 5


@pytest.mark.parametrize("now", [NOW, T0 + 3 * D + 100 * S])
async def test_answer_shares_agree_with_the_supervisor_kpis(small: AsyncConnectionPool,
                                                             now: dt.datetime) -> None:
    f = await _figures(small, ["city-01"], now=now)
    async with small.connection() as conn:
        board = kpis.compute(await store_incidents.kpi_rows(conn, START, END), now=now)["overall"]
    answer = f["city-01"].answer
    assert (answer.incidents, answer.answered_60s, answer.answered_180s, answer.unanswered,
            answer.waiting_60s, answer.waiting_180s, answer.median_answer_s) == (
        board["incidents"], board["answered_60s"], board["answered_180s"], board["unanswered"],
        board["waiting_60s"], board["waiting_180s"], board["median_answer_s"])


async def test_a_call_not_yet_due_is_not_counted_late(small: AsyncConnectionPool) -> None:
    """The unanswered SOS of T0 + 3 days, 100 s after it opened: late against 60 s, not yet
    against 180 s (before, it counted as late against both)."""
    answer = (await _figures(small, ["city-01"], now=T0 + 3 * D + 100 * S))["city-01"].answer
    assert (answer.unanswered, answer.waiting_60s, answer.waiting_180s) == (1, 0, 1)
    assert (answer.answered_60s, answer.answered_180s) == (0.5, 0.8)  # 3 of 6; 4 of 5


async def test_coverage_and_the_devices_not_reporting(small: AsyncConnectionPool) -> None:
    f = await _figures(small, ["city-01", "dist-01", "dist-02", "cm-01", "cm-02", "cm-03", "cm-05"])
    assert [(n, f[n].coverage.residents, f[n].coverage.covered, f[n].coverage.not_reporting)
            for n in f] == [("city-01", 5, 2, 4), ("dist-01", 4, 2, 2), ("dist-02", 1, 0, 2),
                            ("cm-01", 2, 1, 1), ("cm-02", 1, 0, 1), ("cm-03", 1, 1, 0),
                            ("cm-05", 1, 0, 2)]
    assert f["city-01"].coverage.share == 0.4
    async with small.connection() as conn:
        rows = await store_reports.silent_devices(conn, node_id="city-01", now=NOW,
                                                  rules=rep.RULES, limit=200)
        capped = await store_reports.silent_devices(conn, node_id="city-01", now=NOW,
                                                    rules=rep.RULES, limit=2)
        street = await store_reports.silent_devices(conn, node_id="st-01", now=NOW,
                                                    rules=rep.RULES, limit=200)
    assert [(r["device_id"], r["problem"], r["resident_name"]) for r in rows] == [
        ("b5", "no_checkin", "<b>Five</b>"),  # never heard from: first
        ("s5", "no_checkin", None), ("b3", "offline", "Three"), ("w2", "no_checkin", "Two")]
    assert [r["device_id"] for r in capped] == ["b5", "s5"]
    assert [r["device_id"] for r in street] == ["b3", "w2"]  # cm-01 and cm-02


async def _report(pool: AsyncConnectionPool, node_id: str) -> rep.Report:
    async with pool.connection() as conn:
        node = await store_reports.node(conn, node_id)
        kids = await store_reports.children(conn, node_id)
        raw = await store_reports.figures(conn, targets=[node_id, *(k["id"] for k in kids)],
                                          start=START, end=END, now=NOW, rules=rep.RULES)
        silent = await store_reports.silent_devices(conn, node_id=node_id, now=NOW,
                                                    rules=rep.RULES, limit=200)
        above = await store_reports.path_nodes(conn, node["path"][:-1])
    return rep.build(node=node, above=above, children=kids, raw=raw, silent=silent,
                     period_from=START, period_to=END, tz="Asia/Shanghai", generated_at=NOW)


async def test_the_csv_parses_back_to_the_same_numbers(small: AsyncConnectionPool) -> None:
    report = await _report(small, "dist-01")
    text = report_csv.render_csv(report, lang="zh-CN")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert tuple(rows[0]) == report_csv.CSV_COLUMNS

    def value(section: str, node: str, measure: str, item: str = "") -> str:
        [found] = [r["value"] for r in rows if (r["section"], r["node_id"], r["measure"],
                                                r["item"]) == (section, node, measure, item)]
        return found

    assert value("report", "dist-01", "period_from") == "2026-02-01T08:00:00+08:00"
    for f in (report.totals, *report.children):
        got = {}
        for key in rep.counters(f):
            section, *rest = key.split(".")
            if len(rest) == 2:  # per item: kind, model, ticket type, care setting
                got[key] = int(value(section, f.id, rest[1], rest[0]))
            elif section == "need":
                got[key] = int(value("need", f.id, "residents", rest[0]))
            else:
                got[key] = int(value(section, f.id, rest[0]))
        assert got == rep.counters(f), f.id
        assert value("answer", f.id, "answered_60s") == ("" if f.answer.answered_60s is None
                                                         else str(f.answer.answered_60s))
    assert sorted(c.id for c in report.children) == ["st-01", "st-02"]  # in name order
    assert value("not_reporting", "dist-01", "total") == "2"
    assert value("not_reporting", "dist-01", "resident", "w2") == "Two"
    assert any(r["label"] == "60 秒内接听率" for r in rows)


async def test_the_printable_page_has_charts_and_speaks_the_readers_language(
        small: AsyncConnectionPool) -> None:
    report = await _report(small, "city-01")
    zh = render_html(report, lang="zh-CN")
    en = render_html(report, lang="en")
    for page in (zh, en):
        assert page.startswith("<!doctype html>") and "@media print" in page and "size: A4" in page
        assert page.count("<svg") >= 4 and "<script" not in page.lower()
        assert "&lt;b&gt;Five&lt;/b&gt;" in page and "<b>Five" not in page  # escaped
        assert "2026-02-01 08:00" in page  # the period in the reader's zone (UTC+8)
    assert '<html lang="zh-CN">' in zh and "服务统计报表" in zh and "60 秒内接听率" in zh
    assert "Service report" not in zh
    assert '<html lang="en">' in en and "Service report" in en and "服务统计报表" not in en
    assert "示范市" in en  # names are data, never translated


async def test_the_centre_is_timed_from_when_a_family_first_alarm_reached_it(
        small: AsyncConnectionPool) -> None:
    """Two family-first SOS calls of r1's: one the family took (it never reached the centre:
    not counted), one the centre got when the 120 s family window ended and claimed 30 s later
    (answered within 60 s, not 150 s late). The report and the supervisor's board agree."""
    before = (await _figures(small, ["city-01"]))["city-01"].answer
    taken = await _incident(small, resident="r1", site="home-1", kind="sos", device="b1",
                            opened=T0 + 5 * D, claimed_after=10 * S, outcome="false_alarm",
                            route="family_first", seq=901)
    reached = await _incident(small, resident="r1", site="home-1", kind="sos", device="b1",
                              opened=T0 + 6 * D, claimed_after=150 * S, outcome="genuine",
                              route="family_first", seq=902)
    async with small.connection() as conn:
        await conn.execute("UPDATE incidents SET route = 'centre', centre_from = opened_at + %s"
                           " WHERE id = %s", (120 * S, reached))
        rows = await (await conn.execute("SELECT id, centre_from FROM incidents WHERE id = ANY(%s)"
                                         " ORDER BY id", ([taken, reached],))).fetchall()
    assert rows[0]["centre_from"] is None  # the trigger leaves a family-first opening alone
    after = (await _figures(small, ["city-01"]))["city-01"].answer
    assert after.incidents == before.incidents + 1
    assert (after.within_60s, after.within_180s) == (before.within_60s + 1, before.within_180s + 1)
    async with small.connection() as conn:
        board = kpis.compute(await store_incidents.kpi_rows(conn, START, END), now=NOW)["overall"]
    assert (board["incidents"], board["answered_60s"]) == (after.incidents, after.answered_60s)
