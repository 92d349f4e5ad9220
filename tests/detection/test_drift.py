"""Slow drift: Page's CUSUM against Montgomery's ARL table; the daily at-rest drift monitor on
seeded simulated wearers — silent on ordinary days, a slow rise or fall found at a pinned hour."""

from __future__ import annotations

import json

import numpy as np
import pytest

from detection.drift import (
    QN_DF,
    QN_FACTORS,
    Cusum,
    DriftConfig,
    DriftReport,
    SlowDrift,
    normal_score,
    qn_constants,
    qn_spread,
)
from simulators.vitals import ORDINARY_DAYS, DayToDay, heart_rate_stream, spo2_stream

MIDNIGHT = 1_699_977_600.0  # 2023-11-15 00:00 in Shanghai
DAY = 86400.0
H = 3600.0
HR_FLOOR, SPO2_FLOOR = 3.0, 1.0  # the vitals' spread floors (detection.vitals.DEFAULT_BOUNDS)


def _hours(t: float) -> float:
    return round((t - MIDNIGHT) / H, 2)


def _wearer(seed: int, days: int, *, hr_drift: tuple[float, float, float] | None = None,
            spo2_drift: tuple[float, float, float] | None = None,
            day_to_day: DayToDay | None = None, every: float = 10.0,
            ) -> list[tuple[float, int, int]]:
    """A simulated wearer's at-rest readings every 10 s: (time, heart rate, SpO2). The base
    rate is drawn per wearer as the district simulation draws it (72 ± 6 bpm); steady days
    unless ``day_to_day`` is given."""
    base = float(np.random.default_rng(seed).normal(72, 6))
    beats = heart_rate_stream(seed=seed, start=MIDNIGHT, seconds=days * DAY, base=base,
                              drift=hr_drift, days=day_to_day, every=every)
    sats = spo2_stream(seed=seed + 1000, start=MIDNIGHT, seconds=days * DAY, drift=spo2_drift,
                       days=day_to_day, every=every)
    return [(t, hr, spo2) for (t, hr, walking), (_, spo2) in zip(beats, sats, strict=True)
            if not walking]


def _drifts(readings: list[tuple[float, int, int]], config: DriftConfig | None = None
            ) -> tuple[list[DriftReport], list[DriftReport]]:
    config = config or DriftConfig()
    hr, spo2 = SlowDrift(config, "Asia/Shanghai"), SlowDrift(config, "Asia/Shanghai")
    found: tuple[list[DriftReport], list[DriftReport]] = ([], [])
    for t, beat, sat in readings:
        for monitor, value, floor, out in ((hr, beat, HR_FLOOR, found[0]),
                                           (spo2, sat, SPO2_FLOOR, found[1])):
            report = monitor.add(t, float(value), floor=floor)
            if report is not None:
                out.append(report)
    return found


def test_cusum_in_control_arl_matches_montgomerys_table() -> None:
    """k = 1/2, h = 5: two-sided ARL 465 in control, 10.4 at a 1 σ shift (Montgomery, tabular
    CUSUM ARL table), within the sampling error of 400 simulated runs."""
    rng = np.random.default_rng(11)

    def run_length(shift: float) -> int:
        c = Cusum(k=0.5, h=5.0, clip=np.inf)
        n = 1
        while c.update(float(rng.normal(shift, 1.0))) is None:
            n += 1
        return n

    in_control = [run_length(0.0) for _ in range(400)]
    shifted = [run_length(1.0) for _ in range(400)]
    # run lengths are roughly geometric: the mean of 400 has about 5 % relative error
    assert np.mean(in_control) == pytest.approx(465, rel=0.15)
    assert np.mean(shifted) == pytest.approx(10.4, rel=0.1)


def test_cusum_run_length_on_one_sigma_shift() -> None:
    c = Cusum(k=0.5, h=5.0)
    steps = next(i for i in range(1, 100) if c.update(1.0) is not None)
    assert steps == 11  # S+ grows by 0.5 a step and must exceed 5
    assert Cusum().update(-50.0) is None  # one wild reading is clipped, not a drift


