"""Train the fall model (``detection/fall_model.json``) from SisFall-format trials.

1. Every trial streams through the real :class:`detection.fall.FallDetector` (same resampling
   and 1 s windows as ``eldercare eval falls``) with an unreachable threshold, so every
   candidate peak is scored and none silences the next; ``on_candidate`` records its features.
2. Labels: a candidate in a fall trial within ``LABEL_WINDOW_S`` of the reference impact (the
   trial's largest magnitude) is a fall; every candidate of an ADL trial, and those of a fall
   trial more than 2 s *before* the impact (walking/jogging before the fall), are not; the rest
   (movement after the fall) is left out.
3. A logistic regression with an L2 penalty (``--l2``) on the standardised features; each trial
   weighs the same in total (a jogging trial with 200 peaks must not outvote 200 falls), and the
   two classes weigh the same.

Usage::

    .venv/bin/python bench/train_fall_model.py --data ../shared/data/sisfall-dev [--hz 50]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from detection.fall import FallConfig, FallDetector  # noqa: E402
from detection.fall_features import FEATURE_NAMES, NUMERIC_NAMES, FallFeatures  # noqa: E402
from detection.fall_model import MODEL_PATH, FallModel  # noqa: E402
from eldercare.evaluation.falls import (  # noqa: E402
    T0,
    Trial,
    load_subject,
    replay,
    subject_files,
)

LABEL_WINDOW_S = 1.0
TARGET_SENSITIVITY = 0.98
TARGET_SPECIFICITY = 0.99
TRANSFORMS = {
    "peak_g": "log",
    "free_fall_g": "identity",
    "velocity_ms": "identity",
    "posture_change_deg": "identity",
    "post_sd_g": "log",
    "pre_sd_g": "log",
    "impact_area_gs": "log",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidates:
    """Features of every candidate peak, with labels and where they came from."""

    x: np.ndarray  # (m, k) in NUMERIC_NAMES order
    y: np.ndarray  # (m,) 1 fall, 0 not, -1 left out
    subject: np.ndarray  # (m,) str
    trial: np.ndarray  # (m,) str
    all_trials: np.ndarray  # (t,) str: every trial replayed, with or without candidates
    all_subjects: np.ndarray  # (t,) str: their subjects

    def of_subjects(self, subjects: Iterable[str]) -> Candidates:
        wanted = list(subjects)
        keep = np.isin(self.subject, wanted)
        mine = np.isin(self.all_subjects, wanted)
        return Candidates(
            x=self.x[keep],
            y=self.y[keep],
            subject=self.subject[keep],
            trial=self.trial[keep],
            all_trials=self.all_trials[mine],
            all_subjects=self.all_subjects[mine],
        )


def collect(files: Iterable[Path], hz: float, config: FallConfig | None = None) -> Candidates:
    rows: list[np.ndarray] = []
    labels: list[int] = []
    subjects: list[str] = []
    names: list[str] = []
    everything: list[str] = []
    owners: list[str] = []
    for path in files:
        trials = {t.name: t for t in load_subject(path, hz)}
        everything += list(trials)
        owners += [t.subject for t in trials.values()]
        det = FallDetector(replace(config or FallConfig(), threshold=2.0))

        def seen(
            device: str,
            f: FallFeatures,
            _p: float,
            impact: float,
            trials: dict[str, Trial] = trials,
        ) -> None:
            t = trials[device]
            label = 0
            if t.is_fall:
                dt = impact - (T0 + t.ref_impact_s)
                label = 1 if abs(dt) <= LABEL_WINDOW_S else (0 if dt < -2.0 else -1)
            rows.append(f.vector(NUMERIC_NAMES))
            labels.append(label)
            subjects.append(t.subject)
            names.append(t.name)

        det.on_candidate = seen
        replay(list(trials.values()), det)
    return Candidates(
        x=np.array(rows),
        y=np.array(labels),
        subject=np.array(subjects),
        trial=np.array(names),
        all_trials=np.array(everything),
        all_subjects=np.array(owners),
    )


def out_of_fold(c: Candidates, l2: float) -> np.ndarray:
    """Each candidate's probability from a model trained without its subject (LOSO)."""
    p = np.zeros(len(c.y))
    for s in np.unique(c.subject):
        others = c.of_subjects(np.setdiff1d(np.unique(c.subject), [s]))
        model = fit(others, l2)
        mine = c.subject == s
        p[mine] = model.probabilities(c.x[mine][:, model_columns(model)])
    return p


