"""How the inactivity detector's learnt limits trade false alarms for time to find a collapse.

Simulated wearers live ordinary days under one of four models of how long they sit still, their
watches register a movement every 10 s while they walk (the step count, as the welfare bench
and a real watch give it), and one clock tick a minute drives :class:`InactivityDetector`.
Each wearer once collapses unseen (a fall the fall detector missed, a stroke in a chair): on a
day drawn from ``--collapse-from`` to the last but one, at a time drawn from 08:00 to 18:00
local (``--collapse-hours``), they stop moving until 06:00 next morning (``--up-at``; an
evening's collapse needs a later hour, or the alarm it waits for comes after the wearer is up).
Every other inactivity alarm is a false one.

Models (``--models``; assumptions of this bench, not measurements of real elders):

* ``ordinary``: the simulator's day (:func:`simulators.vitals.next_activity`): by day
  activities of 30 s to 10 min, a quarter of them walks.
* ``sedentary``: the same activities, each lasting twice as long.
* ``films``: as ordinary, but 12 % of the sittings last a log-normal time (median 35 min,
  log-sd 0.6): a film, a nap in the chair, a long call. Longer silences than an exponential's.
* ``regular``: walks of 30 s to 2 min between sittings of 20 to 60 min, strictly alternating:
  silences that are alike (a bounded tail).
* ``early``, ``late`` and ``long``: the ordinary day's draws, but asleep from 19:30 to 05:00,
  from midnight to 09:00, or from 20:30 to 08:00 (each ± 30 min, a normal draw a night), not
  from 22:00 to 06:00: sleeping hours away from the detector's configured night (22:00 to
  07:00), and for ``long`` nights of 11.5 h, past its 11 h night limit.

Rules (``--rules``): ``fixed`` (4 h always, the 12349 programmes' default), ``quantile`` (1.5 ×
the 95th percentile of the bin's silences, the rule until 2026-12-06), ``return_level:D`` (the
silence passed about once in D days, :func:`detection.inactivity.return_level`). All with the
2 h floor and the 4 h default while a bin learns.

    PYTHONPATH=. .venv/bin/python bench/inactivity_limits.py [--seed 2] [--wearers 60]
        [--days 30] [--models ordinary,films] [--rules quantile,return_level:100]

``--own-nights`` gives the ``early`` and ``late`` wearers the nights their carers would set
(:data:`OWN_NIGHTS`; :meth:`InactivityDetector.set_nights`); "at night" still means 22:00 to
07:00 in the figures.

Prints one row per model and rule: false alarms per wearer-day by day (and how many of them
came in the first four days, while the day bins learn under the 4 h default, and how many from
07:00 to 12:00) and at night; collapses found before the wearer is up again; and the hours from
collapse to alarm (median, 90th percentile). An alarm raised between the wearer's last movement
and the collapse counts as finding it after 0 h. 10 to 30 s per row at 60 wearers × 30 days."""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from bench.welfare_false_alarms import DAY, START
from detection.inactivity import (
    HOUR,
    Clock,
    InactivityConfig,
    InactivityDetector,
    InactivityFinding,
    Movement,
)
from simulators.vitals import DAY_ACTIVITIES, DAY_WEIGHTS, local_hour, next_activity

STEP_S = 10.0
MODELS = ("ordinary", "sedentary", "films", "regular", "early", "late", "long")
SLEEP_HOURS = {"early": (19.5, 29.0), "late": (24.0, 33.0), "long": (20.5, 32.0)}
"""(bed, up) in hours from the midnight before the evening: early to bed at 19:30 and up at
05:00, late to bed at midnight and up at 09:00, long to bed at 20:30 and up at 08:00."""
OWN_NIGHTS = {"early": (19, 5), "late": (23, 9), "long": (20, 8)}
"""The nights carers would set for these models (``--own-nights``, migration 0017): asleep from
19:00 to 05:00, from 23:00 to 09:00, or from 20:00 to 08:00."""
SLEEP_SD_H = 0.5
FILM_SHARE = 0.12
FILM_MEDIAN_S = 35 * 60.0
FILM_LOG_SD = 0.6


def _nights(rng: np.random.Generator, model: str) -> Iterator[tuple[float, float]]:
    """(bed, up) of each night from the one before ``START`` on, for a model of its own
    sleeping hours."""
    bed, up = SLEEP_HOURS[model]
    night = -1
    while True:
        yield (START + night * DAY + (bed + float(rng.normal(0, SLEEP_SD_H))) * HOUR,
               START + night * DAY + (up + float(rng.normal(0, SLEEP_SD_H))) * HOUR)
        night += 1


