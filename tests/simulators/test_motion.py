"""The motion simulator: seeded, physically plausible, and free of server imports."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from simulators import motion
from simulators.motion import (
    ACTIVITIES,
    mount,
    synth_activity,
    synth_fall,
    synth_sit_down_hard,
    synth_stumble,
)


@pytest.mark.parametrize("activity", ACTIVITIES)
def test_same_seed_same_bytes(activity: str) -> None:
    a = synth_activity(activity, 10.0, 50.0, np.random.default_rng(3))
    b = synth_activity(activity, 10.0, 50.0, np.random.default_rng(3))
    c = synth_activity(activity, 10.0, 50.0, np.random.default_rng(4))
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != c.tobytes()


@pytest.mark.parametrize("activity", ACTIVITIES)
@pytest.mark.parametrize("hz", [25.0, 50.0, 200.0])
def test_activity_shape_and_gravity(activity: str, hz: float) -> None:
    x = synth_activity(activity, 8.0, hz, np.random.default_rng(0))
    assert x.shape == (round(8.0 * hz), 3)
    assert x.dtype == np.float32
    # At rest or walking the mean specific force is 1 g opposing gravity.
    assert np.linalg.norm(x.mean(axis=0)) == pytest.approx(1.0, abs=0.05)


def test_walking_has_gait_periodicity() -> None:
    hz = 50.0
    x = synth_activity("walking", 20.0, hz, np.random.default_rng(1))
    mag = np.linalg.norm(x, axis=1)
    spectrum = np.abs(np.fft.rfft(mag - mag.mean()))
    freqs = np.fft.rfftfreq(mag.size, 1 / hz)
    assert 1.5 <= freqs[spectrum.argmax()] <= 2.1  # steps per second
    assert 0.1 <= mag.std() <= 0.35


def test_lying_is_ninety_degrees_from_standing() -> None:
    rng = np.random.default_rng(2)
    rot = mount(rng)
    stand = synth_activity("standing", 5.0, 50.0, rng, rot=rot).mean(axis=0)
    lie = synth_activity("lying", 5.0, 50.0, rng, rot=rot).mean(axis=0)
    cos = stand @ lie / np.linalg.norm(stand) / np.linalg.norm(lie)
    assert 70 <= np.degrees(np.arccos(cos)) <= 110


def test_mount_is_a_rotation() -> None:
    r = mount(np.random.default_rng(5))
    assert np.allclose(r @ r.T, np.eye(3), atol=1e-9)
    assert np.linalg.det(r) == pytest.approx(1.0)


@pytest.mark.parametrize("gets_up", [False, True])
def test_fall_has_free_fall_then_impact(gets_up: bool) -> None:
    hz = 50.0
    x, impact = synth_fall(hz, np.random.default_rng(6), gets_up=gets_up, after_s=20.0)
    mag = np.linalg.norm(x, axis=1)
    assert int(np.argmax(mag)) == impact
    assert mag[impact] >= 3.0
    assert mag[impact - int(0.5 * hz) : impact].min() < 0.85  # free fall
    tail = mag[-int(5 * hz) :]
    # lying still afterwards, or walking away after getting up
    assert (tail.std() >= 0.1) if gets_up else (tail.std() < 0.05)


def test_non_falls_have_impacts_but_keep_posture() -> None:
    hz = 50.0
    for x in (
        synth_stumble(hz, np.random.default_rng(7)),
        synth_sit_down_hard(hz, np.random.default_rng(7)),
    ):
        mag = np.linalg.norm(x, axis=1)
        assert mag.max() >= 2.0
        first, last = x[: int(2 * hz)].mean(axis=0), x[-int(2 * hz) :].mean(axis=0)
        cos = first @ last / np.linalg.norm(first) / np.linalg.norm(last)
        assert np.degrees(np.arccos(min(1.0, cos))) < 40


def test_unknown_activity_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown activity"):
        synth_activity("dancing", 1.0, 50.0, np.random.default_rng(0))


def test_simulator_imports_only_numpy() -> None:
    tree = ast.parse(Path(motion.__file__).read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert imported <= {"__future__", "numpy"}
