"""A clock tests move by hand: timers are tested by setting the time, never by sleeping."""

from __future__ import annotations


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t
