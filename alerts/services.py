"""Everyday service requests (issue 9): the ticket lifecycle as a table, who may take each step,
the routing policy, and when a button press asks for a service rather than for help.

    open --assign--> assigned --accept--> accepted --start--> visit_started --finish-->
    visit_finished --rate--> rated;  cancel: open, assigned, accepted -> cancelled;
    assign again (re-route): assigned, accepted -> assigned

A ticket is never an incident: it has its own table and queue, never raises an alarm, and an
emergency never waits behind it (ingest decides a press is a service request only from the
device's own configuration, see :func:`service_request`).

Routing (:func:`choose_provider`): among the active providers offering the ticket's type whose
area contains the resident's grid node, the one with the deepest (most specific) area wins; ties
go to the fewest open tickets, then the smallest id. No such provider: the ticket stays ``open``
and grid staff see it as unrouted, to assign by hand.

>>> STEPS["accept"].allowed_from, STEPS["accept"].to
(('assigned',), 'accepted')
>>> choose_provider("meal", [
...     ProviderArea(provider_id="city-meals", types=("meal",), depth=1, open_tickets=0),
...     ProviderArea(provider_id="street-meals", types=("meal",), depth=3, open_tickets=9)])
'street-meals'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg

from store import providers as store_providers
from store import tickets as store_tickets
from store.errors import NotFound
from store.registry import DeviceRef
from store.tickets import NewTicket

TYPES = ("meal", "housekeeping", "repair", "companionship", "medical_escort", "other")
STATUSES = ("open", "assigned", "accepted", "visit_started", "visit_finished", "rated",
            "cancelled")
LOAD = ("assigned", "accepted", "visit_started")
"""A provider's open tickets: what breaks a routing tie."""

OPENED_BY: Mapping[str, str] = {"operator": "operator", "supervisor": "operator",
                                "grid_staff": "staff", "family": "family"}
"""Roles that may open a ticket, and the ``source`` it is recorded with (a button is 'button')."""


