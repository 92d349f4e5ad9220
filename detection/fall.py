"""Fall detection over wearable accelerometer windows, many devices per call.

Method (the classic impact → posture → stillness sequence, scored by a small learned model):

1. **Candidate**: the largest acceleration magnitude of a window reaches ``candidate_g``
   (a low version of Bourke et al.'s upper fall threshold, "Evaluation of a threshold-based
   tri-axial accelerometer fall detection algorithm", Gait & Posture 26(2), 2007, which the
   model then sharpens). Peaks closer than ``MERGE_S`` are one impact.
2. **Wait** until ``post_s`` seconds after the peak have streamed in.
3. **Features** of the samples around the peak (``detection.fall_features``): impact peak and
   area, free fall, velocity (Kangas et al., "Comparison of low-complexity fall detection
   algorithms for body attached accelerometers", Gait & Posture 28(2), 2008), change of posture
   against the device's own low-passed gravity (Karantonis et al. 2006), stillness afterwards.
4. **Score** them with a regularised logistic regression (``detection.fall_model``) trained on
   SisFall (Sucerquia et al., Sensors 17(1):198, 2017) by ``bench/train_fall_model.py``; a fall
   is found when the probability reaches the threshold (the model's own, chosen on held-out
   subjects, unless ``FallConfig.threshold`` overrides it). After a finding the device is quiet
   for ``refractory_s`` so one fall is reported once.

The gyroscope, when a device sends it, is accepted but not used yet (see docs/falls.md).

Nothing assumes which sensor axis is vertical: posture is compared with the gravity direction
the stream itself showed before the peak, so a watch, a belt clip or a pendant all work.

State per device lives in :class:`detection.fall_bank.RateBank` arrays (one bank per declared
rate); the gravity filter carries its ``zi`` from window to window. A window that starts before
the previous one ended (out of order, duplicate) is dropped; one that starts more than
``gap_tolerance_s`` after it restarts the device's stream (history and filter); a candidate
waiting for its decision is then scored with what arrived before the gap (at least
``MIN_POST_S`` after its peak) and, if a fall, reported when the stream resumes.

>>> import numpy as np
>>> from simulators.motion import synth_fall
>>> x, impact = synth_fall(50.0, np.random.default_rng(1))
>>> wins = [AccelWindow(device_id="w1", t0=1e9 + i, hz=50.0, accel=x[i * 50:(i + 1) * 50])
...         for i in range(len(x) // 50)]
>>> det = FallDetector()
>>> found = [f for w in wins for f in det.update([w])]
>>> len(found), abs(found[0].impact_ts - (1e9 + impact / 50.0)) < 0.1
(1, True)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

import numpy as np

from detection.fall_bank import RateBank
from detection.fall_features import PEAK_SEARCH_S, FallFeatures, extract, needed_before_s
from detection.fall_model import FallModel

MERGE_S = 1.0
"""Peaks within a second belong to one fall (knees, hip and trunk hit in turn)."""
CHUNK_S = 1.0
"""Longer windows are processed in chunks of at most this, so the rings stay short."""
WARMUP_S = 1.5
"""A peak needs this much of the device's stream before it (the free-fall second and the gravity
lag); older history (``needed_before_s``) is used when there. SisFall has falls 2.3 s into a
trial, so a longer warm-up would miss them in evaluation; a worn device is past it anyway."""
MIN_HZ, MAX_HZ = 10.0, 1000.0
"""Declared rates accepted (devices declare 25-200 Hz; the margin tolerates odd firmware)."""
MIN_POST_S = 0.6
"""Before a gap, a candidate is still scored with this much after it (past the impact ringing)."""
SNAPSHOT_VERSION = 1


class AccelWindow(NamedTuple):
    """One window of wearable samples, as the wire contract delivers it (a NamedTuple: one is
    made for every window, at a quarter of a frozen dataclass's cost)."""

    device_id: str
    t0: float
    """Epoch seconds (UTC) of the first sample."""
    hz: float
    """Declared sample rate, 25..200."""
    accel: np.ndarray
    """(n, 3) float32, in g."""
    gyro: np.ndarray | None = None
    """(n, 3) float32, deg/s, optional (not used by the detector yet)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FallFinding:
    """A fall the detector is confident enough about to hand to the grace period."""

    device_id: str
    impact_ts: float
    """Epoch seconds of the impact (the peak of the acceleration magnitude)."""
    detected_ts: float
    """Stream time (end of the window) at which the detector decided."""
    confidence: float
    """Model probability, 0..1."""
    peak_g: float
    posture_change_deg: float
    stillness: float
    """1 - (sd of the magnitude after the impact) / 0.3 g, clipped to 0..1: 1 = lying still."""
    free_fall_g: float = 1.0
    velocity_ms: float = 0.0
    pre_gravity: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """Unit gravity direction before the fall (the device's 'upright'), for the grace period."""
    post_gravity: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class FallConfig:
    """Tunables of :class:`FallDetector`; the defaults are the evaluated ones (docs/falls.md)."""

    candidate_g: float = 1.6
    """Peaks below this are never examined; every SisFall dev fall trial, at 25 or 50 Hz, has a
    peak above it at its impact (docs/falls.md)."""
    post_s: float = 1.0
    """Seconds after the peak used for posture and stillness; bounds the latency (+1 window)."""
    threshold: float | None = None
    """Probability at which a candidate is a fall; ``None``: the model's own threshold."""
    refractory_s: float = 10.0
    gravity_cutoff_hz: float = 0.25
    gap_tolerance_s: float = 0.25
    model: FallModel = field(default_factory=FallModel.load)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["model"] = self.model.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FallConfig:
        rest = {k: v for k, v in data.items() if k != "model"}
        return cls(**rest, model=FallModel.from_json(data["model"]))


@dataclass(slots=True)
class _Pending:
    t: float
    peak: float


class FallDetector:
    """Streaming fall detector for many devices; see the module docstring."""

    def __init__(self, config: FallConfig | None = None) -> None:
        self.config = config or FallConfig()
        self._threshold = (
            self.config.model.threshold if self.config.threshold is None else self.config.threshold
        )
        self._banks: dict[float, RateBank] = {}
        self._rate_of: dict[str, float] = {}
        self._pending: dict[str, list[_Pending]] = {}
        self._quiet_until: dict[str, float] = {}
        self.dropped_windows = 0
        """Late, duplicate or non-finite windows skipped so far."""
        self.malformed_windows = 0
        """Windows skipped for a shape other than (n, 3) or a rate outside MIN_HZ..MAX_HZ."""
        self.on_candidate: Callable[[str, FallFeatures, float, float], None] | None = None
        """Optional observer of every scored candidate (device, features, probability, impact
        time); the evaluation and training scripts use it to see below-threshold candidates."""

    # -- public ------------------------------------------------------------------------------
    def update(self, windows: Sequence[AccelWindow]) -> list[FallFinding]:
        """Consume a batch of windows (any devices, any rates) and return the falls found."""
        # Round k holds the k-th window (or 1 s chunk) of each device, so a device's windows are
        # processed in time order while each round is one vectorised step per (rate, length).
        rounds: list[dict[tuple[float, int], list[tuple[str, float, np.ndarray]]]] = []
        seen: dict[str, int] = {}
        for w in sorted(windows, key=_start):
            accel = w.accel
            if not (isinstance(accel, np.ndarray) and accel.dtype == np.float32):
                accel = np.asarray(accel, dtype=np.float32)
            shape = accel.shape
            hz = float(w.hz)
            if len(shape) != 2 or shape[1] != 3 or shape[0] == 0 or not MIN_HZ <= hz <= MAX_HZ:
                # Ingest validates the contract; whatever still slips through must not stop the
                # other devices' windows of this batch, so it is dropped and counted.
                self.malformed_windows += 1
                continue
            chunk = max(1, math.ceil(CHUNK_S * hz))
            device_id = w.device_id
            if shape[0] <= chunk:  # the usual case: one window, one item
                k = seen.get(device_id, 0)
                seen[device_id] = k + 1
                if k == len(rounds):
                    rounds.append({})
                key = (hz, shape[0])
                group = rounds[k].get(key)
                if group is None:
                    group = rounds[k][key] = []
                group.append((device_id, w.t0, accel))
                continue
            for start in range(0, shape[0], chunk):
                k = seen.get(device_id, 0)
                seen[device_id] = k + 1
                if k == len(rounds):
                    rounds.append({})
                part = accel[start : start + chunk]
                key = (hz, part.shape[0])
                rounds[k].setdefault(key, []).append((device_id, w.t0 + start / hz, part))
        found: list[FallFinding] = []
        for groups in rounds:
            for (hz, _n), items in groups.items():
                found.extend(self._process(hz, items))
        return found

    def forget(self, device_id: str) -> None:
        hz = self._rate_of.pop(device_id, None)
        if hz is not None:
            self._banks[hz].release(device_id)
        self._pending.pop(device_id, None)
        self._quiet_until.pop(device_id, None)

    def snapshot(self) -> dict[str, Any]:
        devices: dict[str, Any] = {}
        for device_id, hz in self._rate_of.items():
            bank = self._banks[hz]
            snap = bank.device_snapshot(bank.slots[device_id])
            snap["hz"] = hz
            snap["pending"] = [[p.t, p.peak] for p in self._pending.get(device_id, [])]
            snap["quiet_until"] = self._quiet_until.get(device_id)
            devices[device_id] = snap
        return {
            "version": SNAPSHOT_VERSION,
            "config": self.config.to_json(),
            "dropped_windows": self.dropped_windows,
            "malformed_windows": self.malformed_windows,
            "devices": devices,
        }

    @classmethod
    def restore(cls, snap: dict[str, Any]) -> FallDetector:
        if snap.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"unknown fall detector snapshot version {snap.get('version')!r}")
        det = cls(FallConfig.from_json(snap["config"]))
        det.dropped_windows = int(snap["dropped_windows"])
        det.malformed_windows = int(snap.get("malformed_windows", 0))
        for device_id, dev in snap["devices"].items():
            hz = float(dev["hz"])
            det._bank(hz).restore_device(device_id, dev)
            det._rate_of[device_id] = hz
            if dev["pending"]:
                det._pending[device_id] = [_Pending(float(t), float(p)) for t, p in dev["pending"]]
            if dev["quiet_until"] is not None:
                det._quiet_until[device_id] = float(dev["quiet_until"])
        return det

    # -- internals ---------------------------------------------------------------------------
    def _bank(self, hz: float) -> RateBank:
        bank = self._banks.get(hz)
        if bank is None:
            seconds = needed_before_s() + self.config.post_s + PEAK_SEARCH_S + MERGE_S + CHUNK_S
            bank = RateBank(
                hz=hz,
                cutoff_hz=self.config.gravity_cutoff_hz,
                length=math.ceil(seconds * hz) + 2,
            )
            self._banks[hz] = bank
        return bank

    def _slot(self, device_id: str, hz: float) -> int:
        old = self._rate_of.get(device_id)
        if old == hz:
            return self._banks[hz].slots[device_id]
        if old is not None:
            self.forget(device_id)  # a new declared rate is a new stream
        self._rate_of[device_id] = hz
        return self._bank(hz).slot_of(device_id)

    def _process(self, hz: float, items: list[tuple[str, float, np.ndarray]]) -> list[FallFinding]:
        bank = self._bank(hz)
        tol = self.config.gap_tolerance_s
        slot_arr = np.fromiter((self._slot(d, hz) for d, _, _ in items), np.int64, len(items))
        starts = np.fromiter((t for _, t, _ in items), np.float64, len(items))
        xs = np.stack([x for _, _, x in items])
        running = bank.count[slot_arr] > 0
        dt = starts - bank.t_end[slot_arr]
        late = running & (dt < -tol)  # late or duplicate: its time has passed
        broken = ~np.isfinite(xs).all(axis=(1, 2))  # one NaN would poison the filter for good
        restart = (running & (dt > tol)) | broken  # a gap, or a hole of NaNs, restarts it
        found: list[FallFinding] = []
        if restart.any():
            for j in np.flatnonzero(restart):
                device_id, slot = items[j][0], int(slot_arr[j])
                if device_id in self._pending:
                    # A fall can knock the link out: decide what the history allows before the
                    # stream restarts, rather than lose the candidate.
                    found += self._decide(device_id, bank, slot, flush_at=float(starts[j]))
                    self._pending.pop(device_id, None)
                bank.reset(slot)
        drop = late | broken
        if drop.any():
            self.dropped_windows += int(drop.sum())
            keep_mask = ~drop
            slot_arr, starts, xs = slot_arr[keep_mask], starts[keep_mask], xs[keep_mask]
            items = [it for it, k in zip(items, keep_mask, strict=True) if k]
        if not items:
            return found
        keep = items
        slots = slot_arr.tolist()
        before = bank.count[slot_arr].copy()
        bank.write(slot_arr, xs, starts)

        mag2 = np.einsum("dnk,dnk->dn", xs, xs)
        arg = mag2.argmax(axis=1)
        peak = np.sqrt(mag2[np.arange(len(keep)), arg])
        warm = round(WARMUP_S * hz)
        for j in np.flatnonzero(peak >= self.config.candidate_g):
            if before[j] + arg[j] >= warm:
                self._add_candidate(keep[j][0], float(starts[j] + arg[j] / hz), float(peak[j]))
        for (device_id, _t0, _x), slot in zip(keep, slots, strict=True):
            if device_id in self._pending:
                found.extend(self._decide(device_id, bank, slot))
        return found

    def _add_candidate(self, device_id: str, t: float, peak: float) -> None:
        if t < self._quiet_until.get(device_id, -math.inf):
            return
        pending = self._pending.setdefault(device_id, [])
        if pending and t - pending[-1].t < MERGE_S:
            if peak > pending[-1].peak:
                pending[-1] = _Pending(t, peak)
            return
        pending.append(_Pending(t, peak))

    def _decide(
        self, device_id: str, bank: RateBank, slot: int, flush_at: float | None = None
    ) -> list[FallFinding]:
        """Score the pending candidates whose ``post_s`` has streamed in.

        ``flush_at``: the stream is about to restart (a gap) at this time; score every candidate
        with at least ``MIN_POST_S`` after it, and report the finding as decided then.
        """
        t_end = float(bank.t_end[slot])
        pending = self._pending[device_id]
        found: list[FallFinding] = []
        wait = self.config.post_s if flush_at is None else MIN_POST_S
        while pending and pending[0].t + wait <= t_end:
            cand = pending.pop(0)
            if cand.t < self._quiet_until.get(device_id, -math.inf):
                continue
            raw, grav = bank.history(slot)
            index = len(raw) - round((t_end - cand.t) * bank.hz)
            if index < 0:
                continue
            feats = extract(raw, grav, bank.hz, candidate=index, post_s=self.config.post_s)
            p = self.config.model.probability(feats.vector())
            impact_ts = t_end - (len(raw) - feats.impact_index) / bank.hz
            if self.on_candidate is not None:
                self.on_candidate(device_id, feats, p, impact_ts)
            if p >= self._threshold:
                decided = t_end if flush_at is None else flush_at
                found.append(_finding(device_id, feats, p, impact_ts, decided))
                self._quiet_until[device_id] = impact_ts + self.config.refractory_s
        if not pending:
            del self._pending[device_id]
        return found


def _start(w: AccelWindow) -> float:
    return w.t0


def _finding(device_id: str, f: FallFeatures, p: float, impact_ts: float, detected_ts: float) -> FallFinding:
    return FallFinding(
        device_id=device_id,
        impact_ts=impact_ts,
        detected_ts=detected_ts,
        confidence=p,
        peak_g=f.peak_g,
        posture_change_deg=f.posture_change_deg,
        stillness=float(np.clip(1.0 - f.post_sd_g / 0.3, 0.0, 1.0)),
        free_fall_g=f.free_fall_g,
        velocity_ms=f.velocity_ms,
        pre_gravity=f.pre_gravity,
        post_gravity=f.post_gravity,
    )
