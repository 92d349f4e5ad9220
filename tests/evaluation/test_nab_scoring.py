"""NAB scoring on hand-computable cases (Lavin & Ahmad 2015, standard profile)."""

from __future__ import annotations

import doctest
import importlib
import math

import numpy as np
import pytest

from eldercare.evaluation.nab_scoring import (
    MAX_TP,
    REWARD_LOW_FN,
    STANDARD,
    FileScoring,
    optimise,
    probation_rows,
    scaled_sigmoid,
)


def _hits(n: int, *rows: int) -> np.ndarray:
    hits = np.zeros(n, dtype=bool)
    hits[list(rows)] = True
    return hits


def test_scaled_sigmoid_matches_the_paper() -> None:
    assert scaled_sigmoid(-1.0) == pytest.approx(0.98661, abs=1e-5)
    assert scaled_sigmoid(-0.5) == pytest.approx(0.84828, abs=1e-5)
    assert scaled_sigmoid(0.0) == 0.0
    assert scaled_sigmoid(1.0) == pytest.approx(-0.98661, abs=1e-5)
    assert scaled_sigmoid(3.0) == -1.0


def test_probation_is_15_percent_capped_at_750_rows() -> None:
    assert probation_rows(1000) == 150
    assert probation_rows(100_000) == 750


def test_detection_at_window_start_is_worth_exactly_a_tp() -> None:
    s = FileScoring.build(n_rows=100, windows=[(10, 19)], probation=0)
    assert s.raw(_hits(100, 10), STANDARD) == pytest.approx(1.0)


def test_earlier_detection_in_window_scores_more() -> None:
    s = FileScoring.build(n_rows=100, windows=[(10, 19)], probation=0)
    early, late = s.raw(_hits(100, 11), STANDARD), s.raw(_hits(100, 19), STANDARD)
    assert 1.0 > early > late > 0.0
    # the last row of a 10-row window sits at y = -1/10
    assert late == pytest.approx(scaled_sigmoid(-0.1) / MAX_TP)


def test_only_the_best_detection_of_a_window_counts() -> None:
    s = FileScoring.build(n_rows=100, windows=[(10, 19)], probation=0)
    assert s.raw(_hits(100, 10, 12, 15), STANDARD) == pytest.approx(1.0)


def test_missed_window_costs_a_fn() -> None:
    s = FileScoring.build(n_rows=100, windows=[(10, 19), (50, 59)], probation=0)
    assert s.raw(_hits(100, 10), STANDARD) == pytest.approx(0.0)
    assert s.raw(_hits(100, 10), REWARD_LOW_FN) == pytest.approx(-1.0)


def test_false_positives_cost_per_the_profile() -> None:
    s = FileScoring.build(n_rows=100, windows=[(40, 49)], probation=0)
    before_any_window = s.raw(_hits(100, 5, 40), STANDARD)
    assert before_any_window == pytest.approx(1.0 - 0.11)
    far_after = s.raw(_hits(100, 40, 49 + 27), STANDARD)  # 27 / 9 = 3 widths past the edge
    assert far_after == pytest.approx(1.0 - 0.11)
    just_after = s.raw(_hits(100, 40, 50), STANDARD)  # y = 1/9: a small penalty
    assert just_after == pytest.approx(1.0 + 0.11 * scaled_sigmoid(1 / 9))
    assert 1.0 - 0.11 < just_after < 1.0


def test_probationary_rows_are_not_scored() -> None:
    s = FileScoring.build(n_rows=1000, windows=[(500, 599)])
    assert s.raw(_hits(1000, 3, 500), STANDARD) == pytest.approx(1.0)


def test_window_inside_probation_is_not_a_fn() -> None:
    s = FileScoring.build(n_rows=1000, windows=[(10, 20), (500, 599)])
    assert s.n_windows == 1
    assert s.raw(_hits(1000, 500), STANDARD) == pytest.approx(1.0)


def test_perfect_detector_scores_100_and_null_detector_0() -> None:
    files = []
    perfect, null = [], []
    for windows in ([(300, 349)], [(200, 219), (600, 659)], []):
        s = FileScoring.build(n_rows=1000, windows=windows)
        files.append(s)
        p = np.zeros(1000)
        for left, _ in windows:
            p[left] = 1.0
        perfect.append(p)
        null.append(np.full(1000, 0.5))
    assert optimise(list(zip(files, perfect, strict=True)), STANDARD).normalized == 100.0
    assert optimise(list(zip(files, null, strict=True)), STANDARD).normalized == 0.0


def test_optimised_total_matches_brute_force_over_thresholds() -> None:
    rng = np.random.default_rng(3)
    files = [
        (FileScoring.build(n_rows=400, windows=[(150, 189), (300, 339)]), rng.random(400) ** 4),
        (FileScoring.build(n_rows=300, windows=[(100, 129)]), np.round(rng.random(300), 2)),
        (FileScoring.build(n_rows=200, windows=[]), rng.random(200) ** 8),
    ]
    best = optimise(files, STANDARD)
    candidates = np.unique(np.concatenate([s for _, s in files]))
    brute = max(
        [sum(f.raw(s >= t, STANDARD) for f, s in files) for t in candidates]
        + [sum(f.raw(s > 2.0, STANDARD) for f, s in files)]
    )
    assert best.raw == pytest.approx(brute)
    assert sum(f.raw(s >= best.threshold, STANDARD) for f, s in files) == pytest.approx(best.raw)
    assert math.isfinite(best.normalized)


@pytest.mark.parametrize("module", ['eldercare.evaluation.nab_scoring'])
def test_docstring_examples_run(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0
    assert result.failed == 0
