"""Wire contract v1: the device API.

Every device publishes JSON to its own topics::

    eldercare/v1/<site>/<device>/<kind>

where ``<kind>`` is one of :class:`Kind`. The site and device ids are in the topic so that a broker
ACL can confine a device to ``eldercare/v1/<its site>/<itself>/#``; the payload never names a
device, so a device cannot speak for another by what it writes. Commands go the other way on
``eldercare/v1/<site>/<device>/cmd``.

Every payload carries ``seq`` (the device's sequence number, strictly increasing over the device's
life, across reboots) and ``ts`` (milliseconds since the Unix epoch, UTC, when the device observed
what it reports). ``(device, seq)`` identifies a message: a redelivered or replayed message is
dropped idempotently. The full description with one JSON Schema per kind is docs/device-api.md;
the schemas in ``ingest/schemas/`` are generated from these structs (``eldercare contract
--schemas``) and a test keeps them in step.

>>> from ingest.contract import Topic
>>> Topic.parse("eldercare/v1/home-0001/btn-0001/event")
Topic(site='home-0001', device='btn-0001', kind=<Kind.EVENT: 'event'>)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Literal

import msgspec

VERSION = 1
ROOT = f"eldercare/v{VERSION}"
MAX_PAYLOAD_BYTES = 64 * 1024
"""Largest payload accepted; one second of 200 Hz accel + gyro is about 3 KiB, so this is lavish."""

ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
"""Site and device ids: what may stand in a topic level and in a broker ACL."""


class Kind(StrEnum):
    EVENT = "event"
    TELEMETRY = "telemetry"
    ACCEL = "accel"
    LOCATION = "location"
    CHECKIN = "checkin"
    STATUS = "status"
    REJECTED = "rejected"
    ACK = "ack"
    CHECKUP = "checkup"


class EventType(StrEnum):
    SOS = "sos"
    FALL = "fall"
    """A device that detects falls itself (a fall radar, a watch's own algorithm)."""
    CANCEL = "cancel"
    SMOKE = "smoke"
    SMOKE_CLEARED = "smoke_cleared"
    TEST = "test"
    FAULT = "fault"
    FAULT_CLEARED = "fault_cleared"
    """The device's fault is over (a smoke detector's trouble gone): its item may close."""
    TAMPER = "tamper"
    TAMPER_CLEARED = "tamper_cleared"
    """Its tamper switch is closed again (a detector back on its base, a cover shut)."""
    BATTERY_LOW = "battery_low"
    SERVICE = "service"
    """A dedicated service key (meal, repair...): a service ticket if the device is configured
    ``second_key``, otherwise an SOS like any press (docs/services.md)."""


class TopicError(ValueError):
    """A topic outside the contract."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Topic:
    site: str
    device: str
    kind: Kind

    @classmethod
    def parse(cls, topic: str) -> Topic:
        known = _PARSED.get(topic)
        if known is not None:  # a device's topics recur every second: parse each once
            return known
        parsed = cls._parse(topic)
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()  # bounded: a flood of well-formed strangers cannot grow it for ever
        _PARSED[topic] = parsed
        return parsed

    @classmethod
    def _parse(cls, topic: str) -> Topic:
        parts = topic.split("/")
        if len(parts) != 5 or f"{parts[0]}/{parts[1]}" != ROOT:
            raise TopicError(f"topic {topic!r} is not {ROOT}/<site>/<device>/<kind>")
        site, device, kind = parts[2], parts[3], parts[4]
        for label, value in (("site", site), ("device", device)):
            if not ID_PATTERN.fullmatch(value):
                raise TopicError(f"{label} id {value!r} is not 1-64 of [A-Za-z0-9_.-]")
        try:
            return cls(site=site, device=device, kind=Kind(kind))
        except ValueError:
            raise TopicError(f"unknown message kind {kind!r}") from None

    def __str__(self) -> str:
        return f"{ROOT}/{self.site}/{self.device}/{self.kind}"


_PARSED: dict[str, Topic] = {}
_PARSED_MAX = 200_000


def topic(site: str, device: str, kind: Kind) -> str:
    return f"{ROOT}/{site}/{device}/{kind}"


def subscription() -> str:
    """The topic filter matching every kind from every device."""
    return f"{ROOT}/+/+/+"


ALARM_LANE = (Kind.EVENT, Kind.ACK, Kind.REJECTED, Kind.CHECKUP)
"""Kinds ingest takes on its own connection, so a press never queues behind a backlog of motion
and vital-sign streams (the broker keeps one queue per connection, in order)."""
STREAM_LANE = (Kind.ACCEL, Kind.TELEMETRY, Kind.LOCATION, Kind.CHECKIN, Kind.STATUS)


def lane_subscriptions(kinds: tuple[Kind, ...]) -> list[tuple[str, int]]:
    return [(f"{ROOT}/+/+/{kind}", 1) for kind in kinds]


def command_topic(site: str, device: str) -> str:
    return f"{ROOT}/{site}/{device}/cmd"


ServiceType = Literal["meal", "housekeeping", "repair", "companionship", "medical_escort", "other"]
Seq = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1, description="device sequence number")]
Millis = Annotated[int, msgspec.Meta(ge=0, le=2**53, description="epoch milliseconds, UTC")]
Percent = Annotated[int, msgspec.Meta(ge=0, le=100)]


class _Message(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    v: Literal[1] = 1
    seq: Seq
    ts: Millis


class Event(_Message, frozen=True, kw_only=True):
    """Something happened: a press, smoke, a fault. Events are what raise alarms."""

    type: EventType
    detail: dict[str, str | int | float | bool] | None = None
    presses: Annotated[int, msgspec.Meta(ge=1, le=10)] | None = None
    """For buttons that report click counts: 2 for a double press. Counted by the device or the
    gateway; the platform never waits for a second press."""
    service_type: ServiceType | None = None
    """For ``service`` presses: the service asked for; absent, the device's configured type."""


class Telemetry(_Message, frozen=True, kw_only=True):
    """Periodic vital signs and device state from a wearable; every field optional."""

    hr: Annotated[int, msgspec.Meta(ge=20, le=250)] | None = None
    spo2: Annotated[int, msgspec.Meta(ge=50, le=100)] | None = None
    skin_temp: Annotated[float, msgspec.Meta(ge=20.0, le=45.0)] | None = None
    steps: Annotated[int, msgspec.Meta(ge=0, le=200_000)] | None = None
    """Steps counted today (local day of the device), cumulative."""
    battery: Percent | None = None
    worn: bool | None = None


class Accel(_Message, frozen=True, kw_only=True):
    """A window of raw motion samples. ``ts`` is the time of the first sample.

    ``data`` is base64 of little-endian int16 triples (x, y, z) for ``n`` samples; multiply by
    ``scale`` for g. ``gyro`` (optional) is the same for the gyroscope with ``gyro_scale`` in deg/s.
    At 50 Hz one second is 300 bytes, 400 characters of base64.
    """

    hz: Annotated[float, msgspec.Meta(ge=25.0, le=200.0)]
    range_g: Literal[2, 4, 8, 16] = 8
    scale: Annotated[float, msgspec.Meta(gt=0.0, le=0.1)]
    n: Annotated[int, msgspec.Meta(ge=1, le=2000)]
    data: str
    gyro: str | None = None
    gyro_scale: Annotated[float, msgspec.Meta(gt=0.0, le=1.0)] | None = None


class Location(_Message, frozen=True, kw_only=True):
    """Where the wearer is (安全定位): WGS-84 degrees and the fix's accuracy."""

    lat: Annotated[float, msgspec.Meta(ge=-90.0, le=90.0)]
    lon: Annotated[float, msgspec.Meta(ge=-180.0, le=180.0)]
    acc: Annotated[float, msgspec.Meta(ge=0.0, le=100_000.0)] | None = None
    """Horizontal accuracy in metres (radius)."""
    source: Literal["gps", "wifi", "cell", "fixed"] | None = None
    detail: dict[str, str | int | float | bool] | None = None
    """E.g. a phone's own geofence transition: ``{"event": "leave", "region": "Home"}``."""


class Checkin(_Message, frozen=True, kw_only=True):
    """"I am alive": sent on a schedule by every device class."""

    battery: Percent | None = None
    rssi: Annotated[int, msgspec.Meta(ge=-150, le=0)] | None = None
    fw: Annotated[str, msgspec.Meta(max_length=64)] | None = None


DeviceId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
MAX_BRIDGED = 256
"""Devices one gateway's ``online`` may list (a zigbee coordinator serves some tens)."""


class Status(_Message, frozen=True, kw_only=True):
    """Connection state, published retained. The device sets ``offline`` as its MQTT last will at
    connect time (with the seq and ts of that connect), and publishes ``online`` after."""

    state: Literal["online", "offline"]
    devices: Annotated[list[DeviceId], msgspec.Meta(max_length=MAX_BRIDGED)] | None = None
    """A home gateway's ``online`` only: the devices of its site it speaks for, as its
    configuration lists them. The platform records that they reach it through the gateway
    (``devices.via``), and that any it had through the gateway and the list leaves out no
    longer do: when the gateway's line is cut, an elder whose emergency devices all go through
    it gets a welfare check within minutes. Absent: it says nothing of them."""


class Rejected(_Message, frozen=True, kw_only=True):
    """A gateway could not translate a device's native payload: it forwards it whole, with the
    reason, so that it lands in the platform's dead-letter table instead of being lost."""

    topic: Annotated[str, msgspec.Meta(max_length=1024)]
    """The topic the payload arrived on, at the gateway (e.g. ``zigbee2mqtt/kitchen-smoke``)."""
    payload: str
    """The original payload, base64."""
    reason: Annotated[str, msgspec.Meta(max_length=2000)]


class Command(msgspec.Struct, frozen=True, kw_only=True):
    """Platform -> device on ``.../cmd``: ``silence`` a detector's buzzer, ``locate`` a wearable,
    ``self_test``. ``id`` comes back in the acknowledgement."""

    id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    command: Annotated[str, msgspec.Meta(max_length=64)]
    ts: Millis


class Ack(_Message, frozen=True, kw_only=True):
    """Device or gateway -> platform on ``.../ack``: what became of a command.

    ``sent`` (handed to the device's own network), ``done`` (the device confirmed),
    ``unsupported``, ``expired`` (it waited too long to be delivered), ``failed``,
    ``unknown_device`` (a gateway answering for a device it does not know; ``device`` names it).
    """

    id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    command: Annotated[str, msgspec.Meta(max_length=64)]
    status: Literal["sent", "done", "unsupported", "expired", "failed", "unknown_device"]
    device: str | None = None


class Readings(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One check-up's measurements, each optional (at least one present): blood pressure in
    mmHg, glucose in mmol/L, weight in kg, temperature in °C, pulse in bpm, SpO2 in %. The ranges
    are what a meter can show, not what is healthy (that is detection/checkup.py's business)."""

    bp_systolic: Annotated[float, msgspec.Meta(ge=40.0, le=300.0)] | None = None
    bp_diastolic: Annotated[float, msgspec.Meta(ge=20.0, le=200.0)] | None = None
    glucose: Annotated[float, msgspec.Meta(ge=0.5, le=40.0)] | None = None
    weight: Annotated[float, msgspec.Meta(ge=15.0, le=300.0)] | None = None
    temperature: Annotated[float, msgspec.Meta(ge=30.0, le=45.0)] | None = None
    heart_rate: Annotated[float, msgspec.Meta(ge=20.0, le=250.0)] | None = None
    spo2: Annotated[float, msgspec.Meta(ge=50.0, le=100.0)] | None = None


class Checkup(_Message, frozen=True, kw_only=True):
    """A self check-up taken at a community health kiosk (or by the elder's own meter): whose,
    and what was measured. ``ts`` is when it was measured; ``resident`` is the id the kiosk read
    from the elder's card."""

    resident: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    readings: Readings


def readings_problem(readings: Readings) -> str | None:
    """What the schema cannot say about a check-up (None: nothing wrong): it measures something,
    and blood pressure comes as a pair with the systolic above the diastolic."""
    r = readings
    if all(value is None for value in msgspec.structs.astuple(r)):
        return "no readings"
    if (r.bp_systolic is None) != (r.bp_diastolic is None):
        return "blood pressure needs bp_systolic and bp_diastolic together"
    if r.bp_systolic is not None and r.bp_diastolic is not None and r.bp_systolic <= r.bp_diastolic:
        return f"bp_systolic {r.bp_systolic:g} is not above bp_diastolic {r.bp_diastolic:g}"
    return None


Body = Event | Telemetry | Accel | Location | Checkin | Status | Rejected | Ack | Checkup

BODY_TYPES: dict[Kind, type[Body]] = {
    Kind.EVENT: Event,
    Kind.TELEMETRY: Telemetry,
    Kind.ACCEL: Accel,
    Kind.LOCATION: Location,
    Kind.CHECKIN: Checkin,
    Kind.STATUS: Status,
    Kind.REJECTED: Rejected,
    Kind.ACK: Ack,
    Kind.CHECKUP: Checkup,
}
