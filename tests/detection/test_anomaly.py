"""The streaming anomaly scorer: positions, no look-ahead, restore, its nearest-neighbour search."""

from __future__ import annotations

import doctest
import importlib
import json
from dataclasses import replace

import numpy as np
import pytest

from detection.anomaly import AnomalyConfig, AnomalyScorer, Sample, nearest_earlier
from tests.detection.cases_anomaly import CONFIG, DAY_SAMPLES, daily_spikes, seasonal_with_spike


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


def test_nearest_earlier_matches_brute_force_with_exclusion_and_memory() -> None:
    rng = np.random.default_rng(11)
    rows = rng.normal(size=(75, 4))
    # the last row searches the 30 before it but not the 5 just before it: rows 44..68
    expected = np.sqrt(((rows[44:69] - rows[-1]) ** 2).sum(axis=1)).min()
    assert nearest_earlier(rows, memory=30, skip=5) == pytest.approx(expected)
    assert nearest_earlier(rows[:12], memory=30, skip=5) is None  # 6 candidates only


def test_shape_embeddings_match_a_direct_construction() -> None:
    rng = np.random.default_rng(13)
    values = rng.normal(size=300)
    config = AnomalyConfig(embed=4, block=3, memory=100)
    scorer = AnomalyScorer(config)
    # slow embedding ending at j: the means of the 4 blocks of 3 values ending at j
    rows = np.array([values[j - 11 : j + 1].reshape(4, 3).mean(axis=1) for j in range(11, 300)])
    expected = np.sqrt(((rows[-101:-13] - rows[-1]) ** 2).sum(axis=1)).min()
    assert scorer._shape(values, 3) == pytest.approx(expected)
    fast = np.array([values[j - 3 : j + 1] for j in range(3, 300)])
    expected_fast = np.sqrt(((fast[-101:-5] - fast[-1]) ** 2).sum(axis=1)).min()
    assert scorer._shape(values, 1) == pytest.approx(expected_fast)


def test_regression_trivial_match_with_the_overlapping_embedding() -> None:
    """Bug found on NAB: without the exclusion zone, the embedding one sample back (which shares
    all but one value) was always the nearest neighbour, so the slow shape measure never fired."""
    rows = np.r_[np.zeros((50, 2)), [[5.0, 5.0], [5.0, 5.0]]]
    assert nearest_earlier(rows, memory=100, skip=0) == 0.0
    assert nearest_earlier(rows, memory=100, skip=1) == pytest.approx(np.sqrt(50.0))


def test_regression_short_history_does_not_search_overlapping_rows() -> None:
    """Bug found while moving the embeddings into the value history: with fewer rows than the
    exclusion zone, a negative slice end silently searched the very rows it should skip."""
    rows = np.arange(120.0).reshape(60, 2)  # 60 rows: a 72-row exclusion leaves no candidate
    assert nearest_earlier(rows, memory=100, skip=72) is None


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


def test_regression_first_scored_sample_is_not_compared_with_an_empty_history() -> None:
    """Bug found in the shared checks: the measures only started their own history at the end of
    the warm-up, so the first scored sample was divided by a reference of 0 and reported — and
    its quiet period then hid a real spike 200 samples later."""
    rng = np.random.default_rng(1)
    calm = [Sample(timestamp=float(i), value=float(v)) for i, v in enumerate(rng.normal(10, 1, 400))]
    scores = [s.score for s in AnomalyScorer(CONFIG).score(calm)]
    assert max(scores[150:160]) < 0.5


def test_multiscale_with_one_block_size_is_the_slow_shape_measure() -> None:
    samples = _flat(seasonal_with_spike(5))
    one = AnomalyConfig(memory=500, history=500, measures=("multiscale",), scales=(12,))
    slow = AnomalyConfig(memory=500, history=500, measures=("slow_shape",), block=12)
    assert [s.score for s in AnomalyScorer(one).score(samples)] == pytest.approx(
        [s.score for s in AnomalyScorer(slow).score(samples)], abs=1e-12
    )


