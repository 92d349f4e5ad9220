"""Service tickets in PostgreSQL: opening (idempotent for a button's press), guarded steps with
their timeline, one ticket, listings by scope, and the provider areas that cover a ticket.
SQL only; the lifecycle and the routing policy are alerts.services'.

Every change is announced with ``NOTIFY tickets`` (never on the ``alarms`` channel: a ticket is
not an emergency), delivered by PostgreSQL only on commit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from store.errors import Conflict, NotFound
from store.org import inside

log = logging.getLogger(__name__)

TICKET_CHANNEL = "tickets"


@dataclass(frozen=True, slots=True, kw_only=True)
class NewTicket:
    resident_id: str
    site_id: str | None
    """None: the resident's site."""
    type: str
    source: str  # button, operator, staff, family
    notes: str = ""
    requested_for: dt.datetime | None = None
    device_id: str | None = None
    source_seq: int | None = None
    """With ``device_id``, the press that opened it: a redelivered press opens nothing new."""
    opened_by: str = ""
    pressed_at: dt.datetime | None = None
    said_ms: int | None = None
    """For a press, the time its device said (ms): a redelivery says the same; a new press
    under a seq the device used before (a counter gone back) does not, and opens a ticket of
    its own (:func:`insert`)."""


_VIEW = """
SELECT t.id, t.resident_id, p.name AS resident_name, s.address, t.site_id, t.node_id,
       n.name AS node_name, coalesce(n.path, '{}') AS node_path, t.type, t.source, t.status,
       t.provider_id, v.name AS provider_name, t.notes, t.requested_for, t.device_id,
       t.opened_by, t.opened_at, t.assigned_at, t.accepted_at, t.accepted_by,
       t.visit_started_at, t.visit_start_lat, t.visit_start_lon, t.visit_finished_at,
       t.visit_finish_lat, t.visit_finish_lon, t.visit_by, t.rating, t.rating_comment,
       t.rated_by, t.rated_at, t.cancelled_at, t.cancel_reason,
       away.name AS away_at, away.ends_at AS away_until, away.by_family AS away_by_family
FROM service_tickets t JOIN residents p ON p.id = t.resident_id JOIN sites s ON s.id = t.site_id
LEFT JOIN org_nodes n ON n.id = t.node_id LEFT JOIN service_providers v ON v.id = t.provider_id
LEFT JOIN LATERAL (SELECT rp.name, rp.ends_at, rp.by_family FROM resident_places rp
    WHERE rp.resident_id = t.resident_id AND rp.ends_at IS NOT NULL
      AND rp.changed_at <= coalesce(t.requested_for, now())
      AND rp.ends_at > coalesce(t.requested_for, now())
    ORDER BY rp.ends_at DESC LIMIT 1) away ON true
"""
"""``away_at`` / ``away_until``: the stay (a safe place with an end, migration 0032; most are
set by the family: "Mum is with me until Sunday") the resident is on when the visit is wanted
(``requested_for``, else now): whoever goes to the address would find nobody in, so they
phone first."""


async def _notify(conn: psycopg.AsyncConnection[Any], ticket_id: int, op: str) -> None:
    await conn.execute("SELECT pg_notify(%s, %s)",
                       (TICKET_CHANNEL, json.dumps({"id": ticket_id, "op": op})))


