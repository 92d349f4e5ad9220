"""Operators' outcomes read back for the detectors that learn from what they alarmed on.

An inactivity alarm's silence is learnt as this resident's ordinary life when it ends. When the
operator resolves the incident as ``genuine`` (the resident needed help) or ``device_fault``
(the watch had stopped counting), that silence was not ordinary life, and ingest has the
detector take back what it learnt from it (:meth:`detection.inactivity.InactivityDetector.
forget`). So was the silence a fall or an SOS call resolved ``genuine`` began: the time on the
floor until help came, which needed no inactivity alarm to be found and would otherwise be
learnt as a sitting.

Every resolution of those alarms is read, not only the ones that take a silence back: an
incident reopened and resolved otherwise (a supervisor's correction) has what its first outcome
took back learnt again (:meth:`~detection.inactivity.InactivityDetector.relearn`), so the
latest outcome is what the detector holds. Outcomes are read by when they were resolved, with
an overlap, and giving one twice changes nothing, so a missed read or a restart costs nothing.
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

CALLS_BEGIN_SILENCES = ("fall", "sos")
"""Alarms whose ``genuine`` outcome says the silence that followed was no ordinary life (only
``genuine``: a device fault in a fall detector says nothing about its wearer's stillness)."""

SILENCE_BEGINS_WITHIN = 5 * 60.0
"""A fall or a press on the button is movement, and the watch may count a step as its wearer
goes down: the silence on the floor is the one in progress this long after the call."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SilenceOutcome:
    alarm_id: int
    """The alarm whose incident was resolved: what the detector knows this outcome by."""
    resident_id: str
    at: tuple[float, ...]
    """Times (UTC epoch seconds) within the alarmed silence: the alarm's, and the first merged
    finding's when flap control merged several; or a fall's or an SOS call's."""
    after: float = 0.0
    """How long after each of ``at`` the silence meant is in progress
    (:data:`SILENCE_BEGINS_WITHIN` for a fall or an SOS call)."""
    unlearn: bool
    """Whether the outcome says the silence was no ordinary life; if not, whatever an earlier
    outcome of the same alarm took back is learnt again."""
    resolved_at: dt.datetime


def says_not_ordinary(kind: str, outcome: str) -> bool:
    """Whether an alarm of ``kind`` resolved with ``outcome`` says its silence was no ordinary
    life."""
    if kind == "inactivity":
        return outcome in UNLEARN_OUTCOMES
    return kind in CALLS_BEGIN_SILENCES and outcome == "genuine"


async def silence_outcomes(conn: psycopg.AsyncConnection[Any],
                           since: dt.datetime) -> list[SilenceOutcome]:
    """Inactivity, fall and SOS alarms of a resident whose incident was resolved after
    ``since``, whatever the outcome, oldest resolution first."""
    cur = await conn.execute(
        "SELECT a.id, a.kind, a.resident_id, a.occurred_at, a.details->>'first_ts' AS first_ts,"
        " i.outcome, i.resolved_at"
        " FROM incidents i JOIN alarms a ON a.incident_id = i.id"
        " WHERE i.resolved_at > %s AND a.resident_id IS NOT NULL AND a.kind = ANY(%s)"
        " AND i.outcome IS NOT NULL"
        " ORDER BY i.resolved_at, a.id",
        (since, ["inactivity", *CALLS_BEGIN_SILENCES]))
    found = []
    for row in await cur.fetchall():
        at = [row["occurred_at"].timestamp()]
        if row["kind"] == "inactivity" and row["first_ts"] is not None:
            try:
                at.append(float(row["first_ts"]))
            except ValueError:  # ingest writes a number; the alarm's own time still serves
                log.warning("alarm %s has a first_ts that is no time (%r); using its own time",
                            row["id"], row["first_ts"])
        found.append(SilenceOutcome(
            alarm_id=row["id"], resident_id=row["resident_id"], at=tuple(dict.fromkeys(at)),
            after=0.0 if row["kind"] == "inactivity" else SILENCE_BEGINS_WITHIN,
            unlearn=says_not_ordinary(row["kind"], row["outcome"]),
            resolved_at=row["resolved_at"]))
    return found
