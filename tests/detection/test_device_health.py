"""Device health: check-in intervals per class, last will, battery hysteresis, welfare check."""

from __future__ import annotations

import doctest
import importlib
import json

import pytest

from detection.device_health import (
    OFFLINE_DELAY_S,
    Clock,
    DeviceClass,
    DeviceEvent,
    DeviceHealthDetector,
    HealthFinding,
)
from tests.detection.cases_device_health import three_days

H = 3600.0


def _e(t: float, device: str = "b1", cls: str = "button", *, subject: str = "r1",
       status: str = "message", battery: float | None = None) -> DeviceEvent:
    return DeviceEvent(timestamp=t, device=device, subject=subject, device_class=cls,
                       status=status, battery_pct=battery)


def _run(d: DeviceHealthDetector, batches: list[list[DeviceEvent | Clock]]) -> list[HealthFinding]:
    return [f for b in batches for f in d.update(b)]


def test_intervals_come_from_the_class_table() -> None:
    d = DeviceHealthDetector()
    d.update([_e(0.0, "hub", "hub"), _e(0.0, "b1", "button")])
    assert d.update([Clock(timestamp=14 * 60.0)]) == []
    assert [(f.device, f.kind) for f in d.update([Clock(timestamp=16 * 60.0)])] == [
        ("hub", "no_checkin")]
    assert d.update([Clock(timestamp=37 * H)]) == []
    kinds = [(f.device, f.kind) for f in d.update([Clock(timestamp=38 * H)])]
    assert kinds == [("b1", "no_checkin"), (None, "welfare_check")]


def test_custom_class_table() -> None:
    fast = DeviceClass(name="pir", checkin_s=60.0, low_battery_pct=None, emergency=False)
    d = DeviceHealthDetector(classes=(fast,))
    d.update([_e(0.0, "p", "pir"), _e(0.0, "b", "button")])  # button: unknown class here
    assert [f.device for f in d.update([Clock(timestamp=100.0)])] == ["p"]


def test_a_device_that_protects_no_elder_is_maintenance_never_a_welfare_check() -> None:
    """A care-home room's smoke detector (no resident of its own) going offline, or silent, is
    a maintenance item; "all emergency devices silent" is about an elder, and there is none.
    (The demo district raised a P3 welfare check for each such dropout.)"""
    d = DeviceHealthDetector()
    room = DeviceEvent(timestamp=0.0, device="smoke-1", subject="device:smoke-1",
                       device_class="smoke_detector", elder=False)
    d.update([room, room._replace(timestamp=60.0, status="offline")])
    found = d.update([Clock(timestamp=60.0 + OFFLINE_DELAY_S)])
    assert [f.kind for f in found] == ["offline"]
    found = d.update([room._replace(timestamp=300.0, status="online"), Clock(timestamp=40 * H)])
    assert [f.kind for f in found] == ["restored", "no_checkin"]
    # the same device given to an elder: their only emergency device, so a welfare check too
    d.update([room._replace(timestamp=41 * H, subject="r9", elder=True),
              room._replace(timestamp=41 * H + 60, subject="r9", elder=True, status="offline")])
    found = d.update([Clock(timestamp=41 * H + 60 + OFFLINE_DELAY_S)])
    assert [f.kind for f in found] == ["offline", "welfare_check"]


def test_offline_is_distinct_and_said_once_it_has_stood_its_delay() -> None:
    """A last will is reported as ``offline`` once it has stood ``offline_delay`` (2 min): a
    device back sooner was a blip and is never reported."""
    d = DeviceHealthDetector()
    d.update([_e(0.0, "b1"), _e(0.0, "w1", "wearable"), _e(0.0, "b2", subject="r2")])
    assert d.update([_e(60.0, "b1", status="offline"), _e(60.0, "b2", subject="r2",
                                                            status="offline")]) == []
    assert d.update([_e(100.0, "b2", subject="r2", status="online")]) == []  # a blip
    assert d.update([Clock(timestamp=60.0 + OFFLINE_DELAY_S - 1)]) == []
    found = d.update([Clock(timestamp=60.0 + OFFLINE_DELAY_S)])
    assert [(f.device, f.kind) for f in found] == [("b1", "offline")]
    assert d.update([_e(200.0, "b1", status="offline"), Clock(timestamp=1000.0)]) == []
    # the wearable still checks in: the elder is not unprotected
    assert d.update([_e(1100.0, "w1", "wearable")]) == []


