"""Inactivity: default limits, learnt limits per time of day, night, away from home."""

from __future__ import annotations

import doctest
import importlib
import json

import numpy as np
import pytest

from detection.inactivity import (
    BEDTIME,
    MORNING,
    NIGHT,
    Clock,
    InactivityConfig,
    InactivityDetector,
    InactivityFinding,
    Movement,
    Presence,
    allowed_now,
    next_call,
    return_level,
)
from tests.detection.cases_inactivity import CONFIG, MIDNIGHT_SHANGHAI, routine_days, week_of_days

H = 3600.0
DAY0 = MIDNIGHT_SHANGHAI


def _run(
    d: InactivityDetector, batches: list[list[Movement | Presence | Clock]]
) -> list[InactivityFinding]:
    return [f for b in batches for f in d.update(b)]


def test_daytime_default_is_four_hours() -> None:
    d = InactivityDetector()
    d.update([Movement(timestamp=DAY0 + 9 * H, subject="r1")])
    assert d.update([Clock(timestamp=DAY0 + 12.9 * H)]) == []
    found = d.update([Clock(timestamp=DAY0 + 13.1 * H)])
    assert [(f.subject, f.kind, round(f.limit / H, 1)) for f in found] == [("r1", "inactivity", 4.0)]
    assert d.update([Clock(timestamp=DAY0 + 14 * H)]) == []  # once per silence


def test_movement_rearms() -> None:
    d = InactivityDetector()
    d.update([Movement(timestamp=DAY0 + 9 * H, subject="r1"), Clock(timestamp=DAY0 + 13.5 * H)])
    d.update([Movement(timestamp=DAY0 + 14 * H, subject="r1")])
    assert [f.subject for f in d.update([Clock(timestamp=DAY0 + 18.5 * H)])] == ["r1"]


def test_night_sleep_is_not_inactivity_but_a_silent_morning_is() -> None:
    d = InactivityDetector()
    d.update([Movement(timestamp=DAY0 + 2 * H, subject="r1")])  # up at 02:00, back to bed
    assert d.update([Clock(timestamp=DAY0 + 6.5 * H)]) == []  # 06:30, 4.5 h asleep
    # the day's 4 h count from 07:00: 10:55 is fine, 11:05 is not
    assert d.update([Clock(timestamp=DAY0 + 10.9 * H)]) == []
    found = d.update([Clock(timestamp=DAY0 + 11.1 * H)])
    assert [f.kind for f in found] == ["inactivity"]
    assert (found[0].silent_for, found[0].limit) == (9.1 * H, 4 * H)


@pytest.mark.parametrize(("last", "calls"), [(22.5, 9.5), (23.5, 10.5), (24.5, 11.0),
                                             (26.0, 11.0)])
def test_a_silence_carried_over_from_the_night_is_held_to_the_night_limit_in_the_morning(
        last: float, calls: float) -> None:
    """After twelve nights of 9 h (still from 22:00 to 07:00), r1 is still from ``last``
    o'clock, in the night: the night limit (11 h of the whole silence) calls, as the morning
    limit, in the morning, unless the day's 4 h from 07:00 call first (from midnight on).
    Until 2026-12-06 the night check stopped at 07:00 and the day's allowance counted afresh,
    so such a silence was called at 11:00; it still is until ten nights are known."""
    for nights in (12, 0):
        d = _regular_days(nights)
        day = DAY0 + nights * 24 * H
        _life(d, day + 7 * H, day + last * H + 1)
        due = day + 24 * H + (calls if nights else 11.0) * H
        ticks = np.arange(day + last * H + 60, due, 60.0).tolist()
        assert [f.kind for f in d.update([Clock(timestamp=t) for t in ticks])] == []
        found = [f for f in d.update([Clock(timestamp=due + 60)]) if f.kind == "inactivity"]
        assert [f.limit for f in found] == [4 * H if calls == 11.0 or not nights else 11 * H]


@pytest.mark.parametrize("last", [18.0, 19.5, 20.5, 21.5])
def test_a_silence_from_before_bedtime_is_held_to_its_day_limit_at_night(last: float) -> None:
    """After twelve nights still from about 21:57 to 07:00, r1 is still from ``last`` o'clock.
    An hour or more before any of their bedtimes (``bedtime_margin``), from 18:00 to 20:30,
    the day's 4 h go on past 22:00, and the call comes at 22:00 to 00:30, not at 05:00 to
    07:30 by the night or morning limit; from 21:30, a bedtime, the morning limit's 08:30.
    Until ten nights are known, the night limit, or after 07:00 the day's 4 h, as before."""
    for nights in (12, 0):
        d = _regular_days(nights)
        day = DAY0 + nights * 24 * H
        _life(d, day + 7 * H, day + last * H + 1)
        summary = d.summary("r1")
        assert summary is not None
        if nights:
            assert summary.bedtime_from is not None
            assert 13.5 * H < summary.bedtime_from < 14 * H  # 20:30 to 21:00
            due, limit = (day + (last + 4) * H, 4 * H) if last < 21 else (day + 32.5 * H, 11 * H)
        else:  # the night limit before 07:00, else the day's 4 h from 07:00
            assert summary.bedtime_from is None
            due = day + (last + 11) * H if last + 11 < 31 else day + 35 * H
            limit = 11 * H if last + 11 < 31 else 4 * H
        ticks = np.arange(day + last * H + 60, due, 60.0).tolist()
        assert [f.kind for f in d.update([Clock(timestamp=t) for t in ticks])] == []
        found = [f for f in d.update([Clock(timestamp=due + 60)]) if f.kind == "inactivity"]
        assert [f.limit for f in found] == [limit]