def test_regression_drift_is_silent_on_ordinary_simulated_days() -> None:
    """The per-reading CUSUM on 10 s heart rate reported dozens of drifts a day on ordinary
    simulated wearers; on days of hourly at-rest means against the same hour, six wearers over
    18 days (the first ten learning) give none, heart rate or SpO2."""
    for seed in range(1, 7):
        hr, spo2 = _drifts(_wearer(seed, 18))
        assert (hr, spo2) == ([], []), f"wearer {seed}"


def test_regression_ordinary_bad_days_are_not_drifts() -> None:
    """With each wearer's better and worse days and hours (simulators.vitals.ORDINARY_DAYS:
    days of 3 bpm / 0.5 %, hours of 2 bpm / 0.5 %), 12 wearers over 24 days (24 monitors, 14
    judged days each) gave 8 false drifts while a day's z-score took the spread of 7–28 days
    for the true one (1.4826 × MAD); read as the estimate it is (``small_sample``), one; and
    one with the more efficient Qn for the spread (``day_spread``), read with its own worth."""
    readings = [_wearer(seed, 24, day_to_day=ORDINARY_DAYS, every=20.0) for seed in range(1, 13)]

    def count(config: DriftConfig) -> int:
        return sum(len(hr) + len(spo2) for hr, spo2 in (_drifts(r, config) for r in readings))

    assert count(DriftConfig(small_sample=False, day_spread="mad")) == 8
    assert count(DriftConfig(day_spread="mad")) == 1
    assert count(DriftConfig()) == 1  # Qn, read with its own worth


def test_normal_score_of_an_estimated_spread_has_normal_tails() -> None:
    """A day judged against the median and 1.4826 × MAD of n normal days: as raw z-scores its
    tails are several times too heavy; as normal scores they are N(0, 1)'s, within the sampling
    error of 6,000 draws for each n (the expected count beyond 3 is 16 of 6,000, σ ≈ 4)."""
    rng = np.random.default_rng(3)
    for n in (7, 14, 28):
        past = rng.normal(size=(6000, n))
        median = np.median(past, axis=1)
        spread = 1.4826 * np.median(np.abs(past - median[:, None]), axis=1)
        raw = (rng.normal(size=6000) - median) / spread
        scores = np.array([normal_score(float(r), spread=1.0, n=n) for r in raw])
        assert np.mean(np.abs(raw) > 3) > 3 * 0.0027, n  # the problem: heavy tails
        assert np.mean(np.abs(scores) > 3) == pytest.approx(0.0027, abs=0.0022), n
        assert np.mean(np.abs(scores) > 2) == pytest.approx(0.0455, abs=0.009), n
        assert np.std(scores) == pytest.approx(1.0, abs=0.05), n