def model_columns(model: FallModel) -> list[int]:
    return [NUMERIC_NAMES.index(n) for n in model.names]


def trial_rates(c: Candidates, p: np.ndarray, threshold: float) -> tuple[float, float]:
    """Trial-level (sensitivity, specificity) if candidates with ``p >= threshold`` alarm.

    A fall trial counts as found only through a candidate at its impact (label 1).
    """
    alarmed = set(c.trial[(p >= threshold) & (c.y != -1)])
    falls = [t for t in c.all_trials if t.startswith("F")]
    adls = [t for t in c.all_trials if t.startswith("D")]
    sens = sum(t in alarmed for t in falls) / max(1, len(falls))
    spec = sum(t not in alarmed for t in adls) / max(1, len(adls))
    return sens, spec


def choose_threshold(c: Candidates, p: np.ndarray) -> float:
    """The threshold with the largest worst-case margin over the targets (sens 98%, spec 99%).

    ``p`` must be out-of-fold probabilities, so the choice reflects unseen subjects.
    """
    grid = np.round(np.arange(0.20, 0.96, 0.01), 2)
    margins = []
    for thr in grid:
        sens, spec = trial_rates(c, p, float(thr))
        margins.append(min(sens - TARGET_SENSITIVITY, spec - TARGET_SPECIFICITY))
    return float(grid[int(np.argmax(margins))])


def fit(c: Candidates, l2: float = 1.0, names: tuple[str, ...] = FEATURE_NAMES) -> FallModel:
    """L2-regularised logistic regression, trials and classes weighted equally."""
    use = c.y >= 0
    cols = [NUMERIC_NAMES.index(n) for n in names]
    x, y, trial = c.x[use][:, cols], c.y[use].astype(np.float64), c.trial[use]
    transforms = tuple(TRANSFORMS[n] for n in names)
    raw = FallModel(
        names=names,
        mean=(0.0,) * len(names),
        scale=(1.0,) * len(names),
        weights=(0.0,) * len(names),
        bias=0.0,
        transforms=transforms,
    )
    z = raw.transform(x)
    mean, scale = z.mean(axis=0), z.std(axis=0) + 1e-9
    z = (z - mean) / scale
    _, inverse, per_trial = np.unique(trial, return_inverse=True, return_counts=True)
    w = 1.0 / per_trial[inverse]
    for cls in (0.0, 1.0):
        w[y == cls] /= w[y == cls].sum()
    w *= len(w) / w.sum()

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        logit = z @ theta[:-1] + theta[-1]
        p = 1.0 / (1.0 + np.exp(-logit))
        nll = np.sum(w * (np.logaddexp(0.0, logit) - y * logit))
        grad_logit = w * (p - y)
        grad = np.append(z.T @ grad_logit, grad_logit.sum())
        grad[:-1] += l2 * theta[:-1]
        return float(nll + 0.5 * l2 * theta[:-1] @ theta[:-1]), grad

    theta0 = np.zeros(z.shape[1] + 1)
    res = minimize(loss, theta0, jac=True, method="L-BFGS-B")
    return FallModel(
        names=names,
        mean=tuple(float(v) for v in mean),
        scale=tuple(float(v) for v in scale),
        weights=tuple(round(float(v), 6) for v in res.x[:-1]),
        bias=round(float(res.x[-1]), 6),
        transforms=transforms,
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/sisfall-dev")
    parser.add_argument("--hz", type=float, default=50.0)
    parser.add_argument("--l2", type=float, default=1.0)
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    args = parser.parse_args(argv)
    c = collect(subject_files(args.data), args.hz)
    print(f"{len(c.y)} candidates: {int((c.y == 1).sum())} falls, {int((c.y == 0).sum())} not")
    threshold = choose_threshold(c, out_of_fold(c, args.l2))
    model = replace(fit(c, args.l2), threshold=threshold)
    print(f"threshold {threshold:.2f} (chosen on leave-one-subject-out probabilities)")
    args.out.write_text(json.dumps(model.to_json(), indent=1) + "\n")
    for name, weight in zip(model.names, model.weights, strict=True):
        print(f"  {name:20s} {weight:+.3f}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