def _early_bedtimes(d: InactivityDetector, nights: int) -> None:
    """r1 moves every five minutes from 05:30 until a bedtime from 18:30 to 19:40 (ten
    minutes later each night, round again after eight), then is still until 05:30."""
    for night in range(nights):
        start = DAY0 + night * 24 * H
        bed = start + 18.5 * H + (night % 8) * 600
        assert _life(d, start + 5.5 * H, bed + 1) == []
        assert [f for f in _still(d, bed + 60, start + 29.5 * H)
                if f.kind == "inactivity"] == []


@pytest.mark.parametrize(("last", "carried"), [(15.0, True), (16.0, True), (18.25, False),
                                               (19.5, False)])
def test_an_early_sleepers_bedtime_is_learnt(last: float, carried: bool) -> None:
    """An early sleeper, in bed from 18:30 to 19:40 (the centre's night from 22:00): after
    twelve such nights, a silence from 15:00 or 16:00, an hour or more before their earliest
    bedtime, is called by the day's 4 h at 19:00 or 20:00; one from 18:15 or 19:30 waits for
    the night limit, 11 h or what their nights taught. None of the twelve nights was
    called."""
    d = InactivityDetector()
    _early_bedtimes(d, 12)
    day = DAY0 + 12 * 24 * H
    _life(d, day + 5.5 * H, day + last * H + 1)
    summary = d.summary("r1")
    assert summary is not None and summary.bedtime_from is not None
    assert 9 * H < summary.bedtime_from < 10 * H  # 16:00 to 17:00
    ticks = np.arange(day + last * H + 60, day + (last + 20) * H, 60.0).tolist()
    first = next(f for f in d.update([Clock(timestamp=t) for t in ticks])
                 if f.kind == "inactivity")
    if carried:
        assert first.limit == 4 * H and 0 < first.timestamp - (day + (last + 4) * H) <= 60
    else:
        assert first.limit >= 11 * H and first.timestamp > day + (last + 11) * H


def test_a_long_sleepers_nights_loosen_the_morning_limit() -> None:
    """Still from 20:30 to 09:00 (12.5 h) every night, as a step-only watch sees a long
    sleeper: the morning limit waits for ten nights, then loosens to them, so their mornings are
    not called; an ordinary night's is the night limit, 11 h."""
    d = InactivityDetector()
    for day in range(13):
        start = DAY0 + day * 24 * H
        assert _life(d, start + 9 * H, start + 20.5 * H + 1) == []
        if day < 12:
            assert [f for f in _still(d, start + 20.5 * H + 60, start + 33 * H)
                    if f.kind == "inactivity"] == []
        summary = d.summary("r1")
        assert summary is not None
        assert (summary.morning_limit is None) == (day < 10)  # 11 nights, 10 besides the longest
    assert summary.morning_limit is not None and summary.morning_limit >= 12.5 * H
    ordinary = _regular_days(12).summary("r1")
    assert ordinary is not None and ordinary.morning_limit == 11 * H


def test_away_from_home_suspends_the_check() -> None:
    d = InactivityDetector()
    d.update([Movement(timestamp=DAY0 + 9 * H, subject="r1"),
              Presence(timestamp=DAY0 + 9.5 * H, subject="r1", at_home=False)])
    assert d.update([Clock(timestamp=DAY0 + 16 * H)]) == []
    d.update([Presence(timestamp=DAY0 + 17 * H, subject="r1", at_home=True)])
    assert d.update([Clock(timestamp=DAY0 + 20.5 * H)]) == []
    assert [f.kind for f in d.update([Clock(timestamp=DAY0 + 21.1 * H)])] == ["inactivity"]


def test_learnt_limit_tightens_for_a_regular_resident() -> None:
    d = InactivityDetector(InactivityConfig(min_silences=5))
    for day in range(10):
        for hour in range(8, 20):
            d.update([Movement(timestamp=DAY0 + day * 24 * H + hour * H, subject="r1")])
    # silences of one hour, all alike: nothing longer was seen, so the limit is their length,
    # raised to the 2 h floor, rather than the 4 h default; at night what its nights showed:
    # 12 h still from 19:00 to the wake hour every night, past the 11 h default
    assert d.limit("r1", DAY0 + 10 * 24 * H + 12 * H) == 2 * H
    assert d.limit("r1", DAY0 + 10 * 24 * H + 23 * H) == 12 * H
    assert d.limit("nobody", DAY0 + 12 * H) == 4 * H


def test_late_movement_does_not_rewind() -> None:
    d = InactivityDetector()
    d.update([Movement(timestamp=DAY0 + 9 * H, subject="r1"),
              Movement(timestamp=DAY0 + 8 * H, subject="r1")])
    assert d.update([Clock(timestamp=DAY0 + 12.5 * H)]) == []


def test_seeded_week_finds_r2_at_pinned_time() -> None:
    found = _run(InactivityDetector(CONFIG), week_of_days(7))
    assert [f.subject for f in found] == ["r2"]
    # r2's last movement is shortly before 13:00 on day 7; its learnt limit is well under 4 h
    hours_after_midnight = (found[0].timestamp - (DAY0 + 6 * 24 * H)) / H
    assert 13.0 < hours_after_midnight < 17.0
    assert found[0].limit < 4 * H


def test_restore_continues_identically() -> None:
    batches = week_of_days(3)
    straight = _run(InactivityDetector(CONFIG), batches)
    d = InactivityDetector(CONFIG)
    head = _run(d, batches[:400])
    again = InactivityDetector.restore(json.loads(json.dumps(d.snapshot())))
    assert head + _run(again, batches[400:]) == straight


