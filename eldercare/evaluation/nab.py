"""``eldercare eval nab``: run the streaming anomaly scorer over NAB-format data and score it.

Usage::

    python -m eldercare.evaluation.nab --data /work/shared/data/nab-dev \\
        --labels /work/shared/data/nab-dev/combined_windows.json [--results-dir OUT] [--json]

``--data`` holds category folders of ``timestamp,value`` CSVs; ``--labels`` maps
``category/file.csv`` to its anomaly windows (NAB's ``combined_windows.json``). Prints the
normalised score of every NAB profile (threshold optimised over the corpus, see
:mod:`eldercare.evaluation.nab_scoring`); ``--results-dir`` writes NAB's results layout
``OUT/<detector>/<category>/<detector>_<file>.csv``; ``--json`` ends the output with one JSON line.
Files are scored in parallel, up to ``--jobs`` worker processes (default: every CPU); each file
runs its own scorer from its first row, so the scores do not depend on ``--jobs``. A progress
line per scored file goes to stderr. Bad input exits with status 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from detection.anomaly import AnomalyConfig, AnomalyScorer, Sample
from eldercare.evaluation.nab_scoring import (
    PROFILES,
    STANDARD,
    CorpusScore,
    FileScoring,
    FloatArray,
    Profile,
    optimise,
    probation_rows,
)

DETECTOR = "eldercare"


class BadInput(Exception):
    """The data or labels cannot be evaluated; the message says why."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NabFile:
    name: str  # "category/file.csv", the key of the labels file
    timestamps: list[str]
    epoch: FloatArray
    values: FloatArray
    windows: list[tuple[int, int]]

    @property
    def labels(self) -> FloatArray:
        marks = np.zeros(len(self.values))
        for left, right in self.windows:
            marks[left : right + 1] = 1.0
        return marks


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.strip()).replace(tzinfo=UTC).timestamp()


