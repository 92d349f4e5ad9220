"""Self check-ups: clinical bounds, and deviation from the resident's own recent check-ups.

A check-up (blood pressure, blood glucose, weight, temperature, pulse, SpO2 taken at a community
kiosk, typed in by staff, or sent by the elder's own meter) is a deliberate measurement: seated,
by a device made for it, often repeated on the spot when it looks wrong. So **one reading is
enough (k = 1)**, unlike the k-of-n persistence the wearable detector (``detection/vitals.py``)
needs against optical noise. Method, per reading:

* **Bounds** (``Measure.low`` / ``Measure.high``; a reading is below when ``value < low`` and above
  when ``value >= high``), defaults in :data:`MEASURES` with their sources, overridable per
  resident (:func:`measures_with`). Finding ``below_bound`` / ``above_bound`` -> alarm
  ``vitals_critical``.
* **Own baseline**: median and MAD of the resident's last ``history`` check-ups of that kind
  (``BaselineConfig``), standard deviation estimated as 1.4826 x MAD (consistent for a normal
  distribution) and never below the measure's ``spread_floor``; robust z = (value - median) / sd,
  a deviation when |z| >= 3.5 (Iglewicz & Hoaglin 1993, "How to detect and handle outliers": the
  modified z-score cut-off). Weight uses the relative change instead: more than 5 % from the
  median (GLIM 2019 counts > 5 % weight loss within 6 months as a malnutrition criterion; a quick
  gain of that size is fluid in heart failure). Needs ``min_history`` earlier check-ups; a reading
  already out of bounds is not also reported as a deviation. Finding ``deviation`` -> alarm
  ``vitals_deviation``.

It keeps no state: :func:`evaluate` takes the reading, the bounds and the history, so ingest (a
kiosk's message) and the console (a staff entry) run the same code on the same history, read
from the database.

>>> high = evaluate([Reading(kind="bp_systolic", value=195.0)], history={})
>>> [(f.measure, f.kind, f.alarm) for f in high]
[('bp_systolic', 'above_bound', 'vitals_critical')]
>>> usual = {"weight": [60.0, 61.0, 59.0, 60.0, 60.5]}
>>> [(f.kind, f.limit) for f in evaluate([Reading(kind="weight", value=63.5)], history=usual)]
[('deviation', 60.0)]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

MAD_TO_SD = 1.4826
"""1 / Phi^-1(3/4): turns a median absolute deviation into a standard deviation (normal data)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Measure:
    kind: str
    unit: str
    low: float | None
    """Below when ``value < low`` (None: no lower bound)."""
    high: float | None
    """Above when ``value >= high`` (None: no upper bound)."""
    source: str
    spread_floor: float
    """Smallest standard deviation believed for the own baseline, in the unit: about the
    measurement's own repeatability, so five identical weigh-ins do not make 0.1 kg a deviation."""
    relative: float | None = None
    """Deviation rule by relative change from the median instead of by robust z."""


MEASURES: tuple[Measure, ...] = (
    Measure(kind="bp_systolic", unit="mmHg", low=90.0, high=180.0, spread_floor=5.0,
            source="≥ 180: grade 3 hypertension, the hypertensive-crisis range (Chinese guidelines"
                   " for the management of hypertension 2018; ACC/AHA 2017 > 180); < 90:"
                   " hypotension"),
    # No lower diastolic bound: a low diastolic with a high systolic (wide pulse pressure) is the
    # usual picture in old age, and alarming on it would flood the queue.
    Measure(kind="bp_diastolic", unit="mmHg", low=None, high=110.0, spread_floor=4.0,
            source="≥ 110: grade 3 hypertension (Chinese hypertension guideline 2018)"),
    Measure(kind="glucose", unit="mmol/L", low=3.9, high=16.7, spread_floor=0.5,
            source="< 3.9: level 1 hypoglycaemia (ADA Standards of Care, 6. Glycemic Goals and"
                   " Hypoglycemia); ≥ 16.7 (300 mg/dL): check for ketoacidosis or hyperosmolar"
                   " state (Chinese type 2 diabetes guideline 2020)"),
    Measure(kind="weight", unit="kg", low=None, high=None, spread_floor=0.5, relative=0.05,
            source="> 5 % change from the own recent median (GLIM criteria 2019: > 5 % loss in"
                   " 6 months); a deviation, never critical"),
    Measure(kind="temperature", unit="°C", low=35.0, high=38.5, spread_floor=0.2,
            source="≥ 38.5: high fever; < 35.0: hypothermia (core temperature definition)"),
    # Seated for a check-up means at rest: the wearable detector's at-rest limits apply.
    Measure(kind="heart_rate", unit="bpm", low=40.0, high=130.0, spread_floor=3.0,
            source="< 40 bradycardia, ≥ 130 at rest tachycardia (as detection/vitals.py)"),
    Measure(kind="spo2", unit="%", low=90.0, high=None, spread_floor=1.0,
            source="< 90 %: hypoxaemia (as detection/vitals.py; BTS oxygen guideline 2017)"),
)
KINDS: tuple[str, ...] = tuple(m.kind for m in MEASURES)
UNITS: dict[str, str] = {m.kind: m.unit for m in MEASURES}
ALARMS: dict[str, str] = {"below_bound": "vitals_critical", "above_bound": "vitals_critical",
                          "deviation": "vitals_deviation"}
