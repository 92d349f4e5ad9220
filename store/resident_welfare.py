"""What the inactivity detector holds per resident, kept for the console (migrations 0018, 0019).

Ingest writes a row for each resident whose summary changed (:func:`changed`), once a minute;
the console reads one back and works out from it, as the detector would, since when the
resident's silence is counted and how long it may last before the centre is called
(:func:`detection.inactivity.allowed_now`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import psycopg

from detection.inactivity import InactivitySummary

MOVED_ON_S = 300.0
"""A last movement is written again only once it has moved on by this much: a resident walking
about would otherwise be written every minute, for a figure shown to the minute."""


def changed(old: InactivitySummary | None, new: InactivitySummary) -> bool:
    """Whether ``new`` is worth a write over the ``old`` one written before."""
    return (old is None or new.last_movement - old.last_movement >= MOVED_ON_S
            or new.last_movement < old.last_movement
            or (new.at_home, new.tz, new.sleep_hour, new.wake_hour, new.day_limits, new.learnt,
                new.night_limit, new.morning_limit, new.bedtime_from)
            != (old.at_home, old.tz, old.sleep_hour, old.wake_hour, old.day_limits, old.learnt,
                old.night_limit, old.morning_limit, old.bedtime_from))


async def write(conn: psycopg.AsyncConnection[Any],
                summaries: Sequence[tuple[str, InactivitySummary]], now: dt.datetime) -> None:
    async with conn.transaction(), conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO resident_welfare (resident_id, last_movement_at, at_home, tz,"
            " asleep_from, up_by, bin_hours, day_limits_s, learnt, night_limit_s,"
            " morning_limit_s, bedtime_from_s, updated_at)"
            " VALUES (%s, to_timestamp(%s), %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (resident_id) DO UPDATE SET last_movement_at = excluded.last_movement_at,"
            " at_home = excluded.at_home, tz = excluded.tz, asleep_from = excluded.asleep_from,"
            " up_by = excluded.up_by, bin_hours = excluded.bin_hours,"
            " day_limits_s = excluded.day_limits_s, learnt = excluded.learnt,"
            " night_limit_s = excluded.night_limit_s,"
            " morning_limit_s = excluded.morning_limit_s,"
            " bedtime_from_s = excluded.bedtime_from_s, updated_at = excluded.updated_at",
            [(resident, s.last_movement, s.at_home, s.tz, s.sleep_hour, s.wake_hour, s.bin_hours,
              list(s.day_limits), list(s.learnt), s.night_limit, s.morning_limit,
              s.bedtime_from, now)
             for resident, s in summaries])


async def read(conn: psycopg.AsyncConnection[Any],
               resident_id: str) -> tuple[InactivitySummary, dt.datetime] | None:
    """The resident's summary as last written, and when."""
    row = await (await conn.execute(
        "SELECT * FROM resident_welfare WHERE resident_id = %s", (resident_id,))).fetchone()
    if row is None:
        return None
    return InactivitySummary(
        last_movement=row["last_movement_at"].timestamp(), at_home=row["at_home"], tz=row["tz"],
        sleep_hour=row["asleep_from"], wake_hour=row["up_by"], bin_hours=row["bin_hours"],
        day_limits=tuple(row["day_limits_s"]), learnt=tuple(row["learnt"]),
        night_limit=row["night_limit_s"],
        morning_limit=row["morning_limit_s"],
        bedtime_from=row["bedtime_from_s"]), row["updated_at"]
