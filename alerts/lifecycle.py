"""An incident's lifecycle as a table of transitions, and who may take each.

    new -> claimed -> in_progress -> dispatched -> on_site -> resolved (with an outcome)
                 \\______________________/\\___________________/
    release: claimed -> new      reopen: resolved -> new

One operator claims an incident; a second claim is refused (the database decides, see
store.incidents.change). After the claim, only the claimer (or a supervisor) moves it on. Every
step is written to the incident's append-only timeline and the audit trail with its actor.

Family, on a family-first incident of their own elder, take it the way a keyholder responder
does (:data:`FAMILY_ACTIONS`): ``accept`` ("I'm going": claimed and dispatched to the family
at once, so the centre's 30-minute "help did not arrive" timer runs, and an accepted alarm
nobody closes comes back to the centre's queue), ``on_site``, ``resolve``, or
``hand_to_centre`` ("I can't go": the centre takes it now, not when the family window ends).
Nothing else: a family claim without that timer would leave a fall with no one watching it.

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
FAMILY_ACTIONS = frozenset({"accept", "on_site", "resolve", "hand_to_centre"})
"""What family may do on their elder's family-first incident."""
HELP_ARRIVAL = dt.timedelta(minutes=30)
"""After a dispatch (or a family's accept), when "help did not arrive" brings it back."""


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
    Transition(action="accept", allowed_from=("new",), to="dispatched", claimer_only=False),
    # from "new" nobody has claimed it; from "dispatched" or "on_site" only the family member
    # who accepted it hands it on (apply() narrows the claimer check to those)
    Transition(action="hand_to_centre", allowed_from=("new", "dispatched", "on_site"), to="new",
               claimer_only=False),
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


def may_take(user: dict[str, Any], action: str) -> bool:
    """Whether the user's role may take this step at all (family: :data:`FAMILY_ACTIONS`; the
    family steps are theirs alone)."""
    family_only = action in ("accept", "hand_to_centre")
    return (action in FAMILY_ACTIONS) if user["role"] == "family" else not family_only


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
                 "help_missing": False, "next_timer_at": now + HELP_ARRIVAL}
        details["responder"] = responder
    elif action == "accept":  # the family member goes: claimed and dispatched in one step
        sets |= {"claimed_by": user["username"], "claimed_at": now, "dispatched_at": now,
                 "dispatched_to": "family", "on_site_at": None, "help_missing": False,
                 "next_timer_at": now + HELP_ARRIVAL}
        details["responder"] = "family"
    elif action == "hand_to_centre":  # the centre takes it now; its own timers start at once
        sets |= {"route": "centre", "family_until": None, "claimed_by": None, "claimed_at": None,
                 "dispatched_at": None, "dispatched_to": None, "on_site_at": None,
                 "next_timer_at": now, "centre_from": now, "first_claimed_at": None}
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
    allowed = transition.allowed_from
    if transition.claimer_only and user["role"] not in ("supervisor", "admin"):
        claimer = user["username"]
    if action == "hand_to_centre":
        # unclaimed, or accepted by this very person: the current state decides which, and the
        # update's own condition re-checks it under the row lock
        current = await store_incidents.incident(conn, incident_id)
        if current["status"] != "new":
            allowed, claimer = ("dispatched", "on_site"), user["username"]
        else:
            allowed = ("new",)
    return await store_incidents.change(
        conn, incident_id, allowed=allowed, sets=sets, actor=user["username"],
        action=action, details=details, claimed_by=claimer,
        after=_AFTER.get(action))


async def _acknowledge_alarms(conn: psycopg.AsyncConnection[Any], incident: dict[str, Any],
                              actor: str) -> None:
    """Claiming an incident answers every alarm waiting in it."""
    await store_incidents.acknowledge_alarms(conn, incident["id"], by=actor)


async def _family_member(conn: psycopg.AsyncConnection[Any],
                         username: str | None) -> dict[str, Any] | None:
    """A family user's own contact and name (None for anyone else)."""
    cur = await conn.execute(
        "SELECT u.contact_id, coalesce(c.name, u.display_name) AS name FROM users u"
        " LEFT JOIN contacts c ON c.id = u.contact_id WHERE u.username = %s AND u.role = 'family'",
        (username,))
    return await cur.fetchone()


async def _tell_family_it_was_handled(conn: psycopg.AsyncConnection[Any],
                                      incident: dict[str, Any], actor: str) -> None:
    """The "handled" message; when one of the family closed it, it says who (not the centre),
    and that person is not told of their own step. Who closed it is the actor, not whoever had
    it: a supervisor who closes an incident a daughter accepted is the centre, and she is told."""
    who = await _family_member(conn, actor)
    await notify.enqueue(conn, incident_id=incident["id"], site_id=incident["site_id"],
                         resident_id=incident["resident_id"], kind="handled",
                         priority=incident["priority"], alarm_kind=incident["kind"],
                         occurred_at=incident["opened_at"], outcome=incident["outcome"],
                         by=None if who is None else who["name"],
                         skip_contact=None if who is None else who["contact_id"])


async def _family_going(conn: psycopg.AsyncConnection[Any], incident: dict[str, Any],
                        actor: str) -> None:
    """An accept: its alarms are answered, and the elder's other contacts hear who is going."""
    await _acknowledge_alarms(conn, incident, actor)
    who = await _family_member(conn, actor)
    await notify.enqueue(conn, incident_id=incident["id"], site_id=incident["site_id"],
                         resident_id=incident["resident_id"], kind="accepted",
                         priority=incident["priority"], alarm_kind=incident["kind"],
                         occurred_at=incident["opened_at"],
                         by=who["name"] if who else actor,
                         skip_contact=who["contact_id"] if who else None)


