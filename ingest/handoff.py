"""Handing validated readings to the detectors and collecting what they trigger.

This is the one place that knows both the wire contract and the detectors' inputs: events go
through the event rule table (except a press its device is configured to treat as a service
request, ``alerts.services.service_request``: that becomes a ticket, never an alarm),
accelerometer windows through the fall detector (one batched call for every device in the
ingest batch) and then the fall grace period (``detection.fall_grace``):
a fall becomes an alarm only if the wearer neither gets up and moves on nor cancels within the
grace period; otherwise it is logged. Falls waiting out their grace period are returned as
``opened`` so ingest stores them in the same transaction as the windows' acknowledgement, and
:meth:`DetectionStage.reopen` puts them back after a restart: nothing is lost to a crash.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from alerts.raising import AlarmTrigger
from alerts.services import service_request
from detection.events import rule_for
from detection.fall import AccelWindow, FallDetector, FallFinding
from detection.fall_grace import FallAlarm, FallGrace, LoggedFall
from ingest.codec import Envelope, event_time
from ingest.contract import Accel, Event
from store.registry import DeviceRef

log = logging.getLogger(__name__)

_SEQ_MEMORY_S = 30.0
"""How long to remember which window (seq) held which instant: findings come ~2 s after impact."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenedFall:
    finding: FallFinding
    source_seq: int
    deadline: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ClosedFall:
    finding: FallFinding
    outcome: str  # alarmed, recovered, cancelled
    resolved_ts: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Handoff:
    triggers: list[AlarmTrigger]
    cancels: list[tuple[str, float]]
    """(device, epoch seconds) of cancel presses."""
    opened: list[OpenedFall]
    closed: list[ClosedFall]
    services: list[ServicePress] = dataclasses.field(default_factory=list)
    """Presses that ask for a service (a ticket, never an alarm)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ServicePress:
    device_id: str
    source_seq: int
    occurred_ts: float
    ticket_type: str
    said_ms: int | None = None
    """The time its device said (ms; ingest.codec.event_time): a redelivery says the same, a
    new press under a reused seq does not."""


def evidence(finding: FallFinding) -> dict[str, Any]:
    return {"peak_g": round(finding.peak_g, 2), "confidence": round(finding.confidence, 3),
            "posture_change_deg": round(finding.posture_change_deg, 1),
            "stillness": round(finding.stillness, 3), "impact_ts": finding.impact_ts}


def finding_to_json(finding: FallFinding) -> dict[str, Any]:
    return dataclasses.asdict(finding)


def finding_from_json(data: dict[str, Any]) -> FallFinding:
    fields = {f.name for f in dataclasses.fields(FallFinding)}
    values = {k: v for k, v in data.items() if k in fields}
    for key in ("pre_gravity", "post_gravity"):
        if key in values:
            values[key] = tuple(values[key])
    return FallFinding(**values)


class DetectionStage:
    def __init__(self, fall: FallDetector | None = None, grace: FallGrace | None = None) -> None:
        self._fall = fall or FallDetector()
        self._grace = grace or FallGrace()
        self._window_seqs: dict[str, deque[tuple[float, float, int]]] = {}
        self._fall_seq: dict[str, int] = {}

    def reopen(self, finding: FallFinding, *, source_seq: int, deadline: float) -> None:
        """Resume a grace period stored before a restart."""
        self._grace.step(finding.impact_ts, findings=[finding])
        self._fall_seq[finding.device_id] = source_seq
        del deadline  # the grace tracker recomputes it from the impact and the resident's setting

    def _seq_at(self, device: str, ts: float, fallback: int) -> int:
        for t0, t1, seq in self._window_seqs.get(device, ()):
            if t0 <= ts < t1:
                return seq
        return fallback

    def process(self, envelopes: Sequence[Envelope], *, now: float,
                devices: Mapping[str, DeviceRef] | None = None) -> Handoff:
        """``devices`` says which buttons are configured for service presses; without it every
        press is an SOS."""
        triggers: list[AlarmTrigger] = []
        cancels: list[tuple[str, float]] = []
        services: list[ServicePress] = []
        windows: list[AccelWindow] = []
        last_seq: dict[str, int] = {}
        for env in envelopes:
            body = env.body
            if isinstance(body, Event):
                ticket_type = service_request(
                    event=body.type.value, presses=body.presses, service_type=body.service_type,
                    device=(devices or {}).get(env.device))
                if ticket_type is not None:
                    services.append(ServicePress(device_id=env.device, source_seq=env.seq,
                                                 occurred_ts=env.ts, ticket_type=ticket_type,
                                                 said_ms=event_time(body)))
                    continue
                rule = rule_for(body.type.value)
                if rule.alarm is not None:
                    details: dict[str, Any] = {"event": body.type.value, **(body.detail or {})}
                    if body.presses is not None:
                        details["presses"] = body.presses
                    triggers.append(AlarmTrigger(kind=rule.alarm, device_id=env.device,
                                                 source_seq=env.seq, occurred_ts=env.ts,
                                                 details=details))
                if rule.cancels:
                    cancels.append((env.device, env.ts))
            elif isinstance(body, Accel):
                window = AccelWindow(device_id=env.device, t0=env.ts, hz=body.hz,
                                     accel=env.accel_samples(), gyro=env.gyro_samples())
                windows.append(window)
                seqs = self._window_seqs.setdefault(env.device, deque())
                seqs.append((env.ts, env.ts + body.n / body.hz, env.seq))
                while seqs and seqs[0][1] < env.ts - _SEQ_MEMORY_S:
                    seqs.popleft()
                last_seq[env.device] = env.seq
        findings: list[FallFinding] = []
        if windows:
            try:
                findings = self._fall.update(windows)
            except Exception:  # a detector bug must not stop SOS and smoke from being stored
                log.exception("fall detector failed on a batch of %d windows", len(windows))
        opened = []
        for finding in findings:
            if any(p.device_id == finding.device_id for p in self._grace.pending()):
                continue  # one open grace period per device; the tracker ignores the rest
            seq = self._seq_at(finding.device_id, finding.impact_ts, last_seq[finding.device_id])
            self._fall_seq[finding.device_id] = seq
            opened.append(OpenedFall(finding=finding, source_seq=seq,
                                     deadline=finding.impact_ts + self._grace.config.grace_s))
        outcomes = self._grace.step(now, windows=windows, findings=findings, cancels=cancels)
        closed = []
        for outcome in outcomes:
            finding = outcome.finding
            if isinstance(outcome, FallAlarm):
                closed.append(ClosedFall(finding=finding, outcome="alarmed", resolved_ts=now))
                triggers.append(self._alarm(outcome))
            elif isinstance(outcome, LoggedFall):
                closed.append(ClosedFall(finding=finding, outcome=outcome.reason,
                                         resolved_ts=outcome.resolved_ts))
        return Handoff(triggers=triggers, cancels=cancels, opened=opened, closed=closed,
                       services=services)

    def _alarm(self, alarm: FallAlarm) -> AlarmTrigger:
        finding = alarm.finding
        snippet = None
        if len(alarm.snippet_t) > 1:
            hz = float(1.0 / np.median(np.diff(alarm.snippet_t)))
            samples = np.asarray(alarm.snippet, dtype="<f4")
            snippet = (round(hz, 3), float(alarm.snippet_t[0]), samples.tobytes())
        return AlarmTrigger(
            kind="fall",
            device_id=finding.device_id,
            # The window holding the impact identifies the alarm, whatever batch it came in.
            source_seq=self._fall_seq.pop(finding.device_id, 0),
            occurred_ts=finding.impact_ts,
            details=evidence(finding),
            snippet=snippet,
        )
