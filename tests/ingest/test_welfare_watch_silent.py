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
