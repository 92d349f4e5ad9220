"""The inactivity detector's learnt limits on simulated days (``bench/inactivity_limits.py``):
fewer false alarms than the former quantile rule, and every collapse still found by day; what
an early sleeper's own night costs; and what operators' outcomes save a repeat faller
(``bench/inactivity_outcomes.py``)."""

from __future__ import annotations

import math

import numpy as np

from bench.inactivity_limits import Outcome, run
from bench.inactivity_outcomes import run as run_outcomes

SEEDS = (1, 2, 3)


def _runs(rule: str) -> list[Outcome]:
    return [run(seed=seed, wearers=10, days=21, model="ordinary", rule=rule) for seed in SEEDS]


def test_regression_ordinary_days_pass_the_learnt_limits_rarely() -> None:
    """Ten simulated wearers × 21 ordinary days, three seeds, each wearer collapsing unseen once
    from day 8. The former limit, 1.5 × the 95th percentile of a bin's silences, raised 10, 8
    and 9 false daytime alarms (0.043 per wearer-day) and found the collapses after 1.9 h
    (median); the return level raises 1, 3 and 1 and finds them after 2.6 h, every one within
    4 h, by day."""
    former, now = _runs("quantile"), _runs("return_level:100")
    assert [o.false_day for o in former] == [10, 8, 9]
    assert [o.false_day for o in now] == [1, 3, 1]
    assert [o.false_night for o in now] == [0, 0, 0]
    delays = np.array([d for o in now for d in o.delays_h])
    assert len(delays) == 30 and np.all(delays < 4.0)  # inf would be a collapse not found
    assert 2.55 < np.median(delays) < 2.75
    assert 1.8 < np.median([d for o in former for d in o.delays_h]) < 2.0


def test_regression_an_early_sleeper_is_not_called_every_evening() -> None:
    """The same, asleep from 19:30 to 05:00 (each ± 30 min) rather than 22:00 to 06:00. A
    silence that reached into the night taught nothing, so the evening bins learnt only the
    afternoon's short pauses and called most evenings before 22:00: 95, 71 and 89 false
    daytime alarms. Their evening parts are learnt now: 4, 6 and 8. The night limit is learnt
    too, but only after ten nights: the 11 h default still calls 13, 10 and 4 times, all in the
    first ten nights (these sleepers are still for 11 h most nights)."""
    runs = [run(seed=seed, wearers=10, days=21, model="early", rule="return_level:100")
            for seed in SEEDS]
    assert [o.false_day for o in runs] == [4, 6, 8]
    assert [o.false_night for o in runs] == [13, 10, 4]
    assert all(np.isfinite(o.delays_h).all() for o in runs)


def test_regression_a_repeat_fallers_genuine_outcomes_keep_the_limit_tight() -> None:
    """Ten simulated wearers × 28 ordinary days, three seeds, each collapsing on five days
    (day 8, then every four days), helped up an hour after the alarm and the call resolved as
    genuine half an hour later (``bench/inactivity_outcomes.py``). Learnt as ordinary life, the
    collapses loosen the limits: the second to fifth are found after 3.06, 3.05 and 3.13 h on
    average, and two after 5.02 h, past the programme's 4 h (two such silences on two days lift
    a bin's cap). Unlearnt on the operators' outcomes: 2.76, 2.68 and 2.80 h, none after 4.01 h."""
    means = {}
    for outcomes in ("none", "inactivity"):
        later = []
        for seed in SEEDS:
            result = run_outcomes(seed=seed, wearers=10, days=28, model="ordinary", collapses=5,
                                  every=4, help_after=1.0, resolve_after=0.5, outcomes=outcomes)
            assert all(len(d) == 10 for d in result.delays_h)
            later.append([h for d in result.delays_h[1:] for h in d])
        means[outcomes] = [round(float(np.mean(h)), 2) for h in later]
        longest = max(max(h) for h in later)
        assert (longest > 5.0) if outcomes == "none" else (longest < 4.02)
    assert means == {"none": [3.06, 3.05, 3.13], "inactivity": [2.76, 2.68, 2.8]}