def _inactivity(found: list[InactivityFinding]) -> list[tuple[int, float, float, float]]:
    """(day, local hour, silent h, limit h) of each inactivity finding."""
    out = []
    for f in found:
        if f.kind == "inactivity":
            day, hour = divmod((f.timestamp - DAY0) / H, 24)
            out.append((int(day), round(hour, 2), round(f.silent_for / H, 2), round(f.limit / H, 2)))
    return out


def test_regression_a_normal_bedtime_raises_no_inactivity() -> None:
    """Silences were learnt in the bin where they *ended*: the 22:00-24:00 bin learnt the
    evening's short pauses (a limit of about an hour), and going to bed at 22:00 raised an
    alarm at 23:00 on most nights of these seeded routines (2 to 11 per fortnight). Learnt by
    where they began, day pauses only, with the night judged by the night limit: none."""
    for seed in range(1, 9):
        found = _run(InactivityDetector(), routine_days(seed, days=14, odd={}))
        assert _inactivity(found) == [], f"seed {seed}"


def test_genuine_daytime_inactivity_is_still_found_at_its_pinned_time() -> None:
    """The same routine, and on day 14 nobody stirs from 10:00 to 14:00: found at noon, two
    hours into the silence (the learnt limit, at its floor)."""
    still = {h: 0.0 for h in range(10, 14)}
    for seed in (1, 7):
        found = _run(InactivityDetector(), routine_days(seed, days=14, odd=still))
        assert [(day, hour, limit) for day, hour, _, limit in _inactivity(found)] == [
            (13, 12.0, 2.0)], f"seed {seed}"
        [f] = [f for f in found if f.kind == "inactivity"]
        assert 9.9 < (f.last_movement - DAY0) / H - 13 * 24 < 10.0  # the last move before 10:00


def test_silences_reaching_into_the_night_teach_their_day_and_night_parts() -> None:
    d = InactivityDetector(InactivityConfig(tz="Asia/Shanghai"))
    for hour in (10.0, 11.0, 21.5, 24 + 6.5, 24 + 7.5, 24 + 8.0, 24 + 21.0, 24 + 23.0):
        d.update([Movement(timestamp=DAY0 + hour * H, subject="r1")])
    # by the bin where they began (where the check would have begun them): 10:00-11:00 and
    # 11:00-21:30 (bin 10-12); 21:30-06:30 until the night, 22:00, and 21:00-23:00 until then
    # (bin 20-22); 06:30-07:30 from the wake hour, 07:00, and 07:30-08:00 (bin 06-08);
    # 08:00-21:00 (bin 08-10); and the longest silence the night check saw each night (-1):
    # 21:30-06:30 (then 06:30 to the wake hour, shorter), 21:00-23:00; each night's longest
    # whole (-2): the same two; and when those that began by day and reached the night began
    # (-3, seconds from midnight): 21:30, 21:00
    assert {b: list(v) for b, v in d._residents["r1"].silences.items()} == {
        5: [H, 10.5 * H], 10: [0.5 * H, H], 3: [0.5 * H, 0.5 * H], 4: [13 * H],
        -1: [9 * H, 2 * H], -2: [9 * H, 2 * H], -3: [21.5 * H, 21 * H]}


def test_a_day_or_more_of_silence_teaches_nothing() -> None:
    """A watch left off from one evening to the next: not a pattern of this resident's days."""
    d = InactivityDetector()
    for hour in (10.0, 20.0, 24 + 20.5):
        d.update([Movement(timestamp=DAY0 + hour * H, subject="r1")])
    assert {b: list(v) for b, v in d._residents["r1"].silences.items()} == {5: [10 * H]}


def test_regression_snapshot_with_silences_keyed_by_their_end_relearns() -> None:
    """Stored snapshots keyed silences by the bin where they ended (nights included): those are
    dropped at restore, the defaults apply until the day bins are learnt again."""
    d = InactivityDetector(CONFIG)
    _run(d, week_of_days(3))
    snap = json.loads(json.dumps(d.snapshot()))
    assert InactivityDetector.restore(snap)._residents["r1"].silences  # kept: keyed by start
    del snap["silences_by"]
    old = InactivityDetector.restore(snap)
    assert old._residents["r1"].silences == {}
    assert old.limit("r1", DAY0 + 7 * 24 * H + 12 * H) == 4 * H


def test_return_level_solves_its_predictive_tail() -> None:
    """``k / days * period * (S / (S + y)) ** k = 1`` for the excesses over the median."""
    rng = np.random.default_rng(3)
    silences = 600 + rng.exponential(1500, 37)
    level = return_level(silences, 9, 400.0)
    median = float(np.median(silences))
    excess = silences[silences > median] - median
    passes = len(excess) / 9 * 400.0 * (excess.sum() / (excess.sum() + level - median)) ** len(excess)
    assert passes == pytest.approx(1.0)
    assert return_level(np.full(12, 1800.0), 6, 800.0) == 1800.0  # all alike: their length


def test_return_level_is_passed_about_once_in_its_period() -> None:
    """Silences ten minutes plus an exponential time (mean 20 min), five a day for twelve days:
    the level learnt from each such sample is passed, by the process that made it, about once
    in the period (1.12 on average over 4,000 samples: the sample median's own spread adds a
    little). The plug-in level ``median + mean excess × ln(rate × period)`` is passed 2.5
    times, and the former rule, 1.5 × the 95th percentile, 55 times."""
    rng = np.random.default_rng(7)
    scale, per_day, days, period = 1200.0, 5, 12, 800.0
    learnt, plug_in, former = [], [], []
    for _ in range(4000):
        silences = 600 + rng.exponential(scale, per_day * days)
        median = float(np.median(silences))
        excess = silences[silences > median] - median
        for levels, level in (
                (learnt, return_level(silences, days, period)),
                (plug_in, median + excess.mean() * np.log(len(excess) / days * period)),
                (former, 1.5 * float(np.quantile(silences, 0.95)))):
            levels.append(per_day * period * np.exp(-(level - 600) / scale))
    assert 0.95 < np.mean(learnt) < 1.3
    assert np.mean(plug_in) > 2.0
    assert np.mean(former) > 20.0


