"""Per-device rate limiting of stream messages: one token bucket per device.

Method: the token bucket (the single-rate meter of RFC 2697 without its colours; J. Turner,
"New directions in communications", IEEE Communications Magazine 24(10), 1986). Each device holds
up to ``burst`` tokens, refilled at ``per_s`` tokens a second; a message costs one token per
started ``bytes_per_token`` bytes of payload, so a device sending near-limit 60 KiB payloads gets
fifteen times fewer of them through than one sending a 3 KiB accelerometer window. A message that
finds too few tokens is over budget; ingest dead-letters it with code ``rate_limited``.

**Only stream kinds are limited** (:data:`LIMITED`: accel, telemetry, location, check-in — what
the gateway's spool may drop too). Alarm-lane messages — events (sos, fall, smoke, cancel...),
command acknowledgements, gateway rejections — and ``status`` (a device's last will) are NEVER
dropped by the limiter: ingest does not ask it about them, and they cost the device no tokens, so
a press from a device that is flooding still raises its alarm.

Time: a bucket refills by the later of two clocks' progress since the device's previous message:
ingest's (arrival) and the device's own ``ts`` (observation). A device replaying a backlog (a home
gateway after an outage, the broker's queue after an ingest restart) sends old readings quickly,
but their timestamps advance at the rate they were observed, so the replay passes; a firmware
loop resending "now" over and over advances neither clock and is cut to the budget. A device that
fabricates advancing timestamps gets at most the budget over the decoder's window of accepted
timestamps (7 days back, 5 minutes ahead): the limiter stops floods, provisioning stops devices.

Memory: at most ``max_devices`` buckets, the least recently heard evicted first. A device evicted
and heard again starts with a full bucket: forgetting errs on the side of letting readings in.

>>> limiter = RateLimiter(Budget(burst=2, per_s=1.0))
>>> [limiter.allow("w1", now=100.0) for _ in range(3)]
[True, True, False]
>>> limiter.allow("w1", now=101.0), limiter.allow("w2", now=101.0)
(True, True)
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

from ingest.contract import Kind

LIMITED = frozenset({Kind.ACCEL, Kind.TELEMETRY, Kind.LOCATION, Kind.CHECKIN})
"""The kinds the limiter may drop. Never events, acks, rejections or status."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Budget:
    """What one device may send.

    The defaults: the busiest device class, a wearable, sends a 1 s accelerometer window every
    second, vitals every 10 s, a location a minute and a check-in every few minutes: about
    1.2 messages a second, 1–4 KiB each. ``per_s=10`` is eight times that (room for 0.2 s windows
    and vitals every second); ``burst=50`` lets a device that reconnects send ~40 s of what it
    buffered at once, before the replay rule (see the module) takes over. 4 KiB a token holds a
    1 s window at 200 Hz with gyroscope (3.2 KiB of base64) in one token.
    """

    burst: float = 50.0
    per_s: float = 10.0
    bytes_per_token: int = 4096

    def __post_init__(self) -> None:
        if not (self.burst >= 1 and self.per_s > 0 and self.bytes_per_token > 0):
            raise ValueError(f"a rate budget needs burst >= 1 and positive rates, not {self}")

    def cost(self, size: int) -> float:
        """Tokens for a payload of ``size`` bytes: one per started block, at most a full bucket
        (so a large message is slow to repeat, never impossible)."""
        return float(min(max(1, math.ceil(size / self.bytes_per_token)), self.burst))

    def __str__(self) -> str:
        return f"{self.burst:g} at once, {self.per_s:g}/s, {self.bytes_per_token} B a token"

    @classmethod
    def parse(cls, text: str) -> Budget:
        """A budget from ``burst=50,per_s=10,bytes_per_token=4096`` (any of them; the rest keep
        their defaults), as ``ELDERCARE_RATE_LIMIT`` gives it.

        >>> Budget.parse("per_s=20, burst=100")
        Budget(burst=100.0, per_s=20.0, bytes_per_token=4096)
        """
        values: dict[str, float | int] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            key, sep, value = part.partition("=")
            key = key.strip()
            if not sep or key not in ("burst", "per_s", "bytes_per_token"):
                raise ValueError(f"{part!r}: expected burst=, per_s= or bytes_per_token=")
            try:
                number = float(value)
            except ValueError:
                raise ValueError(f"{part!r}: {value.strip()!r} is not a number") from None
            if not math.isfinite(number):
                raise ValueError(f"{part!r}: must be a finite number")
            values[key] = int(number) if key == "bytes_per_token" else number
        return cls(**values)  # type: ignore[arg-type]


@dataclass(slots=True)
class _Bucket:
    tokens: float
    arrival: float
    """The latest arrival time (ingest's clock)."""
    observed: float | None
    """The latest observation time (the device's ``ts``), if the caller gave one."""


class RateLimiter:
    """Token buckets keyed by device id; pure: the caller passes the time."""

    def __init__(self, budget: Budget | None = None, *, max_devices: int = 100_000) -> None:
        self.budget = budget or Budget()
        self._max_devices = max_devices
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def allow(self, device: str, *, now: float, observed: float | None = None,
              size: int = 0) -> bool:
        """Take the tokens for one message of ``size`` bytes that ``device`` observed at
        ``observed`` (epoch s) and that arrived at ``now``; False when it is over budget."""
        budget = self.budget
        bucket = self._buckets.get(device)
        if bucket is None:
            bucket = _Bucket(tokens=budget.burst, arrival=now, observed=observed)
            self._buckets[device] = bucket
            if len(self._buckets) > self._max_devices:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(device)
            elapsed = max(now - bucket.arrival, 0.0)  # a clock stepped back refills nothing
            if observed is not None and bucket.observed is not None:
                elapsed = max(elapsed, observed - bucket.observed)
            bucket.tokens = min(budget.burst, bucket.tokens + elapsed * budget.per_s)
            bucket.arrival = max(bucket.arrival, now)
            if observed is not None:
                bucket.observed = observed if bucket.observed is None else max(bucket.observed,
                                                                               observed)
        cost = 1.0 if size <= budget.bytes_per_token else budget.cost(size)
        if bucket.tokens < cost:
            return False
        bucket.tokens -= cost
        return True
