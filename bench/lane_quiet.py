"""How the "quieter" rule (alerts/intake.py) behaves on modelled lane counts: false calls per
lane-year with ordinary day-to-day variation, and how soon a silenced share of the district is
called.

We have no recording of a real district's per-slot device counts, so the counts are a model,
and the figures are only as good as it is (docs/operations.md says so):

* each slot's usual count follows a day: ``devices`` watches, of which a share is off the wrist
  at night (charging; ``night_off``, from 22:00 to 06:00, ramping over an hour);
* day to day, each slot's count is negative-binomial around it: Poisson counting noise plus
  extra spread with coefficient of variation ``--cv`` (holidays, weather, a day out);
* a whole day can also be odd: with probability ``--odd-days`` a day's counts are all scaled by
  0.7 (a festival when many elders are out with the watch left home).

    .venv/bin/python bench/lane_quiet.py                 # the default table
    .venv/bin/python bench/lane_quiet.py --cv 0.1 --days 365 --devices 50 200 1000
"""

from __future__ import annotations

import argparse
import datetime as dt
import math

import numpy as np

from alerts import intake

SLOTS_PER_DAY = 288
SLOT = dt.timedelta(minutes=5)
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def usual_day(devices: int, night_off: float) -> np.ndarray:
    """The usual count of each slot of a day."""
    hours = np.arange(SLOTS_PER_DAY) * 5 / 60
    # 0 by day, 1 from 22:00 to 06:00, ramping over the hour before and after
    ramp = np.where(hours >= 12, np.clip(hours - 21.0, 0, 1), np.clip(7.0 - hours, 0, 1))
    return devices * (1.0 - night_off * ramp)


def counts(rng: np.random.Generator, usual: np.ndarray, days: int, cv: float,
           odd_days: float) -> np.ndarray:
    """days x slots of counts around ``usual`` (negative binomial with extra spread ``cv``)."""
    mean = np.tile(usual, (days, 1))
    mean = mean * np.where(rng.random((days, 1)) < odd_days, 0.7, 1.0)
    if cv > 0:
        shape = 1.0 / cv**2  # gamma-mixed Poisson: variance mean + cv^2 mean^2
        mean = rng.gamma(shape, mean / shape)
    return rng.poisson(mean)


def rows(series: np.ndarray, day: int, slot: int) -> list[dict[str, object]]:
    """What store.heartbeats.read_activity would return at (day, slot): the two latest slots
    and the same ones on up to seven days before."""
    out = []
    for k in range(0, 8):
        for back in range(intake.QUIET_SLOTS):
            d, s = day - k, slot - back
            if s < 0:
                d, s = d - 1, s + SLOTS_PER_DAY
            if d < 0:
                continue
            out.append({"lane": "ingest-streams", "devices": int(series[d, s]),
                        "slot_start": T0 + dt.timedelta(days=d) + s * SLOT})
    return out


def false_calls(series: np.ndarray) -> int:
    """Slots called quieter from the second day on (a call lasting several slots counts once)."""
    calls, calling = 0, False
    for day in range(1, series.shape[0]):
        for slot in range(SLOTS_PER_DAY):
            now = bool(intake.quieter(rows(series, day, slot)))
            calls += now and not calling
            calling = now
    return calls


def detection(rng: np.random.Generator, series: np.ndarray, share: float,
              trials: int) -> tuple[float, float]:
    """(share of silencings called within 30 min, mean slots to the call) when ``share`` of the
    devices fall silent at a random slot of the last day."""
    found, delays = 0, []
    day = series.shape[0] - 1
    for _ in range(trials):
        at = int(rng.integers(0, SLOTS_PER_DAY - 6))
        hit = series.copy()
        hit[day, at:] = rng.binomial(hit[day, at:], 1.0 - share)
        for after in range(6):
            if intake.quieter(rows(hit, day, at + after)):
                found += 1
                delays.append(after + 1)
                break
    return found / trials, (float(np.mean(delays)) if delays else math.nan)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, nargs="+", default=[30, 100, 300, 1000, 3000])
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--cv", type=float, default=0.05)
    parser.add_argument("--odd-days", type=float, default=0.02)
    parser.add_argument("--night-off", type=float, default=0.5)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"model: night_off={args.night_off} cv={args.cv} odd_days={args.odd_days};"
          f" rule: share<{intake.QUIET_SHARE} and Poisson tail<{intake.QUIET_P:g},"
          f" {intake.QUIET_SLOTS} slots")
    print(f"{'watches':>8} {'false calls/lane-year':>22} {'silenced 20%':>14} {'40%':>14}"
          f" {'60%':>14} {'100%':>14}")
    for devices in args.devices:
        usual = usual_day(devices, args.night_off)
        series = counts(rng, usual, args.days, args.cv, args.odd_days)
        per_year = false_calls(series) * 365 / (args.days - 1)
        cells = []
        for share in (0.2, 0.4, 0.6, 1.0):
            rate, delay = detection(rng, series, share, args.trials)
            cells.append(f"{rate:5.0%} {delay * 5:4.0f} min" if rate else f"{rate:5.0%}     -   ")
        print(f"{devices:>8} {per_year:>22.2f} " + " ".join(f"{c:>14}" for c in cells))


if __name__ == "__main__":
    main()
