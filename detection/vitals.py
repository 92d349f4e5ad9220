"""Vital signs from wearables: clinical bounds, deviation from the personal baseline, slow drift.

Method, per resident and vital:

* **Bounds** (configurable per resident; defaults from common early-warning practice, e.g. the
  Royal College of Physicians' NEWS2 and bradycardia/tachycardia limits): heart rate below 40 or,
  at rest, above 130 bpm; SpO2 below 90 %; skin temperature outside 30–39 °C. A bound is raised
  only when ``k`` of the last ``n`` readings break it (one bad optical reading is not an alarm),
  and once per episode: it re-arms when the last ``n`` readings are all inside.
* **Deviation**: the robust z-score against the resident's own baseline for this time of day
  (:class:`detection.baseline.TimeOfDayBaseline`, median/MAD of one at-rest reading per 10
  minutes in each 4-hour bin, about eight days of it; it speaks after three, and its spread
  leans on a typical resident's until it has seen more days, :data:`SPREAD_PRIOR`), with the
  same k-of-n persistence.
* **Drift** (heart rate and SpO2 by default): Page's CUSUM on one sample a day — the mean
  over a day (08:00 to 08:00 local) of each hour's at-rest mean as a z-score against the same
  local hour of the last two weeks, standardised against the resident's last four weeks of days
  (:class:`detection.drift.SlowDrift`; that spread is an estimate, and the day is judged as
  one); k = 0.5 and h = 5 from Montgomery's ARL table, a report restarts it and is followed by
  a quiet day.
* **Unusual pattern** (heart rate and SpO2 by default): the at-rest readings of every 10 minutes,
  reduced to their interquartile mean, go through the general anomaly scorer
  (:class:`detection.anomaly.AnomalyScorer`, configured by :data:`VITALS_ANOMALY`); its report is a
  ``deviation`` finding with the score. It sees a sustained change of shape or level that is
  too small for the z-score and comes too fast for the CUSUM (e.g. +8 bpm at rest for an hour).

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
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from detection.anomaly import AnomalyConfig, AnomalyScore, AnomalyScorer, Sample
from detection.baseline import PeriodMeans, TimeOfDayBaseline
from detection.drift import DriftConfig, DriftReport, SlowDrift
from detection.zones import known_zone


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
    score: float | None = None
    """The anomaly score of an unusual-pattern ``deviation`` (None for the other checks)."""


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


SPREAD_PRIOR = {"heart_rate": 5.0, "spo2": 1.5}
"""The prior spreads of :attr:`VitalsConfig.spread_prior`, bpm and SpO2 points.

Why: a bin's spread learnt from three to eight days knows only those days. On simulated
wearers with ordinary better and worse days (:data:`simulators.vitals.ORDINARY_DAYS`) most of
the z-score's remaining false deviations came in a resident's first week, from bins whose first
days happened to be alike (``docs/detectors.md``, "A typical spread to lean on").

