"""Physically-motivated features of one fall candidate (an acceleration peak).

A fall, seen by a body-worn accelerometer, is a short sequence (Bourke et al. 2007; Kangas et al.
2008; Sucerquia et al. 2017): the body loses support (the magnitude drops below 1 g, *free fall*),
gains downward speed, hits the ground (a *peak* of several g), and ends in a different *posture*
(lying) with little movement (*stillness*). Each feature below measures one of these stages from
the samples around the candidate, with no assumption about which sensor axis is vertical: all
are magnitudes or angles, and "before the fall" is the gravity estimate the device's own stream
gave just before the peak.

* ``peak_g`` — the largest magnitude within ±``PEAK_SEARCH_S`` of the candidate (Bourke et al.'s
  upper fall threshold UFT works on this quantity).
* ``free_fall_g`` — the smallest magnitude in the second before the impact (Bourke's lower fall
  threshold LFT; SisFall's 'minimum of the magnitude').
* ``velocity_ms`` — the velocity reached before the impact, the integral of ``|a| − 1 g`` over
  the second before it (Kangas et al. 2008 "velocity"; Bourke et al. 2010). Negative = falling.
* ``posture_change_deg`` — angle between gravity before the fall (low-passed, Karantonis et al.
  2006) and the mean acceleration in ``POST_START_S``..``post_s`` after the impact.
* ``post_sd_g`` — standard deviation of the magnitude over the same post-impact segment; small
  when the wearer lies still.
* ``impact_area_gs`` — area of the magnitude above 1 g from 0.2 s before to 0.5 s after the
  peak (g·s): a body hitting the floor lands hips, trunk and arms in turn, while a jump, a
  stumble or dropping into a chair or bed is one short or soft peak. It is the impulse of the
  impact per unit mass, and less sensitive to the sampling rate than the single highest sample.
* ``pre_sd_g`` — standard deviation of the magnitude in the seconds before the fall (reported
  as evidence, not used by the model: see ``FEATURE_NAMES``).

>>> import numpy as np
>>> hz = 50.0
>>> raw = np.tile(np.float32([0.0, 0.0, 1.0]), (200, 1))      # upright: gravity on z
>>> raw[100] = (0.0, 0.0, 4.0)                                  # impact at sample 100
>>> raw[101:] = (1.0, 0.0, 0.0)                                 # then lying: gravity on x
>>> f = extract(raw, raw.copy(), hz, candidate=100, post_s=1.0)
>>> round(f.peak_g, 1), round(f.posture_change_deg)
(4.0, 90)
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

PEAK_SEARCH_S = 0.3
"""Half-width of the search for the true peak around a candidate: one impact lasts < 0.3 s."""
FREE_FALL_S = 1.0
"""Falls from standing last about 0.5-1 s from loss of balance to impact (Kangas et al. 2008)."""
GRAVITY_LAG_S = 0.5
"""Read the low-passed gravity this long before the impact, before the fall has tilted it much."""
PRE_ACTIVITY_S = 2.5
"""How far back the pre-fall activity (``pre_sd_g``) looks."""
POST_START_S = 0.4
"""Skip the ringing of the impact itself before measuring posture and stillness."""
G_MS2 = 9.80665


@dataclass(frozen=True, slots=True, kw_only=True)
class FallFeatures:
    """What the samples around one candidate say; see the module docstring."""

    impact_index: int
    peak_g: float
    free_fall_g: float
    velocity_ms: float
    posture_change_deg: float
    post_sd_g: float
    pre_sd_g: float
    impact_area_gs: float
    pre_gravity: tuple[float, float, float]
    post_gravity: tuple[float, float, float]

    def vector(self, names: tuple[str, ...] | None = None) -> np.ndarray:
        """The numeric features in ``names`` (default ``FEATURE_NAMES``) order, for the model."""
        return np.array([getattr(self, n) for n in names or FEATURE_NAMES], dtype=np.float64)


FEATURE_NAMES: tuple[str, ...] = (
    "peak_g",
    "free_fall_g",
    "velocity_ms",
    "posture_change_deg",
    "post_sd_g",
    "impact_area_gs",
)
"""What the model sees. ``pre_sd_g`` is left out on purpose: it taught the model that falls come
out of activity, which would penalise frail people who fall out of slow movement; subject-wise
cross-validation showed it added nothing (docs/falls.md)."""
NUMERIC_NAMES: tuple[str, ...] = tuple(f.name for f in fields(FallFeatures) if f.type in ("float", float))
"""Every numeric feature (the model uses ``FEATURE_NAMES``, a subset; training sees all)."""
assert set(FEATURE_NAMES) <= {f.name for f in fields(FallFeatures)}


def needed_before_s() -> float:
    """Seconds of history a candidate needs before its peak."""
    return PEAK_SEARCH_S + PRE_ACTIVITY_S


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-6 else np.array([0.0, 0.0, 0.0])


def extract(raw: np.ndarray, grav: np.ndarray, hz: float, *, candidate: int, post_s: float) -> FallFeatures:
    """Features of the candidate at index ``candidate`` of ``raw`` (m, 3) g.

    ``grav`` is the low-passed acceleration (the gravity estimate) for the same samples. The
    caller guarantees ``post_s`` seconds of samples after the candidate (plus the peak search)
    and ``needed_before_s()`` before it; fewer are tolerated (shorter segments are used).
    """
    raw = np.asarray(raw, dtype=np.float64)
    grav = np.asarray(grav, dtype=np.float64)
    m = raw.shape[0]
    mag = np.linalg.norm(raw, axis=1)

    def idx(seconds: float) -> int:
        return round(seconds * hz)

    lo = max(0, candidate - idx(PEAK_SEARCH_S))
    hi = min(m, candidate + idx(PEAK_SEARCH_S) + 1)
    impact = lo + int(np.argmax(mag[lo:hi]))
    peak = float(mag[impact])

    ff_lo = max(0, impact - idx(FREE_FALL_S))
    free_fall = float(mag[ff_lo:impact].min()) if impact > ff_lo else peak

    g_index = max(0, impact - idx(GRAVITY_LAG_S))
    g_pre = _unit(grav[g_index])
    # Velocity: integrate the magnitude minus 1 g over the second before the impact (Kangas et
    # al. 2008); a fall reaches about -1..-3 m/s. The magnitude, not the component along the
    # pre-fall gravity, because turning in bed rotates gravity away from that axis without
    # any fall.
    velocity = float(np.sum(mag[ff_lo:impact] - 1.0) / hz * G_MS2)

    post_lo = min(m - 1, impact + max(1, idx(POST_START_S)))
    post_hi = min(m, impact + idx(post_s) + 1)
    post = raw[post_lo:post_hi] if post_hi > post_lo else raw[post_lo : post_lo + 1]
    g_post = post.mean(axis=0)
    cos = float(np.clip(np.dot(g_pre, _unit(g_post)), -1.0, 1.0))
    posture = float(np.degrees(np.arccos(cos)))
    post_sd = float(np.linalg.norm(post, axis=1).std())

    pre_lo = max(0, impact - idx(PRE_ACTIVITY_S))
    pre_hi = max(pre_lo + 1, impact - idx(FREE_FALL_S))
    pre_sd = float(mag[pre_lo:pre_hi].std())

    area_lo = max(0, impact - idx(0.2))
    area_hi = min(m, impact + idx(0.5) + 1)
    area = float(np.clip(mag[area_lo:area_hi] - 1.0, 0.0, None).sum() / hz)

    return FallFeatures(
        impact_index=impact,
        peak_g=peak,
        free_fall_g=free_fall,
        velocity_ms=velocity,
        posture_change_deg=posture,
        post_sd_g=post_sd,
        pre_sd_g=pre_sd,
        impact_area_gs=area,
        pre_gravity=(float(g_pre[0]), float(g_pre[1]), float(g_pre[2])),
        post_gravity=(float(g_post[0]), float(g_post[1]), float(g_post[2])),
    )