def test_welfare_check_when_every_emergency_device_is_silent_and_rearms() -> None:
    d = DeviceHealthDetector()
    d.update([_e(0.0, "b1"), _e(0.0, "w1", "wearable"), _e(0.0, "hub", "hub")])
    d.update([_e(60.0, "b1", status="offline")])
    found = d.update([_e(1.5 * H, "hub", "hub"), Clock(timestamp=1.6 * H)])
    assert [(f.device, f.kind) for f in found] == [
        ("b1", "offline"), ("w1", "no_checkin"), (None, "welfare_check")]
    # the wearable comes back: the elder is protected again, said once
    assert [(f.subject, f.kind) for f in d.update([_e(2 * H, "w1", "wearable")])] == [
        ("r1", "restored"), ("r1", "protected_again")]
    assert d.update([_e(2.05 * H, "w1", "wearable")]) == []
    # then drops off, then drops off: the elder is unprotected again once that stands
    d.update([_e(2.1 * H, "w1", "wearable", status="offline")])
    found = d.update([Clock(timestamp=2.1 * H + OFFLINE_DELAY_S)])
    assert [f.kind for f in found if f.device != "hub"] == ["offline", "welfare_check"]


def test_a_device_moved_to_another_elder_rejudges_both_elders() -> None:
    d = DeviceHealthDetector()
    d.update([_e(0.0, "b1", subject="r1"), _e(0.0, "b2", subject="r2"),
              _e(10.0, "b2", subject="r2", status="offline")])
    found = d.update([Clock(timestamp=10.0 + OFFLINE_DELAY_S)])
    assert [(f.subject, f.kind) for f in found] == [("r2", "offline"), ("r2", "welfare_check")]
    # b1 moves to r2, and r2 is protected again; r1, left with no emergency device, is not
    # "silent" (it has none to be silent): the move is re-judged on both sides.
    assert [(f.subject, f.kind) for f in d.update([_e(200.0, "b1", subject="r2")])] == [
        ("r2", "protected_again")]
    d.update([_e(210.0, "b1", subject="r2", status="offline")])
    found = d.update([Clock(timestamp=210.0 + OFFLINE_DELAY_S)])
    assert [(f.subject, f.kind) for f in found] == [("r2", "offline"), ("r2", "welfare_check")]


def test_a_restored_detector_judges_every_elder_at_its_first_tick() -> None:
    d = DeviceHealthDetector()
    d.update([_e(0.0, "b1", subject="r1"), _e(0.0, "w1", "wearable", subject="r1")])
    d.update([_e(10.0, "b1", subject="r1", status="offline")])
    d.update([Clock(timestamp=10.0 + OFFLINE_DELAY_S)])
    snap = json.loads(json.dumps(d.snapshot()))
    snap["devices"]["w1"]["offline"] = True  # as if its last will was stored, then restored
    restored = DeviceHealthDetector.restore(snap)
    found = restored.update([Clock(timestamp=20.0 + OFFLINE_DELAY_S)])
    assert [(f.subject, f.kind) for f in found] == [("r1", "welfare_check")]
    assert restored.update([Clock(timestamp=21.0 + OFFLINE_DELAY_S)]) == []  # said once


def _home(d: DeviceHealthDetector, t: float, rooms: range, *, site: str = "care-1") -> list[HealthFinding]:
    """Each room's wall button (mains, every 10 min) and its elder's battery pendant."""
    return d.update([e for r in rooms for e in (
        DeviceEvent(timestamp=t, device=f"wall-{r}", subject=f"r{r}", device_class="wall_button",
                    site=site),
        DeviceEvent(timestamp=t, device=f"pendant-{r}", subject=f"r{r}", device_class="button",
                    site=site))])


def test_a_care_home_gone_silent_is_one_finding_not_one_per_device_and_elder() -> None:
    """Twelve rooms; the home's network drops at 00:05 (every wall button last heard then),
    but the pendants would not be due for a day. At 15 min the first wall buttons are overdue:
    one ``site_silent``, and none of the twelve ``no_checkin`` (the pendants are still
    'heard', so no elder is unprotected yet). Back at 01:00 (``site_heard_again``, once); the
    one wall button still silent
    two minutes later (``offline_delay``: a site's devices come back over a minute or so) is
    reported then, as itself."""
    d = DeviceHealthDetector()
    for minute in range(0, 6, 1):
        _home(d, minute * 60.0, range(12))
    found = _run(d, [[Clock(timestamp=t * 60.0)] for t in range(6, 25)])
    assert [(f.subject, f.kind) for f in found] == [("site:care-1", "site_silent")], found
    assert found[0].device == "wall-0" and found[0].detail.startswith("12 of 24 devices")
    # while it lasts, nothing else about the site (and more elders do not change that)
    assert _run(d, [[Clock(timestamp=t * 60.0)] for t in range(25, 60)]) == []
    heard = [DeviceEvent(timestamp=3600.0, device=f"wall-{r}", subject=f"r{r}",
                         device_class="wall_button", site="care-1") for r in range(11)]
    again = _run(d, [heard, [Clock(timestamp=3601.0)]])
    assert [(f.subject, f.kind, f.detail) for f in again] == [
        ("site:care-1", "site_heard_again", "23 of 24 devices heard")]  # marks its alarm
    assert _run(d, [[Clock(timestamp=3600.0 + OFFLINE_DELAY_S - 1)]]) == []
    back = _run(d, [[Clock(timestamp=3601.0 + OFFLINE_DELAY_S)]])
    assert [(f.device, f.kind) for f in back] == [("wall-11", "no_checkin")], back