"""Finding kind -> alarm kind, the same mapping as the wearable findings (ingest/welfare.py)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BaselineConfig:
    history: int = 10
    """Earlier check-ups of a kind that form the own baseline (the most recent ones)."""
    min_history: int = 5
    """Fewer than this and the baseline stays silent: bounds only."""
    deviation_z: float = 3.5


@dataclass(frozen=True, slots=True, kw_only=True)
class Reading:
    kind: str
    value: float


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckupFinding:
    measure: str
    kind: str
    """below_bound, above_bound or deviation."""
    value: float
    limit: float
    """The bound crossed, or the baseline's median."""
    unit: str
    detail: str
    z: float | None = None

    @property
    def alarm(self) -> str:
        return ALARMS[self.kind]


def measures_with(overrides: Mapping[str, Mapping[str, float | None]],
                  base: Sequence[Measure] = MEASURES) -> tuple[Measure, ...]:
    """The bounds with one resident's overrides applied: ``{kind: {"low"|"high": value|None}}``.

    >>> [m.high for m in measures_with({"bp_systolic": {"high": 170}}) if m.kind == "bp_systolic"]
    [170.0]
    """
    by_kind = {m.kind: m for m in base}
    for kind, limits in overrides.items():
        if kind not in by_kind:
            raise ValueError(f"no check-up measure {kind!r}")
        unknown = set(limits) - {"low", "high"}
        if unknown:
            raise ValueError(f"{kind}: only low and high can be set, not {sorted(unknown)}")
        for name, value in limits.items():
            if value is not None and (isinstance(value, bool) or not math.isfinite(value)):
                raise ValueError(f"{kind}.{name} must be a finite number or null")
        low = limits.get("low", by_kind[kind].low)
        high = limits.get("high", by_kind[kind].high)
        measure = replace(by_kind[kind], low=None if low is None else float(low),
                          high=None if high is None else float(high))
        if measure.low is not None and measure.high is not None and measure.low >= measure.high:
            raise ValueError(f"{kind}: low {measure.low} is not below high {measure.high}")
        by_kind[kind] = measure
    return tuple(by_kind.values())


def baseline(values: Sequence[float], *, floor: float) -> tuple[float, float]:
    """(median, standard deviation from the MAD, at least ``floor``) of ``values``."""
    x = np.asarray(values, dtype=np.float64)
    median = float(np.median(x))
    mad = float(np.median(np.abs(x - median)))
    return median, max(MAD_TO_SD * mad, floor)


def _bound(measure: Measure, value: float) -> CheckupFinding | None:
    if measure.low is not None and value < measure.low:
        kind, limit, sign = "below_bound", measure.low, "<"
    elif measure.high is not None and value >= measure.high:
        kind, limit, sign = "above_bound", measure.high, "≥"
    else:
        return None
    return CheckupFinding(measure=measure.kind, kind=kind, value=value, limit=limit,
                          unit=measure.unit,
                          detail=f"{measure.kind} {value:g} {sign} {limit:g} {measure.unit}")


def _deviation(measure: Measure, value: float, history: Sequence[float],
               config: BaselineConfig) -> CheckupFinding | None:
    recent = list(history)[-config.history:]
    if len(recent) < config.min_history:
        return None
    median, sd = baseline(recent, floor=measure.spread_floor)
    z = (value - median) / sd
    if measure.relative is not None:
        change = (value - median) / median
        if abs(change) <= measure.relative:
            return None
        detail = f"{measure.kind} {value:g} is {change:+.1%} from the usual {median:g}"
    else:
        if abs(z) < config.deviation_z:
            return None
        detail = f"{measure.kind} {value:g}: z {z:+.1f} against the usual {median:g}"
    return CheckupFinding(measure=measure.kind, kind="deviation", value=value, limit=median,
                          unit=measure.unit, detail=f"{detail} {measure.unit}",
                          z=round(z, 2))


def evaluate(readings: Sequence[Reading], *, history: Mapping[str, Sequence[float]],
             measures: Sequence[Measure] = MEASURES,
             config: BaselineConfig = BaselineConfig()) -> list[CheckupFinding]:
    """What is abnormal in one check-up.

    ``history`` holds, per kind, the values of the resident's earlier check-ups, oldest first
    (only the last ``config.history`` are used); it must not contain the readings themselves.
    """
    by_kind = {m.kind: m for m in measures}
    found: list[CheckupFinding] = []
    for reading in readings:
        measure = by_kind.get(reading.kind)
        if measure is None:
            raise ValueError(f"no check-up measure {reading.kind!r}")
        if not (math.isfinite(reading.value) and reading.value > 0):
            raise ValueError(f"{reading.kind} {reading.value!r} is not a measurement")
        finding = _bound(measure, reading.value) or _deviation(
            measure, reading.value, history.get(reading.kind, ()), config)
        if finding is not None:
            found.append(finding)
    return found
