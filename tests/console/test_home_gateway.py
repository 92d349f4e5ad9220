"""An elder whose devices reach the centre through a home gateway (``devices.via``) has the
gateway on their device list, after their own devices, and each device says which gateway it
goes through: the operator phoning about a cut-off elder, and the daughter asked to see to the
gateway, find it there with whether it is online."""

from __future__ import annotations

import pytest

from simulators.district import District
from tests.console.district_console import district_console, signed_in

pytestmark = [pytest.mark.db]


async def test_an_elders_devices_list_the_home_gateway_they_go_through(db_url: str) -> None:
    # seed 2's home-0002 has a kit (District.GATEWAY_EVERY); home-0001 has none
    district = District.generate(seed=2, homes=3, care_homes=0, home_gateways=True)
    async with district_console(db_url, district) as p:
        assert p.pool is not None
        async with p.pool.connection() as conn:
            await conn.execute("UPDATE devices SET online = false WHERE id = 'gw-0002'")
        async with signed_in(p, "op1") as op:
            record = (await op.get("/api/v1/residents/r-h0002")).json()
            status = (await op.get("/api/v1/residents/r-h0002/status")).json()
            plain = (await op.get("/api/v1/residents/r-h0001")).json()
    kit = [(d["id"], d["kind"], d["via"]) for d in record["devices"]]
    assert kit[-1] == ("gw-0002", "gateway", None)
    assert ("btn-0002", "button", "gw-0002") in kit and ("smoke-h0002", "smoke", "gw-0002") in kit
    assert {d["id"]: d["online"] for d in status["devices"]}["gw-0002"] is False
    assert [d["kind"] for d in status["devices"]].count("gateway") == 1
    assert not [d for d in plain["devices"] if d["kind"] == "gateway" or d["via"]]
