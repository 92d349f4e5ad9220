"""Bytes to value objects and back, validated once where bytes come in.

>>> import time
>>> from ingest.codec import Decoder, encode
>>> from ingest.contract import Event, EventType
>>> now_ms = int(time.time() * 1000)
>>> raw = encode(Event(seq=1, ts=now_ms, type=EventType.SOS))
>>> Decoder().decode("eldercare/v1/home-1/btn-1/event", raw).body.type
<EventType.SOS: 'sos'>
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable
from dataclasses import dataclass

import msgspec
import numpy as np

from ingest.contract import (
    BODY_TYPES,
    MAX_PAYLOAD_BYTES,
    Accel,
    Body,
    Checkin,
    Checkup,
    Command,
    Event,
    Kind,
    Status,
    Topic,
    TopicError,
    readings_problem,
)


class ContractViolation(ValueError):
    """A message that breaks the wire contract. ``reason`` is stored in the dead-letter table.
    ``salvaged``: for an event whose seq and type are sound, the event made of its sound
    fields, to be raised all the same (:func:`salvage_event`); None for anything else."""

    def __init__(self, reason: str, *, code: str, salvaged: Envelope | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.salvaged = salvaged


class Envelope:
    """One validated message: where it came from and what it says. Treat it as immutable.

    A slotted class with its derived fields worked out once, not a frozen dataclass with
    properties: one is made for every message and read a dozen times, and the dataclass's
    construction (1.4 µs) and property calls were ~4 % of a stream worker (py-spy).
    """

    __slots__ = ("accel", "body", "clock_offset", "device", "gyro", "kind", "seq", "site", "topic",
                 "ts")
    topic: Topic
    body: Body
    accel: np.ndarray | None
    """An accelerometer window's samples in g, (n, 3) float32, decoded once by the Decoder."""
    gyro: np.ndarray | None
    device: str
    site: str
    kind: Kind
    seq: int
    ts: float
    """Observation time in epoch seconds."""
    clock_offset: float
    """Seconds added to the device's own time to place it (0: none; a clock learnt to be wrong,
    :class:`Decoder`)."""

    def __init__(self, *, topic: Topic, body: Body, accel: np.ndarray | None = None,
                 gyro: np.ndarray | None = None, clock_offset: float = 0.0) -> None:
        self.topic, self.body, self.accel, self.gyro = topic, body, accel, gyro
        self.clock_offset = clock_offset
        self.device, self.site, self.kind = topic.device, topic.site, topic.kind
        self.seq, self.ts = body.seq, body.ts / 1000.0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Envelope):
            return NotImplemented
        return self.topic == other.topic and self.body == other.body

    def __hash__(self) -> int:
        return hash((self.topic, self.body))

    def __repr__(self) -> str:
        return f"Envelope(topic={self.topic!r}, body={self.body!r})"

    def accel_samples(self) -> np.ndarray:
        """The window's samples, whether or not the Decoder made this envelope."""
        if self.accel is not None:
            return self.accel
        assert isinstance(self.body, Accel)
        return accel_samples(self.body)

    def gyro_samples(self) -> np.ndarray | None:
        if self.accel is not None:
            return self.gyro
        assert isinstance(self.body, Accel)
        return gyro_samples(self.body)


_DECODERS = {kind: msgspec.json.Decoder(cls) for kind, cls in BODY_TYPES.items()}
_ENCODER = msgspec.json.Encoder()
_NUL_ESCAPE = b"\\u0000"
"""JSON can put U+0000 in a string only as this escape; PostgreSQL's text and jsonb refuse it."""


def _holds_nul(body: Body) -> bool:
    """Whether a string field, or a key or value of a ``detail`` map, contains U+0000."""
    for value in msgspec.structs.astuple(body):
        values = [*value.keys(), *value.values()] if isinstance(value, dict) else [value]
        if any(isinstance(v, str) and "\x00" in v for v in values):
            return True
    return False


def encode(body: Body | Command) -> bytes:
    return _ENCODER.encode(body)


def will_at_arrival(env: Envelope, arrived: float, latest: float | None) -> Envelope:
    """A last will placed at its arrival. A device sets its "offline" will when it connects,
    with that connect's seq and time (docs/device-api.md), and the broker publishes it when it
    finds the connection gone, hours later: at its own time it is no newer than the device's
    ``latest`` message (the "online" it sent on connecting has the same time), and was taken
    for a late one. Such an "offline" is placed at its arrival
    (when the broker said it). One no older than the device's latest keeps its time: a
    gateway replaying what it kept while its uplink was down sends a device's "offline" and
    "online" in their order, each at its own time."""
    body = env.body
    if (isinstance(body, Status) and body.state == "offline" and latest is not None
            and env.ts <= latest):
        return Envelope(topic=env.topic,
                        body=msgspec.structs.replace(body, ts=round(max(arrived, latest) * 1000)))
    return env


