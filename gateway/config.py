"""The gateway's configuration file: which native device is which of our devices.

A TOML file maps each native name (a zigbee2mqtt friendly name, an OwnTracks ``user/device``) to
our (site, device id) and says which profile translates it::

    [gateway]
    site = "home-0001"
    id = "gw-0001"

    [[devices]]
    native = "zigbee2mqtt/kitchen-smoke"
    id = "smoke-0001"
    profile = "smoke"

    [[devices]]
    native = "zigbee2mqtt/hall-button"
    id = "btn-0001"
    profile = "button"
    actions = { double = "cancel" }   # every other press stays an SOS

>>> cfg = GatewayConfig.from_toml('[gateway]\\nsite = "h1"\\nid = "gw1"\\n')
>>> cfg.gateway.device, cfg.devices
('gw1', ())
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ingest.contract import ID_PATTERN, EventType  # the contract's id rule, not a copy


class ConfigError(ValueError):
    """The gateway's configuration file is unusable; the message says where."""


class Profile(StrEnum):
    """Which adapter table translates a device."""

    SMOKE = "smoke"
    BUTTON = "button"
    FALL_RADAR = "fall_radar"
    OWNTRACKS = "owntracks"


@dataclass(frozen=True, slots=True, kw_only=True)
class Binding:
    """One native device bound to our (site, device id)."""

    native: str
    """``zigbee2mqtt/<friendly name>`` or ``owntracks/<user>/<device>``."""
    site: str
    device: str
    profile: Profile
    actions: MappingProxyType[str, EventType | None] = field(
        default_factory=lambda: MappingProxyType({}))
    """Per-device overrides of button actions; ``None`` ("ignore") ignores the action."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayIdentity:
    site: str
    device: str
    checkin_interval_s: float = 300.0
    """How often the gateway checks in for itself, and the least time between two check-ins a
    device's periodic reports turn into (a zigbee2mqtt device republishes its whole state on every
    change: one check-in per report would drown the platform in them)."""
    command_ttl_s: float = 300.0
    """A command older than this when it reaches the gateway is acknowledged ``expired``, not run:
    a self-test started an hour late, while nobody watches, helps nobody."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayConfig:
    gateway: GatewayIdentity
    devices: tuple[Binding, ...]
    by_native: MappingProxyType[str, Binding] = field(
        default_factory=lambda: MappingProxyType({}), repr=False)

    @classmethod
    def load(cls, path: Path) -> GatewayConfig:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise ConfigError(f"{path}: {err.strerror}") from None
        return cls.from_toml(text, source=str(path))

    @classmethod
    def from_toml(cls, text: str, *, source: str = "<config>") -> GatewayConfig:
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{source}: {err}") from None
        try:
            return _parse(raw)
        except (KeyError, TypeError, ValueError) as err:
            raise ConfigError(f"{source}: {err}") from None

    def binding(self, native: str) -> Binding | None:
        return self.by_native.get(native)


def _parse(raw: dict[str, Any]) -> GatewayConfig:
    gw = raw["gateway"]
    identity = GatewayIdentity(
        site=_id(gw["site"], "gateway.site"), device=_id(gw["id"], "gateway.id"),
        checkin_interval_s=float(gw.get("checkin_interval_s", 300.0)),
        command_ttl_s=float(gw.get("command_ttl_s", 300.0)))
    bindings = []
    for n, dev in enumerate(raw.get("devices", [])):
        where = f"devices[{n}]"
        actions = {str(k): (None if v == "ignore" else EventType(v))
                   for k, v in dict(dev.get("actions", {})).items()}
        bindings.append(Binding(
            native=str(dev["native"]).strip("/"),
            site=_id(dev.get("site", identity.site), f"{where}.site"),
            device=_id(dev["id"], f"{where}.id"),
            profile=Profile(dev["profile"]),
            actions=MappingProxyType(actions)))
    natives = [b.native for b in bindings]
    duplicates = sorted({n for n in natives if natives.count(n) > 1})
    if duplicates:
        raise ValueError(f"native names bound twice: {duplicates}")
    return GatewayConfig(gateway=identity, devices=tuple(bindings),
                         by_native=MappingProxyType({b.native: b for b in bindings}))


def _id(value: object, where: str) -> str:
    text = str(value)
    if not ID_PATTERN.fullmatch(text):
        raise ValueError(f"{where} {text!r} is not 1-64 of [A-Za-z0-9_.-]")
    return text
