"""Vitals: bounds with persistence, off-wrist readings, personal baseline, drift; references."""

from __future__ import annotations

import doctest
import importlib
import json
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from scipy import signal

from detection.baseline import Ewma, RollingRobust, TimeOfDayBaseline, moderated_spread
from detection.drift import DriftConfig
from detection.vitals import (
    VITALS_ANOMALY,
    ResidentVitals,
    VitalBounds,
    VitalFinding,
    VitalReading,
    VitalsConfig,
    VitalsDetector,
)
from simulators.vitals import ORDINARY_DAYS, heart_rate_stream
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
    # a reading a minute here, each one learnt
    d = VitalsDetector(VitalsConfig(baseline_min_count=30, bin_hours=24, baseline_every=60.0))
    assert d.update(_hr(calm)) == []
    found = d.update(_hr([100.0] * 5, start=200 * 60.0))
    assert [f.kind for f in found] == ["deviation"]
    assert found[0].timestamp == 202 * 60.0


def test_slow_drift_is_a_finding_with_the_days_mean_and_the_usual() -> None:
    """Heart rate every 10 minutes (one reading is a 10-minute period here), steady for ten
    days, then +6 bpm at rest for two from 08:00, when the drift monitor's day begins: a drift,
    not a deviation (z 2 at the 3 bpm floor). Walking is not drift."""
    config = VitalsConfig(drift=DriftConfig(part_min_readings=1), anomaly_vitals=())
    d = VitalsDetector(config)
    rise = MIDNIGHT + 10 * DAY + 8 * 3600.0
    steady = [VitalReading(timestamp=MIDNIGHT + 600.0 * i, subject="r1", vital="heart_rate",
                           value=60.0) for i in range(10 * 144 + 48)]
    walking = [VitalReading(timestamp=rise + 600.0 * i + 300.0, subject="r1",
                            vital="heart_rate", value=95.0, at_rest=False) for i in range(288)]
    risen = [VitalReading(timestamp=rise + 600.0 * i, subject="r1", vital="heart_rate",
                          value=66.0) for i in range(289)]
    assert d.update(steady) == []
    found = d.update(sorted(walking + risen, key=lambda r: r.timestamp))
    # a day of 2 σ every hour is clipped to 4 σ: 3.5 after the first day, 7 > 5 when the
    # second closes, at 08:00
    assert [(f.kind, (f.timestamp - rise) / 3600, f.value) for f in found] == [
        ("drift_up", 48.0, 66.0)]
    assert found[0].detail == ("slow drift: at-rest mean 66 over the day, usually 60 at those "
                               "hours; risen for about 48 h (CUSUM)")


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


def test_moderated_spread_is_the_spread_of_the_pooled_values() -> None:
    """Moderating a learnt spread with a prior worth n0 values gives the spread (about a shared
    centre) of the learnt values pooled with n0 values of the prior's spread."""
    rng = np.random.default_rng(8)
    learnt = rng.normal(0.0, 2.0, 72)
    learnt -= learnt.mean()
    prior = rng.normal(0.0, 5.0, 40)
    prior -= prior.mean()
    pooled = np.concatenate([learnt, prior])
    assert moderated_spread(float(learnt.std()), 72, prior=float(prior.std()),
                            prior_count=40) == pytest.approx(float(pooled.std()))
    assert moderated_spread(2.0, 72, prior=None, prior_count=40) == 2.0
    assert moderated_spread(2.0, 72, prior=5.0, prior_count=0) == 2.0


def test_a_bad_spread_prior_is_refused_with_its_reason() -> None:
    with pytest.raises(ValueError, match="positive spreads"):
        VitalsConfig(spread_prior={"heart_rate": 0.0})
    with pytest.raises(ValueError, match="at least 0"):
        VitalsConfig(spread_prior_count=-1)


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


# -- the unusual-pattern path (the general anomaly scorer on 10-minute at-rest means) ----------

MIDNIGHT = 1_699_977_600.0  # 2023-11-15 00:00 in Shanghai
DAY = 86400.0


def _simulated_hr(seed: int, shift: tuple[float, float, float] | None) -> list[VitalReading]:
    """Four days of a simulated wearer's heart rate every 10 s (simulators.vitals)."""
    beats = heart_rate_stream(seed=seed, start=MIDNIGHT, seconds=4 * DAY, shift=shift)
    return [VitalReading(timestamp=t, subject="r1", vital="heart_rate", value=float(hr),
                         at_rest=not walking) for t, hr, walking in beats]


