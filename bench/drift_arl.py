"""False drifts and detection delay of :class:`detection.drift.SlowDrift` on synthetic hourly
means whose hours are *not* independent.

The CUSUM's ARL of 465 samples in control (Montgomery's table for k = 1/2, h = 5) holds for
independent N(0, 1) input with known mean and spread. A resident's hourly at-rest means are not
that: a feverish or anxious day lifts every hour of it, one hour leans on the last, and the
baseline is estimated from a few weeks. No real recordings of hourly at-rest vitals are
available here, so this program measures how far the monitor's false alarm rate moves under
those departures, with the sizes as parameters:

* ``ar``: hour-to-hour autocorrelation of the within-day deviation (AR(1), unit variance);
* ``day``: a day effect shared by every hour of a day, N(0, day²) in the same units (a "bad
  day"); the total spread of an hour's mean is ``sigma · sqrt(1 + day²)``. Its days begin at
  midnight or at 08:00, where the monitor's days begin: a day effect that straddles two of the
  monitor's days makes two strange days in a row of one.

Each resident's hourly mean is ``70 + 6 sin(2π hour / 24) + sigma · (ar(1) + day effect)`` bpm,
with ``sigma`` above the heart rate's spread floor (3 bpm) so that the floor does not mask the
statistics; each hour is fed as sixty at-rest readings a minute apart (N(0, 2 bpm) about the
hour's mean), every hour at rest: the most hours the monitor ever judges (a real wearer's walks
skip hours, and a day with fewer than six at-rest hours is not a sample).

In control: ``--years`` resident-years per scenario; prints the judged days per false drift
(the ARL in the monitor's daily samples, its quiet day after each report included; a monitor
judges from its eleventh day: three days to learn each local hour, then seven days of daily
samples) and false drifts per resident-year. Out of control: a sustained shift of 1 and 2
``sigma`` (of the hour-to-hour spread) from the start of day 29; prints the median and 90th
percentile hours to the first ``up`` report, and how many of ``--residents`` had none within 14
days.

    PYTHONPATH=. .venv/bin/python bench/drift_arl.py [--years 20] [--seed 1] [--json]
        [--h 5] [--shift-day 29]

``--h`` sets the CUSUM's decision interval (``DriftConfig.h``) and ``--shift-day`` the day
the shifts begin on: with 12, how a monitor in its second week (judging from day 11 on a week
of days) does, where a new resident's drifts are missed most.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass

import numpy as np

from detection.drift import DriftConfig, SlowDrift

HOUR = 3600.0
DAY = 86400.0
READINGS_PER_HOUR = 60
FLOOR = 3.0  # the heart rate's spread floor in detection/vitals.py


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    ar: float
    day: float
    phase: int = 0
    """Local hour at which one day effect gives way to the next: 0 (midnight), or 8, where the
    monitor's days begin (a bad night and the day after it as one unit)."""


SCENARIOS = (
    Scenario("independent hours", 0.0, 0.0),
    Scenario("AR(1) 0.3", 0.3, 0.0),
    Scenario("AR(1) 0.6", 0.6, 0.0),
    Scenario("day effect 0.5 from 00:00", 0.0, 0.5),
    Scenario("day effect 0.5 from 08:00", 0.0, 0.5, 8),
    Scenario("day effect 1.0 from 00:00", 0.0, 1.0),
    Scenario("day effect 1.0 from 08:00", 0.0, 1.0, 8),
    Scenario("AR(1) 0.3 + day 0.5 at 00:00", 0.3, 0.5),
)


