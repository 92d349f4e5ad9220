"""Per-device streaming state of the fall detector, stored as arrays for every device of one rate.

All devices that declare the same sample rate share one :class:`RateBank`: a slot per device in
a few numpy arrays (ring buffers of the raw and low-passed acceleration, the gravity filter's
state ``zi``, the stream clock). A batch of windows from many devices is then filtered with one
``scipy.signal.sosfilt`` call and written into the rings with one fancy-indexed assignment, so
the Python cost per window is a dictionary lookup, not a filter call.

The gravity estimate is a 2nd-order Butterworth low-pass at 0.25 Hz per axis (Karantonis et al.,
IEEE TITB 10(1), 2006, separate gravity from body acceleration with a low-pass at 0.25 Hz); its
``zi`` carries across windows so window boundaries leave no artefacts: filtering a stream in one
piece or in 1 s windows gives the same output.

>>> import numpy as np
>>> bank = RateBank(hz=50.0, cutoff_hz=0.25, length=200)
>>> slot = bank.slot_of("watch-1")
>>> x = np.tile(np.float32([0.0, 0.0, 1.0]), (1, 50, 1))
>>> bank.write(np.array([slot]), x, np.array([0.0]))
>>> bank.history(slot)[1][-1].round(3).tolist()     # gravity estimate of the last sample
[0.0, 0.0, 1.0]
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
from scipy.signal import butter, sosfilt, sosfilt_zi


class RateBank:
    """State arrays for every device sampling at ``hz``; see the module docstring."""

    def __init__(self, *, hz: float, cutoff_hz: float, length: int) -> None:
        self.hz = float(hz)
        self.length = int(length)
        self.sos = np.asarray(butter(2, cutoff_hz, btype="low", fs=self.hz, output="sos"))
        self._zi_unit = np.asarray(sosfilt_zi(self.sos))  # (sections, 2), steady state for 1.0
        self.slots: dict[str, int] = {}
        self.ids: list[str | None] = []
        self._free: list[int] = []
        cap = 0
        self.raw = np.zeros((cap, self.length, 3), np.float32)
        self.grav = np.zeros((cap, self.length, 3), np.float32)
        self.zi = np.zeros((self.sos.shape[0], cap, 2, 3), np.float64)  # sosfilt's layout
        self.t_end = np.zeros(cap, np.float64)
        self.count = np.zeros(cap, np.int64)

    # -- slots -------------------------------------------------------------------------------
    def slot_of(self, device_id: str) -> int:
        """The device's slot, allocating a fresh one (count 0) for a new device."""
        slot = self.slots.get(device_id)
        if slot is not None:
            return slot
        if not self._free:
            self._grow()
        slot = self._free.pop()
        self.slots[device_id] = slot
        self.ids[slot] = device_id
        self.reset(slot)
        return slot

    def _grow(self) -> None:
        old = len(self.ids)
        new = max(8, old * 2)
        extra = new - old
        self.raw = np.concatenate([self.raw, np.zeros((extra, self.length, 3), np.float32)])
        self.grav = np.concatenate([self.grav, np.zeros((extra, self.length, 3), np.float32)])
        zi_extra = np.zeros((self.sos.shape[0], extra, 2, 3), np.float64)
        self.zi = np.concatenate([self.zi, zi_extra], axis=1)
        self.t_end = np.concatenate([self.t_end, np.zeros(extra)])
        self.count = np.concatenate([self.count, np.zeros(extra, np.int64)])
        self.ids.extend([None] * extra)
        # Pop from the end: hand out low slots first so a batch's slots stay close in memory.
        self._free.extend(range(new - 1, old - 1, -1))

    def reset(self, slot: int) -> None:
        """Forget the stream of ``slot`` (after a gap): the next window starts it afresh."""
        self.count[slot] = 0
        self.t_end[slot] = 0.0

    def release(self, device_id: str) -> None:
        slot = self.slots.pop(device_id, None)
        if slot is not None:
            self.ids[slot] = None
            self.reset(slot)
            self._free.append(slot)

    # -- streaming ---------------------------------------------------------------------------
    def write(self, slots: np.ndarray, x: np.ndarray, t0: np.ndarray) -> None:
        """Append windows ``x`` (d, n, 3) g, starting at ``t0`` (d,), to ``slots`` (d,)."""
        n = x.shape[1]
        xf = np.asarray(x, dtype=np.float64)
        fresh = self.count[slots] == 0
        if fresh.any():
            # Start the filter in its steady state for the first sample, so a new stream has
            # no start-up transient (what scipy's lfilter_zi is for).
            first = xf[fresh, 0, :]  # (f, 3)
            self.zi[:, slots[fresh]] = self._zi_unit[:, None, :, None] * first[None, :, None, :]
        zi = self.zi[:, slots]
        y, zf = sosfilt(self.sos, xf, axis=1, zi=zi)
        self.zi[:, slots] = zf
        pos = (self.count[slots] % self.length)[:, None] + np.arange(n)[None, :]
        pos %= self.length
        # One flat index per sample: a single fancy-indexed axis is much faster than two.
        flat = (slots[:, None] * self.length + pos).ravel()
        self.raw.reshape(-1, 3)[flat] = x.reshape(-1, 3)
        self.grav.reshape(-1, 3)[flat] = y.reshape(-1, 3)
        self.count[slots] += n
        self.t_end[slots] = t0 + n / self.hz

    def history(self, slot: int) -> tuple[np.ndarray, np.ndarray]:
        """The valid part of the slot's rings, oldest first: (raw, gravity), each (m, 3)."""
        valid = int(min(self.count[slot], self.length))
        shift = -int(self.count[slot] % self.length)
        raw = np.roll(self.raw[slot], shift, axis=0)[self.length - valid :]
        grav = np.roll(self.grav[slot], shift, axis=0)[self.length - valid :]
        return raw, grav

    # -- snapshots ---------------------------------------------------------------------------
    def device_snapshot(self, slot: int) -> dict[str, Any]:
        raw, grav = self.history(slot)
        return {
            "count": int(self.count[slot]),
            "t_end": float(self.t_end[slot]),
            "zi": self.zi[:, slot].tolist(),
            # float32 bytes in base64: exact, and a third of the size of a list of floats.
            "raw": _pack(raw),
            "grav": _pack(grav),
        }

    def restore_device(self, device_id: str, snap: dict[str, Any]) -> int:
        slot = self.slot_of(device_id)
        count = int(snap["count"])
        raw = _unpack(snap["raw"])
        grav = _unpack(snap["grav"])
        valid = raw.shape[0]
        # Lay the history out exactly where an uninterrupted stream would have written it.
        pos = (count - valid + np.arange(valid)) % self.length
        self.raw[slot, pos] = raw
        self.grav[slot, pos] = grav
        self.count[slot] = count
        self.t_end[slot] = float(snap["t_end"])
        self.zi[:, slot] = np.asarray(snap["zi"], np.float64)
        return slot


def _pack(x: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(x, dtype="<f4").tobytes()).decode("ascii")


def _unpack(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f4").astype(np.float32).reshape(-1, 3)
