"""Who may see what: enforced on the server for REST and WebSocket alike.

Every user has a scope, read from their role and their row:

* operator, supervisor, admin: the whole centre and every alarm (a ``scope_node``, if set,
  narrows only their registers and reports);
* care_staff: their care home (``scope_site``), its alarms and residents;
* family: their elder (``scope_resident``) only;
* bureau, grid_staff: a grid node (``scope_node``: a city, district, street or community) and
  the residents, tickets and reports of its subtree, never the live emergency queue;
* provider: their organisation's service tickets, and of those tickets' residents only what a
  visit needs.

Civil-affairs staff are not responders: the 12349 centre handles emergencies, so bureau and grid
staff see incidents only as history and in reports.

>>> visible({"role": "family", "scope_resident": "r1"}, {"resident_id": "r2", "site_id": "s"})
False
>>> scope_of({"role": "grid_staff", "scope_node": "st-01"})
Scope(everything=False, node='st-01', site=None, resident=None)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alerts.lifecycle import CENTRE_ROLES

CIVIL_ROLES = frozenset({"bureau", "grid_staff"})


@dataclass(frozen=True, slots=True)
class Scope:
    """What a user may see of the register: everything, a grid subtree, a site or a resident.
    Nothing set and not ``everything`` means nothing."""

    everything: bool = False
    node: str | None = None
    site: str | None = None
    resident: str | None = None

    def filters(self) -> dict[str, str]:
        """Keyword filters for the store's listings (an impossible id when nothing is visible)."""
        if self.everything:
            return {"node_id": self.node} if self.node else {}
        if self.node:
            return {"node_id": self.node}
        if self.site:
            return {"site_id": self.site}
        return {"resident_id": self.resident or "-"}


def scope_of(user: dict[str, Any]) -> Scope:
    role = user["role"]
    if role in CENTRE_ROLES:
        return Scope(everything=True, node=user.get("scope_node"))
    if role in CIVIL_ROLES:
        return Scope(node=user.get("scope_node") or "-")
    if role == "care_staff":
        return Scope(site=user.get("scope_site") or "-")
    if role == "family":
        return Scope(resident=user.get("scope_resident") or "-")
    return Scope()


def resident_visible(user: dict[str, Any], resident: dict[str, Any]) -> bool:
    """``resident`` carries ``id``, ``site_id`` and ``node_path`` (its node's path, or [])."""
    scope = scope_of(user)
    if scope.everything:
        return True
    if scope.node:
        return scope.node in (resident.get("node_path") or ())
    if scope.site:
        return bool(resident["site_id"] == scope.site)
    return bool(resident["id"] == scope.resident)


def visible(user: dict[str, Any], alarm: dict[str, Any]) -> bool:
    """Whether an alarm reaches this user's live queue."""
    role = user["role"]
    if role in CENTRE_ROLES:
        return True
    if role == "care_staff":
        return user.get("scope_site") is not None and alarm["site_id"] == user["scope_site"]
    if role == "family":
        return (user.get("scope_resident") is not None
                and alarm["resident_id"] == user["scope_resident"])
    return False