_AFTER = {"claim": _acknowledge_alarms, "accept": _family_going,
          "resolve": _tell_family_it_was_handled}


async def tell_family_of_device(conn: psycopg.AsyncConnection[Any], incident_id: int,
                                alarm: NewAlarm) -> None:
    """For a maintenance alarm (an item opened, or one joined: store.batch.write's ``on_opened``
    and ``on_joined``): an elder's watch at home gone flat is a 'device' message to their
    family, who can charge it where a technician cannot, and sooner. Only when the elder has
    another emergency device still heard (``elder_unprotected`` absent: otherwise their welfare
    check tells the family, saying a device may be flat); never in a care home (its staff see
    their own list). One per maintenance item and contact (the outbox's key), and items close
    themselves once the watch is charged, so each time it goes flat is one message, delayed by
    the contact's quiet hours (P4).

    Likewise a smoke detector at home taken off its base (its own ``tamper``): elders take one
    down when it chirps for a battery, and down it warns of nothing. The family can put it back
    (or see that it is fixed) sooner than anyone; once it is back on its base it says so and
    its item closes itself (``tamper_cleared``)."""
    details = alarm.details
    if details.get("problem") in ("offline", "no_checkin") and details.get("behind"):
        await _tell_family_of_gateway(conn, incident_id, alarm)
        return
    if alarm.resident_id is None:
        return
    if details.get("event") == "tamper":
        wanted, note = "smoke", "smoke_down"
    elif (details.get("problem") in ("offline", "no_checkin")
            and alarm.device_id in details.get("flat_devices", ())
            and not details.get("elder_unprotected")):
        wanted, note = "wearable", "watch_flat"
    else:
        return
    cur = await conn.execute("SELECT d.kind AS device, s.kind AS site FROM devices d"
                             " JOIN sites s ON s.id = d.site_id WHERE d.id = %s", (alarm.device_id,))
    where = await cur.fetchone()
    if where is None or (where["device"], where["site"]) != (wanted, "home"):
        return
    await notify.enqueue(conn, incident_id=incident_id, site_id=alarm.site_id,
                         resident_id=alarm.resident_id, kind="device", priority=alarm.priority,
                         alarm_kind=alarm.kind, occurred_at=alarm.occurred_at, note=note)


async def _tell_family_of_gateway(conn: psycopg.AsyncConnection[Any], incident_id: int,
                                  alarm: NewAlarm) -> None:
    """A home gateway offline or silent: the family of each elder whose devices speak through
    it and who still has another way to call (a watch of their own) is asked to see that it is
    plugged in and online ('device', ``gateway_down``): their button and smoke detector reach
    nobody meanwhile, and a daughter can find a plug pulled out sooner than a technician can
    come. Those it leaves with nothing are not: their welfare check (P3) tells their family."""
    cur = await conn.execute("SELECT d.kind AS device, s.kind AS site FROM devices d"
                             " JOIN sites s ON s.id = d.site_id WHERE d.id = %s", (alarm.device_id,))
    where = await cur.fetchone()
    if where is None or (where["device"], where["site"]) != ("gateway", "home"):
        return
    cut_off = set(alarm.details.get("cut_off") or ())
    for resident_id in alarm.details["behind"]:
        if isinstance(resident_id, str) and resident_id not in cut_off:
            await notify.enqueue(conn, incident_id=incident_id, site_id=alarm.site_id,
                                 resident_id=resident_id, kind="device", priority=alarm.priority,
                                 alarm_kind=alarm.kind, occurred_at=alarm.occurred_at,
                                 note="gateway_down")


async def tell_family_of_alarm(conn: psycopg.AsyncConnection[Any], incident_id: int,
                               alarm: NewAlarm) -> None:
    """For store.batch.write's ``on_opened``: the family hears of a new incident at once.
    An alarm whose stillness may be a watch gone flat, or whose elder's silent devices had run
    their batteries down, says so (ingest/welfare.py's ``watch_flat`` and ``flat_devices``): a
    daughter told "no activity" phones knowing it may be the watch. A wandering from a safe
    place other than home names it (ingest/welfare.py's ``place``): the family looks for her
    at her daughter's flat, not at home; one because a stay set for her ended while she is
    still there says so (``stay_ended``): extend the stay, nobody need go looking. A welfare
    check because the home's gateway is offline says so (``gateway_down``): the line, perhaps,
    but nothing can call for help meanwhile; when it is part of its community's outage, that
    (``area_down``): the provider's network, nothing at home to fix."""
    if alarm.incident is not None and alarm.incident.route == "maintenance":
        await tell_family_of_device(conn, incident_id, alarm)
        return
    plan = alarm.incident
    details = alarm.details
    note = ("watch_flat" if details.get("watch_flat") is True
            else "area_down" if details.get("gateways_down") and details.get("area_outage")
            else "gateway_down" if details.get("gateways_down")
            else "device_flat" if details.get("flat_devices")
            else "stay_ended" if alarm.kind == "wandering" and details.get("stay_ended") else None)
    place = details.get("place") if alarm.kind == "wandering" else None  # "home": the usual
    await notify.enqueue(conn, incident_id=incident_id, site_id=alarm.site_id,
                         resident_id=alarm.resident_id, kind="alarm", priority=alarm.priority,
                         alarm_kind=alarm.kind, occurred_at=alarm.occurred_at,
                         family_until=plan.family_until if plan is not None
                         and plan.route == "family_first" else None, note=note,
                         place=place if isinstance(place, str) and place != "home" else None)