def test_multiscale_is_the_root_mean_square_of_its_block_sizes() -> None:
    """A block size that cannot judge yet counts as 0, so one strong scale out of four gives
    half its ratio."""
    scorer = AnomalyScorer(AnomalyConfig(measures=("multiscale",), scales=(2, 3, 4, 5)))
    values = np.random.default_rng(3).normal(size=100)
    scorer._low, scorer._high, scorer._seen = float(values.min()), float(values.max()), 1
    scorer._references = [1.0 - 0.01, None, None, None]  # only block 2 has a reference
    ratios = scorer._ratios(float(values[-1]), values, 0.0)
    assert all(len(h) == 1 for h in scorer._measures)  # every block size learns
    assert scorer._measures[0][-1] > 0.0
    assert ratios[-1] == pytest.approx(scorer._measures[0][-1] / 2.0, abs=1e-5)


def test_bad_multiscale_block_sizes_are_rejected() -> None:
    with pytest.raises(ValueError, match="multiscale block sizes"):
        AnomalyScorer(AnomalyConfig(measures=("multiscale",), scales=()))


def test_snapshot_of_the_old_default_layout_restores_and_continues_identically() -> None:
    """Snapshots taken before the multi-scale measure (three measures, no ``scales`` in the
    configuration) still restore, keep their measures and go on bit for bit."""
    old = AnomalyConfig(memory=500, history=500, measures=("shape", "range", "slow_shape"),
                        report_at=0.85, quiet=200)
    samples = _flat(seasonal_with_spike(8))
    straight = AnomalyScorer(old).score(samples)
    first = AnomalyScorer(old)
    head = first.score(samples[:450])
    snap = json.loads(json.dumps(first.snapshot()))
    del snap["config"]["scales"]
    assert len(snap["measures"]) == 3
    again = AnomalyScorer.restore(snap)
    assert again.config.measures == old.measures
    assert head + again.score(samples[450:]) == straight


def test_restore_of_the_default_continues_identically() -> None:
    samples = _flat(seasonal_with_spike(6))
    config = AnomalyConfig(memory=300, history=300)
    straight = AnomalyScorer(config).score(samples)
    first = AnomalyScorer(config)
    head = first.score(samples[:700])
    snap = json.loads(json.dumps(first.snapshot()))
    # range, one history per block size, level
    assert len(snap["measures"]) == 2 + len(config.scales)
    again = AnomalyScorer.restore(snap)
    assert again.config == config
    assert head + again.score(samples[700:]) == straight


def test_level_weight_scales_the_level_ratio() -> None:
    samples = _flat(seasonal_with_spike(6))
    # without the daily-recurrence gate, which would zero some level ratios of one and not
    # the other (it compares values, not ratios)
    full = AnomalyScorer(AnomalyConfig(measures=("level",), level_weight=1.0,
                                       recurring_days=0)).score(samples)
    quarter = AnomalyScorer(AnomalyConfig(measures=("level",), recurring_days=0)).score(samples)
    raw_full = np.array([s.score / (1.0 - s.score) for s in full])
    raw_quarter = np.array([s.score / (1.0 - s.score) for s in quarter])
    # scores before the first report are unsuppressed in both, so their raw ratios compare
    first = int(np.argmax(raw_full >= 0.7))
    assert first > 150 and raw_full[first - 1] > 0
    np.testing.assert_allclose(raw_quarter[:first], raw_full[:first] / 4.0, rtol=1e-9)


def test_configuration_saved_before_level_weight_weighs_level_fully() -> None:
    routine_like = AnomalyConfig(window=168, measures=("level", "shape"), level_weight=1.0)
    saved = json.loads(json.dumps(AnomalyScorer(routine_like).snapshot()))
    del saved["config"]["level_weight"]
    assert AnomalyScorer.restore(saved).config == routine_like


def _settling_in(bump: float) -> list[Sample]:
    """A 48-sample cycle whose first 150 samples are noisy (a device settling in), then calm;
    sample 800 is raised by ``bump``."""
    rng = np.random.default_rng(3)
    t = np.arange(1000)
    values = 20.0 + 5.0 * np.sin(2 * np.pi * t / 48) + rng.normal(0.0, 0.5, 1000)
    values[:150] += rng.normal(0.0, 4.0, 150)
    values[800] += bump
    return [Sample(timestamp=1.4e9 + 300.0 * i, value=float(v)) for i, v in enumerate(values)]


def _raw(config: AnomalyConfig, samples: list[Sample]) -> np.ndarray:
    scores = np.array([s.score for s in AnomalyScorer(config).score(samples)])
    return scores / (1.0 - scores)


