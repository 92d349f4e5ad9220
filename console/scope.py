"""Who may see which alarm: enforced on the server for REST and WebSocket alike.

Operators, supervisors and admins serve the whole centre; care-home staff see their home; family
members see only their own elder.

>>> visible({"role": "family", "scope_resident": "r1"}, {"resident_id": "r2", "site_id": "s"})
False
"""

from __future__ import annotations

from typing import Any

from alerts.lifecycle import CENTRE_ROLES


def visible(user: dict[str, Any], alarm: dict[str, Any]) -> bool:
    role = user["role"]
    if role in CENTRE_ROLES:
        return True
    if role == "care_staff":
        return user.get("scope_site") is not None and alarm["site_id"] == user["scope_site"]
    if role == "family":
        return (user.get("scope_resident") is not None
                and alarm["resident_id"] == user["scope_resident"])
    return False