@pytest.fixture(scope="module")
def simulated_days() -> dict[str, tuple[list[VitalFinding], int]]:
    """Findings and snapshot size for an ordinary stream and the same one with +10 bpm from
    10:00 to 12:00 on day 4 (2 bpm of noise: the z-score check needs about +15, and sees one
    reading near the end)."""
    shift = (MIDNIGHT + 3 * DAY + 10 * 3600, MIDNIGHT + 3 * DAY + 12 * 3600, 10.0)
    out = {}
    for name, s in (("ordinary", None), ("shifted", shift)):
        d = VitalsDetector()
        out[name] = (d.update(_simulated_hr(3, s)), len(json.dumps(d.snapshot())))
    return out


@pytest.mark.slow
def test_sustained_heart_rate_shift_is_reported_by_the_anomaly_path(
        simulated_days: dict[str, tuple[list[VitalFinding], int]]) -> None:
    found, _ = simulated_days["shifted"]
    pattern = [(f.kind, round((f.timestamp - MIDNIGHT) / 60)) for f in found if f.score is not None]
    # the first 10-minute period of the shift (10:00-10:10 on day 4), reported as it closes
    assert pattern == [("deviation", 3 * 1440 + 610)]
    report = next(f for f in found if f.score is not None)
    assert report.score is not None and report.score > 2.5 / 3.5  # report_at 2.5 as a score
    assert 80.0 < report.value < 85.0  # the period's at-rest mean, not one reading
    assert "anomaly score" in report.detail
    # The z-score path sees nothing: +10 bpm is under its threshold. Its baseline is the
    # 08:00-12:00 bin of the three days before (VitalsConfig.baseline_every), whose spread leans
    # on a typical resident's 5 bpm while it is young (VitalsConfig.spread_prior). Without that
    # prior the steady simulated wearer's three alike days made one reading of 88 at 11:58 a
    # deviation; learning every reading (until 2026-12-06) it was the bin's last half hour, and
    # it saw nothing either.
    z_path = [(round((f.timestamp - MIDNIGHT) / 60), f.value) for f in found
              if f.kind == "deviation" and f.score is None]
    assert z_path == []


@pytest.mark.slow
def test_regression_ordinary_simulated_days_raise_nothing(
        simulated_days: dict[str, tuple[list[VitalFinding], int]]) -> None:
    """Four ordinary days of a simulated wearer at 10 s: the per-reading CUSUM reported dozens
    of drifts a day on them; now nothing at all is found (see also tests/detection/test_drift.py
    for six wearers over a week)."""
    found, _ = simulated_days["ordinary"]
    assert found == []


@pytest.mark.slow
def test_ordinary_days_raise_no_unusual_pattern(
        simulated_days: dict[str, tuple[list[VitalFinding], int]]) -> None:
    found, size = simulated_days["ordinary"]
    assert [f for f in found if f.score is not None] == []
    # one resident's heart-rate track after 4 days, scorer included (see VITALS_ANOMALY); the
    # scorer's numbers are packed float64 (detection/anomaly.py): about 21.5 kB
    assert size < 24_000


def test_pattern_learns_at_rest_periods_only_and_skips_sparse_ones() -> None:
    config = VitalsConfig(anomaly_every=60.0, anomaly_min_readings=3)
    d = VitalsDetector(config)
    walking = [VitalReading(timestamp=10.0 * i, subject="r1", vital="heart_rate", value=90.0,
                            at_rest=False) for i in range(60)]
    sparse = [VitalReading(timestamp=600.0 + 30.0 * i, subject="r1", vital="heart_rate",
                           value=60.0) for i in range(20)]  # 2 readings a minute: too few
    d.update(walking + sparse)
    scorer = d._tracks["r1|heart_rate"].pattern
    assert scorer is not None and scorer.scorer._seen == 0
    d.update([VitalReading(timestamp=1200.0 + 10.0 * i, subject="r1", vital="heart_rate",
                           value=60.0) for i in range(13)])
    assert scorer.scorer._seen == 2  # 1200-1260 and 1260-1320 closed, 1320 still open
    assert d._tracks.get("r1|skin_temperature") is None


