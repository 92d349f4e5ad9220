"""The escalation policy: what must happen to an incident when nobody acted in time, as data.

Each :class:`Step` names a condition on the incident, the moment it falls due, and what it does.
The policy is pure: given an incident's state and the time it says which steps are due and when
to look again. :mod:`alerts.escalator` applies it to incidents in PostgreSQL, so timers survive a
restart (``incidents.next_timer_at`` is the next moment to look).

Defaults follow the 12349 console's needs and the telecare code of practice's answer targets
(TEC Services Association: 97.5% of calls answered within 60 s, 99% within 180 s):

* family-first and not accepted in time: the centre takes it;
* an unclaimed P1 60 s after it reached the centre: to the supervisor, and the next
  notification channel (an incident reaches the centre when it opens, or, family-first, when
  the family window ends or the family hands it over: ``centre_from``);
* still unclaimed at 180 s: a second escalation;
* dispatched but nobody on site within 30 min: back to the queue as "help did not arrive".

>>> import datetime as dt
>>> t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
>>> state = IncidentState(status="new", priority=1, route="centre", opened_at=t0,
...                       escalation_level=0)
>>> [s.name for s in due_steps(state, t0 + dt.timedelta(seconds=61))]
['unclaimed_60s']
>>> next_check(state)
datetime.datetime(2026, 1, 1, 0, 1, tzinfo=datetime.timezone.utc)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Timings:
    unclaimed_first_s: float = 60.0
    unclaimed_second_s: float = 180.0
    help_arrival_s: float = 30 * 60.0


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentState:
    status: str
    priority: int
    route: str
    opened_at: dt.datetime
    escalation_level: int
    family_until: dt.datetime | None = None
    dispatched_at: dt.datetime | None = None
    centre_from: dt.datetime | None = None
    """When it reached the centre's queue (None: the opening, or still the family's): the
    centre's 60 s and 180 s count from here, not from a family window it never saw."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    name: str
    applies: Callable[[IncidentState], bool]
    due: Callable[[IncidentState, Timings], dt.datetime | None]
    effect: str
    """What applying it does (alerts.escalator maps effects to changes): 'to_centre',
    'escalate', 'help_missing'."""


def _after(t: dt.datetime | None, seconds: float) -> dt.datetime | None:
    return None if t is None else t + dt.timedelta(seconds=seconds)


def _centre_from(s: IncidentState) -> dt.datetime:
    return s.centre_from or s.opened_at


def _waiting_for_centre(s: IncidentState) -> bool:
    return s.status == "new" and s.route != "maintenance" and not (
        s.route == "family_first" and s.family_until is not None)


STEPS: tuple[Step, ...] = (
    Step(name="family_window_over",
         applies=lambda s: s.status == "new" and s.route == "family_first"
         and s.family_until is not None,
         due=lambda s, t: s.family_until, effect="to_centre"),
    Step(name="unclaimed_60s",
         applies=lambda s: _waiting_for_centre(s) and s.priority == 1 and s.escalation_level == 0,
         due=lambda s, t: _after(_centre_from(s), t.unclaimed_first_s), effect="escalate"),
    Step(name="unclaimed_180s",
         applies=lambda s: _waiting_for_centre(s) and s.priority <= 2 and s.escalation_level <= 1,
         due=lambda s, t: _after(_centre_from(s), t.unclaimed_second_s), effect="escalate"),
    Step(name="help_did_not_arrive",
         applies=lambda s: s.status == "dispatched",
         due=lambda s, t: _after(s.dispatched_at, t.help_arrival_s), effect="help_missing"),
)


DEFAULT_TIMINGS = Timings()


def due_steps(state: IncidentState, now: dt.datetime,
              timings: Timings = DEFAULT_TIMINGS) -> list[Step]:
    """Steps whose moment has come. At most one escalation per look, the earliest."""
    due = [s for s in STEPS if s.applies(state) and (t := s.due(state, timings)) is not None
           and t <= now]
    return due[:1]


def next_check(state: IncidentState, timings: Timings = DEFAULT_TIMINGS) -> dt.datetime | None:
    """When to look at this incident again (None: no timer until a person acts)."""
    times = [t for s in STEPS if s.applies(state) and (t := s.due(state, timings)) is not None]
    return min(times) if times else None
