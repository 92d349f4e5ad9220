"""Pages to the on-call engineer about a broken alarm path (migration 0021): one row per episode.
The rules for when to page are alerts/oncall.py's; this module only records them, so that
several console processes page once between them and every screen can say who was told.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

_COLUMNS = ("id, began_at, paged_at, problems, recipients, delivered, reminded_at, cleared_at,"
            " taken_at, taken_by")
"""What the screens may see of a page: never its ``take_key`` (:func:`take_key`)."""


async def open_episode(conn: psycopg.AsyncConnection[Any], *, began_at: dt.datetime,
                       problems: list[dict[str, Any]], recipients: int,
                       take_key: bytes | None = None) -> dict[str, Any] | None:
    """The new episode's row, or None when one is already open (another process pages it).
    ``take_key`` signs the "I'm on it" links of its messages (alerts/oncall.py)."""
    cur = await conn.execute(
        "INSERT INTO intake_pages (began_at, problems, recipients, take_key)"
        f" VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING {_COLUMNS}",
        (began_at, Jsonb(problems), recipients, take_key))
    return await cur.fetchone()


async def one(conn: psycopg.AsyncConnection[Any],
              page_id: int) -> tuple[dict[str, Any], bytes | None] | None:
    """The episode ``page_id`` and its take key (None for a page opened before keys), or None
    for no such page."""
    cur = await conn.execute(f"SELECT {_COLUMNS}, take_key FROM intake_pages WHERE id = %s",
                             (page_id,))
    row = await cur.fetchone()
    if row is None:
        return None
    key = row.pop("take_key")
    return row, None if key is None else bytes(key)


async def record_delivery(conn: psycopg.AsyncConnection[Any], page_id: int,
                          delivered: int) -> None:
    await conn.execute("UPDATE intake_pages SET delivered = %s WHERE id = %s", (delivered, page_id))


async def due_reminder(conn: psycopg.AsyncConnection[Any], every: dt.timedelta,
                       problems: list[dict[str, Any]], *,
                       taken_every: dt.timedelta | None = None) -> dict[str, Any] | None:
    """The open episode, marked reminded now, if its page or last reminder is ``every`` old
    (``taken_every`` once an engineer has taken it, counted from then at the earliest); else
    None. One process wins each reminder."""
    cur = await conn.execute(
        "UPDATE intake_pages SET reminded_at = now(), problems = %(problems)s"
        " WHERE cleared_at IS NULL AND CASE WHEN taken_at IS NULL"
        " THEN coalesce(reminded_at, paged_at) <= now() - %(every)s"
        " ELSE greatest(reminded_at, taken_at) <= now() - %(taken_every)s END"
        f" RETURNING {_COLUMNS}",
        {"problems": Jsonb(problems), "every": every, "taken_every": taken_every or every})
    return await cur.fetchone()


async def take(conn: psycopg.AsyncConnection[Any], page_id: int, by: str) -> dict[str, Any]:
    """``by`` is on it: the open episode ``page_id``, taken now. LookupError for no such
    episode; ValueError (saying why) for one that is over or taken already."""
    cur = await conn.execute(
        "UPDATE intake_pages SET taken_at = now(), taken_by = %s"
        f" WHERE id = %s AND cleared_at IS NULL AND taken_at IS NULL RETURNING {_COLUMNS}",
        (by, page_id))
    row = await cur.fetchone()
    if row is not None:
        await conn.execute("INSERT INTO audit (actor, action, target) VALUES (%s, 'take_page', %s)",
                           (by, f"intake_page:{page_id}"))
        return dict(row)
    cur = await conn.execute(f"SELECT {_COLUMNS} FROM intake_pages WHERE id = %s", (page_id,))
    found = await cur.fetchone()
    if found is None:
        raise LookupError(f"no page {page_id}")
    if found["cleared_at"] is not None:
        raise ValueError(f"page {page_id} is over: the alarm path works again")
    raise ValueError(f"page {page_id} was taken by {found['taken_by']} already")


async def taken_to_tell(conn: psycopg.AsyncConnection[Any]) -> dict[str, Any] | None:
    """The open episode, if it was taken and the on-call engineers have not been told yet,
    marked told now (one process tells them)."""
    cur = await conn.execute(
        "UPDATE intake_pages SET taken_told_at = now() WHERE cleared_at IS NULL"
        f" AND taken_at IS NOT NULL AND taken_told_at IS NULL RETURNING {_COLUMNS}")
    return await cur.fetchone()


async def worsened(conn: psycopg.AsyncConnection[Any],
                   problems: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The open episode, its problems replaced by ``problems`` and marked reminded now, when
    ``problems`` has a (service, problem) the page did not; else None. One process wins it
    (the update re-checks the problems it read)."""
    cur = await conn.execute(f"SELECT {_COLUMNS} FROM intake_pages WHERE cleared_at IS NULL")
    episode = await cur.fetchone()
    if episode is None:
        return None
    known = {(p["name"], p["problem"]) for p in episode["problems"]}
    if {(p["name"], p["problem"]) for p in problems} <= known:
        return None
    cur = await conn.execute(
        "UPDATE intake_pages SET problems = %s, reminded_at = now()"
        f" WHERE id = %s AND problems = %s RETURNING {_COLUMNS}",
        (Jsonb(problems), episode["id"], Jsonb(episode["problems"])))
    return await cur.fetchone()


async def narrowed(conn: psycopg.AsyncConnection[Any],
                   problems: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The open episode, its problems replaced by ``problems``, when some (service, problem)
    of the page is over but others go on (``problems`` holds none it did not: that is
    :func:`worsened`'s); else None. One process wins it."""
    cur = await conn.execute(f"SELECT {_COLUMNS} FROM intake_pages WHERE cleared_at IS NULL")
    episode = await cur.fetchone()
    if episode is None or not problems:
        return None
    known = {(p["name"], p["problem"]) for p in episode["problems"]}
    now = {(p["name"], p["problem"]) for p in problems}
    if not now < known:
        return None
    cur = await conn.execute(
        f"UPDATE intake_pages SET problems = %s WHERE id = %s AND problems = %s"
        f" RETURNING {_COLUMNS}", (Jsonb(problems), episode["id"], Jsonb(episode["problems"])))
    return await cur.fetchone()


async def clear(conn: psycopg.AsyncConnection[Any]) -> dict[str, Any] | None:
    """Closes the open episode, if any, and returns it (the one process that closed it says so)."""
    cur = await conn.execute(
        f"UPDATE intake_pages SET cleared_at = now() WHERE cleared_at IS NULL RETURNING {_COLUMNS}")
    return await cur.fetchone()


async def recent(conn: psycopg.AsyncConnection[Any], limit: int = 10) -> list[dict[str, Any]]:
    """The latest episodes, newest first (the open one, if any, among them)."""
    cur = await conn.execute(f"SELECT {_COLUMNS} FROM intake_pages ORDER BY paged_at DESC LIMIT %s",
                             (limit,))
    return list(await cur.fetchall())
