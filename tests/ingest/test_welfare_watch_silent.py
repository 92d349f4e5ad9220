"""An inactivity alarm says when the elder's watch was last heard, if the watch itself has
gone silent (no broker, no database): a flat watch on the wrist and an elder lying still are
one silence to the detector, and the operator who phones should know which it may be. A watch
gone flat says so on its own maintenance item and its elder's welfare check."""

from __future__ import annotations

import datetime as dt

from ingest.codec import Envelope
from ingest.contract import Checkin, Kind, Status, Telemetry, Topic
from ingest.welfare import WelfareStage
from store.registry import DeviceRef

NINE = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))).timestamp()


def _watch(resident: str) -> DeviceRef:
    return DeviceRef(id=f"watch-{resident}", site_id=f"home-{resident}", kind="wearable",
                     resident_id=resident, room_id=None, site_kind="home")


def _telemetry(resident: str, seq: int, t: float, steps: int, battery: int = 4) -> Envelope:
    return Envelope(topic=Topic(site=f"home-{resident}", device=f"watch-{resident}",
                                kind=Kind.TELEMETRY),
                    body=Telemetry(seq=seq, ts=round(t * 1000), hr=70, steps=steps,
                                   battery=battery, worn=True))


def test_an_inactivity_alarm_says_since_when_a_silent_watch_was_heard() -> None:
    """r1, r2 and r3 walk at 09:00 and then sit still. r2's watch reports every ten minutes,
    its steps unchanged: still, as far as anyone can see. r1's goes flat at 09:30 (it said 4 %)
    and sends nothing more; r3's falls silent at 09:30 too, at 70 % (out of range, broken).
    All three are called when the day's 4 h are up; r1's and r3's alarms say their watch has
    not been heard since 09:30 and the battery it last reported, r1's "probably flat"; r2's
    says nothing of the kind. r1's call button checks in hourly after the watch went quiet:
    the alarm is still raised on the watch, whose last fix rides on it (store/batch.py) and
    says where r1 was when it last saw them (on the button, before, it had no position)."""
    button = DeviceRef(id="btn-r1", site_id="home-r1", kind="button", resident_id="r1",
                       room_id=None, site_kind="home")
    stage = WelfareStage()
    stage.configure({w.id: w for w in (_watch("r1"), _watch("r2"), _watch("r3"), button)})
    battery = {"r1": 4, "r2": 4, "r3": 70}
    for seq, steps in ((1, 100), (2, 120)):
        t = NINE + 60 * (seq - 1)
        stage.process([_telemetry(r, seq, t, steps, b) for r, b in battery.items()], now=t)
    called = {}
    for minute in range(10, 6 * 60, 10):
        now = NINE + 60 * minute
        sent = [_telemetry("r2", 2 + minute, now, 120)]
        if minute <= 30:
            sent += [_telemetry(r, 2 + minute, now, 120, battery[r]) for r in ("r1", "r3")]
        if minute % 60 == 0:
            sent.append(Envelope(topic=Topic(site="home-r1", device="btn-r1", kind=Kind.CHECKIN),
                                 body=Checkin(seq=minute, ts=round(now * 1000), battery=90)))
        for trigger in stage.process(sent, now=now):
            if trigger.kind == "inactivity":
                called[trigger.device_id] = trigger.details
    assert set(called) == {"watch-r1", "watch-r2", "watch-r3"}
    for silent in ("watch-r1", "watch-r3"):
        assert called[silent]["watch_unheard_since"] == dt.datetime.fromtimestamp(
            NINE + 30 * 60, dt.UTC).isoformat()
    assert (called["watch-r1"]["watch_battery_pct"], called["watch-r1"]["watch_flat"]) == (4, True)
    assert (called["watch-r3"]["watch_battery_pct"], called["watch-r3"]["watch_flat"]) == (70, False)
    assert not {"watch_unheard_since", "watch_battery_pct", "watch_flat"} & set(called["watch-r2"])


