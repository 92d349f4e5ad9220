"""The garbage collector's clock and tuning for ingest processes (ingest/gctune.py)."""

from __future__ import annotations

import gc
import weakref

from ingest.gctune import GcClock, tune


class _Node:
    other: _Node


def test_the_clock_counts_collections_by_generation_until_uninstalled() -> None:
    clock = GcClock().install()
    try:
        gc.collect(0)
        gc.collect()
        assert clock.collections[0] >= 1
        assert clock.collections[2] >= 1
        assert clock.seconds > 0
    finally:
        clock.uninstall()
    before = list(clock.collections)
    gc.collect()
    assert clock.collections == before


def test_tuning_freezes_what_exists_and_collects_the_young_less_often() -> None:
    threshold = gc.get_threshold()
    survivor = [[i] for i in range(1000)]  # long-lived containers, as a restored state is
    try:
        tune(young=12_345)
        assert gc.get_threshold() == (12_345, threshold[1], threshold[2])
        assert gc.get_freeze_count() >= len(survivor)
        assert gc.isenabled()  # cycles are still collected
        cycle = _Node()
        cycle.other = _Node()
        cycle.other.other = cycle
        gone = weakref.ref(cycle)
        del cycle
        gc.collect()
        assert gone() is None
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
