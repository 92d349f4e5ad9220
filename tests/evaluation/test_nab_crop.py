"""``crop``: short NAB files cut from long ones, with windows by NAB's rule."""

from __future__ import annotations

import numpy as np
import pytest

from eldercare.evaluation.nab import NabFile, crop
from eldercare.evaluation.nab_scoring import probation_rows


def _file(n: int, windows: list[tuple[int, int]], name: str = "cat/f.csv") -> NabFile:
    return NabFile(name=name, timestamps=[f"t{i}" for i in range(n)],
                   epoch=np.arange(n, dtype=np.float64), values=np.arange(n) * 2.0,
                   windows=windows)


def test_one_crop_per_anomaly_not_already_covered() -> None:
    # anomalies (window centres) at 2000, 2100 and 4000
    f = _file(5000, [(1950, 2050), (2050, 2150), (3950, 4050)])
    first, second = crop([f], 1200)
    # the anomaly at 2000 sits at 60 % of its crop, and 2100 falls in the same crop
    assert first.name == "cat/f.csv@1280+1200"
    assert first.windows == [(690, 750), (790, 850)]  # 0.1 * 1200 / 2 rows each, centred
    assert second.name == "cat/f.csv@3280+1200"
    assert second.windows == [(660, 780)]
    assert len(second.values) == 1200
    assert second.values[0] == f.values[3280] and second.timestamps[-1] == "t4479"
    assert second.epoch[0] == 3280.0


def test_crops_stay_inside_the_file_and_out_of_probation() -> None:
    near_start, near_end = _file(5000, [(250, 350)]), _file(5000, [(4970, 4990)], "cat/g.csv")
    (a,) = crop([near_start], 1200)
    assert a.name.endswith("@0+1200")
    assert a.windows == [(240, 360)]
    (b,) = crop([near_end], 1200)
    assert b.name.endswith("@3800+1200")
    assert b.windows == [(1120, 1199)]  # cut at the crop's last row
    # an anomaly inside the crop's probationary period has no window: no crop at all
    early = _file(5000, [(90, 110)], "cat/h.csv")
    assert probation_rows(1200) > 100
    assert crop([early], 1200) == []


def test_short_or_unlabelled_files_give_no_crop() -> None:
    assert crop([_file(1250, [(600, 700)])], 1200) == []
    assert crop([_file(5000, [])], 1200) == []
    with pytest.raises(ValueError, match="below 100"):
        crop([_file(5000, [(600, 700)])], 50)
