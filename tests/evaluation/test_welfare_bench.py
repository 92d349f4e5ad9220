"""The welfare bench's episode count: alarms of one kind from one watch less than an hour apart
are one episode, whatever else comes between."""

from __future__ import annotations

from alerts.raising import AlarmTrigger
from bench.welfare_false_alarms import episodes


def _alarm(device: str, kind: str, minute: float) -> AlarmTrigger:
    return AlarmTrigger(kind=kind, device_id=device, source_seq=int(minute), occurred_ts=60.0 * minute)


def test_alarms_of_one_watch_and_kind_within_an_hour_are_one_episode() -> None:
    triggers = [
        _alarm("w1", "vitals_deviation", 0),
        _alarm("w1", "vitals_deviation", 10),
        _alarm("w2", "vitals_deviation", 15),  # another watch: its own episode
        _alarm("w1", "inactivity", 20),  # another kind: its own episode
        _alarm("w1", "vitals_deviation", 69),  # 59 min after the last: the same episode
        _alarm("w1", "vitals_deviation", 129),  # 60 min after the last: a new one
    ]
    assert episodes(list(reversed(triggers))) == {"vitals_deviation": 3, "inactivity": 1}


def test_no_alarms_no_episodes() -> None:
    assert not episodes([])
