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


async def test_a_gateway_alarm_says_how_many_other_homes_of_its_community_are_cut_off(
        db_url: str) -> None:
    """A home gateway's item and the welfare check of an elder it cut off say how many other
    homes' gateways of the same community are offline now: several at once (a provider's works
    at night) is not this home's plug, and the operator phones knowing it. Other kinds of
    alarm, and gateways of other communities, are not counted."""
    import time

    from alerts.raising import AlarmTrigger, new_alarm
    from store.batch import Batch, write
    from store.registry import active_devices

    district = District.generate(seed=3, homes=30, care_homes=0, home_gateways=True)
    community = {s.id: s.community for s in district.sites}
    gateways = [d for d in district.devices if d.kind == "gateway"]
    mine = max(gateways, key=lambda g: sum(community[o.site_id] == community[g.site_id]
                                           for o in gateways))
    others = sum(1 for g in gateways
                 if g.id != mine.id and community[g.site_id] == community[mine.site_id])
    assert others >= 1
    elder = next(d for d in district.devices if d.via == mine.id and d.kind == "button")
    async with district_console(db_url, district) as p:
        assert p.pool is not None
        now = time.time()
        async with p.pool.connection() as conn:
            await conn.execute("UPDATE devices SET online = false WHERE kind = 'gateway'")
            refs = await active_devices(conn)
            for seq, (device, kind, details) in enumerate((
                    (mine.id, "maintenance", {"problem": "offline", "behind": [elder.resident_id]}),
                    (elder.id, "welfare_check", {"problem": "welfare_check",
                                                 "gateways_down": [mine.id],
                                                 "area_outage": community[mine.site_id]}),
                    (elder.id, "sos", {"event": "sos"})), start=1):
                # the press came 40 min late, out of the gateway's spool when the line was back
                alarm = new_alarm(AlarmTrigger(kind=kind, device_id=device, source_seq=seq,
                                               occurred_ts=now - (2400 if kind == "sos" else 0),
                                               details=details),
                                  refs[device], now=now)
                await write(conn, Batch(alarms=[alarm]))
            cur = await conn.execute("SELECT DISTINCT incident_id FROM alarms")
            incidents = [r["incident_id"] for r in await cur.fetchall()]
        async with signed_in(p, "op1") as op:
            read = [(await op.get(f"/api/v1/incidents/{i}")).json() for i in incidents]
            queue = {i["kind"]: i for i in (await op.get("/api/v1/incidents")).json()["incidents"]}
    seen = {a["kind"]: a for r in read for a in r["alarms"]}
    whole = {r["incident"]["kind"]: r["incident"] for r in read}
    assert seen["maintenance"]["gateways_down_nearby"] == others
    assert seen["welfare_check"]["gateways_down_nearby"] == others
    assert seen["welfare_check"]["site_community"] == community[mine.site_id]
    assert seen["sos"]["gateways_down_nearby"] is None
    # and the queue's row says a press came late: it joined the welfare check its elder's cut
    # line opened; the gateway's own item has none
    assert queue["welfare_check"]["alarm_count"] == 2
    assert queue["welfare_check"]["late_s"] == pytest.approx(2400, abs=5)
    assert whole["maintenance"]["late_s"] is None
    assert whole["welfare_check"]["late_s"] == queue["welfare_check"]["late_s"]
    # the queue's row of a check that is part of its community's outage says which (a badge)
    assert queue["welfare_check"]["area_outage"] == community[mine.site_id]
    assert whole["maintenance"]["area_outage"] is None


async def test_a_communitys_outage_is_one_row_placed_at_the_community(db_url: str) -> None:
    """An ``area_outage`` (several homes' gateways of one community down together) is one
    incident for the centre, about no elder: its queue row carries the community (the row is
    placed there, not at the home of the gateway it was raised on), and its alarm counts every
    home's gateway of the community offline now, its own home's too."""
    import time

    from alerts.raising import AlarmTrigger, new_alarm
    from store.batch import Batch, write
    from store.registry import active_devices

    district = District.generate(seed=3, homes=30, care_homes=0, home_gateways=True)
    community = {s.id: s.community for s in district.sites}
    gateways = [d for d in district.devices if d.kind == "gateway"]
    lead = max(gateways, key=lambda g: sum(community[o.site_id] == community[g.site_id]
                                           for o in gateways))
    area = community[lead.site_id]
    down = sorted(g.id for g in gateways if community[g.site_id] == area)
    async with district_console(db_url, district) as p:
        assert p.pool is not None
        async with p.pool.connection() as conn:
            await conn.execute("UPDATE devices SET online = false WHERE id = ANY(%s)", (down,))
            refs = await active_devices(conn)
            assert refs[lead.id].site_community == area
            await write(conn, Batch(alarms=[new_alarm(AlarmTrigger(
                kind="area_outage", device_id=lead.id, source_seq=1, occurred_ts=time.time(),
                details={"area_outage": area, "gateways_down": down}), refs[lead.id])]))
        async with signed_in(p, "op1") as op:
            [row] = (await op.get("/api/v1/incidents")).json()["incidents"]
            read = (await op.get(f"/api/v1/incidents/{row['id']}")).json()
    assert (row["kind"], row["priority"], row["route"], row["resident_id"]) == (
        "area_outage", 3, "centre", None)
    assert row["site_community"] == area
    [alarm] = read["alarms"]
    assert alarm["gateways_down_nearby"] == len(down) >= 2
    assert row["area_outage"] == area  # its alarms' community outage (an elder's check's badge)
