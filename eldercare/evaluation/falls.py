"""``eldercare eval falls``: replay SisFall-format trials through the streaming fall detector.

Each trial of each subject archive (``SAxx.npz``: trial name -> (n, 6) int16 at 200 Hz, columns
0-2 accelerometer counts, g = raw * 32 / 8192; Sucerquia et al., Sensors 17(1):198, 2017) is
resampled to ``--hz`` (``scipy.signal.resample_poly``, anti-aliased), converted to g and cut into
1 s :class:`~detection.fall.AccelWindow` s, and every trial of a subject streams through one
:class:`~detection.fall.FallDetector` as its own device, one batch per second — the same
``update`` path the platform runs. An *alarm* here is a detector finding (the grace period is
not applied).

Reported, overall and per subject group (the letters of the subject id, e.g. SA, SE):

* sensitivity: fall trials (F..) with at least one finding (``sensitivity_near_impact``: whose
  first finding is decided -1..3 s from the reference impact); specificity: ADL trials (D..)
  with none; false alarms per hour: findings in ADL trials / hours of ADL;
* latency: ``detected_ts`` of a fall trial's first finding minus the *reference impact*, the
  sample of largest acceleration magnitude in the original 200 Hz trial (median and p95);
* alarms per activity code (F01..F15, D01..D19).

Usage::

    python -m eldercare.evaluation.falls --data ../shared/data/sisfall-dev [--hz 50] [--json]

With ``--json`` the last line is one JSON object (keys ``sensitivity``, ``specificity``,
``false_alarms_per_hour``, ``latency_median_s``, ``latency_p95_s``, ``trials``, ``by_group``,
``by_activity``). Bad input prints a message on stderr and returns 2.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from scipy.signal import resample_poly

from detection.fall import AccelWindow, FallDetector, FallFinding

SOURCE_HZ = 200.0
COUNTS_TO_G = 32.0 / 8192.0
T0 = 1_700_000_000.0
"""Stream epoch of every trial's first sample (trials are separate devices, so one is enough)."""
SUBJECT = re.compile(r"[A-Z]+\d+")
TRIAL_NAME = re.compile(r"^(?P<code>[DF]\d\d)_(?P<subject>[A-Z]+\d+)_R\d+$")


NEAR_IMPACT_S = (-1.0, 3.0)
"""A fall's first finding within this of the reference impact found *that* fall, not another
peak of the trial (``sensitivity_near_impact``)."""


class DataError(Exception):
    """The data directory cannot be evaluated (message is for the user)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Trial:
    """One recording, in g, at the evaluation rate."""

    subject: str
    name: str
    code: str
    accel: np.ndarray
    hz: float
    ref_impact_s: float
    """Seconds from the start to the largest magnitude at 200 Hz (falls' reference impact)."""

    @property
    def is_fall(self) -> bool:
        return self.code.startswith("F")

    @property
    def group(self) -> str:
        return re.sub(r"\d+$", "", self.subject)

    @property
    def seconds(self) -> float:
        return float(self.accel.shape[0] / self.hz)


def subject_files(data: Path) -> list[Path]:
    if not data.is_dir():
        raise DataError(f"data directory not found: {data}")
    files = sorted(data.glob("*.npz"))
    if not files:
        raise DataError(f"no .npz subject archives in {data}")
    return files


def load_subject(path: Path, hz: float) -> list[Trial]:
    """All trials of one subject archive, resampled to ``hz`` and in g."""
    try:
        archive = np.load(path)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path.name}: not a readable .npz archive ({exc})") from None
    ratio = Fraction(hz / SOURCE_HZ).limit_denominator(1000)
    subject = path.stem if SUBJECT.fullmatch(path.stem) else None
    trials: list[Trial] = []
    with archive:
        for name in sorted(archive.files):
            match = TRIAL_NAME.match(name)
            if match is None:
                raise DataError(f"{path.name}: trial name {name!r} is not like F01_SA01_R01")
            try:
                raw = archive[name]
            except (OSError, ValueError, zipfile.BadZipFile) as exc:  # e.g. pickled objects
                raise DataError(f"{path.name}:{name}: unreadable array ({exc})") from None
            if raw.dtype.kind not in "iuf":
                raise DataError(f"{path.name}:{name}: expected numbers, got dtype {raw.dtype}")
            if raw.ndim != 2 or raw.shape[1] < 3 or raw.shape[0] < SOURCE_HZ:
                raise DataError(f"{path.name}:{name}: expected an (n >= 200, 6) array, got {raw.shape}")
            g = raw[:, :3].astype(np.float64) * COUNTS_TO_G
            ref = float(np.argmax(np.linalg.norm(g, axis=1))) / SOURCE_HZ
            if ratio != 1:
                g = resample_poly(g, ratio.numerator, ratio.denominator, axis=0)
            trials.append(
                Trial(
                    # The archive is the subject: SisFall names SA15's D17 trials "SE15".
                    subject=subject or match["subject"],
                    name=name,
                    code=match["code"],
                    accel=g.astype(np.float32),
                    hz=hz,
                    ref_impact_s=ref,
                )
            )
    return trials


def windows_by_second(trials: list[Trial]) -> Iterator[list[AccelWindow]]:
    """Batches of 1 s windows: batch k holds second k of every trial still running."""
    longest = max(t.accel.shape[0] for t in trials)
    n = round(trials[0].hz)
    for k in range(0, longest, n):
        yield [
            AccelWindow(device_id=t.name, t0=T0 + k / t.hz, hz=t.hz, accel=t.accel[k : k + n])
            for t in trials
            if k < t.accel.shape[0]
        ]


