"""The grace period after a detected fall: log it if the wearer recovers, alarm if not.

A pure state machine, one pending fall per device. Its inputs are the detector's findings, the
wearable windows that keep streaming in, cancel presses and the current time; its outputs are
:class:`FallAlarm` (with the acceleration snippet around the impact for the operator's chart) or
:class:`LoggedFall` (recorded, not alarmed). Rules, in the order ``step`` applies them:

1. A finding opens a grace period of ``grace_s`` (default 30 s, per resident with
   ``set_grace``) from the impact, unless one is already open for the device.
2. A cancel from the device (its own SOS key's cancel, or the companion app) inside the period
   closes it: ``LoggedFall(reason="cancelled")``.
3. Getting up and moving on closes it: ``recovery_s`` seconds of consecutive windows, after the
   impact, that are both *upright* (mean acceleration within ``upright_deg`` of the gravity
   direction the device showed before the fall, ``FallFinding.pre_gravity``) and *moving* (sd of
   the magnitude over the window at least ``moving_sd_g``, i.e. gait rather than lying still;
   walking gives 0.1-0.3 g). ``LoggedFall(reason="recovered")``.
4. When ``now`` reaches the end of the period, the fall becomes a :class:`FallAlarm` at once.

The snippet is ``snippet_before_s`` before to ``snippet_after_s`` after the impact, as far as it
has streamed in when the alarm is raised (a grace period shorter than ``snippet_after_s`` gives
a shorter 'after' part; the alarm is never delayed for the chart). Windows are kept per device
for ``snippet_before_s`` plus a margin, so the history is there when a finding arrives.

>>> import numpy as np
>>> from detection.fall import FallFinding
>>> grace = FallGrace()
>>> f = FallFinding(device_id="w1", impact_ts=100.0, detected_ts=101.5, confidence=0.9,
...                 peak_g=4.0, posture_change_deg=80.0, stillness=1.0)
>>> grace.step(101.5, findings=[f])
[]
>>> [type(o).__name__ for o in grace.step(130.0)]
['FallAlarm']
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from detection.fall import AccelWindow, FallFinding

HISTORY_MARGIN_S = 5.0
"""Keep this much more than ``snippet_before_s``: findings arrive ~2 s after their impact."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GraceConfig:
    grace_s: float = 30.0
    recovery_s: float = 3.0
    upright_deg: float = 35.0
    moving_sd_g: float = 0.05
    snippet_before_s: float = 10.0
    snippet_after_s: float = 20.0