def test_one_devices_silence_is_its_own_and_a_site_still_heard_is_not_down() -> None:
    """Four wall buttons of twelve fall silent together while the other eight go on: too few to
    be the site, each is its own ``no_checkin``. Five of twenty, with fifteen still heard, is
    no outage either."""
    d = DeviceHealthDetector()
    _home(d, 0.0, range(12))
    for minute in range(1, 40):  # rooms 0-3 fall silent at minute 0
        d.update([DeviceEvent(timestamp=minute * 60.0, device=f"wall-{r}", subject=f"r{r}",
                              device_class="wall_button", site="care-1") for r in range(4, 12)])
    found = d.update([Clock(timestamp=40 * 60.0)])
    assert sorted(f.device for f in found if f.kind == "no_checkin") == [
        "wall-0", "wall-1", "wall-2", "wall-3"]
    assert not [f for f in found if f.kind == "site_silent"]
    d2 = DeviceHealthDetector()
    _home(d2, 0.0, range(20))
    for minute in range(1, 40):  # 5 silent, 15 still heard: 5 of 20 is no outage
        d2.update([DeviceEvent(timestamp=minute * 60.0, device=f"wall-{r}", subject=f"r{r}",
                               device_class="wall_button", site="care-1") for r in range(5, 20)])
    found = d2.update([Clock(timestamp=40 * 60.0)])
    assert [f.kind for f in found].count("no_checkin") == 5 and "site_silent" not in {
        f.kind for f in found}


def test_an_outage_and_its_held_findings_survive_a_restart() -> None:
    d = DeviceHealthDetector()
    _home(d, 0.0, range(8))
    _run(d, [[Clock(timestamp=t * 60.0)] for t in range(1, 20)])
    assert d._sites_down == {"care-1": 0.0}
    restored = DeviceHealthDetector.restore(json.loads(json.dumps(d.snapshot())))
    assert restored._sites_down == d._sites_down and restored._held == d._held
    assert restored.update([Clock(timestamp=30 * 60.0)]) == d.update([Clock(timestamp=30 * 60.0)])
    older = {k: v for k, v in d.snapshot().items() if k not in ("outage", "sites_down", "held")}
    assert DeviceHealthDetector.restore(older)._sites_down == {}


def test_the_time_the_platform_could_not_hear_is_not_held_against_a_device() -> None:
    """A wall button heard at 0, the platform deaf from 5 to 25 min: at 26 min the button has
    been silent 6 min of the time it could be heard, not 26. Two lanes excusing the same outage
    excuse it once; a device that really stopped is called 20 min later than it would have
    been, not never."""
    d = DeviceHealthDetector()
    d.update([_e(0.0, "wall", "wall_button")])
    d.excuse(5 * 60.0, 25 * 60.0)
    d.excuse(5 * 60.0, 25 * 60.0)
    assert d.update([Clock(timestamp=26 * 60.0)]) == []
    assert d.update([Clock(timestamp=34 * 60.0)]) == []
    assert [f.kind for f in d.update([Clock(timestamp=36 * 60.0)])] == [
        "no_checkin", "welfare_check"]
    restored = DeviceHealthDetector.restore(json.loads(json.dumps(d.snapshot())))
    assert restored._excused_until == 25 * 60.0


def test_a_device_silent_after_a_nearly_flat_battery_is_said_probably_flat() -> None:
    """r1's watch reports 3 % and goes offline; r2's reports 64 % and goes offline. Both are
    ``offline`` with the battery they last reported, r1's "probably flat" (the operator asks
    for it to be charged, not for a technician). r1 has nothing else, so r1's welfare check
    names the watch as probably flat too; the judgement survives a restart, and a restart from
    a snapshot taken before batteries were kept knows nothing of them."""
    d = DeviceHealthDetector()
    d.update([_e(0.0, "w1", "wearable", battery=3.0),
              _e(0.0, "w2", "wearable", subject="r2", battery=64.0),
              _e(0.0, "b2", "button", subject="r2", battery=90.0)])
    d.update([_e(30.0, "w1", "wearable", status="offline"),
              _e(30.0, "w2", "wearable", subject="r2", status="offline")])
    before = d.snapshot()
    restored = DeviceHealthDetector.restore(json.loads(json.dumps(before)))
    old = json.loads(json.dumps(before))
    for device in old["devices"].values():
        del device["battery"]
    del old["flat_pct"]
    forgot = DeviceHealthDetector.restore(old)
    for detector in (d, restored):
        found = {(f.device, f.kind): f for f in detector.update([Clock(timestamp=30.0 + OFFLINE_DELAY_S)])}
        assert set(found) == {("w1", "offline"), ("w2", "offline"), (None, "welfare_check")}
        w1, w2, welfare = found["w1", "offline"], found["w2", "offline"], found[None, "welfare_check"]
        assert (w1.battery_pct, w1.flat) == (3.0, ("w1",))
        assert w1.detail.endswith("last battery 3 %: probably flat"), w1.detail
        assert (w2.battery_pct, w2.flat) == (64.0, ())
        assert "flat" not in w2.detail
        assert (welfare.subject, welfare.flat) == ("r1", ("w1",))
        assert welfare.detail.endswith("probably flat: w1")
    found = forgot.update([Clock(timestamp=30.0 + OFFLINE_DELAY_S)])
    assert {(f.device, f.battery_pct, f.flat) for f in found} == {
        ("w1", None, ()), ("w2", None, ()), (None, None, ())}
    assert d.battery("w1") == 3.0 and d.battery("nobody") is None


