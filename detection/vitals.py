"""Vital signs from wearables: clinical bounds, deviation from the personal baseline, slow drift.

Method, per resident and vital:

* **Bounds** (configurable per resident; defaults from common early-warning practice, e.g. the
  Royal College of Physicians' NEWS2 and bradycardia/tachycardia limits): heart rate below 40 or,
  at rest, above 130 bpm; SpO2 below 90 %; skin temperature outside 30–39 °C. A bound is raised
  only when ``k`` of the last ``n`` readings break it (one bad optical reading is not an alarm),
  and once per episode: it re-arms when the last ``n`` readings are all inside.
* **Deviation**: the robust z-score against the resident's own baseline for this time of day
  (:class:`detection.baseline.TimeOfDayBaseline`, median/MAD), with the same k-of-n persistence.
* **Drift**: a two-sided CUSUM (:class:`detection.drift.Cusum`) on the z-scores too small to be
  a deviation.

Readings taken off the wrist (``worn=False``) are ignored entirely: never an alarm, never learnt.
Readings not at rest are checked against the low bounds only, and do not feed the baseline.

>>> d = VitalsDetector()
>>> low = [VitalReading(timestamp=60.0 * i, subject="r1", vital="spo2", value=85.0)
...        for i in range(3)]
>>> [f.kind for f in d.update(low)]
['below_bound']
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from detection.baseline import TimeOfDayBaseline
from detection.drift import Cusum


@dataclass(frozen=True, slots=True, kw_only=True)
class VitalReading:
    timestamp: float
    subject: str
    vital: str  # one of the ``vital`` names in the bounds table
    value: float
    worn: bool = True
    at_rest: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class VitalFinding:
    timestamp: float
    subject: str
    vital: str
    kind: str  # below_bound, above_bound, deviation, drift_up, drift_down
    value: float
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class VitalBounds:
    vital: str
    low: float | None
    high: float | None
    high_at_rest_only: bool = False
    """Exercise raises the heart rate legitimately; its high bound applies at rest only."""
    spread_floor: float = 1.0
    """Smallest baseline spread believed, in the vital's unit (a steady 60 bpm must not make
    63 bpm a deviation)."""


DEFAULT_BOUNDS = (
    VitalBounds(vital="heart_rate", low=40.0, high=130.0, high_at_rest_only=True, spread_floor=3.0),
    VitalBounds(vital="spo2", low=90.0, high=None, spread_floor=1.0),
    VitalBounds(vital="skin_temperature", low=30.0, high=39.0, spread_floor=0.3),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ResidentVitals:
    """One resident's own bounds and time zone."""

    subject: str
    tz: str = "Asia/Shanghai"
    bounds: tuple[VitalBounds, ...] = DEFAULT_BOUNDS


@dataclass(frozen=True, slots=True, kw_only=True)
class VitalsConfig:
    k: int = 3
    n: int = 5
    deviation_z: float = 5.0
    """Robust z beyond which a reading deviates from the personal baseline."""
    bin_hours: int = 4
    baseline_size: int = 200
    baseline_min_count: int = 30
    cusum_k: float = 0.5
    cusum_h: float = 8.0
    """Higher than the textbook 5: vitals are autocorrelated, so CUSUM false-alarms sooner."""
    residents: tuple[ResidentVitals, ...] = ()
    default_tz: str = "Asia/Shanghai"


class _Persistence:
    """k-of-n with one report per episode."""

    def __init__(self, n: int, flags: Sequence[bool] = (), active: bool = False) -> None:
        self.flags: deque[bool] = deque(flags, maxlen=n)
        self.active = active

    def push(self, flag: bool, k: int) -> bool:
        """True when this reading starts an episode."""
        self.flags.append(flag)
        hits = sum(self.flags)
        if hits == 0:
            self.active = False
        if hits >= k and not self.active:
            self.active = True
            return True
        return False


CHECKS = ("below_bound", "above_bound", "deviation")