def _one_silence_a_day(minutes: list[float]) -> InactivityDetector:
    """r1 moves every five minutes from 07:00 to 22:00 but is still from 12:00 for each of
    ``minutes`` on successive days: the only silences learnt (five minutes is too short)."""
    d = InactivityDetector()
    for day, m in enumerate(minutes):
        noon = DAY0 + day * 24 * H + 12 * H
        times = [float(t) for t in np.arange(noon - 5 * H, noon + 10 * H, 300.0)
                 if not noon < t < noon + m * 60]
        d.update([Movement(timestamp=t, subject="r1") for t in sorted({*times, noon + m * 60})])
    return d


def test_a_long_tail_loosens_the_default_only_as_far_as_was_seen_twice() -> None:
    """Ten afternoons' silences with a long tail: the return level is about 14 h, but none was
    longer than 170 minutes, so the limit stays at the 4 h default. One 5 h silence changes
    nothing (a watch left on the charger for an afternoon); 5 h and 5 h 20 min on two days make
    it 5 h. Short, alike silences tighten it (2 h, the floor)."""
    tail = [20.0, 25, 30, 35, 40, 60, 90, 120, 150, 170]
    later = DAY0 + 30 * 24 * H + 12.5 * H
    assert _one_silence_a_day(tail).limit("r1", later) == 4 * H
    assert _one_silence_a_day([*tail, 300]).limit("r1", later) == 4 * H
    assert _one_silence_a_day([*tail, 300, 320]).limit("r1", later) == 5 * H
    assert _one_silence_a_day([30.0, 32, 34, 36, 38, 40, 42, 44, 46, 48]).limit("r1", later) == 2 * H
    quantile = InactivityDetector(InactivityConfig(limit_rule="quantile"))
    quantile._residents = _one_silence_a_day(tail)._residents
    assert quantile.limit("r1", later) == pytest.approx(1.5 * np.quantile(tail, 0.95) * 60)


def _early_nights(nights: int, still_h: list[float] | None = None) -> InactivityDetector:
    """r1 moves every five minutes by day, stops at 19:00 and moves again ``still_h[n]`` hours
    later (default 11.5 h, 06:30): an early sleeper."""
    still_h = still_h or [11.5] * nights
    d = InactivityDetector()
    for night in range(nights):
        morning = DAY0 + night * 24 * H + (19 + still_h[night] - 24) * H
        d.update([Movement(timestamp=float(t), subject="r1")
                  for t in np.arange(morning, DAY0 + night * 24 * H + 19 * H + 1, 300.0)])
    return d


def test_an_early_sleepers_nights_loosen_the_night_limit() -> None:
    """Still from 19:00 to 06:30 or so every night, 11.5 h: the 11 h default would raise an
    alarm every night at 06:00. After ten nights the night limit is what those nights teach,
    past their longest bar one; one night of 15 h (a watch on the charger) is left out; nights
    that never reach 11 h leave the default."""
    rng = np.random.default_rng(5)
    still = [float(h) for h in 11.5 + rng.normal(0, 0.3, 20)]
    d = _early_nights(20, still)
    night = DAY0 + 25 * 24 * H + 23 * H
    limit = d.limit("r1", night)
    assert max(still) < limit <= 14 * H
    one_long = _early_nights(21, [*still, 15.0]).limit("r1", night)
    assert one_long == _early_nights(21, [*still, max(still)]).limit("r1", night)
    assert _early_nights(20, [9.0 + 0.01 * n for n in range(20)]).limit("r1", night) == 11 * H
    # learning: nine nights are not enough
    assert _early_nights(9, still[:9]).limit("r1", night) == 11 * H


def test_a_night_called_before_the_residents_nights_are_learnt_says_how_many_are_known() -> None:
    """An early sleeper three nights in is called at 06:00 by the 11 h default: the finding
    says how few of their nights are known (the alarm card tells the operator a long night may
    be their usual). Twenty nights in, the limit is their own and the finding says nothing."""
    d = _early_nights(4)  # up by day until 19:00 on the fourth day
    evening = DAY0 + 3 * 24 * H + 19 * H
    known = len(d._residents["r1"].silences[NIGHT])
    [found] = _still(d, evening, evening + 13 * H)[:1]
    assert (found.limit, found.nights_known, known) == (11 * H, 3, 3)
    d = _early_nights(21)
    evening = DAY0 + 20 * 24 * H + 19 * H
    [found] = _still(d, evening, evening + 15 * H)[:1]
    assert found.limit > 11 * H and found.nights_known is None


def _life(d: InactivityDetector, start: float, end: float) -> list[InactivityFinding]:
    """r1 moves every five minutes from ``start`` to ``end`` (a clock tick with each)."""
    return d.update([item for t in np.arange(start, end, 300.0).tolist()
                     for item in (Movement(timestamp=t, subject="r1"), Clock(timestamp=t))])


def _still(d: InactivityDetector, start: float, end: float) -> list[InactivityFinding]:
    """r1 is still from ``start`` to ``end``: clock ticks every minute, a movement at the end."""
    found = d.update([Clock(timestamp=t) for t in np.arange(start, end, 60.0).tolist()])
    return found + d.update([Movement(timestamp=end, subject="r1"), Clock(timestamp=end)])


