"""What an operator's "genuine" outcome is worth to a resident who collapses again and again.

Simulated wearers live the days of ``bench/inactivity_limits.py``'s models, but collapse on
several days (``--collapses``, the first on day 8 and then every ``--every`` days, each at a time
drawn from 08:00 to 18:00 local). Each collapse lasts until help comes: ``--help-after`` hours
after the inactivity alarm, or 06:00 the next morning if none came by then; help gets the wearer
up (a movement), and the wearer's day goes on. The operator resolves the call as genuine
``--resolve-after`` hours after help came. With outcomes read back (ingest does so once a
minute, store/outcomes.py) the detector is told (:meth:`InactivityDetector.forget`); without,
as until 2026-12-06, it learns each collapse as an ordinary silence.

With ``--felt P`` the fall detector feels each collapse with probability P: its alarm comes at
the collapse, help ``--help-after`` hours after it, and no inactivity alarm is needed. The time
on the floor is then under the limit, and until 2026-12-06 (seventh session) it was learnt as a
sitting even when the fall was resolved genuine; the rows "inactivity" give back only inactivity
alarms' outcomes (as before), "all" the falls' too (store/outcomes.py, five minutes for the
silence to begin).

    PYTHONPATH=. .venv/bin/python bench/inactivity_outcomes.py [--seed 2] [--wearers 60]
        [--days 30] [--collapses 5] [--every 4] [--felt 0.5] [--models ordinary,sedentary,films]

Prints one row per model, without and with outcomes: for each collapse in turn the median
hours from collapse to alarm and how many were not found by the next morning; over the second
and later collapses (the ones a learnt collapse can delay) that the fall detector did not feel,
the mean hours, how many were found after more than the programme's 4 h (a minute's clock tick
allowed) and the longest (inf: not found by the next morning); and the false alarms per
wearer-day by day (an alarm outside every collapse). 10 to 30 s per row at 60 wearers
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
from store.outcomes import SILENCE_BEGINS_WITHIN

OUTCOMES = ("none", "inactivity", "all")


@dataclass(frozen=True, slots=True)
class Result:
    delays_h: list[list[float]]
    """Per collapse in turn, each wearer's hours from collapse to alarm (inf: none by the next
    morning)."""
    felt: list[list[bool]]
    """Per collapse in turn, whether the fall detector felt it (same order as ``delays_h``)."""
    false_day: int


@dataclass(slots=True)
class _Wearer:
    collapses: list[float]
    felt: list[bool]
    next: int = 0
    """The collapse to come or in progress."""
    back: float | None = None
    """When help gets the wearer up from the collapse in progress, once known."""
    last_move: float = -math.inf
    alarm: float | None = None
    """The latest inactivity alarm's time."""


def run(*, seed: int, wearers: int, days: int, model: str, collapses: int, every: int,
        help_after: float, resolve_after: float, outcomes: str, felt: float = 0.0) -> Result:
    draw = np.random.default_rng([seed, 998])
    feel = np.random.default_rng([seed, 997])  # its own stream: --felt 0 draws the same days
    people = [_Wearer([START + (8 + every * k) * DAY + float(draw.uniform(8, 18)) * HOUR
                       for k in range(collapses)],
                      [bool(feel.uniform() < felt) for _ in range(collapses)])
              for _ in range(wearers)]
    never = START + 10 * days * DAY  # the day's own stream has no collapse in it
    moves = [movements(np.random.default_rng([seed, i]), model, days, never)
             for i in range(wearers)]
    timeline = sorted((t, i) for i, ts in enumerate(moves) for t in ts)
    detector = InactivityDetector()
    delays: list[list[float]] = [[] for _ in range(collapses)]
    felts: list[list[bool]] = [[] for _ in range(collapses)]
    # (when, wearer, the alarm's time, how long after it the silence meant is in progress)
    resolutions: list[tuple[float, int, float, float]] = []
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
            if p.felt[p.next]:  # the fall detector's alarm, at the collapse
                delays[p.next].append(0.0)
                felts[p.next].append(True)
                p.back = fell + help_after * HOUR
                if outcomes == "all":
                    resolutions.append((p.back + resolve_after * HOUR, i, fell,
                                        SILENCE_BEGINS_WITHIN))
            # an alarm in the silence the collapse fell in finds it (at the fall, if before)
            elif p.alarm is not None and p.alarm > p.last_move:
                delays[p.next].append(max(p.alarm - fell, 0.0) / HOUR)
                felts[p.next].append(False)
                p.back = max(p.alarm, fell) + help_after * HOUR
                if outcomes != "none":
                    resolutions.append((p.back + resolve_after * HOUR, i, p.alarm, 0.0))
            elif now >= back_on_feet(fell):
                delays[p.next].append(math.inf)
                felts[p.next].append(False)
                p.back = back_on_feet(fell)
        for _, i, at, after in [r for r in resolutions if r[0] <= now]:
            detector.forget(f"r{i}", at, after=after)
        resolutions = [r for r in resolutions if r[0] > now]
    return Result(delays, felts, false_day)


