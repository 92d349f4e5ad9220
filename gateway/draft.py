"""What an adapter makes of one native message: drafts of contract messages and the device's new
state, before the gateway numbers them.

Adapters are pure: ``(native message, device state) -> Outcome``. The translator (see
:mod:`gateway.translate`) gives each draft its sequence number, validates it against the contract
and turns a failure into a ``rejected`` message.

>>> from ingest.contract import Event, Kind
>>> d = Draft(kind=Kind.EVENT, body_type=Event, fields={"ts": 1, "type": "sos"})
>>> d.kind
<Kind.EVENT: 'event'>
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec

from gateway.config import Binding


class DeviceState(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What the gateway remembers about one device, persisted with the spool so that a restart
    neither re-raises a smoke alarm that was already sent nor reuses a sequence number."""

    seq: int = 0
    """The last sequence number given to this device's messages."""
    flags: dict[str, bool | str] = {}
    """The last seen value of each state key that turns into events on change (``smoke``...)."""
    status: str | None = None
    """The last status sent (``online``/``offline``)."""
    battery: int | None = None
    last_checkin_ms: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Draft:
    """A contract message without its sequence number. ``kind`` is the topic's last level."""

    kind: str
    body_type: type[msgspec.Struct]
    fields: Mapping[str, Any]
    retain: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """A part of a native message that could not be translated; it is forwarded as ``rejected``."""

    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    drafts: tuple[Draft, ...] = ()
    problems: tuple[Problem, ...] = ()
    state: DeviceState | None = None
    """The device's new state, or None when it did not change."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Native:
    """One native message as the gateway received it."""

    topic: str
    raw: bytes
    payload: Any
    """The decoded JSON (or the plain text of a legacy availability message)."""
    subtopic: str
    """What follows the native name in the topic: ``""``, ``"availability"``, ``"event"``..."""
    binding: Binding
    received_ms: int
    checkin_interval_ms: int = field(default=300_000)


def millis_from_z2m_last_seen(value: object) -> int | None:
    """zigbee2mqtt's optional ``last_seen``: epoch ms (``last_seen: epoch``) or ISO 8601
    (``ISO_8601``/``ISO_8601_local``), see https://www.zigbee2mqtt.io/guide/configuration/ —
    when present it is the observation time, otherwise the gateway's receipt time is used.

    >>> millis_from_z2m_last_seen(1790000000000), millis_from_z2m_last_seen("2026-09-21T14:13:20Z")
    (1790000000000, 1790000000000)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 0 < value < 2**53:
        return value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        if moment.tzinfo is None:
            return None  # local time of an unknown zone: the receipt time is the better guess
        return int(moment.timestamp() * 1000)
    return None