def _read_series(path: Path) -> tuple[list[str], FloatArray, FloatArray]:
    stamps: list[str] = []
    values: list[float] = []
    try:
        with path.open(newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None or [h.strip() for h in header[:2]] != ["timestamp", "value"]:
                raise BadInput(f"{path}: expected a 'timestamp,value' header")
            for line, row in enumerate(reader, start=2):
                if not row:
                    continue
                try:
                    stamps.append(row[0])
                    values.append(float(row[1]))
                except (IndexError, ValueError) as error:
                    raise BadInput(f"{path}:{line}: cannot read {row!r}") from error
        epoch = np.array([_epoch(s) for s in stamps])
    except (OSError, UnicodeDecodeError) as error:
        raise BadInput(f"{path}: {error}") from error
    except ValueError as error:
        raise BadInput(f"{path}: bad timestamp ({error})") from error
    if not stamps:
        raise BadInput(f"{path}: no rows")
    return stamps, epoch, np.array(values)


def _window_rows(name: str, epoch: FloatArray, window: Any) -> tuple[int, int]:
    try:
        start, end = _epoch(window[0]), _epoch(window[1])
    except (TypeError, IndexError, ValueError) as error:
        raise BadInput(f"labels for {name}: bad window {window!r}") from error
    inside = np.flatnonzero((epoch >= start) & (epoch <= end))
    if inside.size == 0:
        raise BadInput(f"labels for {name}: window {window!r} holds no row")
    return int(inside[0]), int(inside[-1])


def load_corpus(data: Path, labels_path: Path) -> list[NabFile]:
    """Every CSV under ``data``'s category folders, with its windows as row ranges."""
    if not data.is_dir():
        raise BadInput(f"--data {data}: not a directory")
    try:
        labels = json.loads(labels_path.read_text())
    except (OSError, ValueError) as error:
        raise BadInput(f"--labels {labels_path}: {error}") from error
    if not isinstance(labels, dict):
        raise BadInput(f"--labels {labels_path}: expected a JSON object")
    files = []
    for path in sorted(data.glob("*/*.csv")):
        name = f"{path.parent.name}/{path.name}"
        if name not in labels:
            raise BadInput(f"--labels {labels_path}: no entry for {name}")
        stamps, epoch, values = _read_series(path)
        windows = sorted(_window_rows(name, epoch, w) for w in labels[name])
        files.append(NabFile(name=name, timestamps=stamps, epoch=epoch, values=values,
                             windows=windows))
    if not files:
        raise BadInput(f"--data {data}: no category/*.csv files")
    return files


WINDOW_FRACTION = 0.1
"""NAB's anomaly windows together span 10 % of a file, shared equally by its anomalies
(Lavin & Ahmad 2015, section "Anomaly windows")."""


def crop(files: list[NabFile], length: int) -> list[NabFile]:
    """Short series cut from longer labelled ones, relabelled by NAB's rule, to see how a scorer
    does on files as short as ``length`` rows (many NAB files are 1,000–2,500 rows; most dev
    files are 4,000 or more).

    One crop per anomaly not already in the previous crop of the same file, placed so that the
    anomaly (its window's centre) lies at 60 % of the crop. Every anomaly of the crop past its
    probationary period gets a window of ``0.1 * length / anomalies`` rows centred on it, as NAB
    labels a file of that length; the probationary period itself holds no window. A file shorter
    than ``length`` + 100 rows, or without windows, gives no crop. The name is
    ``category/file.csv@first_row+length``.
    """
    if length < 100:
        raise ValueError(f"crop length {length} below 100 rows")
    probation = probation_rows(length)
    out: list[NabFile] = []
    for f in files:
        n = len(f.values)
        if not f.windows or n < length + 100:
            continue
        centres = [(left + right) // 2 for left, right in f.windows]
        last_start: int | None = None
        for centre in centres:
            start = min(max(0, centre - int(0.6 * length)), n - length)
            if last_start is not None and start < last_start + length // 2:
                continue  # this anomaly is already well inside the previous crop
            inside = [c - start for c in centres if probation <= c - start < length]
            if not inside:
                continue
            half = int(WINDOW_FRACTION * length / len(inside)) // 2
            windows = [(max(probation, c - half), min(length - 1, c + half)) for c in inside]
            stop = start + length
            out.append(NabFile(name=f"{f.name}@{start}+{length}",
                               timestamps=f.timestamps[start:stop], epoch=f.epoch[start:stop],
                               values=f.values[start:stop], windows=windows))
            last_start = start
    return out


def run_scorer(file: NabFile, make: Callable[[], AnomalyScorer]) -> FloatArray:
    """Scores of every row, fed one at a time as a live stream would be."""
    scorer = make()
    scores = np.zeros(len(file.values))
    # NAB rows are strictly increasing in time; a repeated stamp would be dropped by the scorer
    # and keep its 0 here
    by_time = {s.timestamp: s.score for s in scorer.score(
        [Sample(timestamp=float(t), value=float(v)) for t, v in zip(file.epoch, file.values,
                                                                     strict=True)])}
    for i, t in enumerate(file.epoch):
        scores[i] = by_time.get(float(t), 0.0)
    return scores


def _default_scorer() -> AnomalyScorer:
    return AnomalyScorer(AnomalyConfig())


def _score_default(file: NabFile) -> FloatArray:
    return run_scorer(file, _default_scorer)


def score_all(files: list[NabFile], jobs: int, *, progress: bool = False) -> list[FloatArray]:
    """The default scorer's scores of every file, ``jobs`` files at a time; the same scores
    whatever ``jobs`` is (each file starts its own scorer)."""
    started = time.monotonic()
    # longest files first keeps every worker busy to the end; results go back in file order
    order = sorted(range(len(files)), key=lambda i: -len(files[i].values))
    by_index: dict[int, FloatArray] = {}

    def done(i: int, s: FloatArray) -> None:
        by_index[i] = s
        if progress:
            f = files[i]
            print(f"scored {len(by_index)}/{len(files)} {f.name} ({len(f.values)} rows, "
                  f"{time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)

    if jobs <= 1 or len(files) <= 1:
        for i in order:
            done(i, _score_default(files[i]))
    else:
        with ProcessPoolExecutor(max_workers=min(jobs, len(files))) as pool:
            for i, s in zip(order, pool.map(_score_default, [files[i] for i in order]),
                            strict=True):
                done(i, s)
    return [by_index[i] for i in range(len(files))]


def _jobs(text: str) -> int:
    try:
        jobs = int(text)
    except ValueError:
        jobs = 0
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of processes >= 1")
    return jobs


@dataclass(frozen=True, slots=True, kw_only=True)
class Evaluation:
    corpus: dict[str, CorpusScore]  # per profile name
    files: dict[str, dict[str, Any]]  # per file, standard profile


def evaluate(files: list[NabFile], scores: list[FloatArray]) -> Evaluation:
    scorings = [FileScoring.build(n_rows=len(f.values), windows=f.windows) for f in files]
    corpus = {p.name: optimise(list(zip(scorings, scores, strict=True)), p) for p in PROFILES}
    threshold = corpus[STANDARD.name].threshold
    details = {}
    for f, scoring, s in zip(files, scorings, scores, strict=True):
        details[f.name] = _file_detail(scoring, s >= threshold, STANDARD)
    return Evaluation(corpus=corpus, files=details)


def _file_detail(scoring: FileScoring, hits: Any, profile: Profile) -> dict[str, Any]:
    found = [bool((hits & (scoring.window == k)).any()) for k in range(scoring.n_windows)]
    return {
        "raw": round(scoring.raw(hits, profile), 4),
        "windows": scoring.n_windows,
        "tp": sum(found),
        "fn": len(found) - sum(found),
        "fp": int((hits & (scoring.window == -1)).sum()),
    }


def write_results(out: Path, files: list[NabFile], scores: list[FloatArray]) -> None:
    for f, s in zip(files, scores, strict=True):
        category, name = f.name.split("/")
        target = out / DETECTOR / category / f"{DETECTOR}_{name}"
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["timestamp", "value", "anomaly_score", "label"])
            for row in zip(f.timestamps, f.values, s, f.labels, strict=True):
                writer.writerow([row[0], repr(float(row[1])), f"{row[2]:.6f}", int(row[3])])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="eldercare eval nab", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="category folders of CSVs")
    parser.add_argument("--labels", type=Path, required=True, help="combined_windows.json")
    parser.add_argument("--results-dir", type=Path, help="write NAB's results layout here")
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    parser.add_argument("--jobs", type=_jobs, default=os.cpu_count() or 1,
                        help="files scored at once, one process each (default: every CPU)")
    args = parser.parse_args(argv)
    try:
        files = load_corpus(args.data, args.labels)
    except BadInput as error:
        print(f"eldercare eval nab: {error}", file=sys.stderr)
        return 2
    scores = score_all(files, args.jobs, progress=True)
    result = evaluate(files, scores)
    if args.results_dir is not None:
        try:
            write_results(args.results_dir, files, scores)
        except OSError as error:
            print(f"eldercare eval nab: --results-dir: {error}", file=sys.stderr)
            return 2
    for f in files:
        d = result.files[f.name]
        print(f"{f.name:60s} raw {d['raw']:8.3f}  tp {d['tp']} fn {d['fn']} fp {d['fp']}")
    for name, c in result.corpus.items():
        print(f"{name:20s} score {c.normalized:6.2f}  (threshold {c.threshold:.4f})")
    if args.json:
        standard = result.corpus[STANDARD.name]
        print(json.dumps({
            "detector": DETECTOR,
            "profile": STANDARD.name,
            "score": round(standard.normalized, 3),
            "threshold": standard.threshold,
            "profiles": {n: round(c.normalized, 3) for n, c in result.corpus.items()},
            "files": result.files,
        }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