def test_low_battery_once_with_hysteresis() -> None:
    d = DeviceHealthDetector()
    levels = [25, 20, 21, 19, 20, 28, 31, 18]
    found = [f for i, b in enumerate(levels) for f in d.update([_e(float(i), battery=b)])]
    assert [(f.kind, f.timestamp) for f in found] == [
        ("low_battery", 1.0), ("restored", 6.0), ("low_battery", 7.0)]


def test_a_device_whole_again_is_restored_once_and_only_from_a_problem_of_its_own() -> None:
    """A button that dropped out is ``restored`` when it is heard again, once. A watch that
    went flat is not restored when it is heard on its charger at 4 %, nor at 25 % (its level
    plus the hysteresis), but at 26 %: it is whole when it is charged, not when it is heard. A
    device whose last will was a blip (never reported), or that was never reported at all, is
    never restored; nor does a site's outage restore the devices it held. What is pending
    survives a restart; a snapshot from before it knows of nothing to restore."""
    d = DeviceHealthDetector()
    d.update([_e(0.0, "b1", battery=80.0), _e(0.0, "w1", "wearable", battery=16.0),
              _e(0.0, "b2", subject="r2", battery=90.0)])
    assert [f.kind for f in d.update([_e(60.0, "w1", "wearable", battery=15.0)])] == ["low_battery"]
    d.update([_e(100.0, "b1", status="offline"), _e(100.0, "w1", "wearable", status="offline"),
              _e(100.0, "b2", subject="r2", status="offline")])
    assert d.update([_e(110.0, "b2", subject="r2", status="online")]) == []  # a blip
    found = d.update([Clock(timestamp=100.0 + OFFLINE_DELAY_S)])
    assert {(f.device, f.kind) for f in found} == {("b1", "offline"), ("w1", "offline"),
                                                   (None, "welfare_check")}
    assert not d.healthy("b1") and d.healthy("b2") and not d.healthy("nobody")
    snap = json.loads(json.dumps(d.snapshot()))
    old = json.loads(json.dumps(snap))
    for device in old["devices"].values():
        del device["reported"]
    for detector in (d, DeviceHealthDetector.restore(snap)):
        found = detector.update([_e(500.0, "b1", status="online")])
        assert [(f.device, f.kind, f.battery_pct) for f in found if f.kind == "restored"] == [
            ("b1", "restored", 80.0)]
        assert found[0].detail == "heard again; battery 80 %"
        assert [f.kind for f in detector.update([_e(600.0, "b1", battery=80.0)])] == []
        for t, pct in ((900.0, 4.0), (1200.0, 25.0)):
            assert "restored" not in {f.kind for f in detector.update(
                [_e(t, "w1", "wearable", battery=pct)])}
            assert not detector.healthy("w1")
        found = detector.update([_e(1500.0, "w1", "wearable", battery=26.0)])
        assert [(f.device, f.kind) for f in found] == [("w1", "restored")]
        assert detector.healthy("w1") and detector.healthy("b1")
    assert "restored" not in {f.kind for f in DeviceHealthDetector.restore(old).update(
        [_e(500.0, "b1", status="online"), _e(600.0, "w1", "wearable", battery=90.0)])}
    home = DeviceHealthDetector()
    _home(home, 0.0, range(8))
    _run(home, [[Clock(timestamp=t * 60.0)] for t in range(1, 20)])
    assert home._held
    back = [DeviceEvent(timestamp=1300.0, device=f"wall-{r}", subject=f"r{r}",
                        device_class="wall_button", site="care-1") for r in range(8)]
    assert "restored" not in {f.kind for f in _run(home, [back, [Clock(timestamp=1500.0)]])}