def replay(trials: list[Trial], detector: FallDetector) -> dict[str, list[FallFinding]]:
    """Stream ``trials`` through ``detector``; findings per trial name."""
    found: dict[str, list[FallFinding]] = {t.name: [] for t in trials}
    for batch in windows_by_second(trials):
        for f in detector.update(batch):
            found[f.device_id].append(f)
    return found


@dataclass(frozen=True, slots=True, kw_only=True)
class TrialResult:
    subject: str
    group: str
    name: str
    code: str
    seconds: float
    findings: int
    latency_s: float | None
    """First finding's ``detected_ts`` minus the reference impact (fall trials)."""


def evaluate(
    files: Iterable[Path], hz: float, make: Callable[[], FallDetector] = FallDetector
) -> list[TrialResult]:
    """Replay every subject archive (one fresh detector per subject) and score each trial."""
    results: list[TrialResult] = []
    for path in files:
        trials = load_subject(path, hz)
        if not trials:
            continue
        found = replay(trials, make())
        for t in trials:
            fs = found[t.name]
            latency = fs[0].detected_ts - (T0 + t.ref_impact_s) if fs and t.is_fall else None
            results.append(
                TrialResult(
                    subject=t.subject,
                    group=t.group,
                    name=t.name,
                    code=t.code,
                    seconds=t.seconds,
                    findings=len(fs),
                    latency_s=latency,
                )
            )
    return results


def summarise(results: list[TrialResult]) -> dict[str, Any]:
    """Sensitivity, specificity, false alarms per hour, latency; see the module docstring."""
    falls = [r for r in results if r.code.startswith("F")]
    adls = [r for r in results if r.code.startswith("D")]
    latencies = np.array([r.latency_s for r in falls if r.latency_s is not None])
    adl_hours = sum(r.seconds for r in adls) / 3600.0

    def ratio(num: int, den: int) -> float | None:
        return num / den if den else None

    def pct(q: float) -> float | None:
        return float(np.percentile(latencies, q)) if latencies.size else None

    return {
        "sensitivity": ratio(sum(r.findings > 0 for r in falls), len(falls)),
        "sensitivity_near_impact": ratio(
            sum(
                r.latency_s is not None and NEAR_IMPACT_S[0] <= r.latency_s <= NEAR_IMPACT_S[1] for r in falls
            ),
            len(falls),
        ),
        "specificity": ratio(sum(r.findings == 0 for r in adls), len(adls)),
        "false_alarms_per_hour": (sum(r.findings for r in adls) / adl_hours if adl_hours else None),
        "latency_median_s": pct(50),
        "latency_p95_s": pct(95),
        "latency_max_s": float(latencies.max()) if latencies.size else None,
        "trials": len(results),
        "fall_trials": len(falls),
        "adl_trials": len(adls),
        "adl_hours": adl_hours,
        "subjects": sorted({r.subject for r in results}),
    }


def by_activity(results: list[TrialResult]) -> dict[str, dict[str, int]]:
    """Per activity code: trials and trials with an alarm (a fall's hit, an ADL's false alarm)."""
    table: dict[str, dict[str, int]] = {}
    for r in sorted(results, key=lambda r: r.code):
        row = table.setdefault(r.code, {"trials": 0, "alarmed": 0, "alarms": 0})
        row["trials"] += 1
        row["alarmed"] += int(r.findings > 0)
        row["alarms"] += r.findings
    return table


def report(results: list[TrialResult]) -> dict[str, Any]:
    groups = sorted({r.group for r in results})
    out = summarise(results)
    out["by_group"] = {g: summarise([r for r in results if r.group == g]) for g in groups}
    out["by_activity"] = by_activity(results)
    out["by_activity_group"] = {g: by_activity([r for r in results if r.group == g]) for g in groups}
    return out


def _fmt(v: float | None, spec: str) -> str:
    return "n/a" if v is None else format(v, spec)


def render(rep: dict[str, Any]) -> str:
    """Human-readable text of a :func:`report`."""
    lines: list[str] = []

    def block(name: str, s: dict[str, Any]) -> None:
        lines.append(
            f"{name}: sensitivity {_fmt(s['sensitivity'], '.2%')} ({s['fall_trials']} falls; "
            f"{_fmt(s['sensitivity_near_impact'], '.2%')} near the impact), "
            f"specificity {_fmt(s['specificity'], '.2%')} ({s['adl_trials']} ADL), "
            f"false alarms/h {_fmt(s['false_alarms_per_hour'], '.2f')}, "
            f"latency median {_fmt(s['latency_median_s'], '.2f')} s "
            f"p95 {_fmt(s['latency_p95_s'], '.2f')} s"
        )

    block("all", rep)
    for g, s in rep["by_group"].items():
        block(f"group {g}", s)
    lines.append("activity  trials  alarmed  (falls: detected; ADL: false alarms)")
    for code, row in rep["by_activity"].items():
        lines.append(f"{code:8s}  {row['trials']:6d}  {row['alarmed']:7d}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """``eldercare eval falls --data DIR [--hz 50] [--json]``; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="eldercare eval falls", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--data", type=Path, required=True, help="directory of SAxx.npz files")
    parser.add_argument("--hz", type=float, default=50.0, help="stream rate, 25..200 (50)")
    parser.add_argument("--json", action="store_true", help="last line: one JSON object")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage error already
        return int(exc.code) if isinstance(exc.code, int) else 2
    if not 25.0 <= args.hz <= 200.0:
        print(f"eldercare eval falls: --hz must be within 25..200, got {args.hz}", file=sys.stderr)
        return 2
    try:
        results = evaluate(subject_files(args.data), args.hz)
    except DataError as exc:
        print(f"eldercare eval falls: {exc}", file=sys.stderr)
        return 2
    rep = report(results)
    print(render(rep))
    if args.json:
        print(json.dumps(rep, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
