"""The held-out splits of ``bench/anomaly_tune.py``."""

from __future__ import annotations

import numpy as np

from bench.anomaly_tune import left_out_categories
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
