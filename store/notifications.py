"""The notification outbox: who may be told, what waits to be sent, what was delivered.

SQL only; the decisions (recipients, quiet hours, retries, fallback) live in ``alerts/notify.py``.
Rows are plain dicts (the pool's row factory). Times are passed in by the caller, never read from
the database clock, so a test can drive the notifier with a controllable clock.

>>> # async with pool.connection() as conn:
>>> #     rows = await claim_due(conn, now=now, lease_until=now + lease, limit=20)
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
class NewNotification:
    """One outbox row: exactly one of ``contact_id`` and ``webhook_id`` is set, and exactly one
    of ``incident_id`` and ``about`` (what a message of no incident concerns: a stay)."""

    incident_id: int | None = None
    about: str | None = None
    contact_id: int | None = None
    webhook_id: int | None = None
    kind: str
    priority: int
    lang: str
    channels: tuple[str, ...]
    next_attempt_at: dt.datetime
    subject: str
    body: str
    short_text: str
    payload: dict[str, Any]
    status: str = "pending"
    last_error: str | None = None


async def incident_subject(conn: psycopg.AsyncConnection[Any], *, resident_id: str | None,
                           site_id: str) -> dict[str, Any]:
    """The resident's name and the site's time zone, for rendering messages."""
    cur = await conn.execute(
        "SELECT s.id AS site_id, s.name AS site_name, s.tz,"
        " (SELECT r.name FROM residents r WHERE r.id = %s) AS resident_name"
        " FROM sites s WHERE s.id = %s",
        (resident_id, site_id))
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no site {site_id}")
    return dict(row)


async def contacts_with_prefs(conn: psycopg.AsyncConnection[Any], resident_id: str) -> list[dict[str, Any]]:
    """The resident's contacts, closest first; preference columns are NULL where none are set."""
    cur = await conn.execute(
        "SELECT c.id, c.name, c.relation, c.phone, c.email, c.lang, c.priority,"
        " p.kinds, p.channels, p.quiet_start, p.quiet_end, p.tz"
        " FROM contacts c LEFT JOIN notification_prefs p ON p.contact_id = c.id"
        " WHERE c.resident_id = %s ORDER BY c.priority, c.id", (resident_id,))
    return [dict(r) for r in await cur.fetchall()]


async def active_webhooks(conn: psycopg.AsyncConnection[Any], site_id: str) -> list[dict[str, Any]]:
    cur = await conn.execute(
        "SELECT id, lang FROM webhooks WHERE site_id = %s AND active ORDER BY id", (site_id,))
    return [dict(r) for r in await cur.fetchall()]


async def enqueue(conn: psycopg.AsyncConnection[Any], rows: Sequence[NewNotification]) -> list[int]:
    """Insert outbox rows in the caller's transaction; returns the ids of rows that are new.
    A row whose (incident, recipient, kind) exists already is skipped: enqueueing is idempotent."""
    ids: list[int] = []
    for row in rows:
        cur = await conn.execute(
            "INSERT INTO notifications (incident_id, about, contact_id, webhook_id, kind, priority,"
            " lang, channels, status, next_attempt_at, last_error, subject, body, short_text,"
            " payload) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (incident_id, recipient, kind) DO NOTHING RETURNING id",
            (row.incident_id, row.about, row.contact_id, row.webhook_id, row.kind, row.priority,
             row.lang,
             list(row.channels), row.status, row.next_attempt_at, row.last_error, row.subject,
             row.body, row.short_text, Jsonb(row.payload)))
        found = await cur.fetchone()
        if found is not None:
            ids.append(int(found["id"]))
    return ids


_DUE = "status IN ('pending', 'failed', 'sending') AND next_attempt_at <= %(now)s"