def _learnt(d: InactivityDetector) -> dict[int, tuple[list[float], list[int]]]:
    r = d._residents["r1"]
    return {k: (list(v), list(r.silence_days[k])) for k, v in r.silences.items() if v}


def _regular_days(days: int) -> InactivityDetector:
    """r1 moves every five minutes from 07:00 to 22:00 but sits 40 to 58 minutes from noon:
    the noon bin's limit tightens to the 2 h floor."""
    d = InactivityDetector()
    for day in range(days):
        noon = DAY0 + day * 24 * H + 12 * H
        _life(d, noon - 5 * H, noon + 1)
        _still(d, noon, noon + (40 + 2 * day) * 60)
        _life(d, noon + (41 + 2 * day) * 60, noon + 10 * H)
    return d


def test_an_operators_genuine_outcome_unlearns_the_alarmed_silence() -> None:
    """A resident whose noon sittings last under an hour is found on the floor at noon, 3.5 h
    after collapsing, on two days. Learnt, the first such silence lifts the noon limit from the
    2 h floor to the 4 h default, and the second collapse raises no alarm at all; forgotten on
    the operator's outcome, the bin holds exactly what it held before, and both are called
    after two hours."""
    learnt, forgotten = _regular_days(10), _regular_days(10)
    before = _learnt(forgotten)
    later = DAY0 + 30 * 24 * H + 12 * H
    assert forgotten.limit("r1", later) == 2 * H
    called: dict[str, list[float]] = {"learnt": [], "forgotten": []}
    for day in (10, 11):
        noon = DAY0 + day * 24 * H + 12 * H
        for name, d in (("learnt", learnt), ("forgotten", forgotten)):
            _life(d, noon - 5 * H, noon + 1)
            alarms = [f for f in _still(d, noon, noon + 3.5 * H) if f.kind == "inactivity"]
            called[name] += [round((f.timestamp - noon) / H, 2) for f in alarms]
            if name == "forgotten":
                assert d.forget("r1", alarms[0].timestamp)
            _life(d, noon + 3.5 * H, noon + 10 * H)
    assert called == {"learnt": [2.02], "forgotten": [2.02, 2.02]}
    assert learnt.limit("r1", later) == 4 * H
    kept = _learnt(forgotten)
    assert kept[6] == before[6]  # the noon bin; the two nights since are learnt as ever
    assert {k for k, v in _learnt(learnt).items() if v != kept[k]} == {6}
    assert forgotten.limit("r1", later) == 2 * H
    # given again (a restarted ingest re-reads the week's outcomes): nothing more changes
    last = DAY0 + 11 * 24 * H + 14.02 * H
    assert not forgotten.forget("r1", last)
    assert _learnt(forgotten) == kept
    # no alarmed silence at that time, or no such resident: nothing to forget
    assert not learnt.forget("r1", DAY0 + 11 * 24 * H + 9 * H)
    assert not learnt.forget("r9", last)


def test_an_outcome_given_while_the_silence_lasts_keeps_it_from_being_learnt() -> None:
    """The operator closes the call as genuine before the watch moves again (the resident went
    to hospital without it, and a daughter picks it up at 18:00): that silence is not learnt,
    across a restart too, while the same silence without the outcome would be."""
    noon = DAY0 + 10 * 24 * H + 12 * H
    outcomes = []
    for give in (True, False):
        d = _regular_days(10)
        before = _learnt(d)
        _life(d, noon - 5 * H, noon + 1)
        found = d.update([Clock(timestamp=t) for t in np.arange(noon, noon + 2.5 * H, 60.0)])
        assert [round((f.timestamp - noon) / H, 2) for f in found] == [2.02]
        d = InactivityDetector.restore(json.loads(json.dumps(d.snapshot())))
        if give:
            assert d.forget("r1", found[0].timestamp)
            d = InactivityDetector.restore(json.loads(json.dumps(d.snapshot())))
        d.update([Movement(timestamp=noon + 6 * H, subject="r1")])
        outcomes.append(_learnt(d)[6] == before[6])
    assert outcomes == [True, False]


def _falls(give: bool, *, while_down: bool = False) -> tuple[InactivityDetector, list[bool]]:
    """``_regular_days(10)``, then on three days r1 sits 40 minutes from noon, stands, falls a
    minute later (the watch counts a step as they go down) and lies 1.5 h until help comes:
    under the 2 h noon limit, so no inactivity alarm, only the fall's. With ``give`` the fall
    is resolved genuine: after help came, or with ``while_down`` while r1 is still down; each
    outcome is given twice and what ``forget`` answered is returned."""
    d = _regular_days(10)
    answers = []
    for day in (10, 11, 12):
        noon = DAY0 + day * 24 * H + 12 * H
        _life(d, noon - 5 * H, noon + 1)
        _still(d, noon, noon + 40 * 60)
        fell = noon + 41 * 60
        d.update([Movement(timestamp=fell, subject="r1"), Clock(timestamp=fell)])
        if give and while_down:
            d.update([Clock(timestamp=fell + 0.5 * H)])
            answers += [d.forget("r1", fell, after=300), d.forget("r1", fell, after=300)]
        assert not [f for f in _still(d, fell, fell + 1.5 * H) if f.kind == "inactivity"]
        if give and not while_down:
            answers += [d.forget("r1", fell, after=300), d.forget("r1", fell, after=300)]
        _life(d, fell + 1.5 * H + 60, noon + 10 * H)
    return d, answers


