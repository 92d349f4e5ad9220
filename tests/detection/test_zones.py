"""One error for a time zone that is none, whether zoneinfo calls it unknown or malformed."""

from __future__ import annotations

import doctest

import pytest

import detection.zones
from detection.zones import known_zone


def test_docstring_examples_run() -> None:
    result = doctest.testmod(detection.zones)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "", "../etc", "America/", "Asia/Shanghai\n"])
def test_unknown_and_malformed_names_are_one_value_error(name: str) -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        known_zone(name)


def test_a_real_zone_is_returned() -> None:
    assert known_zone("Europe/London").key == "Europe/London"
