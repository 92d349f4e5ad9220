"""Throughput of the fall detector's batched path: wearable-seconds processed per second.

``--devices`` wearables (default 1000) stream 1 s windows at ``--hz`` (default 50); each call to
``FallDetector.update`` gets one window from every device, as the ingest worker batches them.
The streams are seeded synthetic daily life (``simulators.motion``: walking, standing, sitting,
lying, with a fall in every 20th device) generated before the clock starts. One core: BLAS
threads are pinned to 1 before numpy is imported.

Usage::

    .venv/bin/python bench/fall_throughput.py [--devices 1000] [--hz 50] [--seconds 60]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detection.fall import AccelWindow, FallDetector  # noqa: E402
from simulators.motion import ACTIVITIES, mount, synth_activity, synth_fall  # noqa: E402

T0 = 1_700_000_000.0


def streams(devices: int, hz: float, seconds: int, seed: int) -> np.ndarray:
    """(devices, seconds * hz, 3) float32 g."""
    rng = np.random.default_rng(seed)
    n = round(seconds * hz)
    out = np.empty((devices, n, 3), np.float32)
    for d in range(devices):
        rot = mount(rng)
        if d % 20 == 0:
            x, _ = synth_fall(hz, rng, rot=rot, before_s=seconds / 3, after_s=seconds)
        else:
            parts = [
                synth_activity(str(a), 10.0, hz, rng, rot=rot)
                for a in rng.choice(ACTIVITIES, 1 + seconds // 10)
            ]
            x = np.concatenate(parts)
        out[d] = x[:n]
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--hz", type=float, default=50.0)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    n = round(args.hz)
    data = streams(args.devices, args.hz, args.seconds, args.seed)
    ids = [f"wearable-{d:05d}" for d in range(args.devices)]
    batches = [
        [
            AccelWindow(device_id=ids[d], t0=T0 + s, hz=args.hz, accel=data[d, s * n : (s + 1) * n])
            for d in range(args.devices)
        ]
        for s in range(args.seconds)
    ]
    det = FallDetector()
    found = 0
    start = time.perf_counter()
    cpu = time.process_time()
    for batch in batches:
        found += len(det.update(batch))
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu
    wearable_s = args.devices * args.seconds
    print(
        f"{args.devices} devices x {args.seconds} s at {args.hz:g} Hz: {elapsed:.2f} s wall, "
        f"{cpu:.2f} s cpu; {wearable_s / elapsed:,.0f} wearable-seconds/s "
        f"({wearable_s / cpu:,.0f} per cpu-second); {found} falls found"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