The heart-rate figure is below what wearers show: ten adults aged 61 ± 12 had an at-rest
(sedentary) heart-rate range of 35 ± 6 bpm within a day on chest ECG (Digital Health 2025, doi
10.1177/20552076251367506), a standard deviation of roughly 6–7 bpm, while the simulated
wearers' full bins have a median spread of 4.45 bpm. SpO2's 1.5 is the spread (1.4826 × MAD)
of whole-percent readings whose MAD is one point, the usual case; it changes almost nothing.
Skin temperature has no prior: it follows the room, and no typical figure was found. Both
numbers are our choices, to be replaced by the measured spread of the centre's own residents
once there are some."""


VITALS_ANOMALY = AnomalyConfig(window=300, memory=288, history=288, recent_fraction=1.0,
                               measures=("shape", "slow_shape"), report_at=2.5, quiet=36)
"""The scorer for one sample per 10 minutes: the default warm-up of 150 samples is 25 hours;
nearest neighbours and the normalising quantile both over the last 2 days (288 samples), so the
state stays small (about 8.4 kB of JSON per vital); shape measures only, because the range measure
fires on every new maximum of a resident's at-rest rate, however small. Report at 2.5 × the
99.5 % quantile and at most once in 6 hours: on 16 seeded simulator residents over 8 days and 4
over 30 days the ordinary maximum was 2.1, while +8 bpm at rest for two hours reached 2.4–6.9
within its first hour. Those were steady simulated days. On days that vary as ordinary days do
(:data:`simulators.vitals.ORDINARY_DAYS`) the path finds +8 bpm for an hour in 4 of 60 wearers,
+16 bpm in 31, and reports 0.012 times a wearer-day outside any shift; ``docs/detectors.md``,
"What the unusual-pattern path finds on ordinary days", has the trade at other levels."""


@dataclass(frozen=True, slots=True, kw_only=True)
class VitalsConfig:
    k: int = 3
    n: int = 5
    deviation_z: float = 5.0
    """Robust z beyond which a reading deviates from the personal baseline."""
    bin_hours: int = 4
    baseline_size: int = 200
    baseline_min_count: int = 72
    """Readings a time-of-day bin must have learnt before its z-score counts: three days of
    that bin at one reading per 10 minutes (30, about one day, until 2026-12-06: a spread learnt
    from one or two days knows nothing of how days differ)."""
    spread_prior: dict[str, float] = field(default_factory=lambda: dict(SPREAD_PRIOR))
    """A typical resident's at-rest spread in a time-of-day bin, per vital, which moderates the
    spread each resident's bin has learnt (:func:`detection.baseline.moderated_spread`); a
    vital not named is not moderated. A detector restored from a snapshot saved before
    2026-12-06 (fourth session), which has no such setting, takes up the default."""
    spread_prior_count: int = 72
    """What the prior is worth, in learnt readings: three days of a bin at one reading per 10
    minutes, so it has half the weight when a bin starts speaking (72 readings) and about a
    quarter when it is full (200)."""
    baseline_every: float = 600.0
    """The baseline learns at most one at-rest reading per 10 minutes, so its 200 values per
    4-hour bin span about eight days of that time of day and its spread is the resident's own
    from day to day and hour to hour. Until 2026-12-06 it learnt every reading: at 10 s
    telemetry the 200 were the bin's last half hour, and on simulated wearers with ordinary
    better and worse days (simulators.vitals.DayToDay) an ordinary hour an hour later "deviated"
    0.26 times per wearer-day (``bench/welfare_false_alarms.py``). A detector restored from a
    snapshot saved before then learns at this pace too, but keeps the settings it saved (a
    ``baseline_min_count`` of 30), and its bins hold their half hours until about eight days of
    new values have replaced them."""
    drift: DriftConfig = field(default_factory=DriftConfig)
    drift_vitals: tuple[str, ...] = ("heart_rate", "spo2")
    """Vitals watched for slow drift. Not wrist skin temperature: it follows the room more than
    the body, and its bounds still apply."""
    residents: tuple[ResidentVitals, ...] = ()
    default_tz: str = "Asia/Shanghai"
    anomaly_vitals: tuple[str, ...] = ("heart_rate", "spo2")
    """Vitals whose at-rest series also goes through the anomaly scorer."""
    anomaly_every: float = 600.0
    """Seconds of at-rest readings reduced to one sample of the scorer (60 at 10 s telemetry:
    their mean is steady enough to compare, and a day is 144 samples, not 8 640)."""
    anomaly_min_readings: int = 10
    """Fewer at-rest readings than this in a period: too noisy a mean, skipped."""
    anomaly: AnomalyConfig = VITALS_ANOMALY

    def __post_init__(self) -> None:
        bad = {vital: prior for vital, prior in self.spread_prior.items() if not prior > 0}
        if bad:
            raise ValueError(f"spread_prior must be positive spreads, not {bad}")
        if self.spread_prior_count < 0:
            raise ValueError(f"spread_prior_count must be at least 0, not {self.spread_prior_count}")


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


class _Pattern:
    """At-rest readings reduced per period to their interquartile mean, scored for anomalies."""

    def __init__(self, c: VitalsConfig) -> None:
        self.scorer = AnomalyScorer(c.anomaly)
        self.means = PeriodMeans(every=c.anomaly_every, min_readings=c.anomaly_min_readings)

    def add(self, t: float, value: float) -> AnomalyScore | None:
        """The scorer's report on the period that ``t`` closes, if any."""
        closed = self.means.add(t, value)
        if closed is None:
            return None
        return next(iter(self.scorer.update([Sample(timestamp=closed[0], value=closed[1])])), None)

    def snapshot(self) -> dict[str, Any]:
        return {"scorer": self.scorer.snapshot(), **self.means.snapshot()}

    @classmethod
    def restore(cls, snap: dict[str, Any], c: VitalsConfig) -> _Pattern:
        pattern = cls(c)
        pattern.scorer = AnomalyScorer.restore(snap["scorer"])
        pattern.means.load(snap)
        return pattern