class StepError(ValueError):
    """The request is not a valid step (unknown action, a value it needs is missing)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    action: str
    allowed_from: tuple[str, ...]
    to: str
    roles: frozenset[str]
    assigned_only: bool = False
    """Only staff of the provider the ticket is assigned to (the store checks it under the lock)."""


STEPS: Mapping[str, Step] = {s.action: s for s in (
    Step(action="assign", allowed_from=("open", "assigned", "accepted"), to="assigned",
         roles=frozenset({"supervisor", "grid_staff", "admin"})),
    Step(action="accept", allowed_from=("assigned",), to="accepted",
         roles=frozenset({"provider"}), assigned_only=True),
    Step(action="start", allowed_from=("accepted",), to="visit_started",
         roles=frozenset({"provider"}), assigned_only=True),
    Step(action="finish", allowed_from=("visit_started",), to="visit_finished",
         roles=frozenset({"provider"}), assigned_only=True),
    # The elder's rating: their family in the app, or the centre or grid staff by phone.
    Step(action="rate", allowed_from=("visit_finished",), to="rated",
         roles=frozenset({"family", "operator", "supervisor", "grid_staff"})),
    Step(action="cancel", allowed_from=("open", "assigned", "accepted"), to="cancelled",
         roles=frozenset({"family", "operator", "supervisor", "grid_staff"})),
)}


def may(role: str, action: str) -> bool:
    """Whether a role may take the step at all (scope is the caller's check)."""
    step = STEPS.get(action)
    return step is not None and role in step.roles


@dataclass(frozen=True, slots=True, kw_only=True)
class StepInput:
    """What the person sent with the step; each step reads its own fields."""

    provider_id: str | None = None
    lat: float | None = None
    lon: float | None = None
    notes: str = ""
    rating: int | None = None
    comment: str = ""
    reason: str = ""


def _place(prefix: str, given: StepInput) -> dict[str, Any]:
    if (given.lat is None) != (given.lon is None):
        raise StepError("a location needs both lat and lon")
    return {f"{prefix}_lat": given.lat, f"{prefix}_lon": given.lon}


def changes(action: str, *, actor: str, now: dt.datetime,
            given: StepInput) -> tuple[dict[str, Any], dict[str, Any]]:
    """The columns a step sets and the details its timeline row keeps.

    >>> sets, details = changes("start", actor="p1", now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    ...                         given=StepInput(lat=31.2, lon=121.4))
    >>> sets["visit_start_lat"], details
    (31.2, {'lat': 31.2, 'lon': 121.4})
    """
    location = {"lat": given.lat, "lon": given.lon} if given.lat is not None else {}
    if action == "assign":
        if not given.provider_id:
            raise StepError("assign needs a provider_id")
        return ({"provider_id": given.provider_id, "assigned_at": now, "accepted_at": None,
                 "accepted_by": None}, {"provider_id": given.provider_id, "by": "hand"})
    if action == "accept":
        return {"accepted_at": now, "accepted_by": actor}, {}
    if action == "start":
        return ({"visit_started_at": now, "visit_by": actor, **_place("visit_start", given)},
                location)
    if action == "finish":
        sets = {"visit_finished_at": now, **_place("visit_finish", given)}
        details = dict(location) | ({"notes": given.notes} if given.notes else {})
        return sets, details
    if action == "rate":
        if given.rating is None or not 1 <= given.rating <= 5:
            raise StepError("rate needs a rating from 1 to 5")
        return ({"rating": given.rating, "rating_comment": given.comment, "rated_by": actor,
                 "rated_at": now}, {"rating": given.rating, "comment": given.comment})
    if action == "cancel":
        if not given.reason:
            raise StepError("cancel needs a reason")
        return {"cancelled_at": now, "cancel_reason": given.reason}, {"reason": given.reason}
    raise StepError(f"unknown action {action!r}; one of {', '.join(STEPS)}")


# -- routing -------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderArea:
    """One area of one provider that contains the ticket's node."""

    provider_id: str
    types: tuple[str, ...]
    depth: int
    """Length of the area node's path: 1 city, 2 district, 3 street, 4 community."""
    open_tickets: int
    active: bool = True


def choose_provider(ticket_type: str, areas: Iterable[ProviderArea]) -> str | None:
    """The provider a ticket goes to, or None when nobody covers it (see the module docstring)."""
    fit = [a for a in areas if a.active and ticket_type in a.types]
    if not fit:
        return None
    return min(fit, key=lambda a: (-a.depth, a.open_tickets, a.provider_id)).provider_id


async def route(conn: psycopg.AsyncConnection[Any], ticket_id: int) -> str | None:
    """Inside the caller's transaction: assign a just-opened ticket by the routing policy. Also
    store.batch.write's ``on_ticket``, so a button's ticket is routed as it opens."""
    found = await store_tickets.covering(conn, ticket_id)
    if not found:
        return None
    ticket_type = str(found[0]["ticket_type"])
    provider = choose_provider(ticket_type, [
        ProviderArea(provider_id=r["provider_id"], types=tuple(r["types"]), depth=r["depth"],
                     open_tickets=r["open_tickets"], active=r["active"]) for r in found])
    if provider is not None:
        await store_tickets.change(
            conn, ticket_id, allowed=("open",), action="assign", actor="system",
            sets={"status": STEPS["assign"].to, "provider_id": provider,
                  "assigned_at": dt.datetime.now(dt.UTC)},
            details={"provider_id": provider, "by": "routing"})
    return provider


# -- opening -------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class PressRule:
    config: str
    """The device's ``service_press`` setting this rule applies to."""
    event: str
    presses: int | None
    """The click count the event must report; None: any."""


PRESS_RULES: tuple[PressRule, ...] = (
    PressRule(config="second_key", event="service", presses=None),
    PressRule(config="double_press", event="sos", presses=2),
)
"""The only presses that are service requests. Everything else a button sends stays what it was:
an SOS is never reinterpreted because of the device's settings, except exactly these."""


def service_request(*, event: str, presses: int | None, service_type: str | None,
                    device: DeviceRef | None) -> str | None:
    """The ticket type a press asks for, or None when the press is not a service request.

    A press is a service request ONLY if its device is configured for it and belongs to a
    resident: event ``service`` from a device configured ``second_key``, or an ``sos`` with
    ``presses == 2`` from one configured ``double_press``. Every other press — a ``service``
    event from a device not configured for it, a double press on an unconfigured button, a
    triple press — is an SOS as before. Nothing here waits for a second press: counting clicks is
    the device's (or gateway's) job, and a single press is an SOS the moment it arrives.

    >>> ref = DeviceRef(id="b", site_id="s", kind="button", resident_id="r",
    ...                 room_id=None, service_press="double_press", service_type="meal")
    >>> service_request(event="sos", presses=2, service_type=None, device=ref)
    'meal'
    >>> service_request(event="sos", presses=1, service_type=None, device=ref) is None
    True
    """
    if device is None or device.resident_id is None:
        return None
    for rule in PRESS_RULES:
        if (rule.config == device.service_press and rule.event == event
                and (rule.presses is None or rule.presses == presses)):
            return service_type if service_type in TYPES else device.service_type
    return None


def button_ticket(*, device: DeviceRef, ticket_type: str, source_seq: int,
                  pressed_at: dt.datetime, said_ms: int | None = None) -> NewTicket:
    assert device.resident_id is not None
    return NewTicket(resident_id=device.resident_id, site_id=device.site_id, type=ticket_type,
                     source="button", device_id=device.id, source_seq=source_seq,
                     opened_by=f"device:{device.id}", pressed_at=pressed_at, said_ms=said_ms)


async def open_ticket(conn: psycopg.AsyncConnection[Any], *, resident_id: str, ticket_type: str,
                      role: str, actor: str, notes: str = "",
                      requested_for: dt.datetime | None = None) -> int:
    """A call logged in the console: the ticket opens and is routed in one transaction."""
    if role not in OPENED_BY:
        raise StepError(f"a {role} cannot open a service ticket")
    if ticket_type not in TYPES:
        raise StepError(f"type must be one of {', '.join(TYPES)}")
    async with conn.transaction():
        ticket_id = await store_tickets.insert(conn, NewTicket(
            resident_id=resident_id, site_id=None, type=ticket_type, source=OPENED_BY[role],
            notes=notes, requested_for=requested_for, opened_by=actor))
        assert ticket_id is not None  # only a button's (device, seq) can collide
        await route(conn, ticket_id)
    return ticket_id


async def apply(conn: psycopg.AsyncConnection[Any], ticket_id: int, *, action: str,
                user: dict[str, Any], given: StepInput,
                now: dt.datetime | None = None) -> dict[str, Any]:
    """Take a step on a ticket the user may see. Raises StepError (bad input), PermissionError
    (wrong role), store.errors.Conflict (wrong status, or no longer this provider's)."""
    step = STEPS.get(action)
    if step is None:
        raise StepError(f"unknown action {action!r}; one of {', '.join(STEPS)}")
    if user["role"] not in step.roles:
        raise PermissionError(f"a {user['role']} cannot {action} a service ticket")
    sets, details = changes(action, actor=user["username"], now=now or dt.datetime.now(dt.UTC),
                            given=given)
    if action == "assign":
        ticket = await store_tickets.ticket(conn, ticket_id)
        try:
            provider = await store_providers.provider(conn, str(given.provider_id))
        except NotFound:
            raise StepError(f"no service provider {given.provider_id}") from None
        if not provider["active"] or ticket["type"] not in provider["types"]:
            raise StepError(f"provider {provider['id']} does not offer {ticket['type']}"
                            " or is not active")
    return await store_tickets.change(
        conn, ticket_id, allowed=step.allowed_from, action=action, actor=user["username"],
        sets={"status": step.to, **sets}, details=details,
        provider_id=user.get("provider_id") if step.assigned_only else None)