def test_qn_is_the_scaled_order_statistic_of_the_pairwise_distances() -> None:
    rng = np.random.default_rng(4)
    for n in (2, 7, 14, 27, 28):
        x = rng.normal(5.0, 3.0, n)
        distances = np.abs(x[:, None] - x[None, :])[np.triu_indices(n, 1)]
        h = n // 2 + 1
        expected = np.sort(distances)[h * (h - 1) // 2 - 1] * QN_FACTORS[n]
        assert qn_spread([float(v) for v in x]) == pytest.approx(expected), n
    # half the values wild: the spread of the other half still shows
    calm = [float(v) for v in rng.normal(0.0, 1.0, 14)]
    assert qn_spread(calm + [1e6 + i for i in range(13)]) < 10.0
    with pytest.raises(ValueError, match="2 to 28"):
        qn_spread([1.0] * 29)


def test_an_unknown_day_spread_is_refused_not_read_as_the_mad() -> None:
    with pytest.raises(ValueError, match="day_spread must be one of"):
        DriftConfig(day_spread="Qn ")
    assert DriftConfig.from_dict({"day_spread": "mad"}).day_spread == "mad"


@pytest.mark.parametrize("n", [7, 14, 28])
def test_qn_tables_match_a_fresh_simulation(n: int) -> None:
    """The tabulated factor and degrees of freedom come back from 40,000 new normal samples
    (another seed): the factor within 1 %, the degrees of freedom within 10 %."""
    factor, df = qn_constants(n, draws=40_000, seed=n)
    assert factor == pytest.approx(QN_FACTORS[n], rel=0.01)
    assert df == pytest.approx(QN_DF[n], rel=0.10)


def test_normal_score_of_a_qn_spread_has_normal_tails() -> None:
    """As the MAD test above, with Qn and its tabulated worth: a day judged against n normal
    days' median and Qn is N(0, 1) as a normal score, within 6,000 draws' sampling error."""
    rng = np.random.default_rng(5)
    for n in (7, 14, 28):
        past = rng.normal(size=(6000, n))
        scores = []
        for row, today in zip(past, rng.normal(size=6000), strict=True):
            spread = qn_spread([float(v) for v in row])
            scores.append(normal_score(float(today - np.median(row)), spread=spread, n=n,
                                       df=QN_DF[n]))
        z = np.array(scores)
        assert np.mean(np.abs(z) > 3) == pytest.approx(0.0027, abs=0.0022), n
        assert np.mean(np.abs(z) > 2) == pytest.approx(0.0455, abs=0.009), n
        assert np.std(z) == pytest.approx(1.0, abs=0.05), n


def test_slow_heart_rate_rise_is_found_at_its_pinned_hour() -> None:
    """Resting rate +12 bpm over two days from midnight on day 12: found at 08:00 on day 14,
    when the monitor's second day of the ramp closes, that day's at-rest mean 10.7 bpm above the
    usual; the day after is quiet and the next one alone does not tip the restarted sum."""
    start = MIDNIGHT + 11 * DAY
    hr, spo2 = _drifts(_wearer(1, 16, hr_drift=(start, start + 2 * DAY, 12.0)))
    assert spo2 == []
    assert [(r.direction, _hours(r.timestamp)) for r in hr] == [("up", 13 * 24.0 + 8.0)]
    first = hr[0]
    assert first.usual == pytest.approx(74.1, abs=0.5)  # 74 bpm base, the day's rhythm averaged
    assert first.mean - first.usual == pytest.approx(10.7, abs=0.2)  # day 13 08:00 to 14 08:00
    assert first.hours == 48.0  # the sum had been growing since 08:00 on day 12


def test_slow_spo2_fall_is_found_at_its_pinned_hour() -> None:
    """SpO2 3 points down over a day from midnight on day 12: found at 08:00 on day 14, at 94 %
    against 97 %; the sum began to grow with the monitor's day that began at 08:00 on day 11
    (its last eight hours fell)."""
    start = MIDNIGHT + 11 * DAY
    hr, spo2 = _drifts(_wearer(1, 15, spo2_drift=(start, start + DAY, -3.0)))
    assert hr == []
    assert [(r.direction, _hours(r.timestamp), r.mean, r.usual, r.hours) for r in spo2] == [
        ("down", 13 * 24.0 + 8.0, 93.99, 96.99, 72.0)]


def test_one_strange_day_is_not_a_drift_two_are() -> None:
    """A day is clipped to z 4: one day 9 bpm up (3 σ at the floor, every hour) adds 3.5 to the
    sum and each ordinary day after it takes 0.5 off, so a second such day a week later starts
    afresh; two in a row pass h = 5."""
    def run(up_days: set[int]) -> list[DriftReport]:
        d = SlowDrift(DriftConfig(), "UTC")
        found = []
        for t in np.arange(0.0, 22 * DAY, 60.0):
            day = int((t - 8 * H) // DAY)  # the monitor's days run from 08:00 to 08:00
            if r := d.add(t, 60.0 + (9.0 if day in up_days else 0.0), floor=3.0):
                found.append(r)
        return found

    assert run({12}) == []
    assert run({12, 20}) == []
    assert [(r.direction, r.timestamp / H, r.mean, r.usual, r.hours) for r in run({12, 13})] == [
        ("up", 14 * 24.0 + 8.0, 69.0, 60.0, 48.0)]


def test_hours_with_few_at_rest_readings_are_skipped_and_young_days_are_not_judged() -> None:
    d = SlowDrift(DriftConfig(), "UTC")
    # at rest for 25 minutes of each hour (a minute apart: two 10-minute periods with their 10
    # readings, a third with 5) for 5 days, +10 bpm on the last two: an hour needs three
    for day in range(5):
        for hour in range(24):
            for i in range(25):
                t = day * DAY + hour * H + 60.0 * i
                assert d.add(t, 60.0 + (10.0 if day >= 3 else 0.0), floor=3.0) is None
    assert all(b.count == 0 for b in d.baseline._bins)
    assert d.days.count == 0
    # enough readings: three days to learn each hour, then seven days only collected, however
    # far they stray; a day with fewer than six judged hours is not a sample
    d = SlowDrift(DriftConfig(), "UTC")
    found = [d.add(t, 60.0 if t < 3 * DAY else 70.0, floor=3.0)
             for t in np.arange(0.0, 10 * DAY + 60.0, 30.0)]
    assert [r for r in found if r is not None] == []
    assert d.days.count == 7
    d = SlowDrift(DriftConfig(day_ends_at=0), "UTC")  # days from midnight, for clarity
    for t in np.arange(0.0, 6 * DAY + 60.0, 60.0):
        at_rest_hours = 5 if 4 * DAY <= t < 5 * DAY else 24  # day 5: at rest 00:00-05:00 only
        if (t % DAY) // H < at_rest_hours:
            d.add(t, 60.0, floor=3.0)
    assert d.days.count == 2  # days 1-3 learn the hours; days 4 and 6 are samples, 5 is not


def test_snapshot_restore_mid_drift_continues_identically() -> None:
    start = MIDNIGHT + 11 * DAY
    readings = [(t, float(hr)) for t, hr, _ in _wearer(2, 15, hr_drift=(start, start + 2 * DAY,
                                                                           12.0))]
    straight = SlowDrift(DriftConfig(), "Asia/Shanghai")
    expected = [r for t, v in readings if (r := straight.add(t, v, floor=HR_FLOOR))]
    d = SlowDrift(DriftConfig(), "Asia/Shanghai")
    half = next(i for i, (t, _) in enumerate(readings) if t >= start + 36 * H)
    found = [r for t, v in readings[:half] if (r := d.add(t, v, floor=HR_FLOOR))]
    assert d.cusum.high > 0  # the sum is part-way up
    again = SlowDrift.restore(json.loads(json.dumps(d.snapshot())))
    found += [r for t, v in readings[half:] if (r := again.add(t, v, floor=HR_FLOOR))]
    assert expected and found == expected


def test_an_hourly_monitors_snapshot_keeps_its_hours_and_restarts_its_sums() -> None:
    """A snapshot from before the monitor judged days (no ``days``; sums of hours): the hourly
    baseline carries over, the sums start from zero and days are collected afresh."""
    d = SlowDrift(DriftConfig(), "UTC")
    for t in np.arange(0.0, 5 * DAY, 60.0):
        d.add(t, 60.0, floor=3.0)
    snap = json.loads(json.dumps(d.snapshot()))
    for key in ("days", "day", "day_hours"):
        del snap[key]
    snap["config"] = {**snap["config"], "quiet": 24, "clip": 3.0}
    for key in ("day_min_hours", "day_history", "day_min_count", "day_floor", "quiet_days"):
        del snap["config"][key]
    snap["cusum"]["high"] = 4.5
    again = SlowDrift.restore(snap)
    assert again.cusum.high == 0.0 and again.days.count == 0
    assert [b.count for b in again.baseline._bins] == [b.count for b in d.baseline._bins]
    assert again.config.clip == 3.0 and again.config.quiet_days == 1
    again.add(5 * DAY + 3600.0, 60.0, floor=3.0)  # goes on without error
