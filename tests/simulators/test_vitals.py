"""The simulated wearers' better and worse days: the day and hour effects have the spreads and
the hour-to-hour correlation they are given (against numpy's statistics), depend only on the
wearer and the time, and leave every other draw of the district simulation as it was."""

from __future__ import annotations

import dataclasses
import doctest

import msgspec
import numpy as np
import pytest

import simulators.vitals
from simulators.district import District
from simulators.scenario import DEMO
from simulators.simulation import Simulation
from simulators.vitals import LOCAL_UTC_OFFSET_H, DayToDay, WearerDays

H = 3600.0
DAY = 86400.0
WAKING = 1_699_999_200.0  # 2023-11-15 06:00 in Shanghai: a waking day begins
START = 1_800_000_000.0


def _hours(days: WearerDays, n_days: int) -> np.ndarray:
    """(n_days, 24, 2): each waking day's 24 hourly (heart rate, SpO2) effects."""
    return np.array([[days.offsets(WAKING + d * DAY + h * H + 1800.0) for h in range(24)]
                     for d in range(n_days)])


def test_docstring_examples_run() -> None:
    result = doctest.testmod(simulators.vitals)
    assert result.attempted > 0
    assert result.failed == 0


def test_day_effects_are_shared_by_a_waking_day_with_the_given_spread() -> None:
    spread = DayToDay(hr_day_sd=3.0, hr_hour_sd=0.0, spo2_day_sd=0.5, spo2_hour_sd=0.0)
    effects = _hours(WearerDays((5, 1), spread), 2000)
    assert np.all(effects == effects[:, :1, :])  # every hour of a day alike
    # 2,000 days: the sample SD has about 1.6 % relative error
    assert np.std(effects[:, 0, 0], ddof=1) == pytest.approx(3.0, rel=0.06)
    assert np.std(effects[:, 0, 1], ddof=1) == pytest.approx(0.5, rel=0.06)
    assert abs(np.corrcoef(effects[:, 0, 0], effects[:, 0, 1])[0, 1]) < 0.1  # drawn apart
    # consecutive days are independent
    assert abs(np.corrcoef(effects[:-1, 0, 0], effects[1:, 0, 0])[0, 1]) < 0.1


def test_hour_effects_are_an_ar1_chain_with_the_given_spread_and_correlation() -> None:
    spread = DayToDay(hr_day_sd=0.0, hr_hour_sd=2.0, spo2_day_sd=0.0, spo2_hour_sd=0.5,
                      hour_rho=0.6)
    effects = _hours(WearerDays((5, 2), spread), 1000)
    hr = effects[:, :, 0]
    # every hour of the day has the chain's stationary spread, the first as the last
    assert np.std(hr[:, 0], ddof=1) == pytest.approx(2.0, rel=0.1)
    assert np.std(hr[:, 23], ddof=1) == pytest.approx(2.0, rel=0.1)
    assert np.std(effects[:, :, 1], ddof=1) == pytest.approx(0.5, rel=0.06)
    lag1 = np.corrcoef(hr[:, :-1].ravel(), hr[:, 1:].ravel())[0, 1]
    lag3 = np.corrcoef(hr[:, :-3].ravel(), hr[:, 3:].ravel())[0, 1]
    assert lag1 == pytest.approx(0.6, abs=0.03)
    assert lag3 == pytest.approx(0.6 ** 3, abs=0.04)


def test_a_waking_day_runs_from_six_to_six_local_time() -> None:
    days = WearerDays((9, 9), DayToDay(hr_hour_sd=0.0, spo2_hour_sd=0.0))
    assert (WAKING / H + LOCAL_UTC_OFFSET_H) % 24 == 6.0
    before, first, last = (days.offsets(WAKING + s) for s in (-1.0, 0.0, DAY - 1.0))
    assert first == last  # 06:00 and 05:59:59 the next morning: one waking day
    assert first != before  # 05:59:59 belongs to the day before


def test_effects_do_not_depend_on_the_order_they_are_asked_for() -> None:
    times = [WAKING + s for s in np.linspace(0, 30 * DAY, 500)]
    forward = [WearerDays((3, 4), DayToDay()).offsets(t) for t in times]
    one = WearerDays((3, 4), DayToDay())
    backward = [one.offsets(t) for t in reversed(times)][::-1]
    assert forward == backward
    assert forward != [WearerDays((3, 5), DayToDay()).offsets(t) for t in times]


def _messages(day_to_day: DayToDay | None, seconds: int) -> tuple[list[tuple[str, bytes]],
                                                                  Simulation]:
    district = District.generate(seed=2, homes=10, care_homes=1)
    sim = Simulation(district, dataclasses.replace(DEMO, day_to_day=day_to_day), seed=2,
                     start=START)
    out = []
    for _ in range(seconds):
        out += [(m.topic, m.payload) for m in sim.step()]
    return out, sim


def test_day_effects_change_only_the_heart_rate_and_spo2_of_the_simulation() -> None:
    """The district's other draws are the ones a steady district makes: every message is the
    same but for the telemetry's heart rate and SpO2, and those differ by the wearer's effects
    (up to the watch's rounding)."""
    varied, sim = _messages(DEMO.day_to_day, 120)
    steady, _ = _messages(None, 120)
    assert [topic for topic, _ in varied] == [topic for topic, _ in steady]
    offsets = {d.device.id: d.days for d in sim.devices if d.days is not None}
    assert len(offsets) == sum(1 for d in sim.devices if d.device.kind == "wearable") > 0
    compared = 0
    for (topic, a), (_, b) in zip(varied, steady, strict=True):
        if not topic.endswith("/telemetry"):
            assert a == b, topic
            continue
        x, y = msgspec.json.decode(a), msgspec.json.decode(b)
        assert {k: v for k, v in x.items() if k not in ("hr", "spo2")} == \
            {k: v for k, v in y.items() if k not in ("hr", "spo2")}
        if x.get("hr") is None:  # off the wrist (Scenario.watch_off_per_hour): no readings
            continue
        days = offsets[topic.split("/")[-2]]
        assert days is not None
        hr_effect, spo2_effect = days.offsets(x["ts"] / 1000)
        assert abs(x["hr"] - y["hr"] - hr_effect) <= 1.0
        if max(x["spo2"], y["spo2"]) < 100:  # the watch caps it at 100
            assert abs(x["spo2"] - y["spo2"] - spo2_effect) <= 1.0
        compared += 1
    assert compared > 50