def test_mains_devices_have_no_battery_alarm() -> None:
    assert DeviceHealthDetector().update([_e(0.0, "hub", "hub", battery=1.0)]) == []


def test_late_event_does_not_revive_a_device() -> None:
    d = DeviceHealthDetector()
    d.update([_e(0.0, "hub", "hub"), _e(100.0, "hub", "hub", status="offline")])
    d.update([_e(50.0, "hub", "hub")])
    assert d.update([_e(101.0, "hub", "hub", status="offline")]) == []


def test_seeded_fleet_findings_are_pinned() -> None:
    found = _run(DeviceHealthDetector(), three_days(7))
    summary = [(f.subject, f.device, f.kind) for f in found]
    assert summary == [
        ("r1", "watch-1", "low_battery"),
        ("r2", "smoke-2", "no_checkin"),
        ("r1", "hub-1", "offline"),
        ("r2", "btn-2", "no_checkin"),
        ("r2", None, "welfare_check"),
    ]
    # the button checks in about every 24 h: silence counts after 1.5 x 25 h, not before
    assert float(found[3].detail.split()[1]) >= 37.5


def test_restore_continues_identically() -> None:
    batches = three_days(3)
    straight = _run(DeviceHealthDetector(), batches)
    d = DeviceHealthDetector()
    head = _run(d, batches[:200])
    again = DeviceHealthDetector.restore(json.loads(json.dumps(d.snapshot())))
    assert head + _run(again, batches[200:]) == straight


