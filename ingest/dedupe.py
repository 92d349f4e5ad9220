"""Dropping redelivered messages by (device, sequence number), in constant memory per device.

A sliding window over each device's recent sequence numbers, the anti-replay window of IPsec
(RFC 4303, section 3.4.3): the highest number seen plus a bitmask of the ``WINDOW`` numbers below
it. A number inside the window that is already marked is a duplicate. A number older than the
window is *not* judged here (it is passed on, and the database's unique keys settle it), because a
home gateway replaying a backlog legitimately sends old numbers.

>>> seen = SeenSequences()
>>> seen.is_new("d1", 5), seen.is_new("d1", 5), seen.is_new("d1", 4)
(True, False, True)
"""

from __future__ import annotations

WINDOW = 256


class SeenSequences:
    def __init__(self) -> None:
        self._high: dict[str, int] = {}
        self._mask: dict[str, int] = {}

    def is_new(self, device: str, seq: int) -> bool:
        """True for a message not seen before (and records it); False for a duplicate."""
        high = self._high.get(device)
        if high is None:
            self._high[device], self._mask[device] = seq, 1
            return True
        if seq > high:
            shift = seq - high
            mask = (self._mask[device] << shift) | 1 if shift < WINDOW else 1
            self._high[device], self._mask[device] = seq, mask & ((1 << WINDOW) - 1)
            return True
        offset = high - seq
        if offset >= WINDOW:
            return True  # too old to judge here; the database's unique keys decide
        bit = 1 << offset
        if self._mask[device] & bit:
            return False
        self._mask[device] |= bit
        return True

    def forget(self, device: str) -> None:
        self._high.pop(device, None)
        self._mask.pop(device, None)
