"""Compare variants of the anomaly scorer's normalisation and combination in seconds, not minutes.

The nearest-neighbour searches are nearly all of :class:`AnomalyScorer`'s cost, and their values
do not depend on how they are normalised, weighed or combined. This program records every
channel's value for every sample once (range, level, slow level, and slow shape at block sizes
1–96; ``AnomalyScorer._measure``), caches them per file, then replays the rest exactly as the
scorer does it: each channel divided by the 99.5 % quantile of its own last 1 500 values plus
its floor (refreshed every 20 samples), the multi-scale RMS, the maximum — and then the
reporting grid, the held-out splits and the short crops of ``bench/anomaly_tune.py``.

    PYTHONPATH=. .venv/bin/python bench/anomaly_replay.py --data /work/shared/data/nab-dev \\
        --labels /work/shared/data/nab-dev/combined_windows.json [--vary level_weight=0.1] ...

With no ``--vary`` it reproduces the default scorer's figures of ``anomaly_tune.py --holdout
--short 1200,2000``: the dev score, the four fixed halves, each category left out in turn, and
the crops; then the means over ``--random-halves`` random halvings (10 by default, both ways).
The first run records (about 4 minutes on two cores); later runs read the cache (``--cache``,
keyed by the file's values and the recording configuration) and take about a minute. Each
``--vary`` names one field of :class:`Variant`; several apply together.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import sys
import tempfile
from collections import deque
from dataclasses import dataclass, fields, replace
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bench.anomaly_tune import (
    REPORT_AT,
    _halves,
    crop_lengths,
    grid,
    held_out,
    left_out_categories,
    random_halves,
    score_swept,
    score_with,
)
from detection.anomaly import MEASURES, MIN_HISTORY, REFRESH, AnomalyConfig, AnomalyScorer
from detection.recurrence import DailyRecurrence
from eldercare.evaluation.nab import BadInput, NabFile, crop, load_corpus
from eldercare.evaluation.nab_scoring import FloatArray

RECORDED_SCALES = (1, 2, 3, 6, 12, 24, 48, 96)
RECORDING = AnomalyConfig(measures=("range", "level", "slow_level", "multiscale"),
                          scales=RECORDED_SCALES, warmup=0, recurring_days=0)
"""Every channel a variant may use; the default's window (1 000), block (12), embedding and
memory, so the recorded values are the default scorer's own."""
CHANNELS = ["range", "level", "slow_level", *(f"multiscale{b}" for b in RECORDED_SCALES)]


@dataclass(frozen=True, slots=True, kw_only=True)
class Variant:
    """How the recorded values are normalised and combined; the defaults are the scorer's."""

    scales: tuple[int, ...] = (3, 6, 12, 24, 48)
    """Block sizes in the multi-scale RMS (any of :data:`RECORDED_SCALES`)."""
    rms_over: str = "all"
    """``all``: a block size that cannot judge yet counts 0 (the scorer); ``able``: the RMS is
    over the block sizes able to judge."""
    level_weight: float = 0.25
    """0 leaves the level measure out."""
    slow_level_weight: float = 0.0
    range_floor: float = MEASURES["range"]
    min_history: int = MIN_HISTORY
    history: int = 1500
    quantile: float = 0.995
    recent_fraction: float = 0.8
    """Every reference but the range measure's uses the values of the latest share of the
    samples seen (1: all kept)."""
    recurring_days: int = AnomalyConfig().recurring_days
    """Days a level outlier is looked for at the same time of day (0: off); the slot, span and
    ratio are the scorer's defaults."""
    tail_p: float = 0.0
    """0: each reference is the ``quantile`` of its history (the scorer). Otherwise the level
    exceeded with probability ``tail_p``, from a generalised Pareto tail fitted to the history's
    values above its ``tail_u`` quantile (peaks over threshold, as SPOT does: Siffer et al., KDD
    2017; the fit by probability-weighted moments, Hosking & Wallis, Technometrics 1987), so a
    heavy-tailed history gets a higher reference than a light-tailed one with the same
    quantile. Tried 2026-12-07, not kept (docs/anomaly.md)."""
    tail_u: float = 0.98
    gain: float = 1.0
    """Every raw score multiplied by this: the same as dividing the grid's report levels by it
    (for references on another scale than the quantile's, such as ``tail_p``'s)."""


class _Recorder(AnomalyScorer):
    """Keeps every channel's value per sample instead of scoring."""

    def __init__(self) -> None:
        super().__init__(RECORDING)
        self.rows: list[list[float]] = [[math.nan] * len(CHANNELS)]  # the first sample: none

    def _ratios(self, x: float, values: np.ndarray, timestamp: float) -> list[float]:
        self.rows.append([math.nan if v is None else v for v in self._measure(x, values)])
        return [0.0]


def _accepted(epoch: FloatArray, values: FloatArray) -> npt.NDArray[np.intp]:
    """Rows the scorer takes: finite, and later than the last one it took (``score`` drops
    the rest; four dev files repeat a timestamp)."""
    taken, last = [], -math.inf
    for i, (t, v) in enumerate(zip(epoch.tolist(), values.tolist(), strict=True)):
        if t > last and math.isfinite(v):
            taken.append(i)
            last = t
    return np.array(taken, dtype=np.intp)


