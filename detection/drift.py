"""Slow drift: a two-sided tabular CUSUM on standardised deviations.

Method: Page, "Continuous inspection schemes", Biometrika 41 (1954); the tabular form as in
Montgomery, *Introduction to Statistical Quality Control*, ch. 9. For standardised input ``z``
(deviation from the personal baseline in units of its spread)::

    S+ = max(0, S+ + z - k)      S- = max(0, S- - z - k)

and a drift is signalled when either sum exceeds ``h``; both sums then restart at 0. With the
usual ``k = 0.5`` and ``h = 5`` a sustained shift of one σ is signalled after about 10 samples
while in-control data give a false signal about once in 465 samples per side. A single large
deviation is not a drift: ``z`` is clipped to ``±clip`` so one wild reading cannot trip it alone.

>>> c = Cusum(k=0.5, h=5.0)
>>> [c.update(1.5) for _ in range(6)][-1]
'up'
>>> c.update(0.0) is None
True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class CusumConfig:
    k: float = 0.5
    """Allowance, half the shift (in σ) worth detecting."""
    h: float = 5.0
    """Decision interval."""
    clip: float = 3.0


class Cusum:
    """Two-sided tabular CUSUM; ``update`` returns ``"up"``, ``"down"`` or None."""

    def __init__(self, *, k: float = 0.5, h: float = 5.0, clip: float = 3.0) -> None:
        self.config = CusumConfig(k=k, h=h, clip=clip)
        self.high = 0.0
        self.low = 0.0

    def update(self, z: float) -> str | None:
        c = self.config
        z = max(-c.clip, min(c.clip, z))
        self.high = max(0.0, self.high + z - c.k)
        self.low = max(0.0, self.low - z - c.k)
        signal = "up" if self.high > c.h else "down" if self.low > c.h else None
        if signal is not None:
            self.high = self.low = 0.0
        return signal

    def snapshot(self) -> dict[str, Any]:
        return {**asdict(self.config), "high": self.high, "low": self.low}

    @classmethod
    def restore(cls, snap: dict[str, Any]) -> Cusum:
        found = cls(k=snap["k"], h=snap["h"], clip=snap["clip"])
        found.high, found.low = snap["high"], snap["low"]
        return found