def _own_hours(rng: np.random.Generator, model: str) -> Iterator[tuple[str, float, float]]:
    """The simulator's daytime draws, asleep from this model's bedtime to its rising."""
    nights = _nights(rng, model)
    bed, up = next(nights)
    t = START
    while True:
        if t >= up:
            bed, up = next(nights)
        if t >= bed:
            yield "sleeping", t, up
            t = up
            continue
        activity = str(rng.choice(DAY_ACTIVITIES, p=DAY_WEIGHTS))
        until = min(t + float(rng.uniform(30, 600)), bed)
        yield activity, t, until
        t = until


def activities(rng: np.random.Generator, model: str) -> Iterator[tuple[str, float, float]]:
    """(activity, start, end) from ``START`` on, for ever."""
    if model in SLEEP_HOURS:
        yield from _own_hours(rng, model)
        return
    t, previous = START, "sitting"
    while True:
        activity, until = next_activity(t, rng)
        if activity != "sleeping":
            if model == "sedentary":
                until = t + 2 * (until - t)
            elif model == "films" and activity == "sitting" and rng.random() < FILM_SHARE:
                until = t + float(rng.lognormal(math.log(FILM_MEDIAN_S), FILM_LOG_SD))
            elif model == "regular":
                activity = "sitting" if previous == "walking" else "walking"
                until = t + (float(rng.uniform(20, 60)) * 60 if activity == "sitting"
                             else float(rng.uniform(30, 120)))
        yield activity, t, until
        previous, t = activity, until


