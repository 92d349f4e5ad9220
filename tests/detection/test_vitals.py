"""Vitals: bounds with persistence, off-wrist readings, personal baseline, drift; references."""

from __future__ import annotations

import doctest
import importlib
import json

import numpy as np
import pytest
from scipy import signal

from detection.baseline import Ewma, RollingRobust, TimeOfDayBaseline
from detection.drift import Cusum
from detection.vitals import (
    ResidentVitals,
    VitalBounds,
    VitalReading,
    VitalsConfig,
    VitalsDetector,
)
from tests.detection.cases_vitals import CONFIG, two_residents


def _hr(values: list[float], *, worn: bool = True, at_rest: bool = True,
        subject: str = "r1", start: float = 0.0) -> list[VitalReading]:
    return [VitalReading(timestamp=start + 60.0 * i, subject=subject, vital="heart_rate",
                         value=v, worn=worn, at_rest=at_rest) for i, v in enumerate(values)]


def test_bound_needs_k_of_n_and_fires_once_per_episode() -> None:
    d = VitalsDetector()
    found = d.update(_hr([35, 70, 35, 70, 35, 34, 33, 70, 70, 70, 70, 70, 36, 36, 36]))
    assert [(f.kind, f.timestamp) for f in found] == [("below_bound", 240.0), ("below_bound", 840.0)]


def test_single_bad_reading_is_not_an_alarm() -> None:
    assert VitalsDetector().update(_hr([70, 150, 70, 70, 70, 150, 70])) == []


def test_off_wrist_readings_never_alarm() -> None:
    assert VitalsDetector().update(_hr([0.0] * 20, worn=False)) == []


def test_high_heart_rate_while_active_is_not_an_alarm_but_low_is() -> None:
    assert VitalsDetector().update(_hr([150.0] * 10, at_rest=False)) == []
    active_low = VitalsDetector().update(_hr([30.0] * 5, at_rest=False))
    assert [f.kind for f in active_low] == ["below_bound"]


def test_per_resident_bounds_override_defaults() -> None:
    bradycardic = ResidentVitals(
        subject="r9", bounds=(VitalBounds(vital="heart_rate", low=35.0, high=130.0),))
    d = VitalsDetector(VitalsConfig(residents=(bradycardic,)))
    assert d.update(_hr([38.0] * 5, subject="r9")) == []
    assert [f.kind for f in d.update(_hr([38.0] * 5, subject="r1"))] == ["below_bound"]


def test_unknown_vital_is_ignored() -> None:
    r = VitalReading(timestamp=0.0, subject="r1", vital="glucose", value=1.0)
    assert VitalsDetector().update([r] * 5) == []


def test_spo2_fall_is_found_at_its_pinned_position() -> None:
    d = VitalsDetector(CONFIG)
    found = [f for b in two_residents(7) for f in d.update(b)]
    r2 = [(f.kind, round((f.timestamp - 1_700_000_000.0) / 600.0)) for f in found
          if f.subject == "r2" and f.vital == "spo2"]
    # the fall starts at step 348; 88 % is below 90 % and far from r2's baseline
    assert ("below_bound", 350) in r2
    assert ("deviation", 350) in r2
    assert all(step >= 348 for _, step in r2)
    assert not [f for f in found if f.subject == "r1"]


def test_deviation_from_own_baseline_within_clinical_bounds() -> None:
    rng = np.random.default_rng(0)
    calm = list(60.0 + rng.normal(0, 1.5, 200))
    d = VitalsDetector(VitalsConfig(baseline_min_count=30, bin_hours=24))
    assert d.update(_hr(calm)) == []
    found = d.update(_hr([100.0] * 5, start=200 * 60.0))
    assert [f.kind for f in found] == ["deviation"]
    assert found[0].timestamp == 202 * 60.0


def test_slow_drift_is_found_by_cusum_not_by_deviation() -> None:
    rng = np.random.default_rng(1)
    calm = 60.0 + rng.normal(0, 2.0, 300)
    drift = 60.0 + np.linspace(0, 12, 200) + rng.normal(0, 2.0, 200)
    d = VitalsDetector(VitalsConfig(baseline_min_count=30, bin_hours=24, baseline_size=300))
    assert d.update(_hr(list(calm))) == []
    found = d.update(_hr(list(drift), start=300 * 60.0))
    assert found
    assert {f.kind for f in found} == {"drift_up"}


def test_restore_continues_identically() -> None:
    batches = two_residents(3)
    first = VitalsDetector(CONFIG)
    straight = [f for b in batches for f in first.update(b)]
    d = VitalsDetector(CONFIG)
    head = [f for b in batches[:300] for f in d.update(b)]
    again = VitalsDetector.restore(json.loads(json.dumps(d.snapshot())))
    assert head + [f for b in batches[300:] for f in again.update(b)] == straight


def test_rolling_robust_matches_numpy() -> None:
    rng = np.random.default_rng(5)
    data = rng.standard_t(3, 500)
    r = RollingRobust(64)
    for i, x in enumerate(data):
        r.add(float(x))
        tail = data[max(0, i - 63) : i + 1]
        assert r.median() == pytest.approx(np.median(tail))
    assert r.mad() == pytest.approx(1.4826 * np.median(np.abs(tail - np.median(tail))))


def test_ewma_matches_scipy_filter() -> None:
    rng = np.random.default_rng(6)
    data = rng.normal(5.0, 2.0, 400)
    alpha = 0.05
    e = Ewma(alpha)
    for x in data:
        e.add(float(x))
    # y[n] = (1 - α) y[n-1] + α x[n], started at x[0]
    reference, _ = signal.lfilter([alpha], [1, alpha - 1], data[1:], zi=[(1 - alpha) * data[0]])
    assert e.mean == pytest.approx(reference[-1])
    weights = (1 - alpha) ** np.arange(len(data) - 1)[::-1]
    assert e.var == pytest.approx(
        np.sum(alpha * weights * (data[1:] - reference) ** 2), rel=0.2)


def test_time_of_day_bins_use_the_residents_zone() -> None:
    b = TimeOfDayBaseline(tz="Asia/Shanghai", bin_hours=1)
    assert b.bin_of(0.0) == 8  # 00:00 UTC is 08:00 in Shanghai
    assert TimeOfDayBaseline(tz="UTC", bin_hours=6).bin_of(7 * 3600.0) == 1
    with pytest.raises(ValueError, match="divide 24"):
        TimeOfDayBaseline(tz="UTC", bin_hours=5)


def test_cusum_run_length_on_one_sigma_shift() -> None:
    c = Cusum(k=0.5, h=5.0)
    steps = next(i for i in range(1, 100) if c.update(1.0) is not None)
    assert steps == 11  # S+ grows by 0.5 a step and must exceed 5
    assert Cusum().update(-50.0) is None  # one wild reading is clipped, not a drift


def test_regression_zero_mad_baseline_does_not_divide_by_zero() -> None:
    """A resident whose watch reported exactly 60 bpm for hours made MAD 0; the spread floor
    keeps one 63 bpm reading from being an infinite z."""
    d = VitalsDetector(VitalsConfig(baseline_min_count=30, bin_hours=24))
    assert d.update(_hr([60.0] * 100 + [63.0] * 5)) == []


@pytest.mark.parametrize("module", ['detection.vitals', 'detection.baseline', 'detection.drift'])
def test_docstring_examples_run(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0
    assert result.failed == 0
