"""The welfare stage turns the anomaly scorer's findings into alarm triggers (no broker, no
database): an unusual heart-rate pattern is a vitals_deviation with its score; an unusual day is
information only, and its score rides on the inactivity alarm that follows."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import replace

from detection import device_health, inactivity
from detection.vitals import VitalsDetector
from ingest.codec import Envelope
from ingest.contract import Kind, Telemetry, Topic
from ingest.welfare import FINDINGS, WelfareStage
from simulators.vitals import heart_rate_stream
from store.registry import DeviceRef
from tests.detection.cases_vitals import PATTERN_CONFIG, START

SITE, WATCH = "home-0001", "watch-1"


def _stage() -> WelfareStage:
    stage = WelfareStage()
    stage.configure({WATCH: DeviceRef(id=WATCH, site_id=SITE, kind="wearable", resident_id="r1",
                                      room_id=None)})
    return stage


def _telemetry(seq: int, t: float, hr: int, steps: int) -> Envelope:
    return Envelope(topic=Topic(site=SITE, device=WATCH, kind=Kind.TELEMETRY),
                    body=Telemetry(seq=seq, ts=round(t * 1000), hr=hr, steps=steps, worn=True))


def test_an_unusual_heart_rate_pattern_becomes_a_vitals_deviation_with_its_score() -> None:
    stage = _stage()
    # 2-minute periods (hours of data, not days), and only the pattern path: flap control would
    # merge its finding into the z-score's "deviation" that +20 bpm also trips
    stage.vitals = VitalsDetector(replace(PATTERN_CONFIG, deviation_z=math.inf, drift_vitals=()))
    shift = (START + 11 * 3600.0, START + 13 * 3600.0, 20.0)
    beats = heart_rate_stream(seed=7, start=START, seconds=14 * 3600.0, shift=shift)
    steps, triggers = 0, []
    for i in range(0, len(beats), 30):
        batch = []
        for j, (t, hr, walking) in enumerate(beats[i : i + 30], start=i):
            steps += 2 if walking else 0
            batch.append(_telemetry(j + 1, t, hr, steps))
        triggers += stage.process(batch, now=beats[min(i + 29, len(beats) - 1)][0])
    assert [round((t.occurred_ts - START) / 60) for t in triggers] == [671]
    first = triggers[0]
    assert first.kind == "vitals_deviation"
    assert first.device_id == WATCH
    assert first.details["vital"] == "heart_rate"
    assert first.details["finding"] == "deviation"
    assert first.details["anomaly_score"] > 2.0 / 3.0
    assert "unusual pattern" in first.details["detail"]


class _Findings(inactivity.InactivityDetector):
    """An inactivity detector that finds what it is told to."""

    def __init__(self, found: list[inactivity.InactivityFinding]) -> None:
        super().__init__()
        self.found = found

    def update(self, batch: Sequence[inactivity.Movement | inactivity.Presence | inactivity.Clock]
               ) -> list[inactivity.InactivityFinding]:
        found, self.found = self.found, []
        return found


def test_an_unusual_day_alone_raises_nothing_and_rides_on_the_inactivity_alarm() -> None:
    assert FINDINGS["unusual_day"].alarm is None
    stage = _stage()
    stage.process([_telemetry(1, START, 70, 0)], now=START)
    unusual_day = inactivity.InactivityFinding(
        timestamp=START + 60, subject="r1", kind="unusual_day", silent_for=60.0,
        limit=4 * 3600.0, last_movement=START, score=0.8, detail="23 active minutes")
    stage.inactivity = _Findings([unusual_day])
    assert stage.process([], now=START + 60) == []  # information only
    stage.inactivity = _Findings([replace(unusual_day, timestamp=START + 4 * 3600,
                                          kind="inactivity", silent_for=4 * 3600.0)])
    triggers = stage.process([], now=START + 4 * 3600)  # the watch is overdue too
    [trigger] = [t for t in triggers if t.kind == "inactivity"]
    assert trigger.details["unusual_day_score"] == 0.8


def test_regression_an_unusual_pattern_held_by_flap_control_keeps_its_score() -> None:
    """+20 bpm trips the z-score deviation first; the unusual pattern follows 110 s later and is
    held by flap control. Its summary alarm used to carry only a count (the details lived in
    one call of the stage); now it carries the pattern's anomaly score."""
    stage = _stage()
    # the z-score baseline learns every reading here, so that hours (not days) fill its bins,
    # and takes their spread as it is (no typical resident's to lean on), so that +20 bpm trips
    # it before the pattern: this test is about flap control, not the z-score's spread
    stage.vitals = VitalsDetector(replace(PATTERN_CONFIG, drift_vitals=(), baseline_every=0.0,
                                          spread_prior={}))
    shift = (START + 11 * 3600.0, START + 13 * 3600.0, 20.0)
    beats = heart_rate_stream(seed=7, start=START, seconds=14 * 3600.0, shift=shift)
    steps, triggers = 0, []
    for i in range(0, len(beats), 30):
        batch = []
        for j, (t, hr, walking) in enumerate(beats[i : i + 30], start=i):
            steps += 2 if walking else 0
            batch.append(_telemetry(j + 1, t, hr, steps))
        triggers += stage.process(batch, now=beats[min(i + 29, len(beats) - 1)][0])
    z_score, pattern = triggers[:2]
    assert [round(t.occurred_ts - START) for t in (z_score, pattern)] == [40130, 40240]
    assert "anomaly_score" not in z_score.details
    assert "robust z" in z_score.details["detail"]
    assert pattern.kind == "vitals_deviation"
    assert pattern.device_id == WATCH
    assert pattern.details["count"] == 1
    assert pattern.details["anomaly_score"] == 0.687
    assert "unusual pattern" in pattern.details["detail"]


class _Health(device_health.DeviceHealthDetector):
    """A device-health detector that finds what it is told to."""

    def __init__(self, found: list[device_health.HealthFinding]) -> None:
        super().__init__()
        self.found = found

    def update(self, batch: Sequence[device_health.DeviceEvent | device_health.Clock]
               ) -> list[device_health.HealthFinding]:
        found, self.found = self.found, []
        return found


def test_a_held_device_finding_keeps_its_device_and_details_across_a_restart() -> None:
    stage = _stage()
    stage.configure({**stage._devices, "btn-1": DeviceRef(id="btn-1", site_id=SITE,
                                                          kind="button", resident_id="r1",
                                                          room_id=None)})
    first = device_health.HealthFinding(timestamp=START, subject="r1", device="btn-1",
                                        kind="no_checkin", detail="silent 26 h")
    stage.health = _Health([first])
    [passed] = stage.process([], now=START)
    assert (passed.device_id, passed.details["detail"]) == ("btn-1", "silent 26 h")
    stage.health = _Health([replace(first, timestamp=START + 60, detail="silent 27 h")])
    assert stage.process([], now=START + 60) == []  # held
    restarted = _stage()  # ingest restarts: the held finding's details are in the snapshot
    restarted.configure(stage._devices)
    restarted.restore(json.loads(json.dumps(stage.snapshot())))
    restarted.health = _Health([])
    [summary] = restarted.process([], now=START + 600)
    assert (summary.kind, summary.device_id) == ("maintenance", "btn-1")
    assert summary.details == {"problem": "no_checkin", "detail": "silent 27 h", "count": 1,
                               "first_ts": START + 60}
