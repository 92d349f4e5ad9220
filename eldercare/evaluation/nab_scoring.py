"""NAB scoring: the project's own implementation of the Numenta Anomaly Benchmark score.

Method (Lavin & Ahmad, "Evaluating Real-time Anomaly Detection Algorithms — the Numenta Anomaly
Benchmark", IEEE ICMLA 2015, section III):

* Each labelled anomaly sits in a *window*. A detection inside a window is a true positive worth
  ``A_TP * σ(y) / σ(-1)`` where ``σ(y) = 2 / (1 + e^(5y)) - 1`` is the scaled sigmoid and
  ``y = -(right - i + 1) / width`` runs from -1 at the window's start towards 0 at its end; only
  the best (earliest) detection of a window counts, so the start of a window is worth exactly
  ``A_TP``.
* A detection outside every window is a false positive worth ``A_FP * σ(y)`` (negative), with
  ``y = |i - previous right edge| / (previous width - 1)`` so that a detection just after a window
  costs little and one far from it costs ``A_FP``; before the first window it costs ``A_FP``.
* A window without a detection costs ``A_FN``. The first 15 % of a file (at most 750 rows) is a
  probationary period whose rows are not scored.
* A detector emits a score in [0, 1]; the threshold turning scores into detections is the one
  that maximises the total over the whole corpus, and the total is normalised so that the null
  detector (never detects) scores 0 and the perfect detector (every window at its start) 100.

Example — one window [10, 19] in 100 rows, a detection at its start is perfect:

>>> s = FileScoring.build(n_rows=100, windows=[(10, 19)], probation=0)
>>> round(s.raw(np.r_[np.zeros(10), 1.0, np.zeros(89)] >= 0.5, STANDARD), 6)
1.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True, kw_only=True)
class Profile:
    """Weights of one NAB application profile (the paper's table I)."""

    name: str
    tp: float
    fp: float
    fn: float


STANDARD = Profile(name="standard", tp=1.0, fp=0.11, fn=1.0)
REWARD_LOW_FP = Profile(name="reward_low_FP_rate", tp=1.0, fp=0.22, fn=1.0)
REWARD_LOW_FN = Profile(name="reward_low_FN_rate", tp=1.0, fp=0.11, fn=2.0)
PROFILES = (STANDARD, REWARD_LOW_FP, REWARD_LOW_FN)

PROBATION_FRACTION = 0.15
PROBATION_CAP = 0.15 * 5000  # NAB caps the probationary period at 750 rows


def scaled_sigmoid(position: float) -> float:
    """The paper's σ: +0.987 at a window's start (-1), 0 at its end (0), -1 far after (>= 3)."""
    if position >= 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


MAX_TP = scaled_sigmoid(-1.0)


def probation_rows(n_rows: int) -> int:
    return int(min(math.floor(PROBATION_FRACTION * n_rows), PROBATION_CAP))


@dataclass(frozen=True, slots=True, kw_only=True)
class FileScoring:
    """Per-row weights of one file: the unit value of a detection at each row.

    ``window`` holds the index of the row's window (-1 outside every window, -2 in the
    probationary period); ``tp_value`` is σ(y)/σ(-1) for window rows, ``fp_value`` σ(y) for rows
    outside windows (both unweighted, so any profile can be applied).
    """

    window: npt.NDArray[np.int64]
    tp_value: FloatArray
    fp_value: FloatArray
    n_windows: int

    @classmethod
    def build(
        cls, *, n_rows: int, windows: list[tuple[int, int]], probation: int | None = None
    ) -> FileScoring:
        """``windows`` are inclusive (first row, last row) pairs in time order."""
        window = np.full(n_rows, -1, dtype=np.int64)
        tp_value = np.zeros(n_rows)
        fp_value = np.full(n_rows, -1.0)  # before any window a false positive costs A_FP
        rows = np.arange(n_rows)
        for k, (left, right) in enumerate(windows):
            width = right - left + 1
            window[left : right + 1] = k
            inside = rows[left : right + 1]
            tp_value[left : right + 1] = [
                scaled_sigmoid(-(right - i + 1) / width) / MAX_TP for i in inside
            ]
            stop = windows[k + 1][0] if k + 1 < len(windows) else n_rows
            # max(.., 1) keeps a one-row window from dividing by zero
            fp_value[right + 1 : stop] = [
                scaled_sigmoid(abs(i - right) / max(width - 1, 1)) for i in rows[right + 1 : stop]
            ]
        skip = probation_rows(n_rows) if probation is None else probation
        window[:skip] = -2
        scored = {int(w) for w in window[window >= 0]}
        # a window wholly inside the probationary period is not scored at all
        remap = {w: j for j, w in enumerate(sorted(scored))}
        window = np.array([remap.get(int(w), w) if w >= 0 else w for w in window], dtype=np.int64)
        return cls(window=window, tp_value=tp_value, fp_value=fp_value, n_windows=len(scored))

    def raw(self, detections: BoolArray, profile: Profile) -> float:
        """The raw NAB score of boolean detections under ``profile``."""
        score = 0.0
        outside = detections & (self.window == -1)
        score += profile.fp * float(self.fp_value[outside].sum())
        for k in range(self.n_windows):
            hit = detections & (self.window == k)
            score += profile.tp * float(self.tp_value[hit].max()) if hit.any() else -profile.fn
        return score

    def events(self, scores: FloatArray, profile: Profile) -> tuple[FloatArray, FloatArray]:
        """(threshold, score change) pairs: lowering the threshold to t adds the changes at t.

        A false positive adds its cost at its own anomaly score; a window's value is the best of
        its detections, so it changes only where a new, better detection enters.
        """
        thresholds: list[FloatArray] = []
        deltas: list[FloatArray] = []
        outside = self.window == -1
        thresholds.append(scores[outside])
        deltas.append(profile.fp * self.fp_value[outside])
        for k in range(self.n_windows):
            rows = np.flatnonzero(self.window == k)
            order = np.argsort(-scores[rows], kind="stable")
            best = np.maximum.accumulate(profile.tp * self.tp_value[rows][order])
            previous = np.r_[-profile.fn, best[:-1]]
            gain = best - np.maximum(previous, -profile.fn)
            keep = gain > 0
            thresholds.append(scores[rows][order][keep])
            deltas.append(gain[keep])
        return np.concatenate(thresholds), np.concatenate(deltas)


@dataclass(frozen=True, slots=True, kw_only=True)
class CorpusScore:
    """The best threshold over a corpus and the scores it gives."""

    threshold: float
    raw: float
    null: float
    perfect: float

    @property
    def normalized(self) -> float:
        return 100.0 * (self.raw - self.null) / (self.perfect - self.null)


def optimise(files: list[tuple[FileScoring, FloatArray]], profile: Profile) -> CorpusScore:
    """Sweep every distinct anomaly score as a threshold (``score >= t`` detects) and keep the
    one with the highest corpus total; ties go to the higher threshold (fewer detections)."""
    n_windows = sum(f.n_windows for f, _ in files)
    null = -profile.fn * n_windows
    perfect = profile.tp * n_windows
    parts = [f.events(s, profile) for f, s in files]
    thresholds = np.concatenate([t for t, _ in parts]) if parts else np.zeros(0)
    deltas = np.concatenate([d for _, d in parts]) if parts else np.zeros(0)
    best_threshold, best = 1.1, null  # above every score: no detections at all
    if thresholds.size:
        order = np.argsort(-thresholds, kind="stable")
        t_sorted, totals = thresholds[order], null + np.cumsum(deltas[order])
        # the total at a threshold includes every event with that same score
        last = np.r_[t_sorted[1:] != t_sorted[:-1], True]
        candidates, values = t_sorted[last], totals[last]
        i = int(np.argmax(values))
        if values[i] > best:
            best_threshold, best = float(candidates[i]), float(values[i])
    return CorpusScore(threshold=best_threshold, raw=best, null=null, perfect=perfect)
