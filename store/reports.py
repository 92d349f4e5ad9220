"""SQL for the grid reports (issue 9): raw figures per grid node for a period [start, end).

Every figure is computed for each requested node with the path predicate: a row belongs to node
X when X is on the path of the row's own node (``org_nodes.path @> ARRAY[X]``, the GIN-indexable
form of ``X = ANY(path)``). Rows are stamped with community nodes (migration 0010), so a node's
counters are the sums of its communities' — ``tests/alerts/test_reports.py`` checks this for
every node and every counter. Medians are computed per node here too, since they do not add up.

Rules (which outcomes are false alarms, check-in limits, which device kinds protect an elder) come
in as arguments from ``alerts/reports.py``; this module only counts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from store.errors import NotFound


@dataclass(frozen=True, slots=True, kw_only=True)
class Rules:
    """What the counting needs to know; decided in ``alerts/reports.py``."""

    answer_limits_s: tuple[float, float]
    false_outcomes: tuple[str, ...]
    done_statuses: tuple[str, ...]
    coverage_kinds: tuple[str, ...]
    checkin_limits: tuple[tuple[str, str, float], ...]
    """(device kind, site kind, seconds of silence allowed); a pair not listed is not supervised."""
    high_age: int


_NODE = "SELECT id, parent_id, level, name, path FROM org_nodes"

# The nodes asked for, joined to every row whose node lies under them. ``{row}`` is the column
# holding the row's own node.
_UNDER = ("JOIN org_nodes rn ON rn.id = {row}"
          " JOIN unnest(%(targets)s::text[]) AS t(id) ON rn.path @> ARRAY[t.id]")

_INCIDENTS_FROM = "FROM incidents i " + _UNDER.format(row="i.node_id")
_INCIDENTS_WHERE = (" WHERE i.opened_at >= %(start)s AND i.opened_at < %(end)s"
                    " AND i.route <> 'maintenance'")
_INCIDENTS = _INCIDENTS_FROM + _INCIDENTS_WHERE

_LIMITS = ("JOIN unnest(%(limit_kinds)s::text[], %(limit_sites)s::text[], %(limit_s)s::float8[])"
           " AS l(kind, site_kind, seconds) ON l.kind = d.kind AND l.site_kind = s.kind")

# A device heard from (any message; the device-health detector's rule) within its limit.
_HEARD = "GREATEST(d.last_checkin, d.last_seen)"

_QUERIES: dict[str, str] = {
    "incidents": (
        "SELECT t.id AS node, i.kind, coalesce(i.outcome, 'open') AS outcome, count(*) AS n "
        + _INCIDENTS + " GROUP BY 1, 2, 3"),
    "answer": (
        "SELECT t.id AS node, count(*) FILTER (WHERE i.centre_from IS NOT NULL) AS incidents,"
        " count(*) FILTER (WHERE extract(epoch FROM i.first_claimed_at - i.centre_from)"
        "                  <= %(limit_a)s) AS within_a,"
        " count(*) FILTER (WHERE extract(epoch FROM i.first_claimed_at - i.centre_from)"
        "                  <= %(limit_b)s) AS within_b,"
        " count(*) FILTER (WHERE i.first_claimed_at IS NULL AND i.centre_from IS NOT NULL)"
        " AS unanswered,"
        # unanswered, but not for longer than the limit yet: not late yet (alerts/kpis.py)
        " count(*) FILTER (WHERE i.first_claimed_at IS NULL"
        "                  AND extract(epoch FROM %(now)s - i.centre_from) <= %(limit_a)s) AS waiting_a,"
        " count(*) FILTER (WHERE i.first_claimed_at IS NULL"
        "                  AND extract(epoch FROM %(now)s - i.centre_from) <= %(limit_b)s) AS waiting_b,"
        " percentile_cont(0.5) WITHIN GROUP"
        "   (ORDER BY extract(epoch FROM i.first_claimed_at - i.centre_from)) AS median_answer_s "
        + _INCIDENTS + " GROUP BY 1"),
    # The model of the device whose alarm opened the incident (its lowest alarm id).
    "models": (
        "SELECT t.id AS node, coalesce(d.kind, '') AS kind, coalesce(d.model, '') AS model,"
        " count(*) AS resolved,"
        " count(*) FILTER (WHERE i.outcome = ANY(%(false_outcomes)s)) AS false_alarms "
        + _INCIDENTS_FROM +
        " LEFT JOIN LATERAL (SELECT a.device_id FROM alarms a WHERE a.incident_id = i.id"
        "   ORDER BY a.id LIMIT 1) fa ON true LEFT JOIN devices d ON d.id = fa.device_id"
        + _INCIDENTS_WHERE + " AND i.status = 'resolved' GROUP BY 1, 2, 3"),
    # Residents in the node now, by care setting, and how many have a working emergency device.
    "settings": (
        "WITH working AS (SELECT DISTINCT d.resident_id FROM devices d"
        "   JOIN sites s ON s.id = d.site_id " + _LIMITS +
        "   WHERE d.resident_id IS NOT NULL AND d.kind = ANY(%(coverage_kinds)s)"
        "     AND d.retired_at IS NULL AND d.online IS NOT FALSE"
        "     AND " + _HEARD + " >= %(now)s - l.seconds * interval '1 second')"
        " SELECT t.id AS node, r.care_setting, count(*) AS residents,"
        " count(w.resident_id) AS covered"
        " FROM residents r " + _UNDER.format(row="r.node_id") +
        " LEFT JOIN working w ON w.resident_id = r.id GROUP BY 1, 2"),
    # A resident counts once per category; high age is also 80 or older this year (not stored).
    "needs": (
        "SELECT t.id AS node, x.need, count(*) AS residents FROM residents r "
        + _UNDER.format(row="r.node_id") +
        " CROSS JOIN LATERAL (SELECT unnest(r.needs) UNION"
        "   SELECT 'high_age' WHERE r.birth_year <= %(year)s - %(high_age)s) AS x(need)"
        " GROUP BY 1, 2"),
    "tickets": (
        "SELECT t.id AS node, st.type, count(*) AS opened,"
        " count(*) FILTER (WHERE st.status = ANY(%(done_statuses)s)) AS done,"
        " count(*) FILTER (WHERE st.status = 'cancelled') AS cancelled,"
        " count(st.visit_started_at) AS visited,"
        " percentile_cont(0.5) WITHIN GROUP"
        "   (ORDER BY extract(epoch FROM st.visit_started_at - st.opened_at)) AS median_to_visit_s"
        " FROM service_tickets st " + _UNDER.format(row="st.node_id") +
        " WHERE st.opened_at >= %(start)s AND st.opened_at < %(end)s GROUP BY 1, 2"),
}

# Supervised devices not heard from within their limit (or offline), placed at their resident's
# node, else their site's. A device never heard from is measured from its registration.
_SILENT = (
    "SELECT d.id AS device_id, d.kind, d.model, d.site_id, s.name AS site_name,"
    " r.name AS resident_name, " + _HEARD + " AS last_checkin,"
    " CASE WHEN d.online IS FALSE THEN 'offline' ELSE 'no_checkin' END AS problem,"
    " coalesce(r.node_id, s.node_id) AS node_id"
    " FROM devices d JOIN sites s ON s.id = d.site_id " + _LIMITS +
    " LEFT JOIN residents r ON r.id = d.resident_id"
    " WHERE d.retired_at IS NULL AND (d.online IS FALSE OR"
    "   coalesce(" + _HEARD + ", d.registered_at) < %(now)s - l.seconds * interval '1 second')")


async def node(conn: psycopg.AsyncConnection[Any], node_id: str) -> dict[str, Any]:
    cur = await conn.execute(_NODE + " WHERE id = %s", (node_id,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no org node {node_id}")
    return dict(row)


async def children(conn: psycopg.AsyncConnection[Any], node_id: str) -> list[dict[str, Any]]:
    cur = await conn.execute(_NODE + " WHERE parent_id = %s ORDER BY name, id", (node_id,))
    return [dict(r) for r in await cur.fetchall()]


async def path_nodes(conn: psycopg.AsyncConnection[Any], ids: Sequence[str]) -> list[dict[str, Any]]:
    """The nodes named in ``ids`` (a path), in that order."""
    cur = await conn.execute(_NODE + " WHERE id = ANY(%s)", (list(ids),))
    by_id = {r["id"]: dict(r) for r in await cur.fetchall()}
    return [by_id[i] for i in ids if i in by_id]


def _args(targets: Sequence[str], start: dt.datetime, end: dt.datetime, now: dt.datetime,
          rules: Rules) -> dict[str, Any]:
    return {
        "targets": list(targets), "start": start, "end": end, "now": now,
        "year": now.astimezone(dt.UTC).year, "high_age": rules.high_age,
        "limit_a": rules.answer_limits_s[0], "limit_b": rules.answer_limits_s[1],
        "false_outcomes": list(rules.false_outcomes), "done_statuses": list(rules.done_statuses),
        "coverage_kinds": list(rules.coverage_kinds),
        "limit_kinds": [k for k, _, _ in rules.checkin_limits],
        "limit_sites": [s for _, s, _ in rules.checkin_limits],
        "limit_s": [float(v) for _, _, v in rules.checkin_limits],
    }


async def figures(conn: psycopg.AsyncConnection[Any], *, targets: Sequence[str],
                  start: dt.datetime, end: dt.datetime, now: dt.datetime,
                  rules: Rules) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """For each node in ``targets``: its raw rows per figure (``incidents``, ``answer``,
    ``models``, ``settings``, ``needs``, ``tickets``, ``silent``: a count). Incidents and tickets
    are those opened in [start, end); residents and devices are as they are at ``now``."""
    args = _args(targets, start, end, now, rules)
    out: dict[str, dict[str, list[dict[str, Any]]]] = {
        t: {name: [] for name in (*_QUERIES, "silent")} for t in targets}
    for name, query in _QUERIES.items():
        for found in await (await conn.execute(query, args)).fetchall():
            row = dict(found)
            out[row.pop("node")][name].append(row)
    silent = ("SELECT t.id AS node, count(*) AS devices FROM (" + _SILENT + ") x "
              + _UNDER.format(row="x.node_id") + " GROUP BY 1")
    for row in await (await conn.execute(silent, args)).fetchall():
        out[row["node"]]["silent"].append({"devices": row["devices"]})
    return out


async def silent_devices(conn: psycopg.AsyncConnection[Any], *, node_id: str, now: dt.datetime,
                         rules: Rules, limit: int) -> list[dict[str, Any]]:
    """The supervised devices under ``node_id`` not heard from in time, longest silent first."""
    args = _args([node_id], now, now, now, rules) | {"limit": limit}
    cur = await conn.execute(
        "SELECT x.device_id, x.kind, x.model, x.site_id, x.site_name, x.resident_name,"
        " x.last_checkin, x.problem, x.node_id FROM (" + _SILENT + ") x "
        + _UNDER.format(row="x.node_id") +
        " ORDER BY x.last_checkin NULLS FIRST, x.device_id LIMIT %(limit)s", args)
    return [dict(r) for r in await cur.fetchall()]


async def record_export(conn: psycopg.AsyncConnection[Any], *, actor: str, node_id: str,
                        details: dict[str, Any]) -> None:
    """One audit row per exported report (CSV or printable HTML)."""
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO audit (actor, action, target, details) VALUES (%s, 'export_report', %s, %s)",
            (actor, f"node:{node_id}", Jsonb(details)))
