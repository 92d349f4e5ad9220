from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ingest.dedupe import WINDOW, SeenSequences


@given(st.lists(st.integers(min_value=0, max_value=WINDOW // 2), max_size=300))
def test_matches_a_set_when_numbers_stay_within_the_window(seqs: list[int]) -> None:
    seen, reference = SeenSequences(), set()
    for seq in seqs:
        assert seen.is_new("d", seq) == (seq not in reference)
        reference.add(seq)


def test_devices_are_independent() -> None:
    seen = SeenSequences()
    assert seen.is_new("a", 1) and seen.is_new("b", 1)
    assert not seen.is_new("a", 1)


def test_numbers_older_than_the_window_are_passed_on_for_the_database_to_judge() -> None:
    seen = SeenSequences()
    seen.is_new("d", 1)
    seen.is_new("d", 1 + WINDOW * 3)
    assert seen.is_new("d", 1)  # too old to judge in memory: the unique keys decide


def test_a_big_jump_resets_the_window() -> None:
    seen = SeenSequences()
    assert seen.is_new("d", 10)
    assert seen.is_new("d", 10 + 10 * WINDOW)
    assert not seen.is_new("d", 10 + 10 * WINDOW)
    assert seen.is_new("d", 9 + 10 * WINDOW)