class _Track:
    def __init__(self, config: VitalsConfig, tz: str, vital: str) -> None:
        self.last_time = float("-inf")
        self.learned_at = float("-inf")
        """When the baseline last learnt a reading (``VitalsConfig.baseline_every``)."""
        self.persistence = {c: _Persistence(config.n) for c in CHECKS}
        self.baseline = TimeOfDayBaseline(
            tz=tz, bin_hours=config.bin_hours, size=config.baseline_size,
            min_count=config.baseline_min_count,
        )
        self.drift = SlowDrift(config.drift, tz) if vital in config.drift_vitals else None
        self.pattern = _Pattern(config) if vital in config.anomaly_vitals else None

    def snapshot(self) -> dict[str, Any]:
        return {
            "last_time": self.last_time,
            "learned_at": self.learned_at,
            "persistence": {c: [list(p.flags), p.active] for c, p in self.persistence.items()},
            "baseline": self.baseline.snapshot(),
            "drift": None if self.drift is None else self.drift.snapshot(),
            "pattern": None if self.pattern is None else self.pattern.snapshot(),
        }

    def load(self, snap: dict[str, Any], config: VitalsConfig) -> None:
        self.last_time = snap["last_time"]
        self.learned_at = snap.get("learned_at", float("-inf"))  # absent before 2026-12-06
        self.persistence = {c: _Persistence(config.n, f, a)
                            for c, (f, a) in snap["persistence"].items()}
        self.baseline = TimeOfDayBaseline.restore(snap["baseline"])
        # older snapshots (a per-reading "cusum", no pattern): keep the fresh monitors
        if snap.get("drift") is not None:
            self.drift = SlowDrift.restore(snap["drift"])
        if snap.get("pattern") is not None:
            self.pattern = _Pattern.restore(snap["pattern"], config)


