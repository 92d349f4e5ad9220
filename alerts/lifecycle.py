"""An incident's lifecycle as a table of transitions, and who may take each.

    new -> claimed -> in_progress -> dispatched -> on_site -> resolved (with an outcome)
                 \\______________________/\\___________________/
    release: claimed -> new      reopen: resolved -> new

One operator claims an incident; a second claim is refused (the database decides, see
store.incidents.change). After the claim, only the claimer (or a supervisor) moves it on. Every
step is written to the incident's append-only timeline and the audit trail with its actor.

>>> TRANSITIONS["claim"].allowed_from
('new',)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import psycopg

from alerts import notify
from store import incidents as store_incidents
from store.batch import NewAlarm

OUTCOMES = ("genuine", "false_alarm", "test", "accidental", "no_answer_escalated", "device_fault")
RESPONDERS = ("family", "community_responder", "care_staff", "ambulance_120", "fire_119", "police_110")
ACTIVE = ("claimed", "in_progress", "dispatched", "on_site")
CENTRE_ROLES = frozenset({"operator", "supervisor", "admin"})
"""Roles that serve the whole centre."""


class TransitionError(ValueError):
    """The request is not a valid step (unknown action, missing outcome, not allowed)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Transition:
    action: str
    allowed_from: tuple[str, ...]
    to: str
    claimer_only: bool = True


TRANSITIONS: dict[str, Transition] = {t.action: t for t in (
    Transition(action="claim", allowed_from=("new",), to="claimed", claimer_only=False),
    Transition(action="release", allowed_from=("claimed",), to="new"),
    Transition(action="call", allowed_from=("claimed", "in_progress"), to="in_progress"),
    Transition(action="dispatch", allowed_from=("claimed", "in_progress", "dispatched", "on_site"),
               to="dispatched"),
    Transition(action="on_site", allowed_from=("dispatched",), to="on_site"),
    Transition(action="resolve", allowed_from=ACTIVE, to="resolved"),
    Transition(action="reopen", allowed_from=("resolved",), to="new", claimer_only=False),
)}


def may_handle(user: dict[str, Any], incident: dict[str, Any]) -> bool:
    """Whether the user may act on the incident at all (scope and routing)."""
    role = user["role"]
    if role in CENTRE_ROLES:
        return bool(incident["route"] != "maintenance" or role == "admin")
    if role == "care_staff":
        return bool(incident["site_id"] == user.get("scope_site"))
    if role == "family":
        return bool(incident["resident_id"] == user.get("scope_resident")
                    and incident["route"] == "family_first")
    return False


async def apply(conn: psycopg.AsyncConnection[Any], incident_id: int, *, action: str,
                user: dict[str, Any], now: dt.datetime, outcome: str | None = None,
                responder: str | None = None, note: str | None = None) -> dict[str, Any]:
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise TransitionError(f"unknown action {action!r}; one of {', '.join(TRANSITIONS)}")
    sets: dict[str, Any] = {"status": transition.to}
    details: dict[str, Any] = {}
    if note:
        details["note"] = note
    if action == "claim":
        sets |= {"claimed_by": user["username"], "claimed_at": now, "next_timer_at": None}
    elif action == "release":
        sets |= {"claimed_by": None, "claimed_at": None}
    elif action == "dispatch":
        if responder not in RESPONDERS:
            raise TransitionError(f"dispatch needs a responder: one of {', '.join(RESPONDERS)}")
        sets |= {"dispatched_at": now, "dispatched_to": responder, "on_site_at": None,
                 "help_missing": False, "next_timer_at": now + dt.timedelta(minutes=30)}
        details["responder"] = responder
    elif action == "on_site":
        sets |= {"on_site_at": now, "next_timer_at": None}
    elif action == "resolve":
        if outcome not in OUTCOMES:
            raise TransitionError(f"resolve needs an outcome: one of {', '.join(OUTCOMES)}")
        sets |= {"resolved_at": now, "outcome": outcome, "next_timer_at": None}
        details["outcome"] = outcome
    elif action == "reopen":
        sets |= {"resolved_at": None, "outcome": None, "claimed_by": None, "claimed_at": None,
                 "next_timer_at": None}
    claimer = None
    if transition.claimer_only and user["role"] not in ("supervisor", "admin"):
        claimer = user["username"]
    return await store_incidents.change(
        conn, incident_id, allowed=transition.allowed_from, sets=sets, actor=user["username"],
        action=action, details=details, claimed_by=claimer,
        after=_AFTER.get(action))


async def _acknowledge_alarms(conn: psycopg.AsyncConnection[Any],
                              incident: dict[str, Any]) -> None:
    """Claiming an incident answers every alarm waiting in it."""
    await store_incidents.acknowledge_alarms(conn, incident["id"], by=incident["claimed_by"])


async def _tell_family_it_was_handled(conn: psycopg.AsyncConnection[Any],
                                      incident: dict[str, Any]) -> None:
    await notify.enqueue(conn, incident_id=incident["id"], site_id=incident["site_id"],
                         resident_id=incident["resident_id"], kind="handled",
                         priority=incident["priority"], alarm_kind=incident["kind"],
                         occurred_at=incident["opened_at"], outcome=incident["outcome"])


_AFTER = {"claim": _acknowledge_alarms, "resolve": _tell_family_it_was_handled}


async def tell_family_of_alarm(conn: psycopg.AsyncConnection[Any], incident_id: int,
                               alarm: NewAlarm) -> None:
    """For store.batch.write's ``on_opened``: the family hears of a new incident at once."""
    if alarm.incident is not None and alarm.incident.route == "maintenance":
        return
    await notify.enqueue(conn, incident_id=incident_id, site_id=alarm.site_id,
                         resident_id=alarm.resident_id, kind="alarm", priority=alarm.priority,
                         alarm_kind=alarm.kind, occurred_at=alarm.occurred_at)
