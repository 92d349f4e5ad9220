"""The spool: durable, ordered, bounded without ever dropping an alarm."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.draft import DeviceState
from gateway.spool import Spool, Spooled


def _msg(n: int, *, droppable: bool) -> Spooled:
    kind = "checkin" if droppable else "event"
    return Spooled(topic=f"eldercare/v1/h/d/{kind}", payload=str(n).encode(), retain=False,
                   droppable=droppable)


def test_messages_and_states_survive_reopening(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.db")
    spool.commit([_msg(1, droppable=False), _msg(2, droppable=True)],
                 {"h/d": DeviceState(seq=7, flags={"smoke": True})})
    spool.close()
    again = Spool(tmp_path / "s.db")
    assert [r.payload for r in again.pending(after=0, limit=10)] == [b"1", b"2"]
    assert again.states() == {"h/d": DeviceState(seq=7, flags={"smoke": True})}
    assert len(again) == 2


def test_ids_keep_growing_after_everything_was_removed(tmp_path: Path) -> None:
    """Replay order is id order: a new message must never get an old (smaller) id."""
    spool = Spool(tmp_path / "s.db")
    spool.commit([_msg(1, droppable=False)], {})
    (first,) = spool.pending(after=0, limit=10)
    spool.remove([first.id])
    spool.close()
    again = Spool(tmp_path / "s.db")
    again.commit([_msg(2, droppable=False)], {})
    (second,) = again.pending(after=0, limit=10)
    assert second.id > first.id


def test_full_spool_drops_oldest_droppable_first(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.db", max_messages=4)
    spool.commit([_msg(1, droppable=True), _msg(2, droppable=False), _msg(3, droppable=True),
                  _msg(4, droppable=False)], {})
    spool.commit([_msg(5, droppable=False)], {})
    assert [r.payload for r in spool.pending(after=0, limit=10)] == [b"2", b"3", b"4", b"5"]
    assert spool.dropped == 1


def test_alarms_are_never_dropped_even_beyond_the_bound(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spool = Spool(tmp_path / "s.db", max_messages=3)
    for n in range(6):
        spool.commit([_msg(n, droppable=False)], {})
    assert len(spool) == 6 and spool.dropped == 0
    assert "alarms are never dropped" in caplog.text
    spool.commit([_msg(99, droppable=True)], {})  # full of alarms: a check-in is not taken
    assert len(spool) == 6 and spool.dropped == 1


def test_pending_pages_in_order_and_remove_ignores_unknown_ids(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.db")
    spool.commit([_msg(n, droppable=False) for n in range(5)], {})
    page = spool.pending(after=0, limit=2)
    rest = spool.pending(after=page[-1].id, limit=10)
    assert [r.payload for r in page + rest] == [b"0", b"1", b"2", b"3", b"4"]
    spool.remove([page[0].id, page[0].id, 12345])
    assert len(spool) == 4
