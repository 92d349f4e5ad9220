"""``eldercare eval falls`` (``eldercare.evaluation.falls.main``) on small synthetic archives."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import resample_poly

from eldercare.evaluation.falls import main
from simulators.motion import mount, synth_activity, synth_fall

G_TO_COUNTS = 8192 / 32


def _counts(x: np.ndarray) -> np.ndarray:
    """SisFall layout: (n, 6) int16 at 200 Hz, accelerometer counts then (here zero) gyro."""
    up = resample_poly(x.astype(np.float64), 4, 1, axis=0)  # synthesised at 50 Hz
    out = np.zeros((up.shape[0], 6), np.int16)
    out[:, :3] = np.round(up * G_TO_COUNTS)
    return out


@pytest.fixture
def data(tmp_path: Path) -> Path:
    for subject, seed in (("SA01", 0), ("SE02", 2)):
        rng = np.random.default_rng(seed)
        rot = mount(rng)
        lead = synth_activity("standing", 4.0, 50.0, rng, rot=rot)
        x, _ = synth_fall(50.0, rng, rot=rot, before_s=4.0, after_s=7.0)
        trials = {
            f"F01_{subject}_R01": _counts(np.concatenate([lead, x])),
            f"D07_{subject}_R01": _counts(synth_activity("sitting", 12.0, 50.0, rng, rot=rot)),
            f"D01_{subject}_R01": _counts(synth_activity("walking", 30.0, 50.0, rng, rot=rot)),
        }
        np.savez(tmp_path / f"{subject}.npz", **trials)  # type: ignore[arg-type]
    return tmp_path


def test_json_report(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data", str(data), "--json"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    rep = json.loads(last)
    assert rep["sensitivity"] == 1.0
    assert rep["specificity"] == 1.0
    assert rep["false_alarms_per_hour"] == 0.0
    assert rep["trials"] == 6
    assert 1.0 <= rep["latency_p95_s"] <= 2.0
    assert set(rep["by_group"]) == {"SA", "SE"}
    assert rep["by_group"]["SE"]["fall_trials"] == 1
    assert rep["by_activity"]["F01"] == {"trials": 2, "alarmed": 2, "alarms": 2}


def test_text_report_at_another_rate(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data", str(data), "--hz", "100"]) == 0
    out = capsys.readouterr().out
    assert "sensitivity 100.00%" in out
    assert "{" not in out


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "not found"),
        ("empty", "no .npz"),
        ("shape", "expected an (n >= 200, 6) array"),
        ("name", "is not like F01_SA01_R01"),
        ("corrupt", "not a readable .npz"),
        ("pickled", "unreadable array"),
        ("text", "expected numbers"),
    ],
)
def test_bad_input_exits_2_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], setup: str, message: str
) -> None:
    target = tmp_path / "d"
    if setup != "missing":
        target.mkdir()
    if setup == "shape":
        np.savez(target / "SA01.npz", F01_SA01_R01=np.zeros((3000, 2), np.int16))
    if setup == "name":
        np.savez(target / "SA01.npz", fall=np.zeros((3000, 6), np.int16))
    if setup == "pickled":
        np.savez(target / "SA01.npz", F01_SA01_R01=np.array([{"x": 1}], dtype=object))
    if setup == "text":
        np.savez(target / "SA01.npz", F01_SA01_R01=np.full((300, 6), "a"))
    if setup == "corrupt":
        (target / "SA01.npz").write_bytes(b"not a zip")
    assert main(["--data", str(target)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert main(["--data", ".", "--hz", "10"]) == 2
    assert "25..200" in capsys.readouterr().err
