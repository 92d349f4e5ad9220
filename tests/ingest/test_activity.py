"""Devices heard per slot (ingest/activity.py): whole slots only, distinct devices, a day kept
while the database is away."""

from __future__ import annotations

import doctest

import ingest.activity
from ingest.activity import KEEP, Activity

T = "watch-{}"


def test_docstring_examples() -> None:
    assert doctest.testmod(ingest.activity).failed == 0


def test_a_slot_counts_distinct_devices_and_every_message() -> None:
    a = Activity(slot_s=60.0, started=0.0)
    a.heard(1.0, [T.format(1), T.format(1), T.format(2)])
    a.heard(30.0, [T.format(3)])
    a.heard(59.9, [])
    assert a.pending == []  # not whole yet
    a.heard(60.0, [])  # the clock alone closes it
    assert [(s.start, s.devices, s.messages) for s in a.pending] == [(0.0, 3, 4)]
    a.heard(130.0, [])  # a slot with nobody heard is a whole slot of none
    assert [(s.start, s.devices) for s in a.pending] == [(0.0, 3), (60.0, 0)]


def test_the_slots_a_lane_starts_and_stops_in_are_not_reported() -> None:
    a = Activity(slot_s=60.0, started=30.0)
    a.heard(31.0, [T.format(1)])
    a.heard(61.0, [T.format(1), T.format(2)])
    a.heard(125.0, [T.format(1)])
    assert [(s.start, s.devices) for s in a.pending] == [(60.0, 2)]


def test_written_slots_are_dropped_and_a_day_is_kept_while_they_cannot_be() -> None:
    a = Activity(slot_s=60.0, started=0.0)
    for i in range(KEEP + 10):
        a.heard(60.0 * i + 1, [T.format(i)])
    assert len(a.pending) == KEEP and a.pending[0].start == 60.0 * 9
    a.written(KEEP - 1)
    assert [s.start for s in a.pending] == [60.0 * (KEEP + 8)]
