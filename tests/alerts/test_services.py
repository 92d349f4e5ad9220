"""Service tickets' rules: the step table, the routing policy (pure, then on a real PostgreSQL
with the simulated grid) and when a press is a service request rather than an SOS."""

from __future__ import annotations

import dataclasses
import datetime as dt
import doctest
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool

from alerts import services
from alerts.services import STEPS, ProviderArea, StepError, choose_provider, service_request
from simulators.district import grid
from store import registry
from store import tickets as store_tickets
from store.errors import Conflict
from store.registry import DeviceRef

# -- the table -----------------------------------------------------------------------------------

def test_the_docstring_examples_run() -> None:
    assert doctest.testmod(services).failed == 0



def test_the_lifecycle_is_one_path_with_cancel_and_reroute_on_the_side() -> None:
    path = ["assigned", "accept", "start", "finish", "rate"]
    status = "assigned"
    for action in path[1:]:
        assert status in STEPS[action].allowed_from
        status = STEPS[action].to
    assert status == "rated"
    assert "visit_started" not in STEPS["cancel"].allowed_from  # a visit under way is finished
    assert set(STEPS["assign"].allowed_from) == {"open", "assigned", "accepted"}
    assert {s.to for s in STEPS.values()} <= set(services.STATUSES)


def test_only_the_provider_takes_the_visit_steps_and_the_elder_side_rates() -> None:
    for action in ("accept", "start", "finish"):
        assert STEPS[action].roles == {"provider"} and STEPS[action].assigned_only
    assert not services.may("provider", "rate") and services.may("family", "rate")
    assert not services.may("bureau", "cancel") and not services.may("operator", "assign")


def test_steps_need_their_values() -> None:
    now = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    with pytest.raises(StepError, match="1 to 5"):
        services.changes("rate", actor="f", now=now, given=services.StepInput(rating=6))
    with pytest.raises(StepError, match="reason"):
        services.changes("cancel", actor="f", now=now, given=services.StepInput())
    with pytest.raises(StepError, match="both lat and lon"):
        services.changes("start", actor="p", now=now, given=services.StepInput(lat=31.2))
    sets, _ = services.changes("finish", actor="p", now=now, given=services.StepInput())
    assert sets == {"visit_finished_at": now, "visit_finish_lat": None, "visit_finish_lon": None}


# -- routing, pure -------------------------------------------------------------------------------

def _area(pid: str, depth: int, *, types: tuple[str, ...] = ("meal",), load: int = 0,
          active: bool = True) -> ProviderArea:
    return ProviderArea(provider_id=pid, types=types, depth=depth, open_tickets=load,
                        active=active)


def test_the_deepest_area_wins_whatever_its_load() -> None:
    areas = [_area("city", 1), _area("district", 2, load=0), _area("street", 3, load=50)]
    assert choose_provider("meal", areas) == "street"


def test_ties_go_to_the_fewest_open_tickets_then_the_smallest_id() -> None:
    assert choose_provider("meal", [_area("b", 3, load=2), _area("a", 3, load=5)]) == "b"
    assert choose_provider("meal", [_area("b", 3, load=2), _area("a", 3, load=2)]) == "a"


def test_type_and_activity_filter_before_depth() -> None:
    areas = [_area("street-meals", 3, active=False),
             _area("street-repairs", 3, types=("repair",)), _area("city-meals", 1)]
    assert choose_provider("meal", areas) == "city-meals"
    assert choose_provider("companionship", areas) is None


# -- the press rule ------------------------------------------------------------------------------

BUTTON = DeviceRef(id="btn", site_id="home", kind="button", resident_id="r1", room_id=None)
PRESSES = [
    # (device's service_press, event type, presses, expected ticket type or None for SOS)
    ("double_press", "sos", 2, "meal"),
    ("double_press", "sos", 1, None),
    ("double_press", "sos", None, None),
    ("double_press", "sos", 3, None),
    ("double_press", "service", None, None),  # not this device's way of asking: SOS
    ("none", "sos", 2, None),  # a double press on an unconfigured button is an emergency
    ("none", "service", None, None),
    ("second_key", "service", None, "meal"),
    ("second_key", "sos", 2, None),
    ("second_key", "cancel", None, None),
]


@pytest.mark.parametrize(("config", "event", "presses", "expected"), PRESSES)
def test_a_press_is_a_service_request_only_as_configured(
        config: str, event: str, presses: int | None, expected: str | None) -> None:
    device = dataclasses.replace(BUTTON, service_press=config, service_type="meal")
    got = service_request(event=event, presses=presses, service_type=None, device=device)
    assert got == expected