class Decoder:
    """Validates topic and payload against the contract.

    Timestamps more than ``max_future_s`` ahead of the clock (a device with a wrong clock) or older
    than ``max_age_s`` (7 days: longer than a home gateway is expected to buffer during an outage)
    are rejected, because placing them on the timeline would mislead an operator. Except an
    event's: an SOS press, smoke or a fall from a device whose clock is wrong (reset to its
    firmware's date after a flat battery, never set, set to another zone) is still an SOS press,
    smoke or a fall, and refusing it would lose the alarm. It is placed at its arrival, with
    the device's own time kept in its ``detail`` as ``device_clock_ts`` (epoch ms), so the
    operator sees the clock is wrong and nothing is lost (:func:`at_arrival`).

    A device whose clock is that wrong would otherwise have every reading refused until someone
    sets it: a watch whose clock reset when it went flat would be blind to falls (its motion
    windows refused), still (its steps refused) and silent (its check-ins refused) for hours.
    So its clock's error is learnt: when ``clock_agree_n`` of its readings in a row, arriving
    over at least ``clock_learn_s``, are out by the same amount give or take
    ``clock_agree_s``, the error is taken as its clock's, and the last of them and its readings
    from then on are placed by it (their time plus the error; ``Envelope.clock_offset`` says by
    how much, and the device's row keeps it for the maintenance list). Those before stay
    refused, as before. The arrivals must be spread out, so a gateway replaying a backlog more
    than 7 days old in one burst (against the contract) is never taken for a wrong clock and
    placed now. A reading within the window forgets the error: the clock has been set. A status
    ("online", or "offline", a last will the broker publishes when it finds the connection
    gone) and a check-in ("I am here", with its battery) are placed at their arrival, and teach
    nothing: a button whose clock reset when its battery was changed checks in once a day,
    and refused for three days it would be "not checking in", its elder's welfare check an
    alarm about a button that is fine. (The error of a clock a few minutes
    fast, or up to 7 days slow, is not learnt this way: such readings are inside the window and
    keep their own time.)

    One such error inside the window is learnt: a clock slow by whole quarter hours, a time
    zone or daylight-saving slip (a watch set to UTC, or an hour behind after the clocks went
    forward). Its readings are all accepted, so nothing was refused, but every one was placed an
    hour early, and its wearer's stillness was judged an hour long before it was. When
    ``slip_agree_n`` readings in a row, arriving over at least ``slip_learn_s``, are each late
    by at least ``slip_min_s``, their lateness spread over no more than ``slip_spread_s``, and
    the least of it within a minute (``SLIP_OFF_MS``) of a whole number of quarter hours, that many
    quarter hours are taken as the clock's error and its readings from then on are placed by
    it (and events too, with their own time kept in ``detail``), as above. Transport adds
    seconds, not a steady hour; a backlog sent after an outage is late by amounts that fall as
    it catches up (spread far more than two minutes), and ends with readings on time. A reading
    late by less than ``slip_min_s`` forgets it: the clock is right. Not told apart: a gateway
    whose queue lags by a steady whole hour (an hour-late reading is placed as it was said).
    """

    def __init__(
        self,
        *,
        max_future_s: float = 300.0,
        max_age_s: float = 7 * 86400.0,
        clock: Callable[[], float] = time.time,
        clock_agree_n: int = 3,
        clock_agree_s: float = 30.0,
        clock_learn_s: float = 60.0,
        slip_agree_n: int = 10,
        slip_learn_s: float = 1800.0,
        slip_min_s: float = 600.0,
        slip_spread_s: float = 120.0,
    ) -> None:
        self._max_future_ms = max_future_s * 1000.0
        self._max_age_ms = max_age_s * 1000.0
        self._clock = clock
        self._agree_n = clock_agree_n
        self._agree_ms = clock_agree_s * 1000.0
        self._learn_ms = clock_learn_s * 1000.0
        self._clock_errors: dict[str, _ClockError] = {}
        """device -> what is being learnt, or has been, of its clock's error (only devices whose
        readings came outside the window since their last one inside it)."""
        self._slip_n = slip_agree_n
        self._slip_learn_ms = slip_learn_s * 1000.0
        self._slip_min_ms = slip_min_s * 1000.0
        self._slip_spread_ms = slip_spread_s * 1000.0
        self._slips: dict[str, _Slip] = {}
        """device -> what is being learnt, or has been, of a slip of its clock by whole quarter
        hours (only devices whose readings inside the window came ``slip_min_s`` late or more
        since their last one on time)."""

    def decode(self, topic: str, payload: bytes) -> Envelope:
        try:
            parsed = Topic.parse(topic)
        except TopicError as err:
            raise ContractViolation(str(err), code="topic") from None
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise ContractViolation(
                f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES}", code="too_large"
            )
        try:
            body = _DECODERS[parsed.kind].decode(payload)
        except msgspec.ValidationError as err:
            reason = f"invalid {parsed.kind}: {err}"
            raise ContractViolation(reason, code="schema",
                                    salvaged=self._salvage(parsed, payload, reason)) from None
        except msgspec.DecodeError as err:
            raise ContractViolation(f"malformed JSON: {err}", code="json") from None
        # msgspec raises these two itself rather than a DecodeError: bad UTF-8 inside a string,
        # and objects nested deeper than its limit inside a field it skips (an unknown key).
        except UnicodeDecodeError as err:
            raise ContractViolation(f"malformed JSON: not UTF-8 at byte {err.start}",
                                    code="json") from None
        except RecursionError:
            raise ContractViolation("malformed JSON: nested too deeply", code="json") from None
        if _NUL_ESCAPE in payload and _holds_nul(body):
            reason = (f"invalid {parsed.kind}: a string holds NUL (\\u0000), which cannot be"
                      " stored")
            raise ContractViolation(reason, code="schema",
                                    salvaged=self._salvage(parsed, payload, reason))
        now_ms = self._clock() * 1000.0
        if isinstance(body, Event):
            # an event teaches nothing, but one from a clock known to have slipped, as late
            # as the slip, is placed by it (its own time kept); on time, its clock was set
            slip = self._slips.get(parsed.device) if self._slips else None
            if (slip is not None and slip.learnt_ms and body.ts <= now_ms
                    and now_ms - self._max_age_ms <= body.ts
                    and now_ms - body.ts >= slip.learnt_ms - self._slip_spread_ms):
                placed = min(body.ts + slip.learnt_ms, now_ms)
                return Envelope(topic=parsed, body=at_arrival(body, placed),
                                clock_offset=(placed - body.ts) / 1000.0)
            return Envelope(topic=parsed, body=self._placed(body, now_ms))
        offset = 0.0
        if not now_ms - self._max_age_ms <= body.ts <= now_ms + self._max_future_ms:
            # a status is said when it is said (a last will by the broker, when it found the
            # connection gone), and a check-in says "I am here" now: placed at its arrival,
            # and it teaches nothing of the clock (a will carries the time of its connect,
            # hours before)
            offset = (now_ms - body.ts if isinstance(body, (Status, Checkin))
                      else self._clock_error(parsed.device, body.ts, now_ms))
            body = msgspec.structs.replace(body, ts=round(body.ts + offset))
        else:
            if self._clock_errors:
                self._clock_errors.pop(parsed.device, None)  # its clock has been set
            if not isinstance(body, (Status, Checkin)):  # placed by their arrival: no lesson
                offset = min(self._slip(parsed.device, body.ts, now_ms), now_ms - body.ts)
                if offset > 0:
                    body = msgspec.structs.replace(body, ts=round(body.ts + offset))
                else:
                    offset = 0.0
        if isinstance(body, Accel):  # these raise ContractViolation when data does not match n
            return Envelope(topic=parsed, body=body, accel=accel_samples(body),
                            gyro=gyro_samples(body), clock_offset=offset / 1000.0)
        if isinstance(body, Checkup):
            check_readings(body)
        return Envelope(topic=parsed, body=body, clock_offset=offset / 1000.0)

    def _clock_error(self, device: str, ts: float, now_ms: float) -> float:
        """The error (ms) of ``device``'s clock, learnt (the class doc) from this reading's time
        ``ts``, outside the window, and those before it; raises the reading's refusal while it
        is not yet known."""
        error = now_ms - ts
        known = self._clock_errors.get(device)
        if known is None or abs(error - known.error_ms) > self._agree_ms:
            if known is None and len(self._clock_errors) >= CLOCK_ERRORS_KEPT:
                del self._clock_errors[next(iter(self._clock_errors))]
            known = self._clock_errors[device] = _ClockError(error_ms=error, n=1, since_ms=now_ms)
        else:
            known.n += 1
            known.error_ms += (error - known.error_ms) / min(known.n, 10)
        if known.n > self._agree_n or (known.n == self._agree_n
                                       and now_ms - known.since_ms >= self._learn_ms):
            known.n = max(known.n, self._agree_n + 1)
            return known.error_ms
        if known.n == self._agree_n:
            known.n -= 1  # arrived too close together: wait for one later
        learning = (f"; its clock's error is being learnt ({known.n} of {self._agree_n} readings"
                    f" agree)" if known.n > 1 else "")
        if ts > now_ms:
            raise ContractViolation(f"timestamp {(ts - now_ms) / 1000.0:.0f} s in the future"
                                    + learning, code="ts_future")
        raise ContractViolation(f"timestamp {(now_ms - ts) / 1000.0:.0f} s in the past" + learning,
                                code="ts_past")

    def _slip(self, device: str, ts: float, now_ms: float) -> float:
        """The slip (ms) of ``device``'s clock by whole quarter hours, learnt (the class doc)
        from this reading's time ``ts``, inside the window, and those before it; 0 while none
        is known."""
        late = now_ms - ts
        known = self._slips.get(device)
        if late < self._slip_min_ms:
            if known is not None:
                del self._slips[device]  # on time: its clock is right (set, if it slipped)
            return 0.0
        if known is not None and known.learnt_ms:
            if late >= known.learnt_ms - self._slip_spread_ms:
                return known.learnt_ms  # later still: sent late, from a clock that slipped
            known = None  # less late than its slip: the clock has been set to another
        if known is None or max(known.high_ms, late) - min(known.low_ms, late) > self._slip_spread_ms:
            if device not in self._slips and len(self._slips) >= CLOCK_ERRORS_KEPT:
                del self._slips[next(iter(self._slips))]
            self._slips[device] = _Slip(low_ms=late, high_ms=late, n=1, since_ms=now_ms)
            return 0.0
        known.low_ms, known.high_ms = min(known.low_ms, late), max(known.high_ms, late)
        known.n += 1
        if known.n >= self._slip_n and now_ms - known.since_ms >= self._slip_learn_ms:
            quarters = round(known.low_ms / QUARTER_HOUR_MS)
            if quarters > 0 and abs(known.low_ms - quarters * QUARTER_HOUR_MS) <= SLIP_OFF_MS:
                known.learnt_ms = quarters * QUARTER_HOUR_MS
                return known.learnt_ms
        return 0.0

    def _salvage(self, topic: Topic, payload: bytes, reason: str) -> Envelope | None:
        """An event that breaks the contract in a field other than its seq and type, made of
        its sound fields and placed by :meth:`decode`'s rule for times, with ``reason`` in its
        ``detail`` (None for any other kind, or an event without a sound seq and type)."""
        if topic.kind is not Kind.EVENT:
            return None
        body = salvage_event(payload, reason)
        if body is None:
            return None
        return Envelope(topic=topic, body=self._placed(body, self._clock() * 1000.0))

    def _placed(self, body: Event, now_ms: float) -> Event:
        """``body`` as it is, or placed at its arrival if its time cannot be (the class doc)."""
        if now_ms - self._max_age_ms <= body.ts <= now_ms + self._max_future_ms:
            return body
        return at_arrival(body, now_ms)


