"""Runs every registered detector (``tests/detection/cases_*.py``) through the shared checks."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

import pytest

from tests import detection as cases_package
from tests.detection.checks import CHECKS, DetectorCase


def _cases() -> list[DetectorCase]:
    found: list[DetectorCase] = []
    for info in pkgutil.iter_modules(cases_package.__path__):
        if info.name.startswith("cases_"):
            module = importlib.import_module(f"{cases_package.__name__}.{info.name}")
            found.extend(module.CASES)
    return found


CASES = _cases()


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_detector_passes_shared_check(
    case: DetectorCase, check: Callable[[DetectorCase], None]
) -> None:
    check(case)
