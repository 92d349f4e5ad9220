"""Runs the escalation policy (alerts.escalation) against incidents in PostgreSQL.

Every second (or when told), it takes the incidents whose ``next_timer_at`` has come — locked
with SKIP LOCKED, so several escalators never act twice — applies the due step, and sets the next
time to look. The timers live in the database: a restarted escalator carries on where the last
one stopped, and a step that fell due while nothing ran is applied at once on start.

The clock is a parameter so tests drive time instead of sleeping.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from alerts import notify
from alerts.escalation import IncidentState, Timings, due_steps, next_check
from store import incidents as store_incidents

log = logging.getLogger(__name__)


def _state(row: dict[str, Any]) -> IncidentState:
    return IncidentState(status=row["status"], priority=row["priority"], route=row["route"],
                         opened_at=row["opened_at"], escalation_level=row["escalation_level"],
                         family_until=row["family_until"], dispatched_at=row["dispatched_at"],
                         centre_from=row["centre_from"])


_EFFECTS: dict[str, Callable[[dict[str, Any], dt.datetime], dict[str, Any]]] = {
    # The centre takes over: clear the family window so the centre's own timers start, from
    # now; a claim before it was the family's (an accept that nobody followed), not the centre's.
    "to_centre": lambda row, now: {"route": "centre", "family_until": None, "centre_from": now,
                                   "first_claimed_at": None},
    "escalate": lambda row, now: {"escalation_level": row["escalation_level"] + 1},
    # Closed loop: help that did not arrive brings the incident back to the queue, unclaimed.
    "help_missing": lambda row, now: {"status": "new", "help_missing": True, "claimed_by": None,
                                      "claimed_at": None},
}


class Escalator:
    def __init__(self, pool: AsyncConnectionPool, *, clock: Callable[[], float] = time.time,
                 timings: Timings | None = None) -> None:
        self._pool = pool
        self._clock = clock
        self._timings = timings or Timings()

    async def run_once(self) -> list[tuple[int, str]]:
        """Apply every due step; returns (incident id, step name) for each applied."""
        now = dt.datetime.fromtimestamp(self._clock(), dt.UTC)
        applied: list[tuple[int, str]] = []
        async with self._pool.connection() as conn, conn.transaction():
            for row in await store_incidents.due(conn, now):
                steps = due_steps(_state(row), now, self._timings)
                changes: dict[str, Any] = {}
                for step in steps:
                    changes |= _EFFECTS[step.effect](row, now)
                    applied.append((row["id"], step.name))
                after = _state({**row, **changes})
                changes["next_timer_at"] = next_check(after, self._timings)
                await store_incidents.apply_timer(
                    conn, row["id"], sets=changes,
                    action=steps[0].name if steps else None,
                    details={"escalation_level": changes.get("escalation_level",
                                                             row["escalation_level"])})
                if any(step.effect == "escalate" for step in steps):
                    # The next channel: the family hears the centre has not reached the alarm
                    # yet (once per incident; the supervisor sees it on every screen).
                    await notify.enqueue(conn, incident_id=row["id"], site_id=row["site_id"],
                                         resident_id=row["resident_id"], kind="escalated",
                                         priority=row["priority"], alarm_kind=row["kind"],
                                         occurred_at=row["opened_at"], now=now)
        return applied

    async def run(self, every: float = 1.0) -> None:
        while True:
            try:
                for incident_id, step in await self.run_once():
                    log.warning("incident %s: %s", incident_id, step)
            except (psycopg.OperationalError, psycopg.InterfaceError) as err:
                log.warning("escalator cannot reach the database (%s); retrying", err)
            except Exception:  # the timers must keep running: log the bug, try again
                log.exception("escalator round failed; retrying")
            await asyncio.sleep(every)