async def claim_due(conn: psycopg.AsyncConnection[Any], *, now: dt.datetime, lease_until: dt.datetime,
                    limit: int) -> list[dict[str, Any]]:
    """Take up to ``limit`` due notifications for this process and count the attempt.

    ``FOR UPDATE SKIP LOCKED`` makes concurrent notifiers take disjoint rows; a claimed row is
    ``sending`` until ``lease_until``, after which another notifier may take it (its sender died).
    Each row comes with the address, and for webhooks the URL and secret, as they are *now*.
    """
    async with conn.transaction():
        cur = await conn.execute(
            "WITH due AS (SELECT id FROM notifications WHERE " + _DUE +
            "   ORDER BY priority, next_attempt_at, id LIMIT %(limit)s FOR UPDATE SKIP LOCKED)"
            " UPDATE notifications n SET status = 'sending', next_attempt_at = %(lease)s,"
            "   attempts = n.attempts + 1, total_attempts = n.total_attempts + 1"
            " FROM due WHERE n.id = due.id"
            " RETURNING n.id, n.incident_id, n.contact_id, n.webhook_id, n.kind, n.priority, n.lang,"
            "   n.channels, n.channel_index, n.channel, n.attempts, n.subject, n.body,"
            "   n.short_text, n.payload,"
            "   (SELECT c.phone FROM contacts c WHERE c.id = n.contact_id) AS phone,"
            "   (SELECT c.email FROM contacts c WHERE c.id = n.contact_id) AS email,"
            "   (SELECT w.url FROM webhooks w WHERE w.id = n.webhook_id) AS url,"
            "   (SELECT w.secret FROM webhooks w WHERE w.id = n.webhook_id) AS secret",
            {"now": now, "lease": lease_until, "limit": limit})
        rows = [dict(r) for r in await cur.fetchall()]
    return sorted(rows, key=lambda r: (r["priority"], r["id"]))


async def record_outcome(conn: psycopg.AsyncConnection[Any], notification_id: int, *, claimed_attempts: int,
                         claimed_channel_index: int, status: str, channel_index: int, attempts: int,
                         next_attempt_at: dt.datetime, error: str | None,
                         sent_at: dt.datetime | None = None) -> bool:
    """Write the result of an attempt. Applies only if the row is still as this sender claimed it
    (a sender whose lease ran out and was overtaken does not overwrite the newer state)."""
    async with conn.transaction():
        cur = await conn.execute(
            "UPDATE notifications SET status = %s, channel_index = %s, attempts = %s,"
            " next_attempt_at = %s, last_error = COALESCE(%s, last_error), sent_at = %s"
            " WHERE id = %s AND status = 'sending' AND attempts = %s AND channel_index = %s",
            (status, channel_index, attempts, next_attempt_at, error, sent_at, notification_id,
             claimed_attempts, claimed_channel_index))
        return cur.rowcount == 1


async def next_due_at(conn: psycopg.AsyncConnection[Any]) -> dt.datetime | None:
    """When the earliest waiting notification becomes due (None when nothing waits)."""
    cur = await conn.execute(
        "SELECT min(next_attempt_at) AS due FROM notifications"
        " WHERE status IN ('pending', 'failed', 'sending')")
    row = await cur.fetchone()
    return None if row is None else row["due"]


_VIEW = """
SELECT n.id, n.incident_id, n.about, n.recipient, n.contact_id, n.webhook_id,
       -- a webhook by its host only: URLs may carry tokens in their query
       COALESCE(c.name, 'webhook ' || substring(w.url FROM '^[a-zA-Z]+://([^/?#]+)')) AS recipient_name,
       c.relation, n.kind, n.priority, n.lang,
       n.channels, n.channel, n.status, n.attempts, n.total_attempts, n.next_attempt_at,
       n.last_error, n.created_at, n.sent_at, n.subject, n.body, n.short_text, n.payload
FROM notifications n
LEFT JOIN contacts c ON c.id = n.contact_id
LEFT JOIN webhooks w ON w.id = n.webhook_id
"""


