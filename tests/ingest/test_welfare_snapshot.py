"""The welfare snapshot taken in pieces is the snapshot, whatever happens between the pieces."""

from __future__ import annotations

import json

import msgspec
import numpy as np
import pytest

from bench.welfare_false_alarms import BATCH_S, HOME, START, TELEMETRY_S, _Wearer
from ingest.welfare import WelfareStage
from store.registry import DeviceRef


def _wearers(count: int, first: int = 0) -> list[_Wearer]:
    return [_Wearer(device=f"watch-{i}", site=f"home-{i}", rng=np.random.default_rng([7, i]),
                    hr_base=70.0 + i, days=None) for i in range(first, first + count)]


def _configure(stage: WelfareStage, people: list[_Wearer]) -> None:
    stage.configure({p.device: DeviceRef(id=p.device, site_id=p.site, kind="wearable",
                                         resident_id=f"r{p.device}", room_id=None,
                                         site_lat=HOME[0], site_lon=HOME[1]) for p in people})


def _live(stage: WelfareStage, people: list[_Wearer], minutes: range) -> None:
    for minute in minutes:
        t0 = START + BATCH_S * minute
        batch = [p.telemetry(t0 + TELEMETRY_S * i) for i in range(6) for p in people]
        batch.sort(key=lambda e: e.body.ts)
        stage.process(batch, now=t0 + BATCH_S - TELEMETRY_S)


@pytest.fixture(scope="module")
def lived() -> tuple[WelfareStage, list[_Wearer]]:
    """Five wearers' first twelve hours."""
    stage, people = WelfareStage(), _wearers(5)
    _configure(stage, people)
    _live(stage, people, range(12 * 60))
    return stage, people


@pytest.mark.parametrize("per_piece", [1, 2, 250])
def test_the_pieces_join_into_the_snapshot(lived: tuple[WelfareStage, list[_Wearer]],
                                           per_piece: int) -> None:
    stage, _ = lived
    whole = stage.snapshot()
    assert len(whole["vitals"]["tracks"]) == 15 and len(whole["inactivity"]["residents"]) == 5
    pieces = list(stage.snapshot_pieces(per_piece))
    # one piece per track and resident, or per pair: the loop gets its turn between them
    assert len(pieces) >= {1: 20, 2: 11, 250: 2}[per_piece]
    joined = msgspec.json.decode(b"".join(pieces))
    assert joined == json.loads(json.dumps(whole))
    restored = WelfareStage()
    restored.restore(joined)
    assert restored.snapshot() == whole


def test_an_empty_stage_gives_a_snapshot_that_restores() -> None:
    joined = msgspec.json.decode(b"".join(WelfareStage().snapshot_pieces()))
    assert joined["vitals"]["tracks"] == {} and joined["inactivity"]["residents"] == {}
    restored = WelfareStage()
    restored.restore(joined)
    assert restored.snapshot() == WelfareStage().snapshot()


def test_work_between_the_pieces_leaves_a_snapshot_whole_for_each_resident() -> None:
    """Ingest goes on between the pieces: the tracks already taken are as they were, the ones
    taken after carry what came meanwhile, and a wearer first seen meanwhile waits for the next
    snapshot if its part (the tracks, the residents) had begun. Every part restores."""
    stage, people = WelfareStage(), _wearers(3)
    _configure(stage, people)
    _live(stage, people, range(8 * 60, 10 * 60))  # from 08:00: walking, so moving too
    before = stage.snapshot()["vitals"]["tracks"]
    taking = stage.snapshot_pieces(1)
    pieces = [next(taking) for _ in range(3)]  # the opening, the vitals head, the first track
    newcomer = _wearers(1, first=3)
    _configure(stage, people + newcomer)
    _live(stage, people + newcomer, range(10 * 60, 11 * 60))
    pieces += list(taking)
    joined = msgspec.json.decode(b"".join(pieces))
    tracks = joined["vitals"]["tracks"]
    first = next(iter(tracks))
    assert tracks[first] == json.loads(json.dumps(before[first]))
    now = stage.snapshot()
    later = [k for k in tracks if k != first]
    assert later and all(tracks[k] == json.loads(json.dumps(now["vitals"]["tracks"][k]))
                         for k in later)
    assert not any(k.startswith("rwatch-3") for k in tracks)
    assert any(k.startswith("rwatch-3") for k in now["vitals"]["tracks"])
    # the residents' part began after the newcomer came: it is there, as it is now
    assert joined["inactivity"]["residents"] == json.loads(
        json.dumps(now["inactivity"]["residents"]))
    assert "rwatch-3" in joined["inactivity"]["residents"]
    restored = WelfareStage()
    restored.restore(joined)
    assert set(restored.vitals._tracks) == set(tracks)


def test_since_when_a_watch_is_off_the_wrist_survives_a_restart() -> None:
    """The off-wrist time an inactivity alarm shows (ingest/welfare.py) is in the snapshot,
    whole or in pieces; a snapshot from before it was kept restores with none."""
    stage, people = WelfareStage(), _wearers(2)
    _configure(stage, people)
    _live(stage, people, range(3))
    off = people[0].telemetry(START + 200.0)
    off.body = msgspec.structs.replace(off.body, worn=False)  # taken off the wrist
    stage.process([off], now=START + 200.0)
    whole = stage.snapshot()
    assert whole["off_wrist"] == {"rwatch-0": START + 200.0}
    restored = WelfareStage()
    restored.restore(msgspec.json.decode(b"".join(stage.snapshot_pieces(1))))
    assert restored.snapshot() == whole
    older = {k: v for k, v in whole.items() if k != "off_wrist"}
    restored.restore(json.loads(json.dumps(older)))
    assert restored.snapshot()["off_wrist"] == {}
