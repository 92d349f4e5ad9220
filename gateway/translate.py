"""Native topic and payload in, numbered contract messages out.

The translator finds the device a native topic belongs to (the configuration's bindings), runs the
adapter table of its profile, gives every draft the device's next sequence number and validates it
against the contract. Whatever cannot be translated is forwarded whole as the contract's
``rejected`` kind, with the reason, so it lands in the platform's dead-letter table: a native
message is never silently lost. Unknown keys are ignored.

Sequence numbers are ``max(last + 1, now_ms << 20)``: the boot-time scheme of docs/device-api.md
(numbers stay above anything sent before, even if the gateway's state were lost) combined with a
persisted counter (numbers still grow if the clock of a hub without a real-time clock restarts in
the past).

>>> import time
>>> from gateway.config import GatewayConfig
>>> cfg = GatewayConfig.from_toml('''
... [gateway]
... site = "home-1"
... id = "gw-1"
... [[devices]]
... native = "zigbee2mqtt/hall-button"
... id = "btn-1"
... profile = "button"
... ''')
>>> out = Translator(cfg).translate("zigbee2mqtt/hall-button", b'{"action":"single"}',
...                                 received_ms=1790000000000)
>>> [(m.topic, m.body.get("type")) for m in out.messages]  # first report: also a check-in
[('eldercare/v1/home-1/btn-1/event', 'sos'), ('eldercare/v1/home-1/btn-1/checkin', None)]
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import msgspec

from gateway import owntracks, zigbee
from gateway.config import Binding, GatewayConfig, Profile
from gateway.draft import DeviceState, Draft, Native, Outcome, Problem
from ingest.contract import MAX_PAYLOAD_BYTES, ROOT, Kind, Rejected

Adapter = Callable[[Native, DeviceState], Outcome]

ADAPTERS: Mapping[Profile, Adapter] = MappingProxyType({
    Profile.SMOKE: zigbee.translate,
    Profile.BUTTON: zigbee.translate,
    Profile.FALL_RADAR: zigbee.translate,
    Profile.OWNTRACKS: owntracks.translate,
})

DROPPABLE = frozenset({Kind.TELEMETRY, Kind.ACCEL, Kind.LOCATION, Kind.CHECKIN})
"""Kinds the spool may drop, oldest first, when it is full. Events (alarms), status, rejections
and command acknowledgements are never dropped."""

_RAW_LIMIT = (MAX_PAYLOAD_BYTES * 3) // 5
"""Rejected payloads are base64 (4/3 larger) inside the contract's 64 KiB limit."""
_Z2M_IGNORED_SUFFIXES = ("/set", "/get")
"""Requests *to* a device (ours included: the gateway publishes commands on ``/set``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Outgoing:
    """One contract message ready for the spool."""

    topic: str
    payload: bytes
    retain: bool
    droppable: bool

    @property
    def body(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.payload)
        return parsed


@dataclass(frozen=True, slots=True, kw_only=True)
class Translation:
    messages: tuple[Outgoing, ...] = ()
    states: Mapping[str, DeviceState] = field(default_factory=lambda: MappingProxyType({}))
    """New state per device key (``site/device``), to be stored with the messages."""


class Translator:
    """Keeps every device's state; :meth:`translate` does not change it, :meth:`adopt` does, once
    the caller has stored the translation (so a crash in between repeats, never skips, work)."""

    def __init__(self, config: GatewayConfig,
                 states: Mapping[str, DeviceState] | None = None) -> None:
        self._config = config
        self._states: dict[str, DeviceState] = dict(states or {})
        self._unknown_reported: set[str] = set()
        gw = config.gateway
        self.own = Binding(native="", site=gw.site, device=gw.device, profile=Profile.BUTTON)

    def adopt(self, states: Mapping[str, DeviceState]) -> None:
        self._states.update(states)

    def state(self, binding: Binding) -> DeviceState:
        return self._states.get(_key(binding), DeviceState())

    def translate(self, topic: str, raw: bytes, *, received_ms: int) -> Translation:
        found = self._route(topic)
        if found is None:
            return Translation()
        binding, subtopic = found
        if binding is self.own:  # a native name nobody bound: report it once per run
            if subtopic in self._unknown_reported:
                return Translation()
            self._unknown_reported.add(subtopic)
            problem = Problem(reason=f"no device is bound to {subtopic!r} in the gateway's config")
            return self.number(self.own, Outcome(problems=(problem,)), topic=topic, raw=raw,
                               now_ms=received_ms)
        payload = _decode(raw)
        if payload is _UNDECODABLE:
            outcome = Outcome(problems=(Problem(reason="payload is not JSON"),))
        else:
            native = Native(topic=topic, raw=raw, payload=payload, subtopic=subtopic,
                            binding=binding, received_ms=received_ms,
                            checkin_interval_ms=int(self._config.gateway.checkin_interval_s * 1000))
            outcome = ADAPTERS[binding.profile](native, self.state(binding))
        return self.number(binding, outcome, topic=topic, raw=raw, now_ms=received_ms)

    def number(self, binding: Binding, outcome: Outcome, *, topic: str = "", raw: bytes = b"",
               now_ms: int) -> Translation:
        """Give each draft of ``outcome`` the device's next sequence number; validate it."""
        state = outcome.state or self.state(binding)
        messages: list[Outgoing] = []
        problems = list(outcome.problems)
        for draft in outcome.drafts:
            seq = max(state.seq + 1, now_ms << 20)
            try:
                body = msgspec.convert({**draft.fields, "seq": seq}, draft.body_type)
            except msgspec.ValidationError as err:
                problems.append(Problem(reason=f"{draft.kind}: {err}"))
                continue
            state = msgspec.structs.replace(state, seq=seq)
            messages.append(_outgoing(binding, draft, body))
        if problems:
            seq = max(state.seq + 1, now_ms << 20)
            reasons = "; ".join(p.reason for p in problems)
            body = Rejected(seq=seq, ts=now_ms, topic=topic[:1024], reason=reasons[:2000],
                            payload=base64.b64encode(raw[:_RAW_LIMIT]).decode("ascii"))
            state = msgspec.structs.replace(state, seq=seq)
            messages.append(_outgoing(binding, Draft(kind=Kind.REJECTED, body_type=Rejected,
                                                     fields={}), body))
        return Translation(messages=tuple(messages), states=MappingProxyType({_key(binding): state}))

    def draft(self, binding: Binding, drafts: Sequence[Draft], *, now_ms: int) -> Translation:
        """Number messages the gateway composes itself (its status, check-ins, acks)."""
        return self.number(binding, Outcome(drafts=tuple(drafts)), now_ms=now_ms)

    def binding_for(self, site: str, device: str) -> Binding | None:
        if (site, device) == (self.own.site, self.own.device):
            return self.own
        return next((b for b in self._config.devices if (b.site, b.device) == (site, device)), None)

    def _route(self, topic: str) -> tuple[Binding, str] | None:
        """The binding a native topic belongs to and the rest of the topic, ``self.own`` with the
        native name for a name nobody bound, or None for topics that are not device reports."""
        if topic.startswith("zigbee2mqtt/"):
            name = topic.removeprefix("zigbee2mqtt/")
            if name.startswith("bridge/") or name.endswith(_Z2M_IGNORED_SUFFIXES) or "/set/" in name:
                return None
            found = self._config.binding(topic)
            if found is not None:
                return found, ""
            if topic.endswith("/availability"):
                found = self._config.binding(topic.removesuffix("/availability"))
                return (found, "availability") if found else (self.own, topic)
            return self.own, topic
        if topic.startswith("owntracks/"):
            parts = topic.split("/")
            if len(parts) < 3:
                return None
            native, rest = "/".join(parts[:3]), "/".join(parts[3:])
            found = self._config.binding(native)
            return (found, rest) if found else (self.own, native)
        return None