class _Track:
    def __init__(self, config: VitalsConfig, tz: str) -> None:
        self.last_time = float("-inf")
        self.persistence = {c: _Persistence(config.n) for c in CHECKS}
        self.baseline = TimeOfDayBaseline(
            tz=tz, bin_hours=config.bin_hours, size=config.baseline_size,
            min_count=config.baseline_min_count,
        )
        self.cusum = Cusum(k=config.cusum_k, h=config.cusum_h)

    def snapshot(self) -> dict[str, Any]:
        return {
            "last_time": self.last_time,
            "persistence": {c: [list(p.flags), p.active] for c, p in self.persistence.items()},
            "baseline": self.baseline.snapshot(),
            "cusum": self.cusum.snapshot(),
        }

    def load(self, snap: dict[str, Any], n: int) -> None:
        self.last_time = snap["last_time"]
        self.persistence = {c: _Persistence(n, f, a) for c, (f, a) in snap["persistence"].items()}
        self.baseline = TimeOfDayBaseline.restore(snap["baseline"])
        self.cusum = Cusum.restore(snap["cusum"])


@dataclass(slots=True)
class VitalsDetector:
    """Bounds, personal-baseline deviation and drift for every resident's vitals."""

    config: VitalsConfig = field(default_factory=VitalsConfig)
    _tracks: dict[str, _Track] = field(default_factory=dict)

    def update(self, batch: Sequence[VitalReading]) -> list[VitalFinding]:
        found: list[VitalFinding] = []
        profiles = {p.subject: p for p in self.config.residents}
        for r in batch:
            resident = profiles.get(r.subject) or ResidentVitals(
                subject=r.subject, tz=self.config.default_tz
            )
            bounds = {b.vital: b for b in resident.bounds}.get(r.vital)
            if not r.worn or bounds is None:
                continue
            track = self._tracks.setdefault(f"{r.subject}|{r.vital}",
                                            _Track(self.config, resident.tz))
            if r.timestamp <= track.last_time:
                continue  # late or repeated: the stream has moved on
            track.last_time = r.timestamp
            found.extend(self._check(r, bounds, track))
        return found

    def _check(self, r: VitalReading, b: VitalBounds, track: _Track) -> list[VitalFinding]:
        c = self.config
        z = track.baseline.z(r.timestamp, r.value, floor=b.spread_floor) if r.at_rest else None
        flags = {
            "below_bound": b.low is not None and r.value < b.low,
            "above_bound": b.high is not None and r.value > b.high
            and (r.at_rest or not b.high_at_rest_only),
            "deviation": z is not None and abs(z) > c.deviation_z,
        }
        kinds = [kind for kind in CHECKS if track.persistence[kind].push(flags[kind], c.k)]
        details = {
            "below_bound": f"below {b.low}",
            "above_bound": f"above {b.high}",
            "deviation": f"robust z {z:+.1f} against this time of day" if z is not None else "",
        }
        if z is not None and not flags["deviation"]:
            # drift is for shifts too small to be a deviation; a large one is reported as such
            drift = track.cusum.update(z)
            if drift is not None:
                kinds.append(f"drift_{drift}")
                details[f"drift_{drift}"] = "sustained shift from the personal baseline (CUSUM)"
        if r.at_rest:
            track.baseline.learn(r.timestamp, r.value)
        return [
            VitalFinding(timestamp=r.timestamp, subject=r.subject, vital=r.vital, kind=kind,
                         value=r.value, detail=details[kind])
            for kind in kinds
        ]

    def snapshot(self) -> dict[str, Any]:
        return {
            "config": asdict(self.config),
            "tracks": {key: t.snapshot() for key, t in self._tracks.items()},
        }

    @classmethod
    def restore(cls, snap: dict[str, Any]) -> VitalsDetector:
        config = _config_from_dict(snap["config"])
        detector = cls(config)
        for key, track_snap in snap["tracks"].items():
            track = _Track(config, config.default_tz)
            track.load(track_snap, config.n)
            detector._tracks[key] = track
        return detector


def _config_from_dict(raw: dict[str, Any]) -> VitalsConfig:
    residents = tuple(
        ResidentVitals(
            subject=r["subject"], tz=r["tz"], bounds=tuple(VitalBounds(**b) for b in r["bounds"])
        )
        for r in raw["residents"]
    )
    return VitalsConfig(**{**raw, "residents": residents})