def _record(values: FloatArray) -> FloatArray:
    recorder = _Recorder()
    # the channel values do not depend on time (the daily recurrence, which does, is replayed)
    for i, v in enumerate(values):
        recorder._step(float(v), float(i))
    return np.array(recorder.rows[: len(values)], dtype=np.float64)


@dataclass(frozen=True, slots=True)
class Recorded:
    rows: FloatArray  # the channel values of the accepted rows (columns: CHANNELS)
    accepted: npt.NDArray[np.intp]  # their row numbers in the file
    epoch: FloatArray  # every row's time


def recorded(files: list[NabFile], cache: Path, jobs: int) -> list[Recorded]:
    """The channel values of every file's accepted rows."""
    cache.mkdir(parents=True, exist_ok=True)
    salt = repr(RECORDING).encode()
    accepted = [_accepted(f.epoch, f.values) for f in files]
    inputs = [f.values[a] for f, a in zip(files, accepted, strict=True)]
    paths = [cache / f"{hashlib.sha1(salt + v.tobytes()).hexdigest()}.npy" for v in inputs]
    missing = [(v, p) for v, p in zip(inputs, paths, strict=True) if not p.exists()]
    if missing:
        # the longest first, so the workers finish together
        missing.sort(key=lambda item: -len(item[0]))
        with Pool(jobs) as pool:
            for (_, path), rows in zip(missing, pool.imap(_record, [m[0] for m in missing]),
                                       strict=True):
                np.save(path, rows)
    return [Recorded(rows=np.load(p), accepted=a, epoch=f.epoch)
            for p, a, f in zip(paths, accepted, files, strict=True)]


def replay(record: Recorded, variant: Variant) -> FloatArray:
    """The raw (unsuppressed) score of every row, as the scorer configured like ``variant``
    would compute it; reporting is applied afterwards by the grid. A row the scorer dropped
    gets what ``run_scorer`` gives it: the score of the taken row with its timestamp, else 0."""
    taken = _replay_rows(record.rows, record.epoch[record.accepted], variant)
    by_time = dict(zip(record.epoch[record.accepted].tolist(), taken.tolist(), strict=True))
    return np.array([by_time.get(t, 0.0) for t in record.epoch.tolist()])


def tail_level(values: FloatArray, *, u_quantile: float, p: float) -> float:
    """The level ``values`` exceed with probability ``p``, by a generalised Pareto fit to the
    excesses over their ``u_quantile`` quantile (probability-weighted moments; the shape is
    clipped to [-0.5, 0.5], where the estimator holds). Fewer than ten excesses: the empirical
    ``1 - p`` quantile."""
    u = float(np.quantile(values, u_quantile))
    excess = np.sort(values[values > u] - u)
    n = len(excess)
    if n < 10:
        return float(np.quantile(values, 1 - p))
    a0 = float(excess.mean())
    a1 = float(np.mean(excess * (n - 1 - np.arange(n)) / (n - 1)))
    if a0 - 2 * a1 <= 0:
        return float(np.quantile(values, 1 - p))
    xi = -(a0 / (a0 - 2 * a1) - 2)  # Hosking's k is -xi
    sigma = 2 * a0 * a1 / (a0 - 2 * a1)
    xi = min(0.5, max(-0.5, xi))
    rate = n / len(values)
    if rate <= p:
        return float(excess[-1] + u)
    if abs(xi) < 1e-6:
        return u + sigma * math.log(rate / p)
    return float(u + sigma / xi * ((rate / p) ** xi - 1))


def _replay_rows(rows: FloatArray, times: FloatArray, variant: Variant) -> FloatArray:
    used = ["range", "level", "slow_level", *(f"multiscale{b}" for b in variant.scales)]
    floors = [variant.range_floor, MEASURES["level"], MEASURES["slow_level"],
              *([MEASURES["multiscale"]] * len(variant.scales))]
    weights = [1.0, variant.level_weight, variant.slow_level_weight]
    columns = rows[:, [CHANNELS.index(name) for name in used]]
    histories: list[deque[float]] = [deque(maxlen=variant.history) for _ in used]
    references: list[float | None] = [None] * len(used)
    raw = np.zeros(len(rows))
    n_scales = len(variant.scales)
    defaults = AnomalyConfig()
    recurrence = (DailyRecurrence(days=variant.recurring_days, slot=defaults.recurring_slot,
                                  span=defaults.recurring_span, ratio=defaults.recurring_ratio)
                  if variant.recurring_days > 0 and variant.level_weight > 0 else None)
    for t in range(1, len(rows)):
        routine = False
        if recurrence is not None and not math.isnan(columns[t, 1]):
            routine = recurrence.seen_before(float(times[t]), float(columns[t, 1]))
            recurrence.add(float(times[t]), float(columns[t, 1]))
        if t % REFRESH == 0 or t == 1:
            recent = max(MIN_HISTORY, int(variant.recent_fraction * t))
            def reference_of(values: FloatArray) -> float:
                if variant.tail_p > 0:
                    return tail_level(values, u_quantile=variant.tail_u, p=variant.tail_p)
                return float(np.quantile(values, variant.quantile))

            references = [
                reference_of(np.fromiter(h, dtype=np.float64)[-(t if k == 0 else recent):])
                if len(h) >= variant.min_history else None
                for k, h in enumerate(histories)
            ]
        best, squares, able = 0.0, 0.0, 0
        for k, value in enumerate(columns[t]):
            if math.isnan(value):
                continue
            histories[k].append(round(float(value), 5))
            reference = references[k]
            if reference is None:
                continue
            ratio = value / (reference + floors[k])
            if k < 3:
                if weights[k] > 0 and not (k == 1 and routine):
                    best = max(best, weights[k] * ratio)
            else:
                squares += ratio * ratio
                able += 1
        if able:
            best = max(best, math.sqrt(squares / (n_scales if variant.rms_over == "all" else able)))
        raw[t] = best * variant.gain
    raw[: AnomalyConfig().warmup] = 0.0  # the scorer reports nothing while it learns
    return raw


