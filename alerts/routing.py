"""Where an alarm goes, and which alarms belong together, as data.

Correlation: alarms about the same subject while an incident is open join that incident. The
subject is the resident for personal alarms, the floor for smoke in a care home (several detectors
on one floor are one fire), and the device when neither is known.

Routing (issue 5), per resident, else per site, else the 12349 default:

=================  ===========================================================================
``centre``         the 12349 default: the alarm goes straight to the operators' queue
``family_first``   family has ``family_accept_s`` seconds to accept it; then the centre takes it
``care_home``      care-home alarms go to that home's staff on duty *and* to the centre
``maintenance``    P4 (device upkeep) goes to maintenance lists, never to the operators' queue
=================  ===========================================================================

>>> route_for(priority=1, site_kind="home", site_routing=None, resident_routing=None).mode
'centre'
>>> route_for(priority=1, site_kind="home", site_routing=None,
...           resident_routing={"mode": "family_first", "family_accept_s": 90}).family_accept_s
90.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alerts.kinds import KINDS

DEFAULT_FAMILY_ACCEPT_S = 120.0
"""How long family has to accept in family-first routing unless the resident's policy says."""
MAX_FAMILY_ACCEPT_S = 600.0
"""Cap on any configured family window: an unaccepted alarm must not wait longer than this."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    mode: str
    family_accept_s: float | None = None


def correlation_key(*, kind: str, device_id: str, site_id: str, site_kind: str,
                    resident_id: str | None, floor: int | None, community: str = "") -> str:
    if kind == "maintenance":
        return f"maintenance:{device_id}"  # upkeep never merges into an elder's emergency
    if (about := KINDS.get(kind)) is not None and about.about_area:
        return f"{kind}:{community or site_id}"  # the community's lines, one incident for all
    if about is not None and about.about_site:
        return f"{kind}:{site_id}"  # the site's fault, never one elder's incident
    if kind == "smoke" and site_kind != "home" and floor is not None:
        return f"floor:{site_id}:{floor}"
    if kind == "smoke":
        return f"site:{site_id}"
    if resident_id is not None:
        return f"resident:{resident_id}"
    return f"device:{device_id}"


def route_for(*, priority: int, site_kind: str, site_routing: dict[str, Any] | None,
              resident_routing: dict[str, Any] | None, about_area: bool = False) -> Route:
    if priority >= 4:
        return Route(mode="maintenance")
    if about_area:
        return Route(mode="centre")  # many homes' lines: the centre tells the provider
    if site_kind == "care_home":
        return Route(mode="care_home")
    policy = resident_routing or site_routing or {}
    if policy.get("mode") == "family_first":
        seconds = float(policy.get("family_accept_s", DEFAULT_FAMILY_ACCEPT_S))
        return Route(mode="family_first",
                     family_accept_s=min(max(seconds, 0.0), MAX_FAMILY_ACCEPT_S))
    return Route(mode="centre")