def test_interquartile_mean_ignores_an_optical_artefact() -> None:
    d = VitalsDetector(VitalsConfig(anomaly_every=60.0, anomaly_min_readings=3))
    values = [60.0, 61.0, 62.0, 140.0, 61.0, 60.0]  # one reading of 140 in the first minute
    d.update([VitalReading(timestamp=10.0 * i, subject="r1", vital="heart_rate", value=v)
              for i, v in enumerate([*values, 60.0])])
    pattern = d._tracks["r1|heart_rate"].pattern
    assert pattern is not None
    assert list(pattern.scorer._values) == [pytest.approx(np.mean([60.0, 61.0, 61.0, 62.0]))]


def test_regression_snapshot_with_the_per_reading_cusum_restores() -> None:
    """Snapshots from before the hourly drift monitor have ``cusum_k``/``cusum_h`` settings and a
    ``cusum`` per track: the settings are dropped, each track starts a fresh drift monitor."""
    d = VitalsDetector(CONFIG)
    for b in two_residents(5)[:50]:
        d.update(b)
    snap = json.loads(json.dumps(d.snapshot()))
    del snap["config"]["drift"], snap["config"]["drift_vitals"]
    snap["config"] |= {"cusum_k": 0.5, "cusum_h": 8.0}
    for track in snap["tracks"].values():
        del track["drift"]
        track["cusum"] = {"k": 0.5, "h": 8.0, "clip": 3.0, "high": 1.5, "low": 0.0}
    again = VitalsDetector.restore(snap)
    assert again.config.drift == DriftConfig()
    assert again.config.drift_vitals == ("heart_rate", "spo2")
    drift = again._tracks["r1|heart_rate"].drift
    assert drift is not None and drift.cusum.high == 0.0
    assert again._tracks["r1|heart_rate"].baseline.snapshot() == (
        d._tracks["r1|heart_rate"].baseline.snapshot())


def test_regression_snapshot_from_before_the_pattern_restores() -> None:
    """Snapshots already in PostgreSQL have no anomaly settings and no pattern per track."""
    d = VitalsDetector(CONFIG)
    for b in two_residents(5)[:50]:
        d.update(b)
    snap = json.loads(json.dumps(d.snapshot()))
    for key in ("anomaly", "anomaly_vitals", "anomaly_every", "anomaly_min_readings"):
        del snap["config"][key]
    for track in snap["tracks"].values():
        del track["pattern"]
    again = VitalsDetector.restore(snap)
    assert again.config.anomaly == VITALS_ANOMALY
    assert again._tracks["r1|heart_rate"].pattern is not None
    assert again._tracks["r1|spo2"].pattern is not None


def test_baseline_learns_one_at_rest_reading_per_ten_minutes() -> None:
    """At 10 s telemetry the baseline takes one reading in 60, so its 200 values per bin span
    days of that time of day, not its last half hour."""
    d = VitalsDetector(VitalsConfig(anomaly_vitals=(), drift_vitals=()))
    readings = [VitalReading(timestamp=MIDNIGHT + 10.0 * i, subject="r1", vital="heart_rate",
                             value=60.0 + i % 7, at_rest=i % 100 >= 10) for i in range(360)]
    d.update(readings)
    learnt = d._tracks["r1|heart_rate"].baseline._bins[0]  # 00:00-04:00 local
    # at rest from 100 s, then every 600 s: 100, 700, 1300, 1900, 2500, 3100 s
    assert learnt.count == 6
    assert learnt.median() == pytest.approx(np.median([60.0 + (i % 7) for i in
                                                       (10, 70, 130, 190, 250, 310)]))


def test_regression_ordinary_bad_days_are_not_deviations() -> None:
    """Six simulated wearers with ordinary better and worse days and hours
    (simulators.vitals.ORDINARY_DAYS) over six days: while the z-score baseline learnt every
    reading (the bin's last half hour) and spoke after 30, an ordinary hour an hour later
    deviated 6 times; learning one reading per 10 minutes (days of that time of day), once; and
    speaking only after three days of the bin (72), never."""
    streams = []
    for seed in range(1, 7):
        base = float(np.random.default_rng(seed).normal(72, 6))
        streams.append([VitalReading(timestamp=t, subject="r1", vital="heart_rate",
                                     value=float(hr), at_rest=not walking)
                        for t, hr, walking in heart_rate_stream(
                            seed=seed, start=MIDNIGHT, seconds=6 * DAY, base=base,
                            days=ORDINARY_DAYS)])

    def deviations(**settings: Any) -> int:
        config = replace(VitalsConfig(anomaly_vitals=(), drift_vitals=()), **settings)
        return sum(len(VitalsDetector(config).update(s)) for s in streams)

    assert deviations(baseline_every=0.0, baseline_min_count=30, spread_prior={}) == 6
    assert deviations(baseline_min_count=30, spread_prior={}) == 1
    assert deviations(spread_prior={}) == 0
    assert deviations() == 0


