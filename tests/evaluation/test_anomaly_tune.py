"""The held-out splits of ``bench/anomaly_tune.py`` (also used by ``bench/anomaly_replay.py``)."""

from __future__ import annotations

import numpy as np

from bench.anomaly_tune import left_out_categories, random_halves
from eldercare.evaluation.nab import NabFile


def _file(name: str, windows: list[tuple[int, int]]) -> NabFile:
    values = np.zeros(10)
    return NabFile(name=name, timestamps=[str(i) for i in range(10)], epoch=np.arange(10.0),
                   values=values, windows=windows)


def test_each_category_with_a_window_is_left_out_once_and_the_rest_tune() -> None:
    files = [
        _file("artificialNoAnomaly/a.csv", []),
        _file("realKnownCause/b.csv", [(2, 4)]),
        _file("realAWSCloudwatch/c.csv", []),
        _file("realAWSCloudwatch/d.csv", [(1, 3)]),
        _file("realKnownCause/e.csv", []),
    ]
    splits = left_out_categories(files)
    assert [(c, held) for c, _, held in splits] == [
        ("realAWSCloudwatch", [2, 3]),
        ("realKnownCause", [1, 4]),
    ]
    for _, train, held in splits:
        assert sorted(train + held) == list(range(len(files)))
        assert 0 in train  # the category without windows always tunes


def test_a_single_category_cannot_be_left_out() -> None:
    files = [_file("realKnownCause/b.csv", [(2, 4)]), _file("realKnownCause/e.csv", [])]
    assert left_out_categories(files) == []


def test_random_halves_split_every_category_both_ways_and_repeat_for_a_seed() -> None:
    files = [_file(f"{category}/{k}.csv", [(2, 4)])
             for category in ("realAWSCloudwatch", "realKnownCause") for k in range(5)]
    pairs = random_halves(files, range(4))
    assert len(pairs) == 8
    for (first, second), (back_second, back_first) in zip(pairs[::2], pairs[1::2], strict=True):
        assert (first, second) == (back_first, back_second)  # both directions
        assert sorted(first + second) == list(range(len(files)))  # a partition
        for category in ("realAWSCloudwatch", "realKnownCause"):
            # each category dealt alternately: 3 and 2 of its 5 files
            assert sum(files[i].name.startswith(category) for i in first) == 3
    assert random_halves(files, range(4)) == pairs  # the same seeds, the same halves
    # the seeds shuffle: not every halving is the same
    assert len({tuple(sorted(first)) for first, _ in pairs[::2]}) > 1