async def insert(conn: psycopg.AsyncConnection[Any], ticket: NewTicket) -> int | None:
    """Inside the caller's transaction: open a ticket; None if this press already opened one.
    A press under a seq its device used before for another press (a counter gone back, a
    factory reset: against the contract) opens its own ticket, keyed by minus the time its
    device said (a device's seq is never negative), with ``seq_reused`` in its opening; until
    2026-12-07 it was taken for a redelivery and the elder's request was lost."""
    opened = await _insert(conn, ticket)
    if opened is not None or ticket.device_id is None or ticket.said_ms is None \
            or ticket.source_seq is None or ticket.source_seq < 0:
        return opened
    cur = await conn.execute(
        "SELECT tl.details ->> 'said_ms' AS said FROM service_tickets t"
        " JOIN service_ticket_timeline tl ON tl.ticket_id = t.id AND tl.action = 'opened'"
        " WHERE t.device_id = %s AND t.source_seq = %s", (ticket.device_id, ticket.source_seq))
    row = await cur.fetchone()
    said = None if row is None else (row["said"] if isinstance(row, dict) else row[0])
    if said is None or int(said) == ticket.said_ms:
        return None  # the same press delivered again (or one stored before its time was kept)
    log.warning("service press from %s reuses seq %d: a ticket of its own", ticket.device_id,
                ticket.source_seq)
    return await _insert(conn, dataclasses.replace(ticket, source_seq=-ticket.said_ms),
                         reused=ticket.source_seq)


async def _insert(conn: psycopg.AsyncConnection[Any], ticket: NewTicket, *,
                  reused: int | None = None) -> int | None:
    cur = await conn.execute(
        "INSERT INTO service_tickets (resident_id, site_id, type, source, notes, requested_for,"
        " device_id, source_seq, opened_by) VALUES (%(resident)s,"
        " coalesce(%(site)s, (SELECT site_id FROM residents WHERE id = %(resident)s)),"
        " %(type)s, %(source)s, %(notes)s, %(requested_for)s, %(device)s, %(seq)s, %(by)s)"
        " ON CONFLICT (device_id, source_seq) DO NOTHING RETURNING id",
        {"resident": ticket.resident_id, "site": ticket.site_id, "type": ticket.type,
         "source": ticket.source, "notes": ticket.notes, "requested_for": ticket.requested_for,
         "device": ticket.device_id, "seq": ticket.source_seq, "by": ticket.opened_by})
    row = await cur.fetchone()
    if row is None:
        return None
    ticket_id = int(row["id"] if isinstance(row, dict) else row[0])
    details: dict[str, Any] = {"type": ticket.type, "source": ticket.source}
    if ticket.device_id is not None:
        details |= {"device_id": ticket.device_id, "source_seq": ticket.source_seq}
    if ticket.pressed_at is not None:
        details["pressed_at"] = ticket.pressed_at.isoformat()
    if ticket.said_ms is not None:
        details["said_ms"] = ticket.said_ms
    if reused is not None:
        details["seq_reused"] = reused
    await conn.execute(
        "INSERT INTO service_ticket_timeline (ticket_id, actor, action, to_status, details)"
        " VALUES (%s, %s, 'opened', 'open', %s)",
        (ticket_id, ticket.opened_by or "system", Jsonb(details)))
    await _notify(conn, ticket_id, "new")
    return ticket_id


