"""Handing validated readings to the detectors and collecting what they trigger.

This is the one place that knows both the wire contract and the detectors' inputs: events go
through the event rule table, accelerometer windows through the fall detector (one batched call
for every device in the ingest batch), and a ring buffer per wearable keeps the last seconds of
raw motion so a fall alarm carries the snippet around the impact for the operator's chart.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from alerts.raising import AlarmTrigger
from detection.events import rule_for
from detection.fall import AccelWindow, FallDetector, FallFinding
from ingest.codec import Envelope, accel_samples, gyro_samples
from ingest.contract import Accel, Event

log = logging.getLogger(__name__)

SNIPPET_BEFORE_S = 10.0
"""Seconds of motion kept before an impact for the operator's chart."""
_RING_S = 40.0


@dataclass(slots=True)
class _Ring:
    """The last ``_RING_S`` seconds of one wearable's windows, oldest first."""

    windows: deque[AccelWindow] = field(default_factory=deque)
    seqs: deque[int] = field(default_factory=deque)

    def add(self, window: AccelWindow, seq: int) -> None:
        self.windows.append(window)
        self.seqs.append(seq)
        while self.windows and self.windows[0].t0 < window.t0 - _RING_S:
            self.windows.popleft()
            self.seqs.popleft()

    def seq_at(self, ts: float) -> int | None:
        """Sequence number of the window holding time ``ts`` (the impact)."""
        for window, seq in zip(self.windows, self.seqs, strict=True):
            if window.t0 <= ts < window.t0 + len(window.accel) / window.hz:
                return seq
        return None

    def snippet(self, start: float) -> tuple[float, float, bytes] | None:
        chosen = [w for w in self.windows if w.t0 + len(w.accel) / w.hz > start]
        if not chosen:
            return None
        hz = chosen[-1].hz
        same_rate = [w for w in chosen if w.hz == hz]
        samples = np.concatenate([w.accel for w in same_rate]).astype("<f4")
        return hz, same_rate[0].t0, samples.tobytes()


@dataclass(frozen=True, slots=True, kw_only=True)
class Handoff:
    triggers: list[AlarmTrigger]
    cancels: list[tuple[str, float]]
    """(device, epoch seconds) of cancel presses."""


class DetectionStage:
    def __init__(self, fall: FallDetector | None = None) -> None:
        self._fall = fall or FallDetector()
        self._rings: dict[str, _Ring] = {}

    def process(self, envelopes: Sequence[Envelope]) -> Handoff:
        triggers: list[AlarmTrigger] = []
        cancels: list[tuple[str, float]] = []
        last_seq: dict[str, int] = {}
        windows: list[AccelWindow] = []
        for env in envelopes:
            body = env.body
            if isinstance(body, Event):
                rule = rule_for(body.type.value)
                if rule.alarm is not None:
                    details: dict[str, str | int | float | bool] = {"event": body.type.value}
                    if body.detail:
                        details.update(body.detail)
                    triggers.append(AlarmTrigger(kind=rule.alarm, device_id=env.device,
                                                 source_seq=env.seq, occurred_ts=env.ts,
                                                 details=dict(details)))
                if rule.cancels:
                    cancels.append((env.device, env.ts))
            elif isinstance(body, Accel):
                window = AccelWindow(device_id=env.device, t0=env.ts, hz=body.hz,
                                     accel=accel_samples(body), gyro=gyro_samples(body))
                windows.append(window)
                self._rings.setdefault(env.device, _Ring()).add(window, env.seq)
                last_seq[env.device] = env.seq
        if windows:
            for finding in self._fall.update(windows):
                triggers.append(self._fall_trigger(finding, last_seq[finding.device_id]))
        return Handoff(triggers=triggers, cancels=cancels)

    def _fall_trigger(self, finding: FallFinding, fallback_seq: int) -> AlarmTrigger:
        # The window holding the impact identifies the alarm, whatever batch it arrived in:
        # redelivered windows reproduce the same impact, so the alarm stays idempotent.
        ring = self._rings.get(finding.device_id)
        seq = None if ring is None else ring.seq_at(finding.impact_ts)
        return AlarmTrigger(
            kind="fall",
            device_id=finding.device_id,
            source_seq=fallback_seq if seq is None else seq,
            occurred_ts=finding.impact_ts,
            details={"peak_g": round(finding.peak_g, 2),
                     "confidence": round(finding.confidence, 3),
                     "posture_change_deg": round(finding.posture_change_deg, 1),
                     "stillness": round(finding.stillness, 3)},
            snippet=None if ring is None else ring.snippet(finding.impact_ts - SNIPPET_BEFORE_S),
        )

    def forget(self, device_id: str) -> None:
        self._fall.forget(device_id)
        self._rings.pop(device_id, None)
