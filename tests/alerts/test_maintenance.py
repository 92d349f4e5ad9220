"""The maintenance list's problems, as its docstring shows them (a fault the device said was
over is no longer one)."""

from __future__ import annotations

import doctest

import alerts.maintenance


def test_docstring_examples() -> None:
    result = doctest.testmod(alerts.maintenance)
    assert result.attempted >= 5 and result.failed == 0