def test_a_genuine_falls_time_on_the_floor_is_not_learnt() -> None:
    """Three falls with 1.5 h on the floor, found by the fall detector, lift r1's noon limit from
    the 2 h floor to 3.7 h when learnt as ordinary sittings: the next collapse the watch does
    not feel as a fall would wait that long. Resolved genuine (given the fall's time and five
    minutes for the silence on the floor to begin), the floor's silences are taken back, after
    help came or while r1 was still down, across a restart; the 40-minute sittings before each
    fall stay learnt, and giving an outcome again changes nothing."""
    later = DAY0 + 30 * 24 * H + 12 * H
    learnt, _ = _falls(False)
    assert learnt.limit("r1", later) > 3.5 * H
    assert len(_learnt(learnt)[6][0]) == 16
    for while_down in (False, True):
        d, answers = _falls(True, while_down=while_down)
        assert answers == [True, False] * 3
        assert d.limit("r1", later) == 2 * H
        noon_bin = _learnt(d)[6][0]
        assert len(noon_bin) == 13 and noon_bin[-3:] == [40 * 60.0] * 3
    # kept across a restart: the same outcome given again finds the floor's silence forgotten
    restored = InactivityDetector.restore(json.loads(json.dumps(d.snapshot())))
    fell = DAY0 + 12 * 24 * H + 12 * H + 41 * 60
    assert not restored.forget("r1", fell, after=300)
    assert _learnt(restored) == _learnt(d)
    # one fall's outcome takes back that fall's floor only: the other two still loosen the limit
    one = InactivityDetector.restore(json.loads(json.dumps(learnt.snapshot())))
    assert one.forget("r1", fell, after=300)
    assert len(_learnt(one)[6][0]) == 15
    assert one.limit("r1", later) > 2 * H


def test_a_changed_outcome_has_the_silence_learnt_again_unless_another_still_holds() -> None:
    """A supervisor reopens a fall resolved genuine and resolves it as a false alarm: the floor's
    silence it took back is learnt again, exactly as before, across a restart. Where a second
    call's outcome took back the same silence (its SOS press, say), changing one of the two
    leaves it taken back; changing both relearns it. While the silence lasts the same holds
    for the one in progress. An outcome that took nothing back relearns nothing."""
    later = DAY0 + 30 * 24 * H + 12 * H
    learnt, _ = _falls(False)
    d, _ = _falls(True)
    fell = DAY0 + 12 * 24 * H + 12 * H + 41 * 60
    assert d.forget("r1", fell + 60, after=240, cause="sos-7") is False  # the same floor
    d = InactivityDetector.restore(json.loads(json.dumps(d.snapshot())))
    assert not d.relearn("r1", fell, after=300, cause="never-given")
    assert not d.relearn("r1", fell, after=300)  # the SOS's outcome still holds
    taken_back = _learnt(d)[6][0]
    assert len(taken_back) == 13
    assert d.relearn("r1", fell + 60, after=240, cause="sos-7")
    assert not d.relearn("r1", fell + 60, after=240, cause="sos-7")
    assert sorted(_learnt(d)[6][0]) == sorted([*taken_back, 1.5 * H])
    for day in (10, 11):
        assert d.relearn("r1", DAY0 + day * 24 * H + 12 * H + 41 * 60, after=300)
    assert sorted(_learnt(d)[6][0]) == sorted(_learnt(learnt)[6][0])
    assert d.limit("r1", later) == learnt.limit("r1", later)
    # while r1 is still down: changed before help comes, the silence is learnt when it ends
    down, answers = _falls(True, while_down=True)
    assert answers == [True, False] * 3
    noon = DAY0 + 13 * 24 * H + 12 * H
    _life(down, noon - 5 * H, noon + 1)
    down.update([Clock(timestamp=noon + 0.5 * H)])
    assert down.forget("r1", noon, after=300)
    assert down.relearn("r1", noon, after=300)
    _still(down, noon + 0.5 * H, noon + 1.5 * H)
    assert _learnt(down)[6][0][-1] == 1.5 * H


def test_a_forgotten_silence_through_the_night_takes_its_evening_night_and_morning() -> None:
    """Still from 20:30 until 11:30 next day, found by the morning's check: the evening's part,
    the night (as the night check saw it, and whole), when it began (a bedtime) and the
    morning's part are all taken back, and a restored detector does the same."""
    d = _regular_days(3)
    evening = DAY0 + 3 * 24 * H + 20.5 * H
    _life(d, evening - 12 * H, evening + 1)
    before = _learnt(d)
    alarms = [f for f in _still(d, evening + 1, evening + 15 * H) if f.kind == "inactivity"]
    assert len(alarms) == 1
    grew = _learnt(d)
    assert {k for k in grew if grew[k] != before.get(k)} == {10, NIGHT, MORNING, BEDTIME, 3}
    restored = InactivityDetector.restore(json.loads(json.dumps(d.snapshot())))
    for detector in (d, restored):
        assert detector.forget("r1", alarms[0].timestamp)
        assert _learnt(detector) == before