CLOCK_ERRORS_KEPT = 10_000
"""Devices whose clock's error is learnt at once, at most (the oldest is forgotten first)."""


@dataclass(slots=True)
class _ClockError:
    error_ms: float
    """How far behind the platform's clock the device's is (negative: ahead), in the mean."""
    n: int
    """Readings in a row that agree on it (more than ``clock_agree_n``: learnt)."""
    since_ms: float
    """When the first of them arrived."""


QUARTER_HOUR_MS = 900_000.0
"""Time zones and daylight saving move clocks by whole quarter hours (Nepal's +05:45 the
finest)."""


SLIP_OFF_MS = 60_000.0
"""How far from whole quarter hours the least lateness of a slipped clock's readings may be:
seconds in transit, or a clock that has drifted a little too."""


@dataclass(slots=True)
class _Slip:
    low_ms: float
    high_ms: float
    """The least and the most late of the readings in a row that are late alike."""
    n: int
    since_ms: float
    """When the first of them arrived."""
    learnt_ms: float = 0.0
    """The slip taken as the clock's (0: not yet)."""


CLOCK_DETAIL = "device_clock_ts"
"""The ``detail`` key of an event placed at its arrival: the time its device's clock said."""

SALVAGED_DETAIL = "contract_error"
"""The ``detail`` key of an event raised from the sound fields of a message that broke the
contract: what was wrong with it (the message itself is dead-lettered whole)."""


