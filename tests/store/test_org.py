"""The grid in the database: paths kept by PostgreSQL, levels enforced, moves recorded, and
incidents stamped with the node their resident was in when they opened."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from store import org, registry
from store.errors import Invalid

pytestmark = pytest.mark.db


async def _grid(conn: psycopg.AsyncConnection[Any]) -> None:
    await org.add(conn, id="c", level="city", name="City")
    await org.add(conn, id="d1", parent_id="c", level="district", name="D1")
    await org.add(conn, id="s1", parent_id="d1", level="street", name="S1")
    await org.add(conn, id="s2", parent_id="d1", level="street", name="S2")
    await org.add(conn, id="m1", parent_id="s1", level="community", name="M1")
    await org.add(conn, id="m2", parent_id="s2", level="community", name="M2")
    await registry.seed(conn, {
        "sites": [{"id": "home-1", "kind": "home", "name": "H1", "node_id": "m1"},
                  {"id": "care-1", "kind": "care_home", "name": "C1", "node_id": "m2"}],
        "residents": [{"id": "r1", "site_id": "home-1", "name": "R1"}],
        "devices": [{"id": "b1", "site_id": "home-1", "kind": "button", "resident_id": "r1"}],
    })
    await conn.commit()


async def test_paths_are_kept_by_the_database(pool: AsyncConnectionPool) -> None:
    async with pool.connection() as conn:
        await _grid(conn)
        assert (await org.node(conn, "m2"))["path"] == ["c", "d1", "s2", "m2"]
        assert [n["id"] for n in await org.subtree(conn, "s1")] == ["s1", "m1"]
        assert [n["id"] for n in await org.ancestors(conn, "m1")] == ["c", "d1", "s1", "m1"]
        assert await org.contains(conn, "d1", "m2") and not await org.contains(conn, "s1", "m2")


@pytest.mark.parametrize(("node", "message"), [
    ({"id": "x", "level": "district"}, "only a city may be a root"),
    ({"id": "x", "parent_id": "c", "level": "street"}, "a street cannot be placed under a city"),
    ({"id": "x", "parent_id": "nowhere", "level": "street"}, "no parent node nowhere"),
])
async def test_the_grid_refuses_a_misplaced_node(pool: AsyncConnectionPool, node: dict[str, Any],
                                                 message: str) -> None:
    async with pool.connection() as conn:
        await _grid(conn)
        with pytest.raises(Invalid, match=message):
            await org.add(conn, name="X", **node)


async def test_a_node_cannot_be_moved_and_a_site_must_sit_in_a_community(
        pool: AsyncConnectionPool) -> None:
    async with pool.connection() as conn:
        await _grid(conn)
        with pytest.raises(psycopg.errors.RaiseException, match="cannot be moved"):
            await conn.execute("UPDATE org_nodes SET parent_id = 's2' WHERE id = 'm1'")
        await conn.rollback()
        with pytest.raises(psycopg.errors.RaiseException, match="not a community"):
            await conn.execute("UPDATE sites SET node_id = 's1' WHERE id = 'home-1'")
        await conn.rollback()


async def test_a_resident_takes_the_site_s_node_and_care_setting(pool: AsyncConnectionPool) -> None:
    async with pool.connection() as conn:
        await _grid(conn)
        row: Any = await (await conn.execute(
            "SELECT node_id, care_setting FROM residents WHERE id = 'r1'")).fetchone()
        assert row == {"node_id": "m1", "care_setting": "home"}


async def _incident_node(conn: psycopg.AsyncConnection[Any], seq: int) -> str:
    now = dt.datetime.now(dt.UTC)
    row: Any = await (await conn.execute(
        "INSERT INTO incidents (correlation_key, kind, priority, route, site_id, resident_id,"
        " opened_at, last_alarm_at) SELECT %s, 'sos', 1, 'centre', site_id, id, %s, %s"
        " FROM residents WHERE id = 'r1' RETURNING node_id", (f"k{seq}", now, now))).fetchone()
    await conn.commit()
    assert row is not None
    return str(row["node_id"])


async def test_moving_keeps_history_and_past_incidents_stay_where_they_happened(
        pool: AsyncConnectionPool) -> None:
    async with pool.connection() as conn:
        await _grid(conn)
        assert await _incident_node(conn, 1) == "m1"
        await conn.execute("UPDATE incidents SET status = 'resolved', resolved_at = now(),"
                           " outcome = 'genuine'")
        await conn.commit()
        result = await org.move_resident(conn, resident_id="r1", site_id="care-1", node_id=None,
                                         actor="grid1", reason="moved into care")
        assert [(m["from_node"], m["to_node"], m["from_site"], m["to_site"], m["actor"], m["reason"])
                for m in result["moves"]] == [("m1", "m2", "home-1", "care-1", "grid1",
                                               "moved into care")]
        moved: Any = await (await conn.execute(
            "SELECT node_id, care_setting FROM residents WHERE id = 'r1'")).fetchone()
        assert moved == {"node_id": "m2", "care_setting": "care_home"}
        # The old incident stays in m1; the resident's history is still theirs.
        rows: Any = await (await conn.execute(
            "SELECT node_id FROM incidents WHERE resident_id = 'r1'")).fetchall()
        assert [r["node_id"] for r in rows] == ["m1"]
        assert await _incident_node(conn, 2) == "m2"


async def test_moving_to_a_site_that_does_not_exist_is_refused(pool: AsyncConnectionPool) -> None:
    async with pool.connection() as conn:
        await _grid(conn)
        with pytest.raises(Invalid):
            await org.move_resident(conn, resident_id="r1", site_id="nowhere", node_id=None,
                                    actor="a", reason="r")
        assert await org.moves(conn, "r1") == []
