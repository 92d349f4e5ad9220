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


def test_out_in_a_residents_own_night_is_a_wandering_and_out_before_it_is_not() -> None:
    """The geofence's night is 21:00 to 07:00, unless carers set the resident's own: an early
    sleeper (asleep 19:00 to 05:00) walking out at 20:00 is a wandering, a late one (asleep
    00:00 to 09:00) walking the dog at 22:00 is not, and one without a night of their own is
    judged by 21:00 to 07:00."""
    from ingest.contract import Location

    home = (31.2, 121.4)
    nights = {"early": (19, 5), "late": (0, 9), "usual": (None, None)}
    stage = WelfareStage()
    stage.configure({f"watch-{r}": DeviceRef(
        id=f"watch-{r}", site_id=f"home-{r}", kind="wearable", resident_id=r, room_id=None,
        site_lat=home[0], site_lon=home[1], resident_asleep_from=asleep, resident_up_by=up)
        for r, (asleep, up) in nights.items()})
    evening = 1_700_000_000.0 - 1_700_000_000.0 % 86400 + 12 * 3600  # 20:00 in Shanghai

    def walk(start: float) -> dict[str, str]:
        found = {}
        for i in range(3):
            t = start + 60 * i
            fixes = [Envelope(topic=Topic(site=f"home-{r}", device=f"watch-{r}",
                                          kind=Kind.LOCATION),
                              body=Location(seq=int(t), ts=round(t * 1000), lat=home[0] + 0.01,
                                            lon=home[1], acc=15.0)) for r in nights]
            found |= {tr.device_id: tr.kind for tr in stage.process(fixes, now=t)}
        back = [Envelope(topic=Topic(site=f"home-{r}", device=f"watch-{r}", kind=Kind.LOCATION),
                         body=Location(seq=int(start) + 999, ts=round((start + 999) * 1000),
                                       lat=home[0], lon=home[1], acc=15.0)) for r in nights]
        stage.process(back, now=start + 999)
        return found

    assert walk(evening) == {"watch-early": "wandering"}
    assert walk(evening + 2 * 3600) == {"watch-early": "wandering", "watch-usual": "wandering"}
    assert walk(evening + 4 * 3600 + 60) == {"watch-early": "wandering", "watch-late": "wandering",
                                             "watch-usual": "wandering"}
