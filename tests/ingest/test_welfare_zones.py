"""Each resident is judged by their own site's clock (no broker, no database): a care home in
London is not called at 03:00 its time because it is 11:00 in Shanghai; a site registered with
a zone that does not exist is judged by the centre's clock, with an error logged, and stops
nothing."""

from __future__ import annotations

import logging

import pytest

from ingest.codec import Envelope
from ingest.contract import Kind, Telemetry, Topic
from ingest.welfare import WelfareStage
from store.registry import DeviceRef

# 2023-11-15 22:30 in London (UTC in winter): 06:30 next morning in Shanghai
BEDTIME = 1_699_977_600.0 + 8 * 3600 + 22.5 * 3600
SITES = {"r1": ("care-london", "Europe/London"), "r2": ("care-typo", "Europe/Lodnon"),
         "r3": ("home-shanghai", "Asia/Shanghai")}


def _devices(sites: dict[str, tuple[str, str]]) -> dict[str, DeviceRef]:
    return {f"watch-{r}": DeviceRef(id=f"watch-{r}", site_id=site, kind="wearable",
                                    resident_id=r, room_id=None, site_tz=tz)
            for r, (site, tz) in sites.items()}


def _steps(resident: str, seq: int, t: float, steps: int) -> Envelope:
    return Envelope(topic=Topic(site=SITES[resident][0], device=f"watch-{resident}",
                                kind=Kind.TELEMETRY),
                    body=Telemetry(seq=seq, ts=round(t * 1000), hr=70, steps=steps, worn=True))


def test_inactivity_and_vitals_follow_each_residents_own_zone(
        caplog: pytest.LogCaptureFixture) -> None:
    stage = WelfareStage()
    with caplog.at_level(logging.ERROR, logger="ingest.welfare"):
        stage.configure(_devices(SITES))
    assert "unknown time zone 'Europe/Lodnon'" in caplog.text
    for seq, steps in ((1, 10), (2, 20)):  # all three walk at 22:30 London
        stage.process([_steps(r, seq, BEDTIME + seq, steps) for r in SITES], now=BEDTIME + seq)
    called: dict[str, float] = {}
    for minute in range(10, 14 * 60, 10):
        now = BEDTIME + 60 * minute
        for trigger in stage.process([], now=now):
            if trigger.kind == "inactivity":
                called[trigger.device_id] = round((now - BEDTIME) / 3600 + 22.5 - 24, 2)
    # by Shanghai's clock the day's 4 h run from 07:00 there (23:00 in London): 03:00 London;
    # by London's, from 07:00 London: 11:00 (the first 10-minute tick past)
    assert called == {"watch-r1": 11.17, "watch-r2": 3.17, "watch-r3": 3.17}
    profiles = {p.subject: p.tz for p in stage.vitals.config.residents}
    assert profiles == {"r1": "Europe/London"}
    # the site's zone is corrected: the resident is judged by it from now on
    stage.configure(_devices({**SITES, "r2": ("care-typo", "Europe/London")}))
    assert {p.subject: p.tz for p in stage.vitals.config.residents} == {
        "r1": "Europe/London", "r2": "Europe/London"}
    assert stage.inactivity._residents["r2"].local.tz == "Europe/London"
