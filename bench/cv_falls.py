"""Subject-wise cross-validation of the fall detector on SisFall-format trials.

Leave-subjects-out: the subjects are split into ``--folds`` groups (default: one per subject);
for each group the model is trained (``bench/train_fall_model.py``'s ``fit``) on the candidates
of all *other* subjects only, and the held-out subjects are then replayed through the real
streaming detector with that model — exactly as ``eldercare eval falls`` does. No subject is ever
scored by a model that saw it. The pooled held-out results are reported like ``eval falls``,
plus the ADL trials that raised a false alarm and the falls that were missed.

Usage::

    .venv/bin/python bench/cv_falls.py --data ../shared/data/sisfall-dev [--hz 50] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench.train_fall_model import choose_threshold, collect, fit, out_of_fold  # noqa: E402
from detection.fall import FallConfig, FallDetector  # noqa: E402
from eldercare.evaluation.falls import (  # noqa: E402
    TrialResult,
    evaluate,
    render,
    report,
    subject_files,
)


def cross_validate(
    files: list[Path],
    hz: float,
    folds: int,
    l2: float,
    threshold: float | None,
    train_hz: float | None = None,
) -> list[TrialResult]:
    cands = collect(files, train_hz or hz)
    subjects = sorted({p.stem for p in files})
    groups = [subjects[i::folds] for i in range(folds)]
    results: list[TrialResult] = []
    thresholds: list[float] = []
    for held in groups:
        train = cands.of_subjects(s for s in subjects if s not in held)
        model = fit(train, l2)
        # The operating threshold is chosen on the training subjects only (their own
        # leave-one-subject-out probabilities), never on the held-out ones.
        chosen = threshold if threshold is not None else choose_threshold(train, out_of_fold(train, l2))
        thresholds.append(chosen)
        config = replace(FallConfig(), model=replace(model, threshold=chosen))
        test = [p for p in files if p.stem in held]
        results += evaluate(test, hz, partial(FallDetector, config))
    print(f"thresholds chosen per fold: {thresholds}")
    return results


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/sisfall-dev")
    parser.add_argument("--hz", type=float, default=50.0)
    parser.add_argument("--train-hz", type=float, default=None, help="train at this rate (default: --hz)")
    parser.add_argument("--folds", type=int, default=0, help="subject groups (0: one each)")
    parser.add_argument("--l2", type=float, default=1.0)
    parser.add_argument(
        "--threshold", type=float, default=None, help="fixed threshold (default: nested choice)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    files = subject_files(args.data)
    folds = args.folds or len(files)
    results = cross_validate(files, args.hz, folds, args.l2, args.threshold, args.train_hz)
    rep = report(results)
    trained = args.train_hz or args.hz
    print(f"leave-subjects-out CV, {folds} folds, trained at {trained:g} Hz, run at {args.hz:g} Hz")
    print(render(rep))
    print("false alarms (ADL trials with a finding):")
    for r in results:
        if r.code.startswith("D") and r.findings:
            print(f"  {r.name} ({r.findings})")
    print("missed falls:")
    for r in results:
        if r.code.startswith("F") and not r.findings:
            print(f"  {r.name}")
    late = [r for r in results if r.latency_s is not None and not -1.0 <= r.latency_s <= 3.0]
    print(f"falls whose first finding is not within -1..3 s of the reference impact: {len(late)}")
    for r in late:
        print(f"  {r.name} latency {r.latency_s:.2f} s")
    if args.json:
        print(json.dumps(rep, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