def test_a_resident_in_another_zone_sleeps_by_their_own_clock() -> None:
    """A resident in London still from 22:30 (06:30 in Shanghai): judged by the centre's clock
    they would be called at 03:00 their time (07:00 + 4 h in Shanghai); by their own, the
    day's 4 h count from 07:00 London, and the call comes at 11:00. A snapshot keeps the zone;
    a zone that does not exist is refused."""
    bedtime = DAY0 + 22.5 * H + 8 * H  # 22:30 in London (winter: UTC), as Shanghai's midnight + 8
    ticks = [Clock(timestamp=t) for t in np.arange(bedtime, bedtime + 14 * H, 600.0).tolist()]
    called = {}
    for zones in ({}, {"r1": "Europe/London"}):
        d = InactivityDetector()
        d.set_zones(zones)
        d.update([Movement(timestamp=bedtime, subject="r1")])
        d = InactivityDetector.restore(json.loads(json.dumps(d.snapshot())))
        d.set_zones(zones)
        called[bool(zones)] = [round((f.timestamp - bedtime) / H + 22.5 - 24, 2)
                               for f in d.update(ticks) if f.kind == "inactivity"]
    assert called == {False: [3.17], True: [11.17]}  # London hours, the first 10-minute tick
    moved = InactivityDetector()
    moved.update([Movement(timestamp=bedtime, subject="r1")])
    moved.set_zones({"r1": "Europe/London"})  # a site's zone corrected: applies at once
    assert [round((f.timestamp - bedtime) / H + 22.5 - 24, 2)
            for f in moved.update(ticks) if f.kind == "inactivity"] == [11.17]
    with pytest.raises(ValueError, match="unknown time zone"):
        InactivityDetector().set_zones({"r1": "Mars/Olympus_Mons"})


def test_a_residents_own_night_is_what_their_carers_set() -> None:
    """Asleep by 19:00 and up at 05:00: still from 05:10, the configured night (22:00-07:00)
    counts it as the night's, and the day's 4 h from 07:00 call after 11:00; with their own
    night the day's 4 h count from 05:10 and the call comes after 09:10, after a restart too. An
    hour outside 0-23, or a night that ends when it begins, is refused."""
    bed = DAY0 + 24 * H + 5 * H + 10 * 60
    ticks = [Clock(timestamp=t) for t in np.arange(bed + 600, bed + 16 * H, 600.0).tolist()]
    called = {}
    for nights in ({}, {"r1": (19, 5)}):
        d = InactivityDetector()
        d.set_nights(nights)
        d.update([Movement(timestamp=bed, subject="r1")])
        d = InactivityDetector.restore(json.loads(json.dumps(d.snapshot())))
        called[bool(nights)] = [round((f.timestamp - DAY0) / H - 24, 2)
                                for f in d.update(ticks) if f.kind == "inactivity"]
    assert called == {False: [11.17], True: [9.33]}  # the first 10-minute tick past the limit
    for wrong in ((19, 24), (-1, 5), (7, 7)):
        with pytest.raises(ValueError, match="a night runs"):
            InactivityDetector().set_nights({"r1": wrong})


def test_regression_silences_stored_without_their_days_are_relearnt() -> None:
    """Snapshots from before the return level kept silences without the day they began: how
    many come a day is unknown, so they are dropped (the 4 h default until relearnt), unless
    the configuration keeps the quantile rule, which needs no days."""
    d = InactivityDetector(CONFIG)
    _run(d, week_of_days(3))
    snap = json.loads(json.dumps(d.snapshot()))
    for r in snap["residents"].values():
        del r["silence_days"]
    assert InactivityDetector.restore(snap)._residents["r1"].silences == {}
    snap["config"]["limit_rule"] = "quantile"
    assert InactivityDetector.restore(snap)._residents["r1"].silences


def test_a_misspelt_limit_rule_or_period_is_refused() -> None:
    with pytest.raises(ValueError, match="limit_rule"):
        InactivityConfig(limit_rule="returnlevel")
    with pytest.raises(ValueError, match="false_alarm_days"):
        InactivityConfig(false_alarm_days=0)
    assert InactivityConfig().day_bins() == 8  # 07:00-22:00 in 2 h bins: 06-08 ... 20-22
    # a night worker up 20:00-08:00: 20-24, 00-04, 04-08
    assert InactivityConfig(wake_hour=20, sleep_hour=8, bin_hours=4).day_bins() == 3


