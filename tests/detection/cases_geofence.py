"""Registers the geofence detector with the shared detector checks."""

from __future__ import annotations

import numpy as np

from detection.geofence import GeofenceDetector, LocationFix, SafeZone
from tests.detection.checks import DetectorCase

HOME = (31.2304, 121.4737)
NOON_SHANGHAI = 1_700_020_800.0  # 2023-11-15 12:00 +08:00
ZONES = (
    SafeZone(subject="r1", lat=HOME[0], lon=HOME[1], radius_m=300.0),
    SafeZone(subject="r2", lat=HOME[0] + 0.01, lon=HOME[1], radius_m=300.0),
)
METRES_PER_DEG_LAT = 111_195.0


def day_and_night_walks(seed: int) -> list[list[LocationFix]]:
    """Fixes every 5 min from 12:00 for 16 h; r1 walks 1 km away 14:00–15:00, r2 leaves at
    23:00 and does not come back."""
    rng = np.random.default_rng(seed)
    batches = []
    for step in range(16 * 12):
        t = NOON_SHANGHAI + 300.0 * step
        hours = step / 12.0
        batch = []
        for zone in ZONES:
            away = 0.0
            if zone.subject == "r1" and 2.0 <= hours < 3.0:
                away = 1000.0
            if zone.subject == "r2" and hours >= 11.0:
                away = 600.0 + 100.0 * (hours - 11.0)
            north = away + float(rng.normal(0, 15))
            batch.append(LocationFix(timestamp=t, subject=zone.subject,
                                     lat=zone.lat + north / METRES_PER_DEG_LAT,
                                     lon=zone.lon, accuracy_m=float(rng.uniform(5, 40))))
        batches.append(batch)
    return batches


CASES = [
    DetectorCase(
        name="geofence",
        make=lambda: GeofenceDetector(zones=ZONES),
        restore=GeofenceDetector.restore,
        stream=day_and_night_walks,
        warmup=24,
    ),
]
