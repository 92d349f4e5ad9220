"""How long taking the welfare snapshot holds a stream worker's event loop.

One simulated wearer lives ``--days`` ordinary days through :class:`ingest.welfare.WelfareStage`
(``bench/welfare_false_alarms.py``'s wearer); its snapshot is copied ``--wearers`` times under
other names and restored into one stage: that many wearers with full baselines, without
simulating each. Then the snapshot is taken ``--repeat`` times each way:

* at once, as until 2026-12-06: ``snapshot()`` and one msgspec encoding, the garbage collector
  paused; the loop is held for all of it;
* in pieces (:meth:`WelfareStage.snapshot_pieces`, as ingest takes it now), for each
  ``--per-piece``: the loop is held for the longest piece, and ingest runs between pieces.

    PYTHONPATH=. .venv/bin/python bench/welfare_snapshot.py [--wearers 8000] [--days 3]
        [--per-piece 100,250,1000] [--repeat 3]

Prints, per way, the size, the time held at most at once, and the whole time (the median of the
repeats, and their range); then what working out every resident's inactivity summary costs
(ingest keeps them for the console once a minute): the first time, when every day bin's limit
is worked out, as after a restart, and again. ``--days 14`` gives every day bin enough silences
to be learnt. 8,000 wearers take about 4 GB of memory and two minutes to build.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from typing import Any

import msgspec
import numpy as np

from bench.welfare_false_alarms import (
    BATCH_S,
    DAY,
    HOME,
    LOCATION_S,
    START,
    TELEMETRY_S,
    WEARER_DAYS_KEY,
    _Wearer,
)
from ingest.pipeline import SUMMARIES_PIECE
from ingest.welfare import WelfareStage
from simulators.vitals import ORDINARY_DAYS, WearerDays
from store import detector_state
from store.registry import DeviceRef

NAME = "zz-00000"
"""In the one wearer's device, site and resident names; copies replace it with their number
(same length, and no base64 or number holds a dash)."""


def one_wearer(days: float, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng([seed, 0])
    p = _Wearer(device=f"watch-{NAME}", site=f"home-{NAME}", rng=rng,
                hr_base=float(rng.normal(72, 6)),
                days=WearerDays((seed, 0, WEARER_DAYS_KEY), ORDINARY_DAYS))
    stage = WelfareStage()
    stage.configure({p.device: DeviceRef(id=p.device, site_id=p.site, kind="wearable",
                                         resident_id=f"r-{NAME}", room_id=None,
                                         site_lat=HOME[0], site_lon=HOME[1])})
    per_batch = int(BATCH_S // TELEMETRY_S)
    for minute in range(int(days * DAY // BATCH_S)):
        t0 = START + BATCH_S * minute
        batch = [p.telemetry(t0 + TELEMETRY_S * i) for i in range(per_batch)]
        if minute % int(LOCATION_S // BATCH_S) == 0:
            batch.append(p.location(t0))
        stage.process(batch, now=t0 + BATCH_S - TELEMETRY_S)
    return stage.snapshot()


def _merge(into: dict[str, Any], other: dict[str, Any]) -> None:
    """Add ``other``'s keys to ``into``, into nested mappings (the copies differ only in the
    names their mappings are keyed by)."""
    for key, value in other.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into.setdefault(key, value)


def district(wearers: int, days: float, seed: int) -> WelfareStage:
    text = json.dumps(one_wearer(days, seed))
    merged: dict[str, Any] = {}
    for i in range(wearers):
        _merge(merged, json.loads(text.replace(NAME, f"zz-{i:05d}")))
    stage = WelfareStage()
    stage.restore(merged)
    return stage


def at_once(stage: WelfareStage) -> tuple[int, float, float, str]:
    gc.disable()
    try:
        began = time.perf_counter()
        body = msgspec.json.encode(stage.snapshot())
        took = time.perf_counter() - began
    finally:
        gc.enable()
    return len(body), took, took, "all of it"


def in_pieces(stage: WelfareStage, per_piece: int) -> tuple[int, float, float, str]:
    """As ingest's ``_take_and_write_state`` takes it and its write joins it into parts, without
    the loop turns and the database between; also what held the loop longest."""
    began = time.perf_counter()
    pieces: list[bytes] = []
    longest, what = 0.0, ""
    for_each = iter(stage.snapshot_pieces(per_piece))
    while True:
        gc.disable()
        took = time.perf_counter()
        try:
            piece = next(for_each, None)
        finally:
            gc.enable()
        held = time.perf_counter() - took
        if piece is None:
            break
        if held > longest:
            longest, what = held, f"piece {len(pieces)} {piece[:24]!r}"
        pieces.append(piece)
    size = 0
    parts = detector_state._parts(pieces)  # as the write joins them, a part before each INSERT
    while True:
        join = time.perf_counter()
        part = next(parts, None)
        held = time.perf_counter() - join
        if part is None:
            break
        if held > longest:
            longest, what = held, "joining a part"
        size += len(part)
    return size, longest, time.perf_counter() - began, what


def summaries(stage: WelfareStage, per_piece: int) -> tuple[float, float, float]:
    """Every resident's inactivity summary, as ingest keeps them (``Ingest._keep_summaries``):
    the longest piece of ``per_piece`` residents and the whole, the first time (every bin's
    limit worked out, as after a restart), then the whole again (every bin remembered)."""
    detector = stage.inactivity
    residents = list(detector._residents)
    for r in detector._residents.values():
        r.bin_memo.clear()
    longest, began = 0.0, time.perf_counter()
    for at in range(0, len(residents), per_piece):
        piece = time.perf_counter()
        for resident in residents[at:at + per_piece]:
            detector.summary(resident)
        longest = max(longest, time.perf_counter() - piece)
    first = time.perf_counter() - began
    began = time.perf_counter()
    for resident in residents:
        detector.summary(resident)
    return longest, first, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--wearers", type=int, default=8000)
    parser.add_argument("--days", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--per-piece", default="100,250,1000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.wearers < 1 or args.days <= 0 or args.repeat < 1:
        parser.error("--wearers, --days and --repeat must be positive")
    sizes = [int(x) for x in args.per_piece.split(",")]
    if any(n < 1 for n in sizes):
        parser.error("--per-piece sizes must be at least 1")
    began = time.perf_counter()
    stage = district(args.wearers, args.days, args.seed)
    gc.collect()
    print(f"{args.wearers} wearers x {args.days:g} days of baselines "
          f"({len(stage.vitals._tracks)} vitals tracks, {len(stage.inactivity._residents)} "
          f"residents), built in {time.perf_counter() - began:.0f} s")
    print(f"{'way':<18}{'MB':>6}{'held at most, s':>22}{'whole, s':>20}")
    ways: list[tuple[str, int | None]] = [("at once", None)]
    ways += [(f"pieces of {n}", n) for n in sizes]
    for name, per_piece in ways:
        runs = [at_once(stage) if per_piece is None else in_pieces(stage, per_piece)
                for _ in range(args.repeat)]
        held, whole = [r[1] for r in runs], [r[2] for r in runs]
        print(f"{name:<18}{runs[0][0] / 1e6:>6.0f}"
              f"{statistics.median(held):>10.3f} ({min(held):.3f}-{max(held):.3f})"
              f"{statistics.median(whole):>9.2f} ({min(whole):.2f}-{max(whole):.2f})"
              f"   longest: {'; '.join(r[3] for r in runs)}", flush=True)
    gc.freeze()  # as ingest does once its state is loaded (ingest/gctune.py)
    learnt = sum(1 for r in stage.inactivity._residents.values() for key, v in r.silences.items()
                 if key >= 0 and len(v) >= stage.inactivity.config.min_silences)
    longest, first, again = summaries(stage, SUMMARIES_PIECE)
    print(f"inactivity summaries ({learnt} learnt day bins): pieces of {SUMMARIES_PIECE} held "
          f"the loop at most {longest:.3f} s, {first:.2f} s in all the first time, "
          f"{again:.3f} s with every bin remembered")


if __name__ == "__main__":
    main()
