"""Seeded synthetic wearable motion: daily activities, falls and fall-like daily events.

Signals are what a body-worn accelerometer reads (specific force, in g): 1 g opposing gravity at
rest, plus body acceleration. The body frame is x forward, y left, z up; the device is mounted in
an arbitrary but fixed orientation (``mount``), so nothing downstream may assume which sensor axis
is vertical. Shapes follow the descriptions of fall signals in Bourke et al. 2007 and Kangas et
al. 2008 (free fall below 1 g, an impact of several g that rings for ~0.2 s, then lying still),
and gait at ~1.8 steps/s with ~0.2-0.3 g vertical oscillation (Zijlstra & Hof 2003).

Everything is a pure function of its ``rng``: same seed, same samples.

>>> import numpy as np
>>> x = synth_activity("standing", 2.0, 50.0, np.random.default_rng(0))
>>> x.shape, x.dtype, round(float(np.linalg.norm(x, axis=1).mean()), 1)
((100, 3), dtype('float32'), 1.0)
"""

from __future__ import annotations

import numpy as np

ACTIVITIES = ("standing", "walking", "sitting", "lying", "sleeping", "on_table")

# Trunk pitch (degrees from upright) of each posture: sitting leans back a little, lying is flat.
_PITCH = {"standing": 0.0, "walking": 5.0, "sitting": 20.0, "lying": 90.0, "sleeping": 90.0,
          "on_table": 90.0}
_NOISE_G = 0.015  # sensor noise plus micro-movement of a still body
_TABLE_NOISE_G = 0.003  # a watch taken off and put down: sensor noise alone, no body