def back_on_feet(collapse: float, up_at: float = 6.0) -> float:
    """``up_at`` o'clock local the day after ``collapse``: when the collapsed wearer moves
    again."""
    return START + ((collapse - START) // DAY + 1) * DAY + up_at * HOUR


def movements(rng: np.random.Generator, model: str, days: int, collapse: float,
              up_at: float = 6.0) -> list[float]:
    """Times the watch registers movement: every 10 s of walking, none from ``collapse`` until
    ``up_at`` o'clock the next day."""
    back = back_on_feet(collapse, up_at)
    end = START + days * DAY
    out: list[float] = []
    for activity, began, until in activities(rng, model):
        if began >= end:
            return out
        if activity == "walking":
            out.extend(t for t in np.arange(began - began % STEP_S + STEP_S, min(until, end),
                                            STEP_S).tolist() if not collapse <= t < back)
    return out


LEARNING_DAYS = 4
"""A day bin learns from ten silences: two to four days of ordinary life."""


@dataclass(frozen=True, slots=True)
class Outcome:
    false_day: int
    false_learning: int
    """Of ``false_day``, those in the first ``LEARNING_DAYS`` days."""
    false_night: int
    delays_h: list[float]
    """Hours from collapse to alarm, inf when none came before the wearer was up again."""
    false_morning: int = 0
    """Of ``false_day``, those from 07:00 to 12:00: a night's silence called in the morning."""


def config_for(rule: str) -> InactivityConfig:
    if rule == "fixed":
        return InactivityConfig(min_silences=10**9)  # never learns: 4 h by day
    if rule == "quantile":
        return InactivityConfig(limit_rule="quantile")
    name, _, days = rule.partition(":")
    if name != "return_level" or not days:
        raise ValueError(f"unknown rule {rule!r}: fixed, quantile or return_level:DAYS")
    return InactivityConfig(limit_rule="return_level", false_alarm_days=float(days))


def run(*, seed: int, wearers: int, days: int, model: str, rule: str,
        collapse_from: int = 8, own_nights: bool = False,
        collapse_hours: tuple[float, float] = (8.0, 18.0), up_at: float = 6.0) -> Outcome:
    draw = np.random.default_rng([seed, 999])
    collapses = [START + int(draw.integers(collapse_from, days - 1)) * DAY
                 + float(draw.uniform(*collapse_hours)) * HOUR for _ in range(wearers)]
    moves = [movements(np.random.default_rng([seed, i]), model, days, collapses[i], up_at)
             for i in range(wearers)]
    timeline = sorted((t, i) for i, ts in enumerate(moves) for t in ts)
    detector = InactivityDetector(config_for(rule))
    if own_nights and model in OWN_NIGHTS:
        detector.set_nights({f"r{i}": OWN_NIGHTS[model] for i in range(wearers)})
    found: list[InactivityFinding] = []
    k = 0
    for minute in range(int(days * DAY // 60)):
        end = START + 60.0 * (minute + 1)
        batch: list[Movement | Clock] = []
        while k < len(timeline) and timeline[k][0] < end:
            batch.append(Movement(timestamp=timeline[k][0], subject=f"r{timeline[k][1]}"))
            k += 1
        batch.append(Clock(timestamp=end - 1.0))
        found += [f for f in detector.update(batch) if f.kind == "inactivity"]
    by_day = learning = night = morning = 0
    delays: list[float] = []
    for i, collapse in enumerate(collapses):
        back = back_on_feet(collapse, up_at)
        last = max((t for t in moves[i] if t <= collapse), default=collapse)
        mine = [f for f in found if f.subject == f"r{i}"]
        hits = [f.timestamp for f in mine if last < f.timestamp < back]
        delays.append(max(hits[0] - collapse, 0.0) / HOUR if hits else math.inf)
        for f in mine:
            if last < f.timestamp < back:
                continue
            hour = local_hour(f.timestamp)
            if hour >= 22 or hour < 7:
                night += 1
            else:
                by_day += 1
                learning += f.timestamp < START + LEARNING_DAYS * DAY
                morning += hour < 12
    return Outcome(by_day, learning, night, delays, morning)


def row(model: str, rule: str, outcome: Outcome, wearer_days: int) -> str:
    delays = np.array(outcome.delays_h)
    hit = delays[np.isfinite(delays)]
    median = f"{np.median(hit):.2f}" if len(hit) else "-"
    p90 = f"{np.quantile(hit, 0.9):.2f}" if len(hit) else "-"
    return (f"{model:<10}{rule:<18}{outcome.false_day / wearer_days:>9.4f}"
            f"{outcome.false_learning:>9}{outcome.false_morning:>9}"
            f"{outcome.false_night / wearer_days:>9.4f}"
            f"{len(hit):>6}/{len(delays):<4}{median:>8}{p90:>8}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--wearers", type=int, default=60)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--collapse-from", type=int, default=8,
                        help="the earliest day (from 0) of a collapse")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--rules", default="fixed,quantile,return_level:30,return_level:100")
    parser.add_argument("--collapse-hours", default="8,18",
                        help="FROM,TO: the local hours a collapse is drawn from (0-24)")
    parser.add_argument("--up-at", type=float, default=6.0,
                        help="the local hour, the day after, a collapsed wearer moves again")
    parser.add_argument("--own-nights", action="store_true",
                        help="give early and late sleepers the nights carers would set")
    args = parser.parse_args()
    if args.days < args.collapse_from + 2:
        parser.error("--days must leave a day after --collapse-from")
    if args.wearers < 1:
        parser.error("--wearers must be at least 1")
    try:
        first, last = (float(h) for h in args.collapse_hours.split(","))
    except ValueError:
        parser.error("--collapse-hours takes two hours, FROM,TO")
    if not 0 <= first < last <= 24:
        parser.error("--collapse-hours must run forwards within a day, 0 to 24")
    if not 0 <= args.up_at < 24:
        parser.error("--up-at is an hour of the day, 0 to 24")
    for name in args.models.split(","):
        if name not in MODELS:
            parser.error(f"unknown model {name!r}: {', '.join(MODELS)}")
    for rule in args.rules.split(","):
        try:
            config_for(rule)
        except ValueError as err:
            parser.error(str(err))
    wearer_days = args.wearers * args.days
    print(f"seed {args.seed}, {args.wearers} wearers x {args.days} days; false alarms per "
          f"wearer-day by day (and how many in days 1-{LEARNING_DAYS}, and from 07:00 to "
          f"12:00) and at night; collapses from {first:g}:00 to {last:g}:00 found before "
          f"{args.up_at:g}:00 next day, hours to alarm")
    print(f"{'model':<10}{'rule':<18}{'by day':>9}{'learning':>9}{'morning':>9}{'night':>9}"
          f"{'found':>11}"
          f"{'median':>8}{'p90':>8}")
    for model in args.models.split(","):
        for rule in args.rules.split(","):
            began = time.perf_counter()
            outcome = run(seed=args.seed, wearers=args.wearers, days=args.days, model=model,
                          rule=rule, collapse_from=args.collapse_from,
                          own_nights=args.own_nights, collapse_hours=(first, last),
                          up_at=args.up_at)
            print(row(model, rule, outcome, wearer_days)
                  + f"   ({time.perf_counter() - began:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
