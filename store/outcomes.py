"""Operators' outcomes read back for the detectors that learn from what they alarmed on.

An inactivity alarm's silence is learnt as this resident's ordinary life when it ends. When the
operator resolves the incident as ``genuine`` (the resident needed help) or ``device_fault``
(the watch had stopped counting), that silence was not ordinary life, and ingest has the
detector take back what it learnt from it (:meth:`detection.inactivity.InactivityDetector.
forget`). Outcomes are read by when they were resolved, with an overlap, and giving one twice
changes nothing, so a missed read or a restart costs nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import psycopg

log = logging.getLogger(__name__)

UNLEARN_OUTCOMES = ("genuine", "device_fault")
"""Outcomes that say an alarmed silence was not the resident's ordinary life. ``false_alarm``,
``accidental`` and ``test`` say it was, and it stays learnt; ``no_answer_escalated`` says
nothing either way, and it stays learnt too."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SilenceOutcome:
    resident_id: str
    at: tuple[float, ...]
    """Times (UTC epoch seconds) within the alarmed silence: the alarm's, and the first merged
    finding's when flap control merged several."""
    resolved_at: dt.datetime


async def not_ordinary_silences(conn: psycopg.AsyncConnection[Any],
                                since: dt.datetime) -> list[SilenceOutcome]:
    """Inactivity alarms whose incident was resolved after ``since`` with an outcome in
    :data:`UNLEARN_OUTCOMES`, oldest resolution first."""
    cur = await conn.execute(
        "SELECT a.id, a.resident_id, a.occurred_at, a.details->>'first_ts' AS first_ts,"
        " i.resolved_at"
        " FROM incidents i JOIN alarms a ON a.incident_id = i.id"
        " WHERE i.resolved_at > %s AND i.outcome = ANY(%s) AND a.kind = 'inactivity'"
        " AND a.resident_id IS NOT NULL ORDER BY i.resolved_at, a.id",
        (since, list(UNLEARN_OUTCOMES)))
    found = []
    for row in await cur.fetchall():
        at = [row["occurred_at"].timestamp()]
        if row["first_ts"] is not None:
            try:
                at.append(float(row["first_ts"]))
            except ValueError:  # ingest writes a number; the alarm's own time still serves
                log.warning("alarm %s has a first_ts that is no time (%r); using its own time",
                            row["id"], row["first_ts"])
        found.append(SilenceOutcome(resident_id=row["resident_id"], at=tuple(dict.fromkeys(at)),
                                    resolved_at=row["resolved_at"]))
    return found
