"""What an operator's "genuine" outcome is worth to a resident who collapses again and again.

Simulated wearers live the days of ``bench/inactivity_limits.py``'s models, but collapse on
several days (``--collapses``, the first on day 8 and then every ``--every`` days, each at a time
drawn from 08:00 to 18:00 local). Each collapse lasts until help comes: ``--help-after`` hours
after the inactivity alarm, or 06:00 the next morning if none came by then; help gets the wearer
up (a movement), and the wearer's day goes on. The operator resolves the call as genuine
``--resolve-after`` hours after help came. With outcomes read back (ingest does so once a
minute, store/outcomes.py) the detector is told (:meth:`InactivityDetector.forget`); without,
as until 2026-12-06, it learns each collapse as an ordinary silence.

    PYTHONPATH=. .venv/bin/python bench/inactivity_outcomes.py [--seed 2] [--wearers 60]
        [--days 30] [--collapses 5] [--every 4] [--models ordinary,sedentary,films]

Prints one row per model, without and with outcomes: for each collapse in turn the median
hours from collapse to alarm and how many were not found by the next morning; over the second
and later collapses (the ones a learnt collapse can delay) the mean hours, how many were found
after more than the programme's 4 h (a minute's clock tick allowed) and the longest (inf: not
found by the next morning); and the false alarms per wearer-day by day (an alarm outside every
collapse). 10 to 30 s per row at 60 wearers
× 30 days. Assumptions of this bench, not measurements of real elders.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass

import numpy as np

from bench.inactivity_limits import MODELS, back_on_feet, movements
from bench.welfare_false_alarms import DAY, START
from detection.inactivity import HOUR, Clock, InactivityDetector, Movement
from simulators.vitals import local_hour


@dataclass(frozen=True, slots=True)
class Result:
    delays_h: list[list[float]]
    """Per collapse in turn, each wearer's hours from collapse to alarm (inf: none by the next
    morning)."""
    false_day: int


@dataclass(slots=True)
class _Wearer:
    collapses: list[float]
    next: int = 0
    """The collapse to come or in progress."""
    back: float | None = None
    """When help gets the wearer up from the collapse in progress, once known."""
    last_move: float = -math.inf
    alarm: float | None = None
    """The latest inactivity alarm's time."""