@dataclass(frozen=True, slots=True, kw_only=True)
class FallAlarm:
    """A fall nobody recovered from or cancelled within the grace period: alarm the operator."""

    finding: FallFinding
    alarmed_ts: float
    snippet_t: np.ndarray
    """(m,) epoch seconds of each snippet sample (gaps in the stream stay visible)."""
    snippet: np.ndarray
    """(m, 3) float32 g."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LoggedFall:
    """A fall recorded but not alarmed: the wearer got up and moved on, or cancelled."""

    finding: FallFinding
    resolved_ts: float
    reason: Literal["recovered", "cancelled"]


Outcome = FallAlarm | LoggedFall


@dataclass(slots=True)
class _Open:
    finding: FallFinding
    deadline: float
    good_s: float = 0.0  # consecutive upright-and-moving seconds so far


@dataclass(slots=True)
class _Device:
    windows: deque[tuple[float, float, np.ndarray, float]] = field(default_factory=deque)
    """(t0, hz, samples, end) of the recent windows, in arrival order."""
    open: _Open | None = None


class FallGrace:
    """Grace periods for many devices; see the module docstring."""

    def __init__(self, config: GraceConfig | None = None) -> None:
        self.config = config or GraceConfig()
        self._devices: dict[str, _Device] = {}
        self._grace: dict[str, float] = {}
        self._swept = -math.inf

    def set_grace(self, device_id: str, seconds: float | None) -> None:
        """A resident's own grace period (``None``: back to the default)."""
        if seconds is None:
            self._grace.pop(device_id, None)
        else:
            self._grace[device_id] = float(seconds)

    def pending(self) -> list[FallFinding]:
        return [d.open.finding for d in self._devices.values() if d.open is not None]

    def step(
        self,
        now: float,
        *,
        windows: Sequence[AccelWindow] = (),
        findings: Iterable[FallFinding] = (),
        cancels: Iterable[tuple[str, float]] = (),
    ) -> list[Outcome]:
        """Advance to ``now``: take windows, open findings, apply cancels, resolve deadlines.

        ``cancels`` are ``(device_id, ts)`` pairs; a cancel outside an open period is ignored.
        """
        out: list[Outcome] = []
        for w in sorted(windows, key=lambda w: w.t0):
            out.extend(self._window(w))
        for f in findings:
            dev = self._devices.setdefault(f.device_id, _Device())
            if dev.open is None:
                grace = self._grace.get(f.device_id, self.config.grace_s)
                dev.open = _Open(finding=f, deadline=f.impact_ts + grace)
        for device_id, ts in cancels:
            target = self._devices.get(device_id)
            if target is not None and target.open is not None and ts <= target.open.deadline:
                f = target.open.finding
                out.append(LoggedFall(finding=f, resolved_ts=ts, reason="cancelled"))
                target.open = None
        for device_id, dev in self._devices.items():
            if dev.open is not None and now >= dev.open.deadline:
                out.append(self._alarm(device_id, dev, now))
        self._trim(now, {w.device_id for w in windows})
        return out

    # -- internals ---------------------------------------------------------------------------
    def _window(self, w: AccelWindow) -> list[Outcome]:
        dev = self._devices.setdefault(w.device_id, _Device())
        accel = np.array(w.accel, dtype=np.float32)  # a copy: callers may reuse their buffers
        dev.windows.append((float(w.t0), float(w.hz), accel, w.t0 + accel.shape[0] / w.hz))
        op = dev.open
        if op is None or w.t0 < op.finding.impact_ts + 1.0 or w.t0 > op.deadline:
            return []
        seconds = accel.shape[0] / w.hz
        if self._upright(accel, op.finding) and self._moving(accel):
            op.good_s += seconds
        else:
            op.good_s = 0.0
        if op.good_s >= self.config.recovery_s:
            dev.open = None
            end = float(w.t0 + seconds)
            return [LoggedFall(finding=op.finding, resolved_ts=end, reason="recovered")]
        return []

    def _upright(self, accel: np.ndarray, f: FallFinding) -> bool:
        mean = accel.astype(np.float64).mean(axis=0)
        ref = np.asarray(f.pre_gravity, dtype=np.float64)
        norm = float(np.linalg.norm(mean) * np.linalg.norm(ref))
        if norm < 1e-6:
            return False  # no pre-fall reference: only a cancel can close the period
        cos = float(np.clip(mean @ ref / norm, -1.0, 1.0))
        return bool(np.degrees(np.arccos(cos)) <= self.config.upright_deg)

    def _moving(self, accel: np.ndarray) -> bool:
        mag = np.linalg.norm(accel.astype(np.float64), axis=1)
        return bool(mag.std() >= self.config.moving_sd_g)

    def _alarm(self, device_id: str, dev: _Device, now: float) -> FallAlarm:
        assert dev.open is not None
        f = dev.open.finding
        lo = f.impact_ts - self.config.snippet_before_s
        hi = f.impact_ts + self.config.snippet_after_s
        ts: list[np.ndarray] = []
        xs: list[np.ndarray] = []
        for t0, hz, accel, _ in dev.windows:
            t = t0 + np.arange(accel.shape[0]) / hz
            keep = (t >= lo) & (t < hi)
            if keep.any():
                ts.append(t[keep])
                xs.append(accel[keep])
        dev.open = None
        return FallAlarm(
            finding=f,
            alarmed_ts=now,
            snippet_t=np.concatenate(ts) if ts else np.zeros(0),
            snippet=np.concatenate(xs) if xs else np.zeros((0, 3), np.float32),
        )

    def _trim(self, now: float, touched: set[str]) -> None:
        """Drop windows older than any snippet could need: for the devices that just sent, and
        for every device once a second (a device that fell silent). Sweeping every device on
        every call cost ingest 12 % of its time at 2,000 wearables."""
        keep_s = self.config.snippet_before_s + HISTORY_MARGIN_S
        sweep = now - self._swept >= 1.0
        if sweep:
            self._swept = now
        for device_id in self._devices if sweep else touched:
            dev = self._devices.get(device_id)
            if dev is None:
                continue
            horizon = now - keep_s
            if dev.open is not None:
                horizon = min(horizon, dev.open.finding.impact_ts - self.config.snippet_before_s)
            windows = dev.windows
            # Windows arrive in time order nearly always; one that came late waits behind a
            # newer one and goes when that one does (a bounded delay, and snippets filter by time).
            while windows and windows[0][3] <= horizon:
                windows.popleft()

    # -- snapshots ---------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        devices: dict[str, Any] = {}
        for device_id, dev in self._devices.items():
            op = dev.open
            devices[device_id] = {
                "windows": [[t0, hz, a.tolist()] for t0, hz, a, _ in dev.windows],
                "open": None
                if op is None
                else {"finding": asdict(op.finding), "deadline": op.deadline, "good_s": op.good_s},
            }
        return {"config": asdict(self.config), "grace": dict(self._grace), "devices": devices}

    @classmethod
    def restore(cls, snap: dict[str, Any]) -> FallGrace:
        grace = cls(GraceConfig(**snap["config"]))
        grace._grace = {k: float(v) for k, v in snap["grace"].items()}
        for device_id, d in snap["devices"].items():
            dev = _Device(
                windows=deque([
                    (float(t0), float(hz), samples, float(t0) + samples.shape[0] / float(hz))
                    for t0, hz, a in d["windows"]
                    for samples in (np.asarray(a, np.float32).reshape(-1, 3),)
                ])
            )
            if d["open"] is not None:
                fd = dict(d["open"]["finding"])
                for key in ("pre_gravity", "post_gravity"):
                    fd[key] = tuple(fd[key])
                dev.open = _Open(
                    finding=FallFinding(**fd),
                    deadline=float(d["open"]["deadline"]),
                    good_s=float(d["open"]["good_s"]),
                )
            grace._devices[device_id] = dev
        return grace
