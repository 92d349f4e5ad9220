"""An inactivity alarm says when the elder's watch was last heard, if the watch itself has
gone silent (no broker, no database): a flat watch on the wrist and an elder lying still are
one silence to the detector, and the operator who phones should know which it may be."""

from __future__ import annotations

import datetime as dt

from ingest.codec import Envelope
from ingest.contract import Kind, Telemetry, Topic
from ingest.welfare import WelfareStage
from store.registry import DeviceRef

NINE = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))).timestamp()


def _watch(resident: str) -> DeviceRef:
    return DeviceRef(id=f"watch-{resident}", site_id=f"home-{resident}", kind="wearable",
                     resident_id=resident, room_id=None, site_kind="home")


def _telemetry(resident: str, seq: int, t: float, steps: int) -> Envelope:
    return Envelope(topic=Topic(site=f"home-{resident}", device=f"watch-{resident}",
                                kind=Kind.TELEMETRY),
                    body=Telemetry(seq=seq, ts=round(t * 1000), hr=70, steps=steps, battery=4,
                                   worn=True))


def test_an_inactivity_alarm_says_since_when_a_silent_watch_was_heard() -> None:
    """r1 and r2 walk at 09:00 and then sit still. r2's watch reports every ten minutes, its
    steps unchanged: still, as far as anyone can see. r1's goes flat at 09:30 and sends nothing
    more. Both are called when the day's 4 h are up; r1's alarm says their watch has not been
    heard since 09:30, r2's says nothing of the kind."""
    stage = WelfareStage()
    stage.configure({w.id: w for w in (_watch("r1"), _watch("r2"))})
    for seq, steps in ((1, 100), (2, 120)):
        t = NINE + 60 * (seq - 1)
        stage.process([_telemetry(r, seq, t, steps) for r in ("r1", "r2")], now=t)
    called = {}
    for minute in range(10, 6 * 60, 10):
        now = NINE + 60 * minute
        sent = [_telemetry("r2", 2 + minute, now, 120)]
        if minute <= 30:
            sent.append(_telemetry("r1", 2 + minute, now, 120))
        for trigger in stage.process(sent, now=now):
            if trigger.kind == "inactivity":
                called[trigger.device_id] = trigger.details
    assert set(called) == {"watch-r1", "watch-r2"}
    assert called["watch-r1"]["watch_unheard_since"] == dt.datetime.fromtimestamp(
        NINE + 30 * 60, dt.UTC).isoformat()
    assert "watch_unheard_since" not in called["watch-r2"]


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