def _worn(resident: str, seq: int, t: float, steps: int, worn: bool) -> Envelope:
    return Envelope(topic=Topic(site=f"home-{resident}", device=f"watch-{resident}",
                                kind=Kind.TELEMETRY),
                    body=Telemetry(seq=seq, ts=round(t * 1000), hr=70 if worn else None,
                                   steps=steps, battery=60, worn=worn))


def test_a_watch_put_back_on_is_its_wearer_moving_a_sensor_blip_is_not() -> None:
    """r1 walks at 09:00, takes the watch off to charge it from 09:10 to 11:00, puts it back on
    and sits: putting it on was movement, so the day's 4 h count from 11:00 and the call comes
    at 15:01, not at 13:02 (before, the charger's two hours counted as r1's stillness; a
    simulated week of the realistic district called one wearer so). r2 sits still from 09:00
    and their watch's wrist sensor says "not worn" for two minutes at 10:00: no movement, the
    call comes at 13:02, 4 h after their last steps."""
    stage = WelfareStage()
    stage.configure({w.id: w for w in (_watch("r1"), _watch("r2"))})
    for seq, steps in ((1, 100), (2, 120)):
        t = NINE + 60 * (seq - 1)
        stage.process([_worn(r, seq, t, steps, True) for r in ("r1", "r2")], now=t)
    called = {}
    for minute in range(2, 7 * 60):
        now = NINE + 60 * minute
        sent = [_worn("r1", 2 + minute, now, 120, not 10 <= minute < 120),
                _worn("r2", 2 + minute, now, 120, not 60 <= minute < 62)]
        for trigger in stage.process(sent, now=now):
            if trigger.kind == "inactivity":
                called.setdefault(trigger.device_id, (minute, trigger.details))
    assert called["watch-r2"][0] == 1 + 4 * 60 + 1  # 13:02: the blip was no movement
    minute, details = called["watch-r1"]
    assert minute == 120 + 4 * 60 + 1, minute  # 15:01: 4 h from putting it back on
    assert details["last_movement_at"] == dt.datetime.fromtimestamp(
        NINE + 120 * 60, dt.UTC).isoformat()
    assert "watch_off_since" not in details


def test_a_watch_gone_flat_is_a_maintenance_item_that_says_so_and_its_elder_a_welfare_check(
        ) -> None:
    """r1's watch, their only emergency device, says 3 % and its last will comes: the
    maintenance item for it says the battery it last reported and that it has probably gone
    flat, and so does r1's welfare check. r2's watch goes offline at 80 %: its item says 80 %,
    and nothing of a flat battery."""
    stage = WelfareStage()
    stage.configure({w.id: w for w in (_watch("r1"), _watch("r2"))})
    stage.process([_telemetry("r1", 1, NINE, 100, 3), _telemetry("r2", 1, NINE, 100, 80)],
                  now=NINE)
    wills = [Envelope(topic=Topic(site=f"home-{r}", device=f"watch-{r}", kind=Kind.STATUS),
                      body=Status(seq=2, ts=round((NINE + 60) * 1000), state="offline"))
             for r in ("r1", "r2")]
    found = {}
    for second in range(60, 10 * 60, 5):
        for trigger in stage.process(wills if second == 60 else [], now=NINE + second):
            found[trigger.kind, trigger.device_id] = trigger.details
    r1, r2 = found["maintenance", "watch-r1"], found["maintenance", "watch-r2"]
    assert (r1["problem"], r1["last_battery_pct"], r1["flat_devices"]) == ("offline", 3, ["watch-r1"])
    assert (r2["problem"], r2["last_battery_pct"]) == ("offline", 80) and "flat_devices" not in r2
    assert found["welfare_check", "watch-r1"]["flat_devices"] == ["watch-r1"]
    assert "flat_devices" not in found["welfare_check", "watch-r2"]