async def for_incident(conn: psycopg.AsyncConnection[Any], incident_id: int) -> list[dict[str, Any]]:
    """Every notification of an incident with its delivery state, oldest first."""
    cur = await conn.execute(_VIEW + " WHERE n.incident_id = %s ORDER BY n.id", (incident_id,))
    return [dict(r) for r in await cur.fetchall()]


def stay_subject(resident_id: str, name: str) -> str:
    """What the reminder of a stay's end is about (``about``, migration 0033). Changing or
    removing the place takes a waiting one back (``store.admin``)."""
    return f"stay:{resident_id}:{name}"


async def about(conn: psycopg.AsyncConnection[Any], subject: str) -> list[dict[str, Any]]:
    """Every notification of no incident about ``subject`` ('stay:<resident>:<place>'), oldest
    first."""
    cur = await conn.execute(_VIEW + " WHERE n.about = %s ORDER BY n.id", (subject,))
    return [dict(r) for r in await cur.fetchall()]


async def take_back(conn: psycopg.AsyncConnection[Any], subject: str) -> int:
    """Delete the notifications about ``subject`` not yet sent nor being sent (a stay re-timed
    or ended early: its reminder is no longer true). Returns how many."""
    cur = await conn.execute("DELETE FROM notifications WHERE about = %s"
                             " AND status IN ('pending', 'failed')", (subject,))
    return cur.rowcount


async def user_contact(conn: psycopg.AsyncConnection[Any], username: str,
                       resident_id: str) -> dict[str, Any] | None:
    """The contact of the resident that the account ``username`` is linked to, with its
    preferences (as :func:`contacts_with_prefs`), or None."""
    cur = await conn.execute(
        "SELECT c.id, c.name, c.relation, c.phone, c.email, c.lang, c.priority,"
        " p.kinds, p.channels, p.quiet_start, p.quiet_end, p.tz"
        " FROM users u JOIN contacts c ON c.id = u.contact_id"
        " LEFT JOIN notification_prefs p ON p.contact_id = c.id"
        " WHERE u.username = %s AND c.resident_id = %s", (username, resident_id))
    row = await cur.fetchone()
    return None if row is None else dict(row)


async def notified_since(conn: psycopg.AsyncConnection[Any], since: dt.datetime) -> dict[str, int]:
    """How many notifications made since ``since`` are in each status (sent, given_up, ...)."""
    cur = await conn.execute("SELECT status, count(*) AS n FROM notifications WHERE created_at >= %s"
                             " GROUP BY status ORDER BY status", (since,))
    return {row["status"]: int(row["n"]) for row in await cur.fetchall()}


async def given_up(conn: psycopg.AsyncConnection[Any], *, limit: int = 100) -> list[dict[str, Any]]:
    """Notifications no channel could deliver, newest first: the console shows them so that an
    operator phones the family instead."""
    cur = await conn.execute(
        _VIEW + " WHERE n.status = 'given_up' ORDER BY n.created_at DESC, n.id DESC LIMIT %s",
        (limit,))
    return [dict(r) for r in await cur.fetchall()]


async def preferences(conn: psycopg.AsyncConnection[Any], contact_id: int) -> dict[str, Any] | None:
    """A contact's stored preferences, or None when they have kept the defaults."""
    row = await (await conn.execute(
        "SELECT kinds, channels, quiet_start, quiet_end, tz FROM notification_prefs"
        " WHERE contact_id = %s", (contact_id,))).fetchone()
    return None if row is None else dict(row)


async def set_preferences(conn: psycopg.AsyncConnection[Any], contact_id: int, *,
                          kinds: Sequence[str], channels: Sequence[str],
                          quiet_start: dt.time | None, quiet_end: dt.time | None) -> None:
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO notification_prefs (contact_id, kinds, channels, quiet_start, quiet_end)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (contact_id) DO UPDATE SET"
            " kinds = EXCLUDED.kinds, channels = EXCLUDED.channels,"
            " quiet_start = EXCLUDED.quiet_start, quiet_end = EXCLUDED.quiet_end",
            (contact_id, list(kinds), list(channels), quiet_start, quiet_end))