def _key(binding: Binding) -> str:
    return f"{binding.site}/{binding.device}"


def _outgoing(binding: Binding, draft: Draft, body: msgspec.Struct) -> Outgoing:
    return Outgoing(topic=f"{ROOT}/{binding.site}/{binding.device}/{draft.kind}",
                    payload=msgspec.json.encode(body), retain=draft.retain,
                    droppable=draft.kind in DROPPABLE)


_UNDECODABLE = object()


def _decode(raw: bytes) -> Any:
    """JSON, or the bare words zigbee2mqtt's legacy availability payload uses."""
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        text = raw.decode("utf-8", "replace").strip()
        return text if text in ("online", "offline") else _UNDECODABLE
    if isinstance(payload, dict):
        return {_well_formed(k): _well_formed(v) if isinstance(v, str) else v
                for k, v in payload.items()}
    return _well_formed(payload) if isinstance(payload, str) else payload


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _well_formed(text: str) -> str:
    """``text`` with NUL and lone surrogates (which ``json.loads`` accepts as ``\\u0000`` and
    ``\\ud800``) replaced by U+FFFD. The adapters copy top-level strings into messages (a
    button's ``action``): left alone, a surrogate made encoding raise, and a NUL would have been
    refused by the platform, turning a press into a rejection instead of an SOS."""
    return _UNSTORABLE.sub("\ufffd", text)