def salvage_event(payload: bytes, reason: str) -> Event | None:
    """The event in ``payload``, which broke the contract (``reason``), made of its sound
    fields: a call for help must not be lost to a press count of 11, a version 2, an unknown
    service or a nested detail. Its ``seq`` (its identity: a redelivery must not raise it
    twice) and ``type`` must be sound, else None; a ``ts`` that is not is taken as 0, a time
    that cannot be, which places it at its arrival; ``detail``, ``presses`` and ``service_type``
    are kept each where it is sound on its own. ``reason`` goes in its ``detail``.

    >>> e = salvage_event(b'{"v": 2, "seq": 5, "ts": 1790000000000, "type": "sos", "presses": 12}',
    ...                   "invalid event: presses must be <= 10")
    >>> e.seq, e.type.value, e.presses, e.detail
    (5, 'sos', None, {'contract_error': 'invalid event: presses must be <= 10'})
    >>> salvage_event(b'{"seq": "five", "ts": 1790000000000, "type": "sos"}', "") is None
    True
    """
    try:
        raw = msgspec.json.decode(payload)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(raw, dict):
        return None
    try:
        core = msgspec.convert({"seq": raw.get("seq"), "ts": raw.get("ts"),
                                "type": raw.get("type")}, Event)
    except msgspec.ValidationError:
        try:
            core = msgspec.convert({"seq": raw.get("seq"), "ts": 0, "type": raw.get("type")},
                                   Event)
        except msgspec.ValidationError:
            return None
    kept = {}
    for name in ("detail", "presses", "service_type"):
        if name not in raw:
            continue
        try:
            one = msgspec.structs.replace(core, **{name: raw[name]})
            msgspec.convert(msgspec.to_builtins(one), Event)  # validated on its own
        except (msgspec.ValidationError, TypeError):
            continue
        if not _holds_nul(one):
            kept[name] = getattr(one, name)
    detail = {**(kept.pop("detail", None) or {}), SALVAGED_DETAIL: reason[:500]}
    return msgspec.structs.replace(core, detail=detail, **kept)


