"""Commands down to devices: the platform's ``.../cmd`` message to the device's native topic.

The platform publishes ``{"id": "c-1", "command": "silence", "ts": <ms>}`` on
``eldercare/v1/<site>/<device>/cmd``; the gateway looks the (profile, command) pair up in
:data:`COMMANDS`, publishes the native payload on the home's broker and acknowledges upstream on
``eldercare/v1/<site>/<device>/ack`` (a proposed contract kind; see docs/gateway.md) with a status:

``sent``           handed to the home's broker at QoS 1 (zigbee2mqtt confirms nothing more)
``unsupported``    this kind of device has no such command
``expired``        the command is older than ``command_ttl_s`` (queued while the gateway was away)
``failed``         the home's broker is not connected
``unknown_device`` the device is not bound in this gateway's config (the ack is the gateway's own)

A payload that is not a command at all is forwarded as ``rejected`` instead, like any message the
gateway cannot read.

>>> from gateway.config import Binding, Profile
>>> smoke = Binding(native="zigbee2mqtt/kitchen-smoke", site="h", device="s", profile=Profile.SMOKE)
>>> plan(smoke, Command(id="c1", command="silence", ts=1000), now_ms=2000, ttl_ms=60_000)
NativeCall(topic='zigbee2mqtt/kitchen-smoke/set', payload=b'{"buzzer":"mute"}')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Literal

import msgspec

from gateway.config import Binding, Profile
from ingest.contract import ROOT, Ack, Command


class CommandName(StrEnum):
    SILENCE = "silence"
    LOCATE = "locate"
    SELF_TEST = "self_test"


AckStatus = Literal["sent", "unsupported", "expired", "failed", "unknown_device"]
CommandAck = Ack  # the contract's acknowledgement (ingest.contract.Ack)


@dataclass(frozen=True, slots=True, kw_only=True)
class NativeCommand:
    """One command of one device profile, as the device's native protocol says it."""

    profile: Profile
    command: CommandName
    suffix: str
    """Appended to the device's native name: zigbee2mqtt ``set``, OwnTracks ``cmd``."""
    payload: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


COMMANDS: tuple[NativeCommand, ...] = (
    # Aqara JY-GZ-01AQ exposes ``buzzer`` (mute/alarm) for silencing an alarm in progress
    # (https://www.zigbee2mqtt.io/devices/JY-GZ-01AQ.html).
    NativeCommand(profile=Profile.SMOKE, command=CommandName.SILENCE, suffix="set",
                  payload=MappingProxyType({"buzzer": "mute"})),
    # Xiaomi/Aqara smoke detectors start a self-test on {"selftest": ""}
    # (https://www.zigbee2mqtt.io/devices/JTYJ-GD-01LM_BW.html, "Self-test").
    NativeCommand(profile=Profile.SMOKE, command=CommandName.SELF_TEST, suffix="set",
                  payload=MappingProxyType({"selftest": ""})),
    # OwnTracks remote command: report the current location now
    # (https://owntracks.org/booklet/tech/json/, _type=cmd, action reportLocation).
    NativeCommand(profile=Profile.OWNTRACKS, command=CommandName.LOCATE, suffix="cmd",
                  payload=MappingProxyType({"_type": "cmd", "action": "reportLocation"})),
)
_BY_KEY = {(c.profile, str(c.command)): c for c in COMMANDS}


@dataclass(frozen=True, slots=True, kw_only=True)
class NativeCall:
    topic: str
    payload: bytes


def plan(binding: Binding, command: Command, *, now_ms: int, ttl_ms: int) -> NativeCall | AckStatus:
    """The native message for ``command``, or the status to acknowledge at once."""
    if now_ms - command.ts > ttl_ms:
        return "expired"
    native = _BY_KEY.get((binding.profile, command.command))
    if native is None:
        return "unsupported"
    return NativeCall(topic=f"{binding.native}/{native.suffix}",
                      payload=msgspec.json.encode(dict(native.payload)))


def parse_command_topic(topic: str) -> tuple[str, str] | None:
    """``eldercare/v1/<site>/<device>/cmd`` -> (site, device)."""
    parts = topic.split("/")
    if len(parts) != 5 or parts[4] != "cmd" or f"{parts[0]}/{parts[1]}" != ROOT:
        return None
    return parts[2], parts[3]