@dataclass(slots=True)
class VitalsDetector:
    """Bounds, personal-baseline deviation and drift for every resident's vitals."""

    config: VitalsConfig = field(default_factory=VitalsConfig)
    _tracks: dict[str, _Track] = field(default_factory=dict)

    def set_zones(self, zones: dict[str, str]) -> None:
        """Residents' own time zones (their sites'), for those not in ``default_tz``: the zone
        of their baselines' time-of-day bins and of drift's days. A track keeps the zone it
        began in (its bins are local hours): a corrected zone applies to a resident's vitals
        only once their tracks start afresh."""
        for tz in set(zones.values()):
            known_zone(tz)  # an unknown zone is refused here, not at the next reading
        c = self.config
        profiles = {p.subject: p for p in c.residents}
        for subject, p in list(profiles.items()):
            if subject not in zones and p.tz != c.default_tz:
                profiles[subject] = replace(p, tz=c.default_tz)
        for subject, tz in zones.items():
            profiles[subject] = replace(profiles.get(subject) or ResidentVitals(subject=subject),
                                        tz=tz)
        self.config = replace(c, residents=tuple(profiles.values()))

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
            key = f"{r.subject}|{r.vital}"
            track = self._tracks.get(key)
            if track is None:
                track = self._tracks[key] = _Track(self.config, resident.tz, r.vital)
            if r.timestamp <= track.last_time:
                continue  # late or repeated: the stream has moved on
            track.last_time = r.timestamp
            found.extend(self._check(r, bounds, track))
        return found

    def _check(self, r: VitalReading, b: VitalBounds, track: _Track) -> list[VitalFinding]:
        c = self.config
        z = (track.baseline.z(r.timestamp, r.value, floor=b.spread_floor,
                              prior=c.spread_prior.get(r.vital),
                              prior_count=c.spread_prior_count)
             if r.at_rest else None)
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
        if r.at_rest and r.timestamp >= track.learned_at + c.baseline_every:
            track.baseline.learn(r.timestamp, r.value)
            track.learned_at = r.timestamp
        found = [
            VitalFinding(timestamp=r.timestamp, subject=r.subject, vital=r.vital, kind=kind,
                         value=r.value, detail=details[kind])
            for kind in kinds
        ]
        drift = (track.drift.add(r.timestamp, r.value, floor=b.spread_floor)
                 if track.drift and r.at_rest else None)
        if drift is not None:
            found.append(_drift_finding(r, drift))
        report = track.pattern.add(r.timestamp, r.value) if track.pattern and r.at_rest else None
        if report is not None:
            minutes = c.anomaly_every / 60
            found.append(VitalFinding(
                timestamp=r.timestamp, subject=r.subject, vital=r.vital, kind="deviation",
                value=report.value, score=report.score,
                detail=f"unusual pattern: {minutes:g}-min at-rest mean {report.value:g}, "
                       f"anomaly score {report.score:.2f}"))
        return found

    def snapshot(self) -> dict[str, Any]:
        return {**self.snapshot_head(), "tracks": self.snapshot_part(self.snapshot_keys())}

    def snapshot_head(self) -> dict[str, Any]:
        """The snapshot without its tracks (:meth:`snapshot_part`): for a snapshot taken in
        parts, between which the caller lets other work run (``ingest.welfare``)."""
        return {"config": asdict(self.config)}

    def snapshot_keys(self) -> list[str]:
        """The keys of the snapshot's ``tracks``, as they are now."""
        return list(self._tracks)

    def snapshot_part(self, keys: Iterable[str]) -> dict[str, Any]:
        """The snapshot's ``tracks`` for ``keys`` (those no longer kept are left out)."""
        tracks = self._tracks
        return {key: tracks[key].snapshot() for key in keys if key in tracks}

    @classmethod
    def restore(cls, snap: dict[str, Any]) -> VitalsDetector:
        config = _config_from_dict(snap["config"])
        detector = cls(config)
        for key, track_snap in snap["tracks"].items():
            track = _Track(config, config.default_tz, key.rsplit("|", 1)[-1])
            track.load(track_snap, config)
            detector._tracks[key] = track
        return detector


def _drift_finding(r: VitalReading, d: DriftReport) -> VitalFinding:
    way = "risen" if d.direction == "up" else "fallen"
    return VitalFinding(
        timestamp=r.timestamp, subject=r.subject, vital=r.vital, kind=f"drift_{d.direction}",
        value=d.mean,
        detail=f"slow drift: at-rest mean {d.mean:g} over the day, usually {d.usual:g} at those "
               f"hours; {way} for about {d.hours:g} h (CUSUM)")


LEGACY_KEYS = ("cusum_k", "cusum_h")
"""Settings of the per-reading CUSUM that :class:`detection.drift.SlowDrift` replaced; a snapshot
that still has them gets the default drift settings."""


def _config_from_dict(raw: dict[str, Any]) -> VitalsConfig:
    residents = tuple(
        ResidentVitals(
            subject=r["subject"], tz=r["tz"], bounds=tuple(VitalBounds(**b) for b in r["bounds"])
        )
        for r in raw["residents"]
    )
    anomaly = AnomalyConfig.from_dict(raw["anomaly"]) if "anomaly" in raw else VITALS_ANOMALY
    drift = DriftConfig.from_dict(raw["drift"]) if "drift" in raw else DriftConfig()
    current = {k: v for k, v in raw.items() if k not in LEGACY_KEYS}
    return VitalsConfig(**{**current, "residents": residents, "anomaly": anomaly, "drift": drift,
                           "anomaly_vitals": tuple(raw.get("anomaly_vitals", ("heart_rate", "spo2"))),
                           "drift_vitals": tuple(raw.get("drift_vitals", ("heart_rate", "spo2")))})
