"""Daily range partitions for the time-series tables, and retention by dropping old ones.

Partitions are created ahead (today and the next days) so ingest never writes into a missing one;
rows older than the retention period go by dropping whole partitions, which is cheap and leaves no
bloat. A DEFAULT partition catches the rare accepted message outside the created range (a gateway
replaying a week-old backlog) so that it is stored rather than refused.
"""

from __future__ import annotations

import datetime as dt
import logging

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

TIME_SERIES = ("telemetry", "locations", "checkins")


def _name(table: str, day: dt.date) -> str:
    return f"{table}_{day:%Y%m%d}"


async def ensure_partitions(
    conn: psycopg.AsyncConnection[object], *, today: dt.date, ahead_days: int = 3,
    behind_days: int = 1,
) -> None:
    for table in TIME_SERIES:
        await conn.execute(
            sql.SQL("CREATE TABLE IF NOT EXISTS {} PARTITION OF {} DEFAULT").format(
                sql.Identifier(f"{table}_default"), sql.Identifier(table)
            )
        )
        for offset in range(-behind_days, ahead_days + 1):
            day = today + dt.timedelta(days=offset)
            start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
            end = start + dt.timedelta(days=1)
            exists = await conn.execute("SELECT to_regclass(%s)", (_name(table, day),))
            row = await exists.fetchone()
            if row is not None and row[0] is not None:  # type: ignore[index]
                continue
            await conn.execute(
                sql.SQL("CREATE TABLE {} PARTITION OF {} FOR VALUES FROM ({}) TO ({})").format(
                    sql.Identifier(_name(table, day)),
                    sql.Identifier(table),
                    sql.Literal(start),
                    sql.Literal(end),
                )
            )


async def drop_older_than(
    conn: psycopg.AsyncConnection[object], *, today: dt.date, keep_days: int
) -> list[str]:
    """Drop daily partitions entirely older than ``keep_days``; returns the dropped names."""
    cutoff = _name("", today - dt.timedelta(days=keep_days))[1:]
    dropped: list[str] = []
    for table in TIME_SERIES:
        cur = await conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = %s::regclass",
            (table,),
        )
        for row in await cur.fetchall():
            name = str(row[0])  # type: ignore[index]
            suffix = name.rsplit("_", 1)[-1]
            if suffix.isdigit() and suffix < cutoff:
                # Dropping a partition locks its parent; queued behind a long reader it would hold
                # up every insert, an alarm's look-up of the last location among them. Give up
                # after two seconds instead: the next hour tries again.
                try:
                    async with conn.transaction():
                        await conn.execute("SET LOCAL lock_timeout = '2s'")
                        await conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))
                except psycopg.errors.LockNotAvailable:
                    log.warning("partition %s is busy; dropping it next time", name)
                    continue
                dropped.append(name)
    return dropped