def test_early_measure_values_expire_from_the_reference() -> None:
    # +10 at sample 800 stays inside the range of the noisy first samples: only the shape and
    # level measures can see it, and their first values (young memory, median of a few
    # samples) ran high
    samples = _settling_in(10.0)
    assert max(s.value for s in samples[:150]) > samples[800].value
    default = _raw(AnomalyConfig(), samples)
    kept = _raw(AnomalyConfig(recent_fraction=1.0), samples)
    assert default[800] > 1.8 * kept[800]
    # and plain samples after the settling-in are not reported
    calm = _raw(AnomalyConfig(), _settling_in(0.0))
    assert calm[150:].max() < AnomalyConfig().report_at


def test_range_reference_keeps_the_early_new_extremes() -> None:
    # a young series sets new extremes often; were they dropped from the range measure's
    # reference, the scorer would report the new extremes of plain noise
    rng = np.random.default_rng(0)
    samples = [Sample(timestamp=float(i), value=float(v))
               for i, v in enumerate(rng.normal(10.0, 1.0, 1000))]
    only_range = AnomalyConfig(measures=("range",), report_at=1.5)
    assert AnomalyScorer(only_range).update(samples) == AnomalyScorer(
        replace(only_range, recent_fraction=1.0)).update(samples)


def test_configuration_saved_before_recent_fraction_keeps_the_whole_history() -> None:
    vitals_like = AnomalyConfig(window=300, measures=("shape", "slow_shape"), recent_fraction=1.0)
    saved = json.loads(json.dumps(AnomalyScorer(vitals_like).snapshot()))
    del saved["config"]["recent_fraction"]
    assert AnomalyScorer.restore(saved).config == vitals_like


@pytest.mark.parametrize("fraction", [0.0, -0.5, 1.5])
def test_recent_fraction_outside_zero_to_one_is_refused(fraction: float) -> None:
    with pytest.raises(ValueError, match="recent_fraction"):
        AnomalyScorer(AnomalyConfig(recent_fraction=fraction))


def _reported_samples(config: AnomalyConfig, samples: list[Sample]) -> list[int]:
    return [round((f.timestamp - samples[0].timestamp) / 300.0)
            for f in AnomalyScorer(config).update(samples)]


def test_a_daily_spike_is_news_once_then_a_routine() -> None:
    samples = daily_spikes()
    # the first spike (day 1) is the routine's first sight; every later one is at its time
    assert _reported_samples(AnomalyConfig(), samples) == [DAY_SAMPLES + 36]
    # without the gate the level measure reports it every day
    assert _reported_samples(AnomalyConfig(recurring_days=0), samples) == [
        day * DAY_SAMPLES + 36 for day in range(1, 5)]


def test_a_recurring_spike_three_times_its_usual_size_is_reported() -> None:
    samples = daily_spikes(big_day=4)
    assert _reported_samples(AnomalyConfig(), samples) == [DAY_SAMPLES + 36, 4 * DAY_SAMPLES + 36]


def test_the_recurrence_memory_survives_a_restore() -> None:
    samples = daily_spikes()
    straight = AnomalyScorer(AnomalyConfig()).score(samples)
    first = AnomalyScorer(AnomalyConfig())
    head = first.score(samples[: 2 * DAY_SAMPLES])
    snap = json.loads(json.dumps(first.snapshot()))
    assert snap["recurrence"]["slots"]  # the first two days' slots are in it
    again = AnomalyScorer.restore(snap)
    assert head + again.score(samples[2 * DAY_SAMPLES :]) == straight


def test_configuration_saved_before_the_recurrence_gate_has_none() -> None:
    saved = json.loads(json.dumps(AnomalyScorer(AnomalyConfig()).snapshot()))
    for key in ("recurring_days", "recurring_slot", "recurring_span", "recurring_ratio"):
        del saved["config"][key]
    del saved["recurrence"]
    restored = AnomalyScorer.restore(saved)
    assert restored.config.recurring_days == 0
    assert restored._recurrence is None


def test_negative_recurring_days_are_refused() -> None:
    with pytest.raises(ValueError, match="recurring_days"):
        AnomalyScorer(AnomalyConfig(recurring_days=-1))