@pytest.mark.parametrize("module", ['detection.inactivity'])
def test_docstring_examples_run(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0
    assert result.failed == 0


def test_the_summary_says_what_is_learnt_and_follows_what_changes_it() -> None:
    """r1's noon bin is learnt to the 2 h floor; the other day bins have too few silences and
    keep the 4 h default; the bins wholly in the night (00-06, 22-24) have none. A learnt silence
    changes the summary, and so does their own night."""
    assert InactivityDetector().summary("r1") is None
    d = _regular_days(10)
    s = d.summary("r1")
    assert s is not None
    assert (s.tz, s.sleep_hour, s.wake_hour, s.bin_hours) == ("Asia/Shanghai", 22, 7, 2)
    assert s.day_limits == (None,) * 3 + (4 * H,) * 3 + (2 * H,) + (4 * H,) * 4 + (None,)
    assert s.learnt == (False,) * 6 + (True,) + (False,) * 5
    assert s.night_limit == 11 * H and s.at_home
    assert s.last_movement == d._residents["r1"].last_movement
    # the 3.5 h collapses of the outcome test, learnt: the noon bin loosens to the default
    for day in (10, 11):
        noon = DAY0 + day * 24 * H + 12 * H
        _life(d, noon - 5 * H, noon + 1)
        _still(d, noon, noon + 3.5 * H)
    loosened = d.summary("r1")
    assert loosened is not None and loosened.day_limits[6] == 4 * H and loosened.learnt[6]
    d.set_nights({"r1": (19, 5)})
    early = d.summary("r1")
    assert early is not None and (early.sleep_hour, early.wake_hour) == (19, 5)
    assert early.day_limits[:2] == (None, None) and early.day_limits[2] == 4 * H
    assert early.day_limits[9:] == (4 * H, None, None)  # 18-20 touches the day; 20-24 does not


@pytest.mark.parametrize("days", [10, 12])
@pytest.mark.parametrize("night", [None, (19, 5), (1, 9)])
def test_what_the_summary_allows_now_is_what_the_check_measures(
        night: tuple[int, int] | None, days: int) -> None:
    """The console works out from the kept summary how long the silence in progress may last:
    at every quarter hour of two days, by day and at night, it is what the detector holds it
    to; once the nights are learnt (12 days), at night and the next morning, the evening limit
    of the noon bin the silence began in."""
    d = _regular_days(days)
    if night is not None:
        d.set_nights({"r1": night})
    start = DAY0 + days * 24 * H + 8 * H
    _life(d, start, start + 4.5 * H + 1)  # last moves at 12:30, in the learnt noon bin
    r = d._residents["r1"]
    summary = d.summary("r1")
    assert summary is not None
    kinds = set()
    for now in np.arange(start + 900, start + 48 * H, 900.0).tolist():
        silence, limit = d._measure("r1", r, now)
        allowed = allowed_now(summary, now)
        assert (allowed.still_since, allowed.limit) == (now - silence, limit), now
        kinds.add((allowed.night, allowed.morning, allowed.evening, allowed.learnt))
    if days == 12:  # held to the noon bin's evening limit: its day limit, no noon silence
        # having reached a night; long passed, as the day check found at 14:30
        assert kinds == {(True, False, True, False), (False, False, True, False),
                         (False, False, False, True)}
    else:
        assert kinds == {(True, False, False, False), (False, False, False, False),
                         (False, False, False, True)}


@pytest.mark.parametrize("days", [10, 12])
@pytest.mark.parametrize("night", [None, (19, 5)])
@pytest.mark.parametrize("last", [9.0, 12.5, 18.5, 20.5, 23.0])
def test_the_next_call_is_when_the_check_first_finds_the_silence(
        last: float, night: tuple[int, int] | None, days: int) -> None:
    """r1 last moves at ``last`` o'clock and stays still: the call the summary foretells, an
    hour after that movement, is the detector's own first inactivity finding, to its minute
    ticks; through the evening into the night and out of it into the morning limit (once the
    nights are learnt, 12 days) or the next day's allowance."""
    d = _regular_days(days)
    if night is not None:
        d.set_nights({"r1": night})
    moved = DAY0 + days * 24 * H + last * H
    _life(d, moved - 2 * H, moved + 1)
    moved = d._residents["r1"].last_movement
    summary = d.summary("r1")
    assert summary is not None
    at, rule = next_call(summary, moved + H)
    ticks = [Clock(timestamp=t) for t in np.arange(moved + 60, moved + 36 * H, 60.0).tolist()]
    first = next(f for f in d.update(ticks) if f.kind == "inactivity")
    assert at <= first.timestamp <= at + 60  # the check calls past the limit, at a tick
    assert rule.limit == first.limit
    # once the nights are learnt (all began about 21:57): a silence from 18:30 or 20:30 began
    # before bedtime and is held to its day limit at night, called at 22:30 or 00:30; one
    # from 23:00, in the night, to the morning limit (10:00, before 11:00). With their own
    # night (19-05) 18:30 is by day (22:30 again), and 20:30 in their night: the morning
    # limit calls at 07:30, before 09:00
    evening, morning = ((18.5, 20.5), (23.0,)) if night is None else ((18.5,), (20.5,))
    assert rule.evening == (days == 12 and last in evening)
    assert rule.morning == (days == 12 and last in morning)


def test_only_residents_the_platform_can_see_move_are_judged() -> None:
    """r2 has a call button alone: a press says they moved, but their hours without one say
    nothing, so they are never called still (before, one press had them called 4 h into
    every morning after); r1 wears a watch and is called as ever."""
    d = InactivityDetector()
    d.set_watched({"r1"})
    found = _run(d, [[Movement(timestamp=DAY0 + 9 * H, subject="r1"),
                      Movement(timestamp=DAY0 + 9 * H, subject="r2")],
                     [Clock(timestamp=DAY0 + 13.1 * H)], [Clock(timestamp=DAY0 + 35.1 * H)]])
    assert [(f.subject, f.kind) for f in found] == [("r1", "inactivity")]
    assert d.summary("r2") is None  # nothing kept of an elder this check cannot see
    d.set_watched(None)  # everyone: the detector alone, as before
    d.update([Movement(timestamp=DAY0 + 36 * H, subject="r2")])
    # r1's silence was called once already; r2's, judged now, is called at 4 h
    assert [f.subject for f in d.update([Clock(timestamp=DAY0 + 40.1 * H)])] == ["r2"]


def test_a_resident_whose_watch_is_taken_back_is_not_judged_and_counts_afresh_with_a_new_one(
        ) -> None:
    """r1's watch goes back for repair at 10:00 after a week of regular days; a new one is
    theirs at 16:00 the next day. In between nothing is called and nothing learnt; with the new
    watch the silence counts from the first tick after it came, not from 10:00 yesterday, and
    what the week taught is still there."""
    d = _regular_days(7)
    day = DAY0 + 7 * 24 * H
    _life(d, day + 7 * H, day + 10 * H)
    learnt = _learnt(d)
    d.set_watched(set())
    ticks = [Clock(timestamp=t) for t in np.arange(day + 10 * H, day + 40 * H, 60.0).tolist()]
    assert d.update(ticks) == []
    d.set_watched({"r1"})
    restored = InactivityDetector.restore(json.loads(json.dumps(d.snapshot())))
    for det in (d, restored):
        assert det.update([Clock(timestamp=day + 40 * H + 30)]) == []  # 16:00: counted from now
        found = det.update([Clock(timestamp=t) for t in
                            np.arange(day + 40 * H + 90, day + 46 * H, 60.0).tolist()])
        assert [(f.kind, f.last_movement) for f in found] == [("inactivity", day + 40 * H + 30)]
        assert _learnt(det) == learnt
