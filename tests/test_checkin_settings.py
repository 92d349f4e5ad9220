"""Each device class's check-in interval is the deployment's to set (``ELDERCARE_CHECKIN``), and
it holds across a restart: a restored welfare stage judges by the configured intervals, not by
those its snapshot was taken with."""

from __future__ import annotations

import pytest

from detection.device_health import DEVICE_CLASSES, with_checkins
from eldercare.settings import Settings, SettingsError
from ingest.codec import Decoder, encode
from ingest.contract import Checkin
from ingest.welfare import WelfareStage
from store.registry import DeviceRef

T0 = 1_800_000_000.0
H = 3600.0


def test_the_intervals_come_from_the_environment_and_a_mistake_refuses_to_start(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ELDERCARE_CHECKIN", "button=12h, hub=5min")
    intervals = {c.name: c.checkin_s for c in Settings.from_env().checkin}
    assert intervals == {"hub": 300.0, "wall_button": 600, "button": 12 * H,
                         "smoke_detector": 25 * H, "wearable": H}
    monkeypatch.delenv("ELDERCARE_CHECKIN")
    assert Settings.from_env().checkin == DEVICE_CLASSES
    for bad, says in (("pendant=12h", "expected one of hub"), ("button=12", "number and s, min"),
                      ("button=2d", "number and s, min"), ("button=10s", "between 1 min"),
                      ("button=30 days", "number and s, min"), ("button", "expected one of")):
        monkeypatch.setenv("ELDERCARE_CHECKIN", bad)
        with pytest.raises(SettingsError, match=f"ELDERCARE_CHECKIN: .*{says}"):
            Settings.from_env()


def _stage(checkin: str = "") -> WelfareStage:
    stage = WelfareStage(classes=with_checkins(checkin))
    stage.configure({"btn-1": DeviceRef(id="btn-1", site_id="home-1", kind="button",
                                        resident_id="r1", room_id=None)})
    return stage


def _silent_items(stage: WelfareStage, at: float) -> list[str]:
    return [t.details["problem"] for t in stage.process([], now=at) if t.kind == "maintenance"]


@pytest.mark.parametrize(("configured", "taken_with", "silent_by"),
                         [("button=2h", "", 3.1 * H), ("", "button=2h", 37.6 * H)])
def test_a_restored_stage_judges_by_the_configured_interval_not_the_snapshots(
        configured: str, taken_with: str, silent_by: float) -> None:
    """r1's only device, a pendant, is heard at T0. A stage configured for a 2-hour check-in
    calls it silent after 1.5 x 2 h, even restored from a snapshot taken with the default 25 h;
    and one configured with the default goes by 37.5 h, even restored from a 2-hour snapshot."""
    before = _stage(taken_with)
    decoder = Decoder(clock=lambda: T0)
    before.process([decoder.decode("eldercare/v1/home-1/btn-1/checkin",
                                   encode(Checkin(seq=1, ts=int(T0 * 1000), battery=90)))],
                   now=T0)
    after = _stage(configured)
    after.restore(before.snapshot())  # restarted at once: no time of its own to excuse
    said = {at: _silent_items(after, T0 + at) for at in (1.0, silent_by - 0.2 * H, silent_by)}
    assert said == {1.0: [], silent_by - 0.2 * H: [], silent_by: ["no_checkin"]}