def test_the_press_may_name_its_service_and_a_device_without_an_elder_never_opens_one() -> None:
    device = dataclasses.replace(BUTTON, service_press="second_key", service_type="meal")
    assert service_request(event="service", presses=None, service_type="repair",
                           device=device) == "repair"
    alone = dataclasses.replace(device, resident_id=None)
    assert service_request(event="service", presses=None, service_type=None, device=alone) is None
    assert service_request(event="service", presses=None, service_type=None, device=None) is None


# -- routing and steps on PostgreSQL -------------------------------------------------------------

RESIDENTS = {"r-cm01": "cm-01", "r-cm03": "cm-03", "r-cm05": "cm-05"}


async def _seed(pool: AsyncConnectionPool, providers: list[tuple[str, list[str], str]]) -> None:
    rows: dict[str, list[dict[str, Any]]] = {
        "org_nodes": [dataclasses.asdict(n) for n in grid()],
        "sites": [{"id": f"home-{r}", "kind": "home", "name": r, "node_id": n}
                  for r, n in RESIDENTS.items()],
        "residents": [{"id": r, "site_id": f"home-{r}", "name": r} for r in RESIDENTS],
        "service_providers": [{"id": p, "name": p, "types": t} for p, t, _ in providers],
        "provider_areas": [{"provider_id": p, "node_id": n} for p, _, n in providers],
    }
    async with pool.connection() as conn:
        await registry.seed(conn, rows)


async def _open(pool: AsyncConnectionPool, resident: str, ticket_type: str) -> dict[str, Any]:
    async with pool.connection() as conn:
        ticket_id = await services.open_ticket(conn, resident_id=resident, ticket_type=ticket_type,
                                               role="operator", actor="op1")
        return await store_tickets.ticket(conn, ticket_id)


@pytest.mark.db
async def test_routing_on_the_grid_picks_the_most_specific_provider_or_none(
        pool: AsyncConnectionPool) -> None:
    await _seed(pool, [("meals-city", ["meal"], "city-01"), ("meals-st01", ["meal"], "st-01"),
                       ("meals-cm01", ["meal"], "cm-01"), ("repairs-dist01", ["repair"], "dist-01")])
    assert (await _open(pool, "r-cm01", "meal"))["provider_id"] == "meals-cm01"
    assert (await _open(pool, "r-cm03", "meal"))["provider_id"] == "meals-city"
    assert (await _open(pool, "r-cm03", "repair"))["provider_id"] == "repairs-dist01"
    unrouted = await _open(pool, "r-cm05", "repair")  # dist-02 has no repairs
    assert unrouted["status"] == "open" and unrouted["provider_id"] is None
    routed = await _open(pool, "r-cm01", "meal")
    assert routed["status"] == "assigned" and routed["assigned_at"] is not None
    async with pool.connection() as conn:
        steps = await store_tickets.timeline(conn, routed["id"])
    assert [(s["action"], s["to_status"], s["actor"]) for s in steps] == [
        ("opened", "open", "op1"), ("assign", "assigned", "system")]
    assert steps[1]["details"] == {"provider_id": "meals-cm01", "by": "routing"}


@pytest.mark.db
async def test_equal_areas_share_by_load(pool: AsyncConnectionPool) -> None:
    await _seed(pool, [("b-meals", ["meal"], "st-01"), ("a-meals", ["meal"], "st-01")])
    got = [(await _open(pool, "r-cm01", "meal"))["provider_id"] for _ in range(3)]
    assert got == ["a-meals", "b-meals", "a-meals"]


@pytest.mark.db
async def test_a_step_from_the_wrong_status_or_by_another_provider_is_refused(
        pool: AsyncConnectionPool) -> None:
    await _seed(pool, [("meals", ["meal"], "city-01"), ("other", ["meal"], "dist-02")])
    ticket = await _open(pool, "r-cm01", "meal")
    provider = {"username": "p1", "role": "provider", "provider_id": "meals"}
    async with pool.connection() as conn:
        with pytest.raises(Conflict, match="is assigned; cannot start"):
            await services.apply(conn, ticket["id"], action="start", user=provider,
                                 given=services.StepInput())
        stranger = {**provider, "provider_id": "other"}
        with pytest.raises(Conflict, match="no longer assigned"):
            await services.apply(conn, ticket["id"], action="accept", user=stranger,
                                 given=services.StepInput())
        with pytest.raises(PermissionError):
            await services.apply(conn, ticket["id"], action="accept",
                                 user={"username": "op1", "role": "operator"},
                                 given=services.StepInput())
        done = await services.apply(conn, ticket["id"], action="accept", user=provider,
                                    given=services.StepInput())
    assert done["status"] == "accepted" and done["accepted_by"] == "p1"