def test_regression_an_early_sleepers_own_night_trades_calls_for_evening_collapses() -> None:
    """The early sleepers above with the night their carers would set (19:00 to 05:00,
    ``--own-nights``): false daytime calls 4, 6, 8 → 0, 0, 2 and night calls 13, 10, 4 → 2, 3,
    4; but collapses in the hours before 19:00 are left to the night limit: the slowest is
    found after 11.0 and 11.8 h (11.6 on seed 1 until the bedtime was learnt, 2026-12-06), and
    one of ten on seed 3 only after 06:00 next morning (two until the morning limit found the
    other after 13.4 h; docs/detectors.md, "A resident's own night")."""
    runs = [run(seed=seed, wearers=10, days=21, model="early", rule="return_level:100",
                own_nights=True) for seed in SEEDS]
    assert [o.false_day for o in runs] == [0, 0, 2]
    assert [o.false_night for o in runs] == [2, 3, 4]
    longest = [max(o.delays_h) for o in runs]
    assert [round(x, 2) for x in longest[:2]] == [11.01, 11.84] and longest[2] == math.inf
    assert sum(math.isinf(d) for d in runs[2].delays_h) == 1
    assert round(sorted(runs[2].delays_h)[-2], 2) == 13.39


def test_regression_an_evening_collapse_is_found_by_the_morning_limit() -> None:
    """Ten wearers × 21 ordinary days, three seeds, each collapsing once between 18:00 and
    24:00 (still until 14:00 next day). The night check stopped at 07:00 and the day's 4 h
    then counted from 07:00, so a collapse after 20:00 waited for 11:00: found after a median
    11.59, 11.81 and 11.46 h, the slowest after 14.44, 14.50 and 14.54 h. Once ten nights are
    known the whole silence is held to the morning limit (the night's 11 h, for these
    sleepers) too: 11.01, 10.83 and 10.17 h, the slowest 12.15, 12.05 h, and 14.54 h on seed 3
    for a collapse on day 9, before ten nights were known; and one from an hour or more before
    the wearer's earliest bedtime to its day limit after 22:00 as well: 10.67, 10.42, 10.17 h.
    No false call more: 1, 3, 1."""
    runs = [run(seed=seed, wearers=10, days=21, model="ordinary", rule="return_level:100",
                collapse_hours=(18.0, 24.0), up_at=14.0) for seed in SEEDS]
    assert [o.false_day for o in runs] == [1, 3, 1]
    assert [o.false_night for o in runs] == [0, 0, 0]
    delays = [np.array(o.delays_h) for o in runs]
    assert [round(float(np.median(d)), 2) for d in delays] == [10.67, 10.42, 10.17]
    assert [round(float(d.max()), 2) for d in delays] == [12.15, 12.05, 14.54]


def test_regression_a_collapse_before_bedtime_is_found_by_the_day_limit() -> None:
    """Ten wearers × 21 days of the sedentary and the film-watching models, three seeds each,
    collapsing once from day 12 (after ten nights are known) between 16:00 and 22:00. A
    collapse whose day limit was not up by 22:00 was left to the night limit, 11 h; now one
    that came an hour or more before the earliest bedtime the wearer's nights show is held to
    its day limit after 22:00 too. Found within 6 h: 1, 3, 2 and 2, 3, 2 of ten before, 3, 4,
    3 and 3, 5, 3 now; the same false calls, by day and at night."""
    found = []
    for model in ("sedentary", "films"):
        for seed in SEEDS:
            o = run(seed=seed, wearers=10, days=21, model=model, rule="return_level:100",
                    collapse_from=12, collapse_hours=(16.0, 22.0), up_at=14.0)
            assert all(math.isfinite(d) for d in o.delays_h)
            found.append((sum(d < 6.0 for d in o.delays_h), o.false_day, o.false_night))
    assert found == [(3, 8, 1), (4, 4, 2), (3, 5, 4), (3, 5, 3), (5, 10, 5), (3, 8, 2)]