def event_time(body: Event) -> int:
    """The time an event's device said (ms): its ``ts``, or for one placed at its arrival the
    time it came with. Two deliveries of one message say the same; a new press under a reused
    seq does not."""
    said = (body.detail or {}).get(CLOCK_DETAIL)
    return said if isinstance(said, int) and not isinstance(said, bool) else body.ts


def at_arrival(body: Event, now_ms: float) -> Event:
    """``body`` placed at ``now_ms``, its device's own time kept as ``detail[CLOCK_DETAIL]``.

    >>> from ingest.contract import EventType
    >>> e = at_arrival(Event(seq=1, ts=946684800000, type=EventType.SOS), 1790000000000.0)
    >>> e.ts, e.detail
    (1790000000000, {'device_clock_ts': 946684800000})
    """
    return msgspec.structs.replace(body, ts=round(now_ms),
                                   detail={**(body.detail or {}), CLOCK_DETAIL: body.ts})


def _unpack(data: str, n: int, what: str) -> np.ndarray:
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ContractViolation(f"{what} is not valid base64", code="schema") from None
    if len(raw) != n * 6:
        raise ContractViolation(
            f"{what} holds {len(raw)} bytes, expected {n * 6} for n={n} xyz int16 samples",
            code="schema",
        )
    return np.frombuffer(raw, dtype="<i2").reshape(n, 3)


def accel_samples(body: Accel) -> np.ndarray:
    """The accelerometer samples of a window in g, shape (n, 3), float32."""
    return _unpack(body.data, body.n, "data").astype(np.float32) * np.float32(body.scale)


def check_readings(body: Checkup) -> None:
    problem = readings_problem(body.readings)
    if problem is not None:
        raise ContractViolation(f"invalid checkup: {problem}", code="schema")


def gyro_samples(body: Accel) -> np.ndarray | None:
    """The gyroscope samples in deg/s, shape (n, 3), or None when the window has none."""
    if body.gyro is None:
        return None
    if body.gyro_scale is None:
        raise ContractViolation("gyro without gyro_scale", code="schema")
    return _unpack(body.gyro, body.n, "gyro").astype(np.float32) * np.float32(body.gyro_scale)


def pack_samples(samples: np.ndarray, scale: float) -> str:
    """Quantise float samples (n, 3) to int16 counts of ``scale`` and base64 them."""
    counts = np.clip(np.rint(np.asarray(samples, dtype=np.float64) / scale), -32768, 32767)
    return base64.b64encode(counts.astype("<i2").tobytes()).decode("ascii")