def test_regression_a_young_bin_leans_on_a_typical_spread() -> None:
    """Two simulated wearers with ordinary better and worse days over their first week: with
    the bins' spread learnt from three to five days alone, seven of their readings deviated
    (wearer 9 on day 4, wearer 13 on day 6, after alike first days); moderated by a typical
    resident's spread (VitalsConfig.spread_prior), none did. The prior pulls both ways: +25 bpm
    at rest for half an hour on day 5 is found in both wearers with it, and in wearer 9, whose
    first days swung more than a typical resident's, only with it."""

    def stream(seed: int, shift: tuple[float, float, float] | None) -> list[VitalReading]:
        base = float(np.random.default_rng(seed).normal(72, 6))
        return [VitalReading(timestamp=t, subject="r1", vital="heart_rate", value=float(hr),
                             at_rest=not walking)
                for t, hr, walking in heart_rate_stream(
                    seed=seed, start=MIDNIGHT, seconds=7 * DAY, base=base, shift=shift,
                    days=ORDINARY_DAYS)]

    def deviations(readings: list[VitalReading], **settings: Any) -> list[float]:
        config = replace(VitalsConfig(anomaly_vitals=(), drift_vitals=()), **settings)
        return [f.timestamp for f in VitalsDetector(config).update(readings)]

    ordinary = {seed: stream(seed, None) for seed in (9, 13)}
    alone = {seed: deviations(s, spread_prior={}) for seed, s in ordinary.items()}
    assert [len(v) for v in alone.values()] == [1, 6]
    assert [int((v[0] - MIDNIGHT) // DAY) + 1 for v in alone.values()] == [4, 6]
    assert all(deviations(s) == [] for s in ordinary.values())

    begins = MIDNIGHT + 4 * DAY + 10 * 3600.0  # day 5, 10:00 local
    shift = (begins, begins + 1800.0, 25.0)
    for seed, with_alone in ((9, False), (13, True)):
        shifted = stream(seed, shift)
        assert any(begins <= t < begins + 1800.0 for t in deviations(shifted))
        assert any(begins <= t < begins + 1800.0
                   for t in deviations(shifted, spread_prior={})) == with_alone


def test_set_zones_gives_new_tracks_the_residents_own_zone_and_keeps_their_bounds() -> None:
    """A resident's own bounds survive being given a zone; their baseline's bins and drift's days
    are then local to it; a resident no longer in another zone goes back to the default."""
    tight = (VitalBounds(vital="heart_rate", low=45.0, high=110.0),)
    d = VitalsDetector(VitalsConfig(residents=(ResidentVitals(subject="r1", bounds=tight),)))
    d.set_zones({"r1": "Europe/London", "r2": "America/New_York"})
    d.update([VitalReading(timestamp=1_700_000_000.0 + i, subject=s, vital="heart_rate",
                           value=70.0) for i in range(3) for s in ("r1", "r2", "r3")])
    zones = {k: t.baseline.tz for k, t in d._tracks.items()}
    assert zones == {"r1|heart_rate": "Europe/London", "r2|heart_rate": "America/New_York",
                     "r3|heart_rate": "Asia/Shanghai"}
    drift = d._tracks["r2|heart_rate"].drift
    assert drift is not None and drift.baseline.tz == "America/New_York"
    assert {p.subject: (p.tz, p.bounds) for p in d.config.residents}["r1"] == (
        "Europe/London", tight)
    d.set_zones({})
    assert {p.subject: p.tz for p in d.config.residents} == {
        "r1": "Asia/Shanghai", "r2": "Asia/Shanghai"}
    with pytest.raises(ValueError, match="unknown time zone"):
        d.set_zones({"r1": "Europe/Lodnon"})
