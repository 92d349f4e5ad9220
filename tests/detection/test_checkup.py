"""The self check-up detector: bounds at their edges, the own baseline by hand and against scipy,
overrides per resident, and one regression test per mistake worth not repeating."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from detection.checkup import (
    KINDS,
    MEASURES,
    BaselineConfig,
    Reading,
    baseline,
    evaluate,
    measures_with,
)

USUAL_SYSTOLIC = [120.0, 122.0, 118.0, 121.0, 119.0]
"""Median 120; absolute deviations 0, 2, 2, 1, 1 -> MAD 1 -> sd 1.48, floored at 5 mmHg."""
USUAL_WEIGHT = [60.0, 61.0, 59.0, 60.0, 60.5]
"""Median 60 kg: 5 % is 3 kg either way."""


def kinds(kind: str, value: float, history: dict[str, list[float]] | None = None) -> list[str]:
    return [f.kind for f in evaluate([Reading(kind=kind, value=value)], history=history or {})]


@pytest.mark.parametrize(("kind", "value", "expected"), [
    ("bp_systolic", 180.0, ["above_bound"]),   # >= 180: grade 3, crisis range
    ("bp_systolic", 179.0, []),
    ("bp_systolic", 89.0, ["below_bound"]),    # < 90: hypotension
    ("bp_systolic", 90.0, []),
    ("bp_diastolic", 110.0, ["above_bound"]),
    ("bp_diastolic", 109.0, []),
    ("bp_diastolic", 45.0, []),                # no lower diastolic bound (wide pulse pressure)
    ("glucose", 3.8, ["below_bound"]),         # < 3.9 mmol/L: ADA level 1 hypoglycaemia
    ("glucose", 3.9, []),
    ("glucose", 16.7, ["above_bound"]),
    ("glucose", 16.6, []),
    ("temperature", 38.5, ["above_bound"]),
    ("temperature", 38.4, []),
    ("temperature", 34.9, ["below_bound"]),
    ("temperature", 35.0, []),
    ("heart_rate", 39.0, ["below_bound"]),
    ("heart_rate", 130.0, ["above_bound"]),
    ("spo2", 89.0, ["below_bound"]),
    ("spo2", 90.0, []),
    ("weight", 150.0, []),                     # weight has no absolute bounds
])
def test_bounds_at_their_edges(kind: str, value: float, expected: list[str]) -> None:
    assert kinds(kind, value) == expected


def test_one_reading_is_enough_and_maps_to_vitals_critical() -> None:
    [finding] = evaluate([Reading(kind="bp_systolic", value=195.0)], history={})
    assert (finding.kind, finding.alarm, finding.limit, finding.unit) == (
        "above_bound", "vitals_critical", 180.0, "mmHg")
    assert "195" in finding.detail


def test_a_whole_check_up_reports_each_abnormal_reading() -> None:
    found = evaluate([Reading(kind="bp_systolic", value=200.0),
                      Reading(kind="bp_diastolic", value=115.0),
                      Reading(kind="glucose", value=6.1)], history={})
    assert [(f.measure, f.kind) for f in found] == [("bp_systolic", "above_bound"),
                                                    ("bp_diastolic", "above_bound")]


def test_systolic_deviation_by_hand() -> None:
    history = {"bp_systolic": USUAL_SYSTOLIC}
    # sd = max(1.4826 * 1, 5) = 5: 140 is z = +4.0, 137 is z = +3.4 (< 3.5), 102 is z = -3.6.
    [finding] = evaluate([Reading(kind="bp_systolic", value=140.0)], history=history)
    assert (finding.kind, finding.alarm, finding.limit, finding.z) == (
        "deviation", "vitals_deviation", 120.0, 4.0)
    assert kinds("bp_systolic", 137.0, history) == []
    assert kinds("bp_systolic", 102.0, history) == ["deviation"]


def test_weight_is_judged_by_relative_change() -> None:
    history = {"weight": USUAL_WEIGHT}
    assert kinds("weight", 63.1, history) == ["deviation"]   # +5.17 %
    assert kinds("weight", 62.9, history) == []              # +4.83 %
    assert kinds("weight", 56.9, history) == ["deviation"]   # -5.17 %: loss counts too
    assert kinds("weight", 57.1, history) == []
    [finding] = evaluate([Reading(kind="weight", value=63.5)], history=history)
    assert finding.alarm == "vitals_deviation" and "+5.8%" in finding.detail


def test_baseline_waits_for_min_history() -> None:
    short = {"bp_systolic": USUAL_SYSTOLIC[:4]}
    assert kinds("bp_systolic", 150.0, short) == []
    assert kinds("bp_systolic", 150.0, {"bp_systolic": USUAL_SYSTOLIC}) == ["deviation"]


def test_only_the_last_n_check_ups_form_the_baseline() -> None:
    # Ten old readings around 160 then ten recent around 120: only the recent ten count.
    history = {"bp_systolic": [160.0] * 10 + [120.0, 122.0, 118.0, 121.0, 119.0] * 2}
    assert kinds("bp_systolic", 160.0, history) == ["deviation"]
    assert kinds("bp_systolic", 160.0, history) == kinds(
        "bp_systolic", 160.0, {"bp_systolic": history["bp_systolic"][-10:]})


def test_baseline_matches_scipy() -> None:
    rng = np.random.default_rng(9)
    values = list(rng.normal(130, 12, size=25))
    median, sd = baseline(values, floor=0.0)
    assert median == pytest.approx(float(np.median(values)))
    assert sd == pytest.approx(float(stats.median_abs_deviation(values, scale="normal")),
                               rel=1e-4)


def test_overrides_per_resident() -> None:
    measures = measures_with({"bp_systolic": {"high": 170}, "glucose": {"high": None}})
    found = evaluate([Reading(kind="bp_systolic", value=172.0),
                      Reading(kind="glucose", value=20.0)], history={}, measures=measures)
    assert [(f.measure, f.kind, f.limit) for f in found] == [("bp_systolic", "above_bound", 170.0)]
    assert kinds("bp_systolic", 172.0) == []  # the defaults are untouched


@pytest.mark.parametrize(("bad", "says"), [
    ({"pulse": {"high": 120}}, "no check-up measure"),
    ({"bp_systolic": {"ceiling": 170}}, "only low and high"),
    ({"bp_systolic": {"low": 190}}, "not below high"),   # low above the default high
    ({"glucose": {"low": math.nan}}, "finite number"),
    ({"glucose": {"low": True}}, "finite number"),
])
def test_bad_overrides_are_refused(bad: dict[str, dict[str, float | None]], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        measures_with(bad)


def test_every_measure_names_its_source_and_unit() -> None:
    assert set(KINDS) == {"bp_systolic", "bp_diastolic", "glucose", "weight", "temperature",
                          "heart_rate", "spo2"}
    assert all(m.source and m.unit for m in MEASURES)


def test_input_is_not_mutated_and_the_answer_is_deterministic() -> None:
    history = {"bp_systolic": list(USUAL_SYSTOLIC)}
    readings = [Reading(kind="bp_systolic", value=140.0)]
    first = evaluate(readings, history=history)
    assert evaluate(readings, history=history) == first
    assert history == {"bp_systolic": USUAL_SYSTOLIC}


# -- regressions ---------------------------------------------------------------------------

def test_regression_identical_history_does_not_make_every_change_a_deviation() -> None:
    # MAD 0 would make sd 0 and any difference an infinite z: the spread floor prevents it.
    history = {"bp_systolic": [120.0] * 10, "weight": [60.0] * 10}
    assert kinds("bp_systolic", 124.0, history) == []
    assert kinds("weight", 60.4, history) == []


def test_regression_out_of_bounds_is_not_also_a_deviation() -> None:
    # One finding per reading: the critical one. Two alarms for one number would double the queue.
    assert kinds("bp_systolic", 200.0, {"bp_systolic": USUAL_SYSTOLIC}) == ["above_bound"]


def test_regression_history_of_other_kinds_is_not_used() -> None:
    assert kinds("bp_diastolic", 100.0, {"bp_systolic": USUAL_SYSTOLIC}) == []


@pytest.mark.parametrize("value", [math.nan, math.inf, 0.0, -5.0])
def test_regression_non_measurements_are_refused(value: float) -> None:
    with pytest.raises(ValueError, match="not a measurement"):
        evaluate([Reading(kind="glucose", value=value)], history={})


def test_regression_custom_config_is_respected() -> None:
    config = BaselineConfig(history=3, min_history=3, deviation_z=2.0)
    history = {"bp_systolic": [100.0, 200.0, 120.0, 121.0, 119.0]}  # last three: median 120
    found = evaluate([Reading(kind="bp_systolic", value=131.0)], history=history, config=config)
    assert [f.kind for f in found] == ["deviation"]  # z = 11 / 5 = 2.2