def mount(rng: np.random.Generator) -> np.ndarray:
    """A random but fixed device orientation (3x3 rotation, body -> sensor)."""
    q = rng.normal(size=4)
    a, b, c, d = q / np.linalg.norm(q)
    return np.array(
        [
            [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
            [2 * (b * c + a * d), a * a - b * b + c * c - d * d, 2 * (c * d - a * b)],
            [2 * (b * d - a * c), 2 * (c * d + a * b), a * a - b * b - c * c + d * d],
        ]
    )


def _up(pitch_deg: np.ndarray, roll_deg: np.ndarray | float = 0.0) -> np.ndarray:
    """Gravity reaction (1 g, 'up') in the body frame for a trunk pitched/rolled by the angles."""
    p = np.radians(pitch_deg)
    r = np.radians(roll_deg)
    return np.stack([-np.sin(p) * np.cos(r), np.sin(r) * np.ones_like(p), np.cos(p) * np.cos(r)], -1)


def _to_sensor(body: np.ndarray, rot: np.ndarray | None) -> np.ndarray:
    out = body if rot is None else body @ rot.T
    return np.asarray(out, dtype=np.float32)


def _activity_body(activity: str, n: int, hz: float, rng: np.random.Generator) -> np.ndarray:
    if activity not in _PITCH:
        raise ValueError(f"unknown activity {activity!r}; known: {ACTIVITIES}")
    t = np.arange(n) / hz
    pitch = np.full(n, _PITCH[activity] + rng.normal(0.0, 3.0))
    roll = rng.normal(0.0, 5.0) if activity in ("sleeping", "lying") else 0.0
    body = _up(pitch, roll)
    if activity == "walking":
        step = rng.uniform(1.6, 2.0)  # steps per second
        phase = rng.uniform(0, 2 * np.pi)
        amp = rng.uniform(0.18, 0.3)
        body[:, 2] += amp * np.sin(2 * np.pi * step * t + phase)
        body[:, 0] += 0.5 * amp * np.sin(2 * np.pi * step * t + phase + 1.0)
        body[:, 1] += 0.4 * amp * np.sin(np.pi * step * t + phase)  # sway at stride frequency
    elif activity == "sleeping":
        # A turn in bed now and then: a slow roll of the trunk, well under 1.5 g.
        for start in rng.uniform(0, max(t[-1], 0.0), size=max(0, int(t[-1] // 60))):
            mask = (t >= start) & (t < start + 2.0)
            body[mask] = _up(np.full(mask.sum(), 90.0), roll + 40 * np.sin(np.pi * (t[mask] - start) / 2))
    body += rng.normal(0.0, _TABLE_NOISE_G if activity == "on_table" else _NOISE_G, size=body.shape)
    return body


def synth_activity(
    activity: str,
    seconds: float,
    hz: float,
    rng: np.random.Generator,
    *,
    rot: np.ndarray | None = None,
) -> np.ndarray:
    """``seconds`` of one of ``ACTIVITIES`` at ``hz``: (n, 3) float32 g in the sensor frame."""
    n = round(seconds * hz)
    return _to_sensor(_activity_body(activity, int(n), hz, rng), rot)


def _impact(n: int, hz: float, peak: float, rng: np.random.Generator) -> np.ndarray:
    """An impact with rebounds (body frame, mostly along the trunk's new 'up').

    SisFall impacts are not one spike: hips, trunk and arms land in turn over ~0.5 s, and the
    area of the magnitude above 1 g is 0.2-0.6 g·s; a decaying 6 Hz rebound gives that shape.
    """
    t = np.arange(n) / hz
    ring = peak * np.exp(-t / 0.1) * (0.6 + 0.4 * np.cos(2 * np.pi * 6.0 * t))
    direction = np.array([rng.normal(0, 0.3), rng.normal(0, 0.3), 1.0])
    unit = direction / np.linalg.norm(direction)
    return np.asarray(ring[:, None] * unit[None, :])


def synth_fall(
    hz: float,
    rng: np.random.Generator,
    *,
    gets_up: bool = False,
    before_s: float = 6.0,
    after_s: float = 30.0,
    rot: np.ndarray | None = None,
) -> tuple[np.ndarray, int]:
    """A fall from walking or standing: samples (n, 3) float32 g and the impact index.

    Pre-fall activity, 0.4-0.7 s of falling (magnitude down to 0.2-0.6 g while the trunk
    tilts), an impact of 3-6 g, then lying still — or, with ``gets_up``, lying 4-8 s, a 3 s
    rise and walking away.
    """
    activity = str(rng.choice(["standing", "walking"]))
    pre = _activity_body(activity, round(before_s * hz), hz, rng)
    n_fall = round(rng.uniform(0.4, 0.7) * hz)
    s = np.linspace(0.0, 1.0, n_fall)
    final_pitch = rng.uniform(75.0, 100.0) * rng.choice([-1.0, 1.0])
    falling = _up(final_pitch * s**2) * (
        1.0 - (1.0 - rng.uniform(0.2, 0.6)) * np.sin(np.pi * s)[:, None] ** 0.5
    )
    n_after = round(after_s * hz)
    lying = _up(np.full(n_after, final_pitch), rng.normal(0, 10.0))
    lying += rng.normal(0.0, _NOISE_G, size=lying.shape)
    ring_n = min(n_after, round(0.4 * hz))
    lying[:ring_n] += _impact(ring_n, hz, rng.uniform(3.0, 6.0), rng)
    if gets_up:
        lie = round(rng.uniform(4.0, 8.0) * hz)
        rise = round(3.0 * hz)
        s2 = np.linspace(0.0, 1.0, rise)
        rising = _up(final_pitch * (1.0 - s2)) + 0.15 * np.sin(3 * np.pi * s2)[:, None]
        walk_n = max(0, n_after - lie - rise)
        walk = _activity_body("walking", walk_n, hz, rng)
        lying = np.concatenate([lying[:lie], rising, walk])[:n_after]
    body = np.concatenate([pre, falling, lying])
    return _to_sensor(body, rot), pre.shape[0] + n_fall


def synth_stumble(
    hz: float, rng: np.random.Generator, *, seconds: float = 12.0, rot: np.ndarray | None = None
) -> np.ndarray:
    """Walking with a stumble (a hard recovery step of 2-3 g) and walking on: not a fall."""
    body = _activity_body("walking", round(seconds * hz), hz, rng)
    at = round(seconds * hz / 2)
    n = min(len(body) - at, round(0.3 * hz))
    body[at : at + n] += _impact(n, hz, rng.uniform(2.0, 3.0), rng)
    return _to_sensor(body, rot)


def synth_sit_down_hard(
    hz: float, rng: np.random.Generator, *, seconds: float = 12.0, rot: np.ndarray | None = None
) -> np.ndarray:
    """Standing, dropping into a chair (2-3 g), then sitting still: not a fall."""
    n = round(seconds * hz)
    half = n // 2
    stand = _activity_body("standing", half, hz, rng)
    sit = _activity_body("sitting", n - half, hz, rng)
    k = min(len(sit), round(0.3 * hz))
    sit[:k] += _impact(k, hz, rng.uniform(2.0, 3.0), rng)
    return _to_sensor(np.concatenate([stand, sit]), rot)
