"""The cyclic garbage collector in a long-running ingest process: what it costs, and keeping
that cost in proportion.

A stream worker holds every wearer's detector state: millions of long-lived lists, dicts and
small objects (about 1 GB at 20,000 devices). Each message allocates a few dozen short-lived
container objects, nearly all freed by reference counting, but they still count towards
CPython's collection thresholds (700 / 10 / 10 by default): a young collection every few
messages, and, while the state grows (a new wearer's baselines), full collections that walk the
whole heap again and again.

:func:`tune` does what CPython's documentation suggests for such a process (``gc.freeze``,
"Python 3.7+: to avoid copy-on-write ... and to exclude a large startup heap from
collections"): the state loaded at start-up moves to the permanent generation, which no
collection walks, and the first threshold is raised so that young collections run every
``young`` allocations rather than every 700. Cycles are still collected: the collector stays on.

:class:`GcClock` measures the collector's time through ``gc.callbacks``, for the stats file
(``gc_ms``) the benchmark reads.
"""

from __future__ import annotations

import gc
import time
from typing import Any

YOUNG = 50_000
"""Allocations between young collections (CPython's default is 700)."""


def tune(*, young: int = YOUNG) -> None:
    """Exclude what exists now from every future collection, and collect the young less often.
    Call it once the start-up state (registry, restored baselines) is loaded."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(young, middle, old)


class GcClock:
    """The collector's total time and collections per generation, since :meth:`install`."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = [0, 0, 0]
        self._started = 0.0

    def install(self) -> GcClock:
        gc.callbacks.append(self._callback)
        return self

    def uninstall(self) -> None:
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started
            self.collections[info["generation"]] += 1