def _vary(item: str) -> tuple[str, Any]:
    """``--vary FIELD=VALUE``: one :class:`Variant` field."""
    key, _, value = item.partition("=")
    names = {f.name for f in fields(Variant)}
    if key not in names:
        raise argparse.ArgumentTypeError(f"{item!r}: FIELD is one of {sorted(names)}")
    try:
        if key == "scales":
            scales = tuple(int(b) for b in value.split("+"))
            if set(scales) - set(RECORDED_SCALES):
                raise ValueError
            return key, scales
        if key == "rms_over":
            if value not in ("all", "able"):
                raise ValueError
            return key, value
        number = float(value) if "." in value else int(value)
        if key == "recent_fraction" and not 0 < number <= 1:
            raise ValueError  # the scorer refuses it too
        return key, number
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{item!r}: bad value (scales: '+'-joined of {RECORDED_SCALES}; rms_over: all or "
            "able; recent_fraction: in (0, 1]; otherwise a number)") from None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--labels", type=Path, required=True)
    parser.add_argument("--vary", type=_vary, action="append", default=[], metavar="FIELD=VALUE",
                        help="a Variant field, e.g. level_weight=0.1 or scales=6+12+24+48")
    parser.add_argument("--short", type=crop_lengths, default=[1200, 2000],
                        help="comma-separated crop lengths ('' for none)")
    parser.add_argument("--cache", type=Path,
                        default=Path(tempfile.gettempdir()) / "eldercare-anomaly-replay")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--random-halves", type=int, default=10, metavar="N",
                        help="also N random halvings, both ways (0: none; about 2 s each)")
    args = parser.parse_args(argv)
    variant = replace(Variant(), **dict(args.vary))
    try:
        files = load_corpus(args.data, args.labels)
    except BadInput as error:
        parser.exit(2, f"{parser.prog}: {error}\n")
    lengths: list[int] = args.short
    crops = {n: crop(files, n) for n in lengths}
    every = files + [c for n in lengths for c in crops[n]]
    raws = dict(zip((f.name for f in every),
                    (replay(r, variant) for r in recorded(every, args.cache, args.jobs)),
                    strict=True))
    config = AnomalyConfig()
    file_raws = [raws[f.name] for f in files]
    best, point = grid(files, file_raws, config)[0]
    print(f"{variant}")
    print(f"dev {best:5.1f} at {point}")
    held, swept = [], []
    for split in ("files", "categories"):
        halves = _halves(files, split)
        for train, test in (halves, halves[::-1]):
            point_half = grid([files[i] for i in train], [file_raws[i] for i in train], config)[0][1]
            test_files, test_raws = [files[i] for i in test], [file_raws[i] for i in test]
            held.append(score_with(test_files, test_raws, config, point_half))
            swept.append(score_swept(test_files, test_raws, config, point_half))
    print("held out " + " / ".join(f"{h:.1f}" for h in held) + f", mean {np.mean(held):.1f}; "
          "threshold swept " + " / ".join(f"{s:.1f}" for s in swept)
          + f", mean {np.mean(swept):.1f}")
    for category, train, test in left_out_categories(files):
        _, _, fixed, swept_there = held_out(files, file_raws, config, REPORT_AT, train, test)
        print(f"{category} left out: {fixed:.1f}, threshold swept {swept_there:.1f}")
    if args.random_halves > 0:
        pairs = random_halves(files, range(args.random_halves))
        results = [held_out(files, file_raws, config, REPORT_AT, train, test)[2:]
                   for train, test in pairs]
        print(f"{len(pairs)} random halves: held out mean {np.mean([r[0] for r in results]):.1f}, "
              f"threshold swept mean {np.mean([r[1] for r in results]):.1f}")
    for n in lengths:
        crop_raws = [raws[c.name] for c in crops[n]]
        print(f"crops of {n} rows: {score_with(crops[n], crop_raws, config, point):.1f} at the "
              f"dev optimum, threshold swept {score_swept(crops[n], crop_raws, config, point):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
