"""The shared check suite that every detector in ``detection/`` must pass (STYLE.md item 7).

A detector module registers itself by adding a :class:`DetectorCase` to the ``CASES`` list of a
module named ``tests/detection/cases_<topic>.py``; ``test_shared_checks.py`` collects every such
list and runs each case through the same checks:

* deterministic: two fresh detectors fed the same seeded stream find the same things;
* pure: ``update`` does not mutate the batch it is given (numpy arrays included);
* snapshot/restore: a detector snapshotted half-way (through a JSON round trip, because snapshots
  are stored in PostgreSQL) and restored finds exactly what an uninterrupted one finds;
* gaps and out-of-order input: dropped and swapped batches never raise;
* warm-up: nothing is found during the first ``warmup`` batches.

A detector is anything with ``update(batch) -> list`` and ``snapshot() -> dict``; restoring is the
case's ``restore`` callable (usually ``Detector.restore``).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np


class Detector(Protocol):
    def update(self, batch: Any) -> list[Any]: ...

    def snapshot(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class DetectorCase:
    """How to build, feed and restore one detector for the shared checks."""

    name: str
    make: Callable[[], Detector]
    restore: Callable[[dict[str, Any]], Detector]
    stream: Callable[[int], Sequence[Any]]
    """A seeded stream of batches (seed -> batches); it should contain something to find."""
    warmup: int = 0
    """Number of leading batches of ``stream`` during which the detector must find nothing."""
    expect_findings: bool = True
    """Whether ``stream`` is built so that the detector finds at least one thing."""
    same: Callable[[list[Any], list[Any]], bool] = field(default=lambda a, b: a == b)


def run(detector: Detector, batches: Sequence[Any]) -> list[Any]:
    found: list[Any] = []
    for batch in batches:
        found.extend(detector.update(batch))
    return found


def deep_equal(a: Any, b: Any) -> bool:
    """Equality that understands numpy arrays nested in dataclasses, dicts and sequences."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return bool(np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(deep_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(deep_equal(x, y) for x, y in zip(a, b, strict=True))
    if hasattr(a, "__dataclass_fields__") and type(a) is type(b):
        return all(deep_equal(getattr(a, f), getattr(b, f)) for f in a.__dataclass_fields__)
    return bool(a == b)


def check_deterministic(case: DetectorCase, seed: int = 7) -> None:
    first = run(case.make(), case.stream(seed))
    second = run(case.make(), case.stream(seed))
    assert case.same(first, second), f"{case.name}: same seed, different findings"
    if case.expect_findings:
        assert first, f"{case.name}: the seeded stream should contain something to find"


def check_does_not_mutate_input(case: DetectorCase, seed: int = 7) -> None:
    batches = list(case.stream(seed))
    before = copy.deepcopy(batches)
    run(case.make(), batches)
    assert deep_equal(before, batches), f"{case.name}: update() mutated its input"


def check_snapshot_restore(case: DetectorCase, seed: int = 7) -> None:
    batches = list(case.stream(seed))
    straight = run(case.make(), batches)
    half = len(batches) // 2
    detector = case.make()
    found = run(detector, batches[:half])
    snap = json.loads(json.dumps(detector.snapshot()))
    found += run(case.restore(snap), batches[half:])
    assert case.same(straight, found), f"{case.name}: snapshot/restore changed what was found"


def check_gaps_and_disorder(case: DetectorCase, seed: int = 7) -> None:
    batches = list(case.stream(seed))
    rng = np.random.default_rng(seed)
    gappy = [b for b in batches if rng.random() > 0.2]
    run(case.make(), gappy)
    swapped = list(batches)
    for i in range(0, len(swapped) - 1, 5):
        swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
    run(case.make(), swapped)


def check_warmup(case: DetectorCase, seed: int = 7) -> None:
    if case.warmup == 0:
        return
    batches = list(case.stream(seed))[: case.warmup]
    assert run(case.make(), batches) == [], f"{case.name}: found something during warm-up"


CHECKS: tuple[Callable[[DetectorCase], None], ...] = (
    check_deterministic,
    check_does_not_mutate_input,
    check_snapshot_restore,
    check_gaps_and_disorder,
    check_warmup,
)