def hourly_means(rng: np.random.Generator, scenario: Scenario, hours: int, sigma: float,
                 shift_from: int | None = None, shift: float = 0.0) -> np.ndarray:
    """One resident's hourly means (bpm); ``shift`` σ added from hour ``shift_from`` on."""
    e = np.empty(hours)
    innovation = rng.standard_normal(hours) * math.sqrt(1.0 - scenario.ar**2)
    e[0] = rng.standard_normal()
    for i in range(1, hours):
        e[i] = scenario.ar * e[i - 1] + innovation[i]
    days = rng.standard_normal(hours // 24 + 2) * scenario.day
    h = np.arange(hours)
    effect = days[(h + 24 - scenario.phase) // 24]
    means: np.ndarray = 70.0 + 6.0 * np.sin(2 * math.pi * (h % 24) / 24.0) + sigma * (e + effect)
    if shift_from is not None:
        means[shift_from:] += shift * sigma
    return means


def feed(rng: np.random.Generator, means: np.ndarray,
         config: DriftConfig | None = None) -> tuple[int, list[float]]:
    """Judged days and the report times (hours from the start) of one fresh monitor."""
    drift = SlowDrift(config or DriftConfig(), tz="UTC")
    step = HOUR / READINGS_PER_HOUR
    reports = []
    noise = rng.standard_normal((len(means), READINGS_PER_HOUR)) * 2.0
    for hour, mean in enumerate(means):
        base = hour * HOUR
        for j in range(READINGS_PER_HOUR):
            found = drift.add(base + j * step, float(mean + noise[hour, j]), floor=FLOOR)
            if found is not None:
                reports.append((found.timestamp / HOUR, found.direction))
    # every day from the eleventh on is judged (three days of each local hour, then seven days)
    judged = max(0, len(means) // 24 - 10)
    return judged, [t for t, _ in reports]


def in_control(rng: np.random.Generator, scenario: Scenario, years: float, sigma: float,
               days_per_resident: int, config: DriftConfig | None = None) -> dict[str, float]:
    residents = max(1, round(years * 365 / days_per_resident))
    judged = alarms = 0
    for _ in range(residents):
        n, reports = feed(rng, hourly_means(rng, scenario, days_per_resident * 24, sigma), config)
        judged += n
        alarms += len(reports)
    resident_years = residents * days_per_resident / 365.0
    return {
        "judged_days": judged,
        "false_drifts": alarms,
        "arl_days": judged / alarms if alarms else math.inf,
        "per_resident_year": alarms / resident_years,
    }


def delay(rng: np.random.Generator, scenario: Scenario, shift: float, sigma: float,
          residents: int, config: DriftConfig | None = None, shift_day: int = 29
          ) -> dict[str, float]:
    start = (shift_day - 1) * 24
    waits = []
    missed = 0
    for _ in range(residents):
        means = hourly_means(rng, scenario, start + 14 * 24, sigma, start, shift)
        _, reports = feed(rng, means, config)
        after = [t - start for t in reports if t >= start]
        if after:
            waits.append(after[0])
        else:
            missed += 1
    return {
        "median_hours": float(np.median(waits)) if waits else math.inf,
        "p90_hours": float(np.percentile(waits, 90)) if waits else math.inf,
        "missed_in_14_days": missed,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--years", type=float, default=20.0,
                        help="resident-years in control per scenario")
    parser.add_argument("--days", type=int, default=120, help="days per simulated resident")
    parser.add_argument("--residents", type=int, default=40,
                        help="residents per shift size for the detection delay")
    parser.add_argument("--sigma", type=float, default=4.0,
                        help="spread of an hour's mean (bpm), above the 3 bpm floor")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--h", type=float, default=DriftConfig().h,
                        help="the CUSUM's decision interval (DriftConfig.h)")
    parser.add_argument("--shift-day", type=int, default=29,
                        help="the day the shifts begin on (12: a monitor's second week)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.years <= 0 or args.days < 10 or args.residents < 1 or args.sigma <= 0 \
            or args.h <= 0 or args.shift_day < 1:
        parser.error("--years, --sigma and --h must be positive, --days at least 10, "
                     "--residents and --shift-day at least 1")
    config = DriftConfig(h=args.h)
    rng = np.random.default_rng(args.seed)
    started = time.monotonic()
    rows = []
    for scenario in SCENARIOS:
        row = {"scenario": scenario.name, "ar": scenario.ar, "day": scenario.day,
               **in_control(rng, scenario, args.years, args.sigma, args.days, config)}
        for shift in (1.0, 2.0):
            d = delay(rng, scenario, shift, args.sigma, args.residents, config, args.shift_day)
            row.update({f"shift_{shift:g}_{k}": v for k, v in d.items()})
        rows.append(row)
        if not args.json:
            print(f"{scenario.name:28s} ARL {row['arl_days']:6.0f} days  "
                  f"false drifts {row['per_resident_year']:5.1f} per resident-year  | "
                  f"1σ: median {row['shift_1_median_hours']:5.1f} h, p90 "
                  f"{row['shift_1_p90_hours']:5.1f} h, missed {row['shift_1_missed_in_14_days']}  "
                  f"| 2σ: median {row['shift_2_median_hours']:5.1f} h, p90 "
                  f"{row['shift_2_p90_hours']:5.1f} h", flush=True)
    if args.json:
        print(json.dumps({"sigma": args.sigma, "years": args.years, "seed": args.seed,
                          "h": args.h, "shift_day": args.shift_day, "rows": rows}))
    else:
        print(f"({time.monotonic() - started:.0f} s; every hour at rest, sigma {args.sigma} bpm, "
              f"floor {FLOOR} bpm, {args.years:g} resident-years per scenario, h {args.h:g},"
              f" shifts from day {args.shift_day})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