def row(model: str, outcomes: str, result: Result, wearer_days: int) -> str:
    cells = []
    for d in result.delays_h:
        hit = [x for x in d if math.isfinite(x)]
        median = f"{np.median(hit):.2f}" if hit else "-"
        cells.append(f"{median:>7}/{len(d) - len(hit):<2}")
    later = np.array([x for d, f in zip(result.delays_h[1:], result.felt[1:], strict=True)
                      for x, felt in zip(d, f, strict=True) if not felt])
    found = later[np.isfinite(later)]
    mean = f"{found.mean():.2f}" if len(found) else "-"
    return (f"{model:<10}{outcomes:<11}{''.join(cells)}{mean:>8}{len(later):>6}"
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
    parser.add_argument("--felt", type=float, default=0.0,
                        help="chance the fall detector feels a collapse (0: it feels none)")
    parser.add_argument("--outcomes", default=None,
                        help=f"which rows, of {', '.join(OUTCOMES)} (default: none,inactivity, "
                             "and all with --felt)")
    parser.add_argument("--models", default="ordinary,sedentary,films")
    args = parser.parse_args()
    if args.wearers < 1 or args.collapses < 1 or args.every < 1:
        parser.error("--wearers, --collapses and --every must be at least 1")
    if args.days < 8 + args.every * (args.collapses - 1) + 2:
        parser.error("--days must leave a day after the last collapse (day 8 + every x ...)")
    if args.help_after < 0 or args.resolve_after < 0:
        parser.error("--help-after and --resolve-after cannot be negative")
    if not 0.0 <= args.felt <= 1.0:
        parser.error("--felt is a chance, from 0 to 1")
    rows = (args.outcomes.split(",") if args.outcomes
            else list(OUTCOMES if args.felt > 0 else OUTCOMES[:2]))
    for name in rows:
        if name not in OUTCOMES:
            parser.error(f"unknown --outcomes {name!r}: {', '.join(OUTCOMES)}")
    for name in args.models.split(","):
        if name not in MODELS:
            parser.error(f"unknown model {name!r}: {', '.join(MODELS)}")
    wearer_days = args.wearers * args.days
    print(f"seed {args.seed}, {args.wearers} wearers x {args.days} days, {args.collapses} "
          f"collapses each from day 8 every {args.every} days, help {args.help_after:g} h after "
          f"the alarm, resolved genuine {args.resolve_after:g} h later; the fall detector feels "
          f"{args.felt:.0%} of collapses")
    print(f"{'model':<10}{'outcomes':<11}"
          + "".join(f"{f'#{n + 1} h/miss':>10}" for n in range(args.collapses))
          + f"{'mean 2+':>8}{'of':>6}{'> 4 h':>6}{'longest':>8}{'false/day':>10}")
    for model in args.models.split(","):
        for outcomes in rows:
            began = time.perf_counter()
            result = run(seed=args.seed, wearers=args.wearers, days=args.days, model=model,
                         collapses=args.collapses, every=args.every, help_after=args.help_after,
                         resolve_after=args.resolve_after, outcomes=outcomes, felt=args.felt)
            print(row(model, outcomes, result, wearer_days)
                  + f"   ({time.perf_counter() - began:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
