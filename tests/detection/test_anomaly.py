"""The streaming anomaly scorer: positions, no look-ahead, restore, its nearest-neighbour search."""

from __future__ import annotations

import doctest
import importlib
import json
from dataclasses import replace

import numpy as np
import pytest

from detection.anomaly import AnomalyConfig, AnomalyScorer, Neighbours, Sample
from tests.detection.cases_anomaly import CONFIG, seasonal_with_spike


def _flat(batches: list[list[Sample]]) -> list[Sample]:
    return [s for b in batches for s in b]


def test_spike_is_found_at_its_position_and_nowhere_else() -> None:
    samples = _flat(seasonal_with_spike(7))
    found = AnomalyScorer(CONFIG).update(samples)
    assert [round((f.timestamp - 1.4e9) / 300.0) for f in found] == [600]
    assert found[0].score > 0.9


def test_level_shift_is_found_within_a_few_samples() -> None:
    rng = np.random.default_rng(1)
    values = np.r_[rng.normal(10.0, 1.0, 500), rng.normal(25.0, 1.0, 200)]
    samples = [Sample(timestamp=float(i), value=float(v)) for i, v in enumerate(values)]
    found = AnomalyScorer(CONFIG).update(samples)
    assert found
    assert 500 <= found[0].timestamp <= 503


def test_flat_line_and_pure_noise_find_nothing() -> None:
    rng = np.random.default_rng(2)
    flat = [Sample(timestamp=float(i), value=5.0) for i in range(600)]
    assert AnomalyScorer(CONFIG).update(flat) == []
    noise = [Sample(timestamp=float(i), value=float(v)) for i, v in enumerate(rng.normal(0, 1, 600))]
    assert len(AnomalyScorer(CONFIG).update(noise)) <= 1


def test_scores_do_not_look_ahead() -> None:
    samples = _flat(seasonal_with_spike(3))
    whole = AnomalyScorer(CONFIG).score(samples)
    prefix = AnomalyScorer(CONFIG).score(samples[:601])
    assert [s.score for s in prefix] == [s.score for s in whole[:601]]


def test_scores_are_in_unit_interval_and_zero_during_warmup() -> None:
    scores = [s.score for s in AnomalyScorer(CONFIG).score(_flat(seasonal_with_spike(4)))]
    assert all(0.0 <= s < 1.0 for s in scores)
    assert scores[:150] == [0.0] * 150


def test_quiet_period_holds_score_at_zero_after_a_report() -> None:
    samples = _flat(seasonal_with_spike(7))
    scores = [s.score for s in AnomalyScorer(CONFIG).score(samples)]
    assert scores[600] > 0.9
    after = scores[601 : 601 + CONFIG.quiet]
    assert len(after) >= 150
    assert after == [0.0] * len(after)


def test_late_repeated_and_non_finite_samples_are_ignored() -> None:
    scorer = AnomalyScorer(CONFIG)
    batch = [
        Sample(timestamp=10.0, value=1.0),
        Sample(timestamp=5.0, value=1.0),
        Sample(timestamp=10.0, value=2.0),
        Sample(timestamp=11.0, value=float("nan")),
        Sample(timestamp=12.0, value=3.0),
    ]
    assert [s.timestamp for s in scorer.score(batch)] == [10.0, 12.0]


def test_restore_mid_stream_continues_identically() -> None:
    samples = _flat(seasonal_with_spike(9))
    straight = AnomalyScorer(CONFIG).score(samples)
    first = AnomalyScorer(CONFIG)
    head = first.score(samples[:400])
    again = AnomalyScorer.restore(json.loads(json.dumps(first.snapshot())))
    assert head + again.score(samples[400:]) == straight


def test_unknown_measure_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown anomaly measures"):
        AnomalyScorer(AnomalyConfig(measures=("shape", "psychic")))


def test_neighbours_match_brute_force_with_exclusion_and_wraparound() -> None:
    rng = np.random.default_rng(11)
    rows = rng.normal(size=(75, 4))
    ring = Neighbours(size=30, dim=4)
    for row in rows:
        ring.add(row)
    query = rng.normal(size=4)
    # the ring holds rows 45..74; skip=5 leaves out 70..74
    expected = np.sqrt(((rows[45:70] - query) ** 2).sum(axis=1)).min()
    assert ring.nearest(query, skip=5) == pytest.approx(expected)
    restored = Neighbours.restore(json.loads(json.dumps(ring.snapshot())))
    assert restored.nearest(query, skip=5) == pytest.approx(expected)


def test_regression_trivial_match_with_the_overlapping_embedding() -> None:
    """Bug found on NAB: without the exclusion zone, the embedding one sample back (which shares
    all but one value) was always the nearest neighbour, so the slow shape measure never fired."""
    ring = Neighbours(size=100, dim=2)
    for _ in range(50):
        ring.add(np.array([0.0, 0.0]))
    ring.add(np.array([5.0, 5.0]))
    assert ring.nearest(np.array([5.0, 5.0]), skip=0) == 0.0
    assert Neighbours(size=100, dim=2).nearest(np.zeros(2), skip=0) is None
    assert ring.nearest(np.array([5.0, 5.0]), skip=1) == pytest.approx(np.sqrt(50.0))


def test_a_much_stronger_event_breaks_through_the_quiet_period() -> None:
    rng = np.random.default_rng(12)
    values = 20.0 + rng.normal(0.0, 1.0, 700)
    values[400] += 8.0  # a modest outlier: reported, and starts a quiet period
    values[450] += 80.0  # far stronger, inside that quiet period
    samples = [Sample(timestamp=float(i), value=float(v)) for i, v in enumerate(values)]
    escalating = AnomalyScorer(CONFIG).update(samples)
    assert [int(f.timestamp) for f in escalating] == [400, 450]
    muted = AnomalyScorer(replace(CONFIG, escalate=float("inf"))).update(samples)
    assert [int(f.timestamp) for f in muted] == [400]


@pytest.mark.parametrize("module", ['detection.anomaly'])
def test_docstring_examples_run(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0
    assert result.failed == 0