async def ticket(conn: psycopg.AsyncConnection[Any], ticket_id: int) -> dict[str, Any]:
    cur = await conn.execute(_VIEW + " WHERE t.id = %s", (ticket_id,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no service ticket {ticket_id}")
    return dict(row)


async def timeline(conn: psycopg.AsyncConnection[Any], ticket_id: int) -> list[dict[str, Any]]:
    cur = await conn.execute(
        "SELECT at, actor, action, to_status, details FROM service_ticket_timeline"
        " WHERE ticket_id = %s ORDER BY id", (ticket_id,))
    return [dict(r) for r in await cur.fetchall()]


async def listing(conn: psycopg.AsyncConnection[Any], *, node_id: str | None = None,
                  site_id: str | None = None, resident_id: str | None = None,
                  provider_id: str | None = None, status: Sequence[str] = (),
                  ticket_type: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    """Newest first, narrowed by every filter given (``node_id``: its whole subtree)."""
    where: list[sql.Composable] = [sql.SQL("true")]
    if node_id is not None:
        where.append(inside("t.node_id"))
    for column, key, value in (("t.site_id", "site", site_id),
                               ("t.resident_id", "resident", resident_id),
                               ("t.provider_id", "provider", provider_id),
                               ("t.type", "type", ticket_type)):
        if value is not None:
            where.append(sql.SQL("{} = {}").format(sql.SQL(column), sql.Placeholder(key)))
    if status:
        where.append(sql.SQL("t.status = ANY(%(status)s)"))
    query = sql.SQL("{} WHERE {} ORDER BY t.opened_at DESC, t.id DESC LIMIT %(limit)s").format(
        sql.SQL(_VIEW), sql.SQL(" AND ").join(where))
    cur = await conn.execute(query, {
        "node": node_id, "site": site_id, "resident": resident_id, "provider": provider_id,
        "type": ticket_type, "status": list(status), "limit": limit})
    return [dict(r) for r in await cur.fetchall()]


async def change(conn: psycopg.AsyncConnection[Any], ticket_id: int, *, allowed: Sequence[str],
                 sets: dict[str, Any], actor: str, action: str,
                 details: dict[str, Any] | None = None,
                 provider_id: str | None = None) -> dict[str, Any]:
    """Apply ``sets`` if the ticket is in one of the ``allowed`` states (and, when given, assigned
    to ``provider_id``), and append the step to its timeline and the audit trail, in one
    transaction (a savepoint inside the caller's). Of two concurrent steps exactly one wins."""
    assignments = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder(k)) for k in sets)
    condition: sql.Composable = sql.SQL("id = %(id)s AND status = ANY(%(allowed)s)")
    if provider_id is not None:
        condition = sql.SQL("{} AND provider_id = %(provider)s").format(condition)
    query = sql.SQL("UPDATE service_tickets SET {} WHERE {} RETURNING status").format(
        assignments, condition)
    async with conn.transaction():
        await conn.execute("SELECT 1 FROM service_tickets WHERE id = %s FOR UPDATE", (ticket_id,))
        cur = await conn.execute(query, {**sets, "id": ticket_id, "allowed": list(allowed),
                                         "provider": provider_id})
        row = await cur.fetchone()
        if row is None:
            current = await ticket(conn, ticket_id)  # raises NotFound
            if provider_id is not None and current["provider_id"] != provider_id:
                raise Conflict(f"service ticket {ticket_id} is no longer assigned to"
                               f" {provider_id}; cannot {action}")
            raise Conflict(f"service ticket {ticket_id} is {current['status']}; cannot {action}"
                           f" (only from {', '.join(allowed)})")
        await conn.execute(
            "INSERT INTO service_ticket_timeline (ticket_id, actor, action, to_status, details)"
            " VALUES (%s, %s, %s, %s, %s)",
            (ticket_id, actor, action, row["status"], Jsonb(details or {})))
        await conn.execute(
            "INSERT INTO audit (actor, action, target, details) VALUES (%s, %s, %s, %s)",
            (actor, f"ticket_{action}", f"service_ticket:{ticket_id}", Jsonb(details or {})))
        await _notify(conn, ticket_id, "update")
    return await ticket(conn, ticket_id)


async def covering(conn: psycopg.AsyncConnection[Any], ticket_id: int) -> list[dict[str, Any]]:
    """Every provider area containing the ticket's node: the routing policy's candidates, with
    the area's depth in the grid and the provider's open tickets."""
    cur = await conn.execute(
        "SELECT t.type AS ticket_type, p.id AS provider_id, p.types, p.active,"
        " array_length(a.path, 1) AS depth,"
        " (SELECT count(*) FROM service_tickets o WHERE o.provider_id = p.id"
        "   AND o.status IN ('assigned', 'accepted', 'visit_started')) AS open_tickets"
        " FROM service_tickets t JOIN org_nodes tn ON tn.id = t.node_id"
        " JOIN provider_areas pa ON pa.node_id = ANY(tn.path)"
        " JOIN org_nodes a ON a.id = pa.node_id"
        " JOIN service_providers p ON p.id = pa.provider_id"
        " WHERE t.id = %s ORDER BY p.id", (ticket_id,))
    return [dict(r) for r in await cur.fetchall()]