def run(*, seed: int, wearers: int, days: int, model: str, collapses: int, every: int,
        help_after: float, resolve_after: float, outcomes: bool) -> Result:
    draw = np.random.default_rng([seed, 998])
    people = [_Wearer([START + (8 + every * k) * DAY + float(draw.uniform(8, 18)) * HOUR
                       for k in range(collapses)]) for _ in range(wearers)]
    never = START + 10 * days * DAY  # the day's own stream has no collapse in it
    moves = [movements(np.random.default_rng([seed, i]), model, days, never)
             for i in range(wearers)]
    timeline = sorted((t, i) for i, ts in enumerate(moves) for t in ts)
    detector = InactivityDetector()
    delays: list[list[float]] = [[] for _ in range(collapses)]
    resolutions: list[tuple[float, int, float]] = []  # (when, wearer, a time in the silence)
    false_day = 0
    k = 0
    for minute in range(int(days * DAY // 60)):
        end = START + 60.0 * (minute + 1)
        batch: list[Movement | Clock] = []
        for i, p in enumerate(people):
            if p.back is not None and p.back < end:  # help comes: up, and on with the day
                batch.append(Movement(timestamp=p.back, subject=f"r{i}"))
                p.last_move, p.back, p.next = p.back, None, p.next + 1
        while k < len(timeline) and timeline[k][0] < end:
            t, i = timeline[k]
            k += 1
            p = people[i]
            collapsed = p.next < collapses and p.collapses[p.next] <= t
            if not collapsed and t > p.last_move:
                batch.append(Movement(timestamp=t, subject=f"r{i}"))
                p.last_move = t
        batch.sort(key=lambda m: m.timestamp)
        now = end - 1.0
        batch.append(Clock(timestamp=now))
        for f in detector.update(batch):
            if f.kind == "inactivity":
                p = people[int(f.subject[1:])]
                p.alarm = f.timestamp
                if not (p.next < collapses and p.collapses[p.next] <= f.timestamp) and \
                        7 <= local_hour(f.timestamp) < 22:
                    false_day += 1
        for i, p in enumerate(people):
            if p.next >= collapses or p.back is not None or p.collapses[p.next] > now:
                continue
            fell = p.collapses[p.next]
            # an alarm in the silence the collapse fell in finds it (at the fall, if before)
            if p.alarm is not None and p.alarm > p.last_move:
                delays[p.next].append(max(p.alarm - fell, 0.0) / HOUR)
                p.back = max(p.alarm, fell) + help_after * HOUR
                resolutions.append((p.back + resolve_after * HOUR, i, p.alarm))
            elif now >= back_on_feet(fell):
                delays[p.next].append(math.inf)
                p.back = back_on_feet(fell)
        if outcomes:
            for _, i, at in [r for r in resolutions if r[0] <= now]:
                detector.forget(f"r{i}", at)
            resolutions = [r for r in resolutions if r[0] > now]
    return Result(delays, false_day)


def row(model: str, outcomes: bool, result: Result, wearer_days: int) -> str:
    cells = []
    for d in result.delays_h:
        hit = [x for x in d if math.isfinite(x)]
        median = f"{np.median(hit):.2f}" if hit else "-"
        cells.append(f"{median:>7}/{len(d) - len(hit):<2}")
    later = np.array([x for d in result.delays_h[1:] for x in d])
    found = later[np.isfinite(later)]
    mean = f"{found.mean():.2f}" if len(found) else "-"
    return (f"{model:<10}{'yes' if outcomes else 'no':<9}{''.join(cells)}{mean:>8}"
            f"{int((later > 4.05).sum()):>6}{float(later.max()) if len(later) else 0:>8.2f}"
            f"{result.false_day / wearer_days:>10.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--wearers", type=int, default=60)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--collapses", type=int, default=5)
    parser.add_argument("--every", type=int, default=4, help="days between collapses")
    parser.add_argument("--help-after", type=float, default=1.0,
                        help="hours from the alarm until help gets the wearer up")
    parser.add_argument("--resolve-after", type=float, default=0.5,
                        help="hours from help until the operator resolves the call")
    parser.add_argument("--models", default="ordinary,sedentary,films")
    args = parser.parse_args()
    if args.wearers < 1 or args.collapses < 1 or args.every < 1:
        parser.error("--wearers, --collapses and --every must be at least 1")
    if args.days < 8 + args.every * (args.collapses - 1) + 2:
        parser.error("--days must leave a day after the last collapse (day 8 + every x ...)")
    if args.help_after < 0 or args.resolve_after < 0:
        parser.error("--help-after and --resolve-after cannot be negative")
    for name in args.models.split(","):
        if name not in MODELS:
            parser.error(f"unknown model {name!r}: {', '.join(MODELS)}")
    wearer_days = args.wearers * args.days
    print(f"seed {args.seed}, {args.wearers} wearers x {args.days} days, {args.collapses} "
          f"collapses each from day 8 every {args.every} days, help {args.help_after:g} h after "
          f"the alarm, resolved genuine {args.resolve_after:g} h later")
    print(f"{'model':<10}{'outcomes':<9}"
          + "".join(f"{f'#{n + 1} h/miss':>10}" for n in range(args.collapses))
          + f"{'mean 2+':>8}{'> 4 h':>6}{'longest':>8}{'false/day':>10}")
    for model in args.models.split(","):
        for outcomes in (False, True):
            began = time.perf_counter()
            result = run(seed=args.seed, wearers=args.wearers, days=args.days, model=model,
                         collapses=args.collapses, every=args.every, help_after=args.help_after,
                         resolve_after=args.resolve_after, outcomes=outcomes)
            print(row(model, outcomes, result, wearer_days)
                  + f"   ({time.perf_counter() - began:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
