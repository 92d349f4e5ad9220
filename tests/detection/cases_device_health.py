"""Registers the device-health detector with the shared detector checks."""

from __future__ import annotations

import numpy as np

from detection.device_health import Clock, DeviceEvent, DeviceHealthDetector
from tests.detection.checks import DetectorCase

H = 3600.0
FLEET = (
    ("hub-1", "r1", "hub", 600.0),
    ("btn-1", "r1", "button", 24 * H),
    ("watch-1", "r1", "wearable", 1800.0),
    ("btn-2", "r2", "button", 24 * H),
    ("smoke-2", "r2", "smoke_detector", 24 * H),
)


def three_days(seed: int) -> list[list[DeviceEvent | Clock]]:
    """Check-ins with jitter every 10 min of the clock; the watch's battery drains to 10 %;
    r2's devices both stop after day 1, and r1's hub drops off (last will) on day 2."""
    rng = np.random.default_rng(seed)
    next_at = {d: float(rng.uniform(0, every)) for d, _, _, every in FLEET}
    batches: list[list[DeviceEvent | Clock]] = []
    for step in range(3 * 144):
        t0 = 600.0 * step
        batch: list[DeviceEvent | Clock] = []
        for device, subject, cls, every in FLEET:
            if subject == "r2" and t0 > 30 * H:
                continue
            if device == "hub-1" and t0 >= 50 * H:
                if t0 < 50 * H + 600:
                    batch.append(DeviceEvent(timestamp=t0, device=device, subject=subject,
                                             device_class=cls, status="offline"))
                continue
            while next_at[device] < t0 + 600.0:
                t = next_at[device]
                battery = 100.0 - 2.0 * t / H if cls == "wearable" else 90.0
                batch.append(DeviceEvent(timestamp=t, device=device, subject=subject,
                                         device_class=cls, battery_pct=max(battery, 10.0)))
                next_at[device] = t + every * float(rng.uniform(0.9, 1.05))
        batch.append(Clock(timestamp=t0 + 600.0))
        batches.append(batch)
    return batches


def a_community_cut(seed: int) -> list[list[DeviceEvent | Clock]]:
    """A day of four homes of community C, each a gateway (every 5 min) with the elder's
    pendant behind it: at 11:30 a provider's works cut three of the lines (last wills within a
    minute), back at 13:00; the snapshot check's restart falls in the outage."""
    rng = np.random.default_rng(seed)
    homes = range(1, 5)
    gw_next = {k: float(rng.uniform(0, 300)) for k in homes}
    batches: list[list[DeviceEvent | Clock]] = []
    for step in range(144):
        t0 = 600.0 * step
        batch: list[DeviceEvent | Clock] = []
        for k in homes:
            gateway = {"device": f"gw-{k}", "subject": f"device:gw-{k}", "device_class": "hub",
                       "site": f"home-{k}", "elder": False, "area": "C"}
            cut = k != 4 and 11.5 * H <= t0 < 13 * H
            if step == 0:
                batch.append(DeviceEvent(timestamp=0.0, device=f"btn-{k}", subject=f"r{k}",
                                         device_class="button", site=f"home-{k}",
                                         via=f"gw-{k}"))
            if cut and t0 < 11.5 * H + 600:
                batch.append(DeviceEvent(timestamp=t0 + 20.0 * k, status="offline", **gateway))
            while not cut and gw_next[k] < t0 + 600.0:
                batch.append(DeviceEvent(timestamp=gw_next[k], **gateway))
                gw_next[k] += 300.0 * float(rng.uniform(0.95, 1.05))
            if cut:
                gw_next[k] = 13 * H + float(rng.uniform(0, 60))
        batch.append(Clock(timestamp=t0 + 600.0))
        batches.append(batch)
    return batches


CASES = [
    DetectorCase(
        name="device_health",
        make=DeviceHealthDetector,
        restore=DeviceHealthDetector.restore,
        stream=three_days,
        warmup=60,
    ),
    DetectorCase(
        name="device_health_community_outage",
        make=DeviceHealthDetector,
        restore=DeviceHealthDetector.restore,
        stream=a_community_cut,
        warmup=60,
    ),
]