@pytest.mark.parametrize("module", ['detection.device_health'])
def test_docstring_examples_run(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0
    assert result.failed == 0


def test_a_device_that_said_its_battery_was_low_is_restored_only_by_a_fresh_battery() -> None:
    """A smoke detector says "battery low" itself (its item holds that event): no finding of
    ours beside it. Heard again without a battery, or at 18 % or 30 % (not above its level plus
    the hysteresis, 30 %), it is not whole; at 95 %, after a new battery, it is restored once,
    saying the battery is fresh. One that had reported 50 % before it said so (its gauge and
    its own judgement disagree) needs more than 60 %. What is pending survives a restart."""
    d = DeviceHealthDetector()
    smoke = {"cls": "smoke_detector", "subject": "room-3"}
    assert d.update([_e(0.0, "s1", **smoke)]) == []
    said_low = DeviceEvent(timestamp=10.0, device="s1", subject="room-3",
                           device_class="smoke_detector", says_low=True)
    assert d.update([said_low]) == []
    assert not d.healthy("s1")
    for t, battery in [(20.0, None), (30.0, 18.0), (40.0, 30.0)]:
        assert d.update([_e(t, "s1", battery=battery, **smoke)]) == []  # heard is not whole
    again = DeviceHealthDetector.restore(json.loads(json.dumps(d.snapshot())))
    [found] = again.update([_e(50.0, "s1", battery=95.0, **smoke)])
    assert (found.kind, found.fresh_battery, found.battery_pct) == ("restored", True, 95.0)
    assert again.update([_e(60.0, "s1", battery=95.0, **smoke)]) == [] and again.healthy("s1")
    # a gauge that said 50 % when the device said "low"
    d.update([_e(70.0, "b9", battery=50.0), DeviceEvent(
        timestamp=80.0, device="b9", subject="r1", device_class="button", says_low=True)])
    assert d.update([_e(90.0, "b9", battery=55.0)]) == []
    [found] = d.update([_e(100.0, "b9", battery=100.0)])
    assert (found.kind, found.fresh_battery) == ("restored", True)
    # a button back from a dropout with a battery of 80 % is restored, and its battery is fresh
    # (above 30 %); one heard without a battery is restored, its battery not said to be fresh
    d.update([_e(110.0, "b1", battery=80.0), _e(120.0, "b2", subject="r2")])
    d.update([_e(130.0, "b1", status="offline"), _e(130.0, "b2", subject="r2", status="offline")])
    d.update([Clock(timestamp=130.0 + OFFLINE_DELAY_S)])
    back = d.update([_e(300.0, "b1", battery=80.0), _e(300.0, "b2", subject="r2")])
    assert {(f.device, f.kind, f.fresh_battery) for f in back if f.kind == "restored"} == {
        ("b1", "restored", True), ("b2", "restored", False)}


def _says(t: float, device: str, what: str, cls: str = "smoke_detector") -> DeviceEvent:
    return DeviceEvent(timestamp=t, device=device, subject="room-3", device_class=cls, says=what)


def test_a_fault_or_tamper_of_its_own_is_over_only_when_the_device_says_so() -> None:
    """A smoke detector taken off its base (tamper), then in trouble (fault): no finding of ours
    beside its own events, and being heard is not being whole. Back on its base, the fault
    still stands; the fault over too, it is restored once, saying both are over (across a
    restart). A "fault over" from a device that said no fault is an ordinary message."""
    d = DeviceHealthDetector()
    smoke = {"cls": "smoke_detector", "subject": "room-3"}
    assert d.update([_e(0.0, "s1", battery=90.0, **smoke)]) == []
    assert d.update([_says(10.0, "s1", "tamper"), _says(20.0, "s1", "fault")]) == []
    assert not d.healthy("s1")
    assert d.update([_e(30.0, "s1", battery=90.0, **smoke)]) == []
    assert d.update([_says(40.0, "s1", "tamper_cleared")]) == []  # the fault stands
    again = DeviceHealthDetector.restore(json.loads(json.dumps(d.snapshot())))
    [found] = again.update([_says(50.0, "s1", "fault_cleared")])
    assert (found.kind, found.over) == ("restored", ("tamper", "fault"))
    assert found.detail == "heard again; battery 90 %; tamper over; fault over"
    assert again.update([_e(60.0, "s1", battery=90.0, **smoke)]) == [] and again.healthy("s1")
    assert again.update([_says(70.0, "s1", "fault_cleared")]) == []
    # a fault of its own during a dropout: back online is not whole while the fault stands
    again.update([_says(80.0, "s1", "fault"), _e(90.0, "s1", status="offline", **smoke)])
    again.update([Clock(timestamp=90.0 + OFFLINE_DELAY_S)])
    assert "restored" not in [f.kind for f in again.update([_e(400.0, "s1", **smoke)])]
    [found] = again.update([_says(500.0, "s1", "fault_cleared")])
    assert (found.kind, found.over) == ("restored", ("fault",))


def test_what_the_store_holds_open_is_restored_when_next_heard_whole() -> None:
    """After a restart from a snapshot that remembers no problem (taken between a restore's
    finding and its write, or from before problems were remembered), the items the store holds
    open are what counts: a button heard is restored at once; one whose item holds a low
    battery only with a fresh battery read; one whose item holds its own "battery low" needs
    more than the battery it had; one holding its own fault only when it says the fault is
    over. A mains device's item cannot hold a low battery: heard, it is restored."""
    d = DeviceHealthDetector()
    d.update([_e(0.0, "b1", battery=90.0), _e(0.0, "b2", battery=50.0), _e(0.0, "b3", battery=35.0),
              _e(0.0, "s1", "smoke_detector", subject="room-3"), _e(0.0, "h1", "hub")])
    for device in ("b1", "b2", "b3", "s1", "h1"):
        assert d.healthy(device)
    d.still_open("b1")
    d.still_open("b2", low=True)
    d.still_open("b3", said_low=True)
    d.still_open("s1", said=("fault",))
    d.still_open("h1", low=True)
    d.still_open("never-heard")
    [found] = d.update([_e(10.0, "b1", battery=90.0)])
    assert (found.device, found.kind) == ("b1", "restored")
    assert d.update([_e(10.0, "b2"), _e(20.0, "b2", battery=25.0)]) == []  # not fresh yet
    [found] = d.update([_e(30.0, "b2", battery=95.0)])
    assert (found.device, found.kind, found.fresh_battery) == ("b2", "restored", True)
    assert d.update([_e(10.0, "b3", battery=40.0)]) == []  # not 10 points above what it had
    assert d.update([_e(20.0, "b3", battery=45.0)]) == []
    [found] = d.update([_e(30.0, "b3", battery=100.0)])
    assert (found.device, found.kind) == ("b3", "restored")
    assert d.update([_e(10.0, "s1", "smoke_detector", subject="room-3")]) == []
    [found] = d.update([_says(20.0, "s1", "fault_cleared")])
    assert (found.device, found.over) == ("s1", ("fault",))
    [found] = d.update([_e(10.0, "h1", "hub")])
    assert (found.device, found.kind) == ("h1", "restored")
    [found] = d.update([_e(10.0, "never-heard")])
    assert (found.device, found.kind) == ("never-heard", "restored")
    assert d.update([_e(20.0, "never-heard")]) == []  # once


def _via(t: float, device: str, cls: str, subject: str, *, via: str = "", status: str = "message",
         elder: bool = True) -> DeviceEvent:
    return DeviceEvent(timestamp=t, device=device, subject=subject, device_class=cls,
                       status=status, site="home-1", elder=elder, via=via)


def test_an_elder_whose_gateway_is_down_is_cut_off_at_once_not_a_day_later() -> None:
    """r1's button and smoke detector speak to the platform through the home gateway gw-1; r2
    (same home) also wears a 4G watch of her own. The gateway's line is cut: its last will
    comes, and two minutes later it is offline. r1 cannot call for help now: a welfare check
    saying the gateway cut them off, at once, not when the button misses its daily check-in
    37.5 h later; r2's watch still calls, so nothing for her. A day and a half on, the
    devices behind the gateway are past their check-in: their silence is the gateway's (no
    finding of their own). The gateway back, r1 is protected again and the time it was down
    does not count against the button's check-in."""
    d = DeviceHealthDetector()
    gateway = {"cls": "hub", "subject": "device:gw-1", "elder": False}
    d.update([_via(0.0, "gw-1", **gateway), _via(0.0, "b1", "button", "r1", via="gw-1"),
              _via(0.0, "s1", "smoke_detector", "r1", via="gw-1"),
              _via(0.0, "b2", "button", "r2", via="gw-1"), _via(0.0, "w2", "wearable", "r2")])
    assert d.update([_via(100.0, "gw-1", status="offline", **gateway)]) == []
    found = d.update([Clock(timestamp=100.0 + OFFLINE_DELAY_S)])
    assert [(f.kind, f.subject, f.device, f.gateways) for f in found] == [
        ("offline", "device:gw-1", "gw-1", ()), ("welfare_check", "r1", None, ("gw-1",))]
    assert "cut off by gateway gw-1" in found[1].detail
    d = DeviceHealthDetector.restore(json.loads(json.dumps(d.snapshot())))  # across a restart
    for t in range(1, 38):  # r2's watch goes on reporting
        d.update([_via(t * H, "w2", "wearable", "r2")])
    assert d.update([Clock(timestamp=38 * H)]) == []  # b1, s1, b2 overdue: held, the gateway's
    d.update([_via(39 * H, "w2", "wearable", "r2"), _via(40 * H, "w2", "wearable", "r2")])
    back = d.update([_via(40 * H, "gw-1", **gateway)])
    assert [(f.kind, f.subject) for f in back] == [("restored", "device:gw-1"),
                                                   ("protected_again", "r1")]
    assert d.update([Clock(timestamp=40 * H + 60)]) == []
    for t in range(40 * 6 + 1, 78 * 6 + 1):  # the gateway and the watch report on
        d.update([_via(t * 600.0, "gw-1", **gateway), _via(t * 600.0, "w2", "wearable", "r2")])
    # the button's 37.5 h run from its last message, less the 40 h it could not be heard
    assert d.update([Clock(timestamp=40 * H + 37 * H)]) == []
    late = d.update([Clock(timestamp=40 * H + 38 * H)])
    assert {(f.kind, f.device) for f in late} >= {("no_checkin", "b1"), ("no_checkin", "s1")}


def test_a_gateway_down_changes_nothing_for_devices_that_do_not_go_through_it() -> None:
    """A 4G watch and a button of its own connection (no gateway): the home gateway's outage is
    its own maintenance item and nothing more; a blip shorter than the offline delay is
    nothing at all."""
    d = DeviceHealthDetector()
    gateway = {"cls": "hub", "subject": "device:gw-1", "elder": False}
    d.update([_via(0.0, "gw-1", **gateway), _via(0.0, "w1", "wearable", "r1"),
              _via(0.0, "b1", "button", "r1")])
    d.update([_via(10.0, "gw-1", status="offline", **gateway)])
    assert d.update([_via(60.0, "gw-1", **gateway), Clock(timestamp=200.0)]) == []
    d.update([_via(300.0, "gw-1", status="offline", **gateway), _via(300.0, "w1", "wearable", "r1")])
    found = d.update([Clock(timestamp=300.0 + OFFLINE_DELAY_S)])
    assert [(f.kind, f.device) for f in found] == [("offline", "gw-1")]


def test_a_gateway_the_registry_names_counts_before_the_device_is_next_heard() -> None:
    """r1's button was heard before anyone said it goes through gw-1 (a battery button reports
    once a day). The registry's word (``wire``) takes effect at once: the gateway's line cut
    minutes later is r1 cut off. Unwired again, the gateway's outage is its own."""
    d = DeviceHealthDetector()
    gateway = {"cls": "hub", "subject": "device:gw-1", "elder": False}
    d.update([_via(0.0, "gw-1", **gateway), _via(0.0, "b1", "button", "r1")])
    d.wire({"b1": "gw-1", "gw-1": "", "never-heard": "gw-1"})
    d.update([_via(60.0, "gw-1", status="offline", **gateway)])
    found = d.update([Clock(timestamp=60.0 + OFFLINE_DELAY_S)])
    assert [(f.kind, f.subject, f.gateways) for f in found] == [
        ("offline", "device:gw-1", ()), ("welfare_check", "r1", ("gw-1",))]
    d.update([_via(600.0, "gw-1", **gateway)])
    d.wire({"b1": ""})
    d.update([_via(700.0, "gw-1", status="offline", **gateway)])
    found = d.update([Clock(timestamp=700.0 + OFFLINE_DELAY_S)])
    assert [(f.kind, f.subject) for f in found] == [("offline", "device:gw-1")]


def _kit(t: float, home: int, *, area: str = "C", status: str = "message",
         watch: bool = False) -> list[DeviceEvent]:
    """Home ``home``'s gateway (in community ``area``) and its elder's pendant behind it, or,
    with ``status``, only the gateway's word; ``watch``: the elder also wears a 4G watch."""
    gateway = DeviceEvent(timestamp=t, device=f"gw-{home}", subject=f"device:gw-{home}",
                          device_class="hub", status=status, site=f"home-{home}", elder=False,
                          area=area)
    if status != "message":
        return [gateway]
    return [gateway, DeviceEvent(timestamp=t, device=f"btn-{home}", subject=f"r{home}",
                                 device_class="button", site=f"home-{home}", via=f"gw-{home}"),
            *([DeviceEvent(timestamp=t, device=f"w-{home}", subject=f"r{home}",
                           device_class="wearable", site=f"home-{home}")] if watch else [])]


def test_a_communitys_lines_cut_together_are_one_area_outage_not_one_item_per_gateway() -> None:
    """Four homes of community C and one of D have a gateway with the elder's pendant behind
    it; r3 also wears a watch of her own. The provider's works cut C's lines: the last wills
    come 30-60 s apart. Two minutes after the first: one ``area_outage`` naming the gateways,
    and none of C's gateways an ``offline`` of its own (the area stands for them), while
    every elder it leaves with nothing still gets their own ``welfare_check`` (r3 calls with
    her watch: none). D's gateway, cut at the same time, is its own ``offline``. The
    state survives a restart. Three of C's lines back: ``area_heard_again`` once, and the
    line still cut (gw-4) is reported as itself ``offline_delay`` later."""
    d = DeviceHealthDetector()
    d.update([e for home in (1, 2, 3, 4) for e in _kit(0.0, home, watch=home == 3)]
             + _kit(0.0, 9, area="D"))
    for home, at in ((1, 30.0), (2, 50.0), (3, 70.0), (4, 90.0), (9, 40.0)):
        assert d.update(_kit(at, home, area="D" if home == 9 else "C", status="offline")) == []
    found = _run(d, [[Clock(timestamp=30.0 + OFFLINE_DELAY_S)]])
    assert [(f.kind, f.subject, f.device) for f in found] == [
        ("area_outage", "area:C", "gw-1"), ("welfare_check", "r1", None)], found
    assert found[0].gateways == ("gw-1", "gw-2", "gw-3", "gw-4")
    assert found[0].detail.startswith("gateways of 4 homes")
    assert d.area_down("gw-2") == "C" and d.area_down("gw-9") is None
    assert d.stranded(found[0].gateways) == ("r1", "r2", "r4")  # r3 has her watch
    d = DeviceHealthDetector.restore(json.loads(json.dumps(d.snapshot())))  # across a restart
    later = _run(d, [[Clock(timestamp=t)] for t in range(160, 1200, 10)])
    assert sorted((f.kind, f.subject) for f in later) == [
        ("offline", "device:gw-9"), ("welfare_check", "r2"), ("welfare_check", "r4"),
        ("welfare_check", "r9")], later
    back = _run(d, [_kit(3000.0, home) for home in (1, 2, 3)] + [[Clock(timestamp=3001.0)]])
    assert ("area_heard_again", "area:C", "gw-1") in [(f.kind, f.subject, f.device) for f in back]
    assert "offline" not in {f.kind for f in back}  # gw-4's waits for the rest to come back
    assert _run(d, [[Clock(timestamp=3001.0 + OFFLINE_DELAY_S - 1)]]) == []
    still = _run(d, [[Clock(timestamp=3001.0 + OFFLINE_DELAY_S)]])
    assert [(f.kind, f.device, f.detail) for f in still] == [
        ("offline", "gw-4", "still offline after its community was heard again")], still


def test_two_homes_lines_down_together_are_each_their_own() -> None:
    """Two of a community's gateways down within minutes is not enough to call it the
    provider's (``area_min`` is 3 homes): each is its own ``offline``. Nor are three lines cut
    hours apart."""
    d = DeviceHealthDetector()
    d.update([e for home in (1, 2, 3) for e in _kit(0.0, home)])
    d.update(_kit(10.0, 1, status="offline") + _kit(20.0, 2, status="offline"))
    found = _run(d, [[Clock(timestamp=t)] for t in range(30, 400, 10)])
    assert sorted((f.kind, f.device) for f in found if f.kind != "welfare_check") == [
        ("offline", "gw-1"), ("offline", "gw-2")]
    for t in range(1, 8):  # home 3's gateway reports on, and is cut hours later
        d.update(_kit(t * 600.0, 3))
    d.update(_kit(2 * H, 3, status="offline"))
    late = _run(d, [[Clock(timestamp=2 * H + OFFLINE_DELAY_S)]])
    assert [(f.kind, f.device) for f in late if f.kind != "welfare_check"] == [("offline", "gw-3")]
