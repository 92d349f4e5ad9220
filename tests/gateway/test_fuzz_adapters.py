"""Hostile native payloads against every gateway adapter and the gateway's command decoding.

The adapters' documented rejection is a ``Problem`` with a reason, which the translator forwards
as the contract's ``rejected`` kind. The properties: an adapter returns an ``Outcome`` whatever it
is given (never raises); everything the translator emits passes the platform's own decoder and
can be stored; a rejection carries the original payload and a reason. (The seeded, shape-aware
mutations of the recorded fixtures are in test_adapter_properties.py; these add NaN, Infinity,
huge numbers, deep nesting and awkward unicode.)"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import tempfile
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway import owntracks, zigbee
from gateway.config import Binding, GatewayConfig, Profile
from gateway.draft import DeviceState, Native, Outcome
from gateway.service import Gateway
from gateway.spool import Spool
from gateway.translate import ADAPTERS, Translator
from ingest.codec import ContractViolation, Decoder
from ingest.contract import Event
from tests.hostile import HUGE_NUMBERS, NASTY_STRINGS, deep, encode_json, json_values, storable

FIXTURES = Path(__file__).parent / "fixtures"
CONFIG = GatewayConfig.load(FIXTURES / "gateway.toml")
NOW_MS = 1_790_000_000_000
SCHEMA_ONLY = Decoder(max_future_s=1e15, max_age_s=1e15, clock=lambda: NOW_MS / 1000)
FAST = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])
SAMPLES = [m for p in sorted(FIXTURES.glob("*.json")) for m in json.loads(p.read_text())["messages"]]
KEYS = sorted({k for m in SAMPLES if isinstance(m["payload"], dict) for k in m["payload"]}
              | {"_type", "tst", "last_seen", "state"})
BY_PROFILE = {profile: next(b for b in CONFIG.devices if b.profile is profile) for profile in Profile}
SUBTOPICS = ["", "availability", "event", "info", "x/y"]

READ_KEYS = {
    **{profile: [e.key for e in edges] + ["action", "battery", "last_seen", "state"]
       for profile, edges in zigbee.EDGES.items()},
    Profile.OWNTRACKS: [f.source for f in owntracks.LOCATION_FIELDS] + ["_type", "tst", "batt"],
}
"""The keys each adapter reads, from its own tables: where mutations are most likely to bite."""
edits = (st.sampled_from([math.nan, math.inf, -math.inf, 10**400]) | st.sampled_from(HUGE_NUMBERS)
         | st.sampled_from(NASTY_STRINGS) | json_values)


def _samples(binding: Binding) -> list[tuple[str, Any]]:
    """The recorded (subtopic, payload) pairs of devices of this binding's profile."""
    natives = [b.native for b in CONFIG.devices if b.profile is binding.profile]
    return [(m["topic"].removeprefix(native).lstrip("/"), m["payload"]) for m in SAMPLES
            for native in natives if m["topic"] == native or m["topic"].startswith(native + "/")]


@st.composite
def native_message(draw: st.DrawFn, binding: Binding) -> tuple[str, Any]:
    """A subtopic and what ``json.loads`` makes of a hostile native message for ``binding``
    (NaN and Infinity included: Python's parser, which the gateway uses, accepts them). Mostly a
    recorded message with its keys edited, so that the adapter gets past its first checks."""
    subtopic, payload = draw(st.sampled_from(_samples(binding)))
    if draw(st.integers(0, 9)) == 0:
        subtopic = draw(st.sampled_from(SUBTOPICS))
    choice = draw(st.integers(0, 7))
    if choice == 0:
        return subtopic, draw(json_values)
    if choice == 1:
        return subtopic, json.loads(deep(draw(st.integers(1, 200)), obj=draw(st.booleans())))
    if not isinstance(payload, dict):
        return subtopic, draw(st.sampled_from(NASTY_STRINGS)) if choice == 2 else payload
    payload = dict(payload)
    for _ in range(draw(st.integers(1, 4))):
        key = draw(st.sampled_from(READ_KEYS[binding.profile]) if draw(st.integers(0, 3))
                   else st.sampled_from(KEYS))
        if draw(st.integers(0, 3)) == 0:
            payload.pop(key, None)
        else:
            payload[key] = draw(edits)
    return subtopic, payload


def _assert_outcome(outcome: Outcome) -> None:
    assert isinstance(outcome, Outcome)
    assert all(p.reason.strip() for p in outcome.problems)
    for draft in outcome.drafts:
        # What the translator does with a draft: a valid message, or a problem it forwards.
        with contextlib.suppress(msgspec.ValidationError):
            msgspec.convert({**draft.fields, "seq": 1}, draft.body_type)


BINDINGS = pytest.mark.parametrize("binding", CONFIG.devices, ids=[b.device for b in CONFIG.devices])
"""One run per bound device (hypothesis favours the first elements of a ``sampled_from``)."""


@BINDINGS
@settings(FAST, max_examples=60)
@given(data=st.data(), last_checkin_ms=st.integers(0, 2**40))
def test_every_adapter_returns_an_outcome_for_anything(
        binding: Binding, data: st.DataObject, last_checkin_ms: int) -> None:
    subtopic, payload = data.draw(native_message(binding))
    native = Native(topic=binding.native, raw=b"", payload=payload, subtopic=subtopic,
                    binding=binding, received_ms=NOW_MS)
    state = DeviceState(seq=5, flags={"smoke": True}, status="offline",
                        last_checkin_ms=last_checkin_ms)
    _assert_outcome(ADAPTERS[binding.profile](native, state))


def _through_translator(topic: str, raw: bytes) -> None:
    translator = Translator(CONFIG)
    out = translator.translate(topic, raw, received_ms=NOW_MS)
    for m in out.messages:
        try:
            env = SCHEMA_ONLY.decode(m.topic, m.payload)
        except ContractViolation as err:  # the gateway must never break the contract itself
            raise AssertionError(f"{m.topic}: {err.reason}") from None
        assert storable(msgspec.to_builtins(env.body))
        if env.kind == "rejected":
            assert m.body["reason"].strip()
            assert base64.b64decode(m.body["payload"]) == raw
            assert m.body["topic"] == topic


@BINDINGS
@settings(FAST, max_examples=60)
@given(data=st.data(), ascii_only=st.booleans())
def test_hostile_json_through_the_translator_gives_contract_messages(
        binding: Binding, data: st.DataObject, ascii_only: bool) -> None:
    subtopic, payload = data.draw(native_message(binding))
    topic = f"{binding.native}/{subtopic}" if subtopic else binding.native
    _through_translator(topic, encode_json(payload, ascii_only=ascii_only))


@pytest.mark.parametrize("raw", [
    b'{"_type": "location", "lat": 31.2, "lon": 121.4, "tst": NaN}',
    b'{"_type": "location", "lat": 31.2, "lon": 121.4, "tst": Infinity}',
    b'{"_type": "location", "lat": 31.2, "lon": 121.4, "tst": 1e300}',
    b'{"_type": "lwt", "tst": -Infinity}',
    b'{"_type": "location", "lat": NaN, "lon": 121.4}',
], ids=["tst-nan", "tst-inf", "tst-huge", "lwt-minus-inf", "lat-nan"])
def test_owntracks_non_finite_numbers_are_rejected_not_crashed_on(raw: bytes) -> None:
    """Regression: ``tst: NaN`` or ``Infinity`` (Python's JSON parser accepts both) made
    ``int(seconds * 1000)`` raise out of the adapter."""
    binding = BY_PROFILE[Profile.OWNTRACKS]
    native = Native(topic=binding.native, raw=raw, payload=json.loads(raw), subtopic="",
                    binding=binding, received_ms=NOW_MS)
    outcome = owntracks.translate(native, DeviceState())
    _assert_outcome(outcome)
    _through_translator(binding.native, raw)


@pytest.mark.parametrize("value", ["\ud800", "a\x00b", math.nan, 10**400])
def test_zigbee_action_and_edges_with_hostile_values(value: Any) -> None:
    for profile in (Profile.BUTTON, Profile.SMOKE, Profile.FALL_RADAR):
        binding = BY_PROFILE[profile]
        for key in ("action", "smoke", "fall_down_status", "battery", "last_seen"):
            raw = encode_json({key: value})
            native = Native(topic=binding.native, raw=raw, payload={key: value}, subtopic="",
                            binding=binding, received_ms=NOW_MS)
            _assert_outcome(zigbee.translate(native, DeviceState()))
            _through_translator(binding.native, raw)


@st.composite
def command_payloads(draw: st.DrawFn) -> bytes:
    """A platform command with hostile edits, or random bytes."""
    if draw(st.integers(0, 3)) == 0:
        return draw(st.binary(max_size=60))
    command: dict[str, Any] = {"id": "c-1", "command": "silence", "ts": NOW_MS}
    for _ in range(draw(st.integers(0, 3))):
        command[draw(st.sampled_from([*command, "x"]))] = draw(edits)
    return encode_json(command, ascii_only=draw(st.booleans()))


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([*(b.device for b in CONFIG.devices), "nobody", "gw-0001"]),
       command_payloads())
def test_hostile_commands_are_acknowledged_or_forwarded_as_rejected(
        device: str, payload: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        spool = Spool(Path(folder) / "spool.sqlite3")
        try:
            gateway = Gateway(CONFIG, spool, clock=lambda: NOW_MS)
            gateway.on_command(f"eldercare/v1/home-0001/{device}/cmd", payload,
                               lambda topic, raw: True)
            rows = spool.pending(after=0, limit=10)
        finally:
            spool.close()
    kinds = [r.topic.rsplit("/", 1)[1] for r in rows]
    assert len(kinds) == 1 and kinds[0] in ("ack", "rejected"), kinds
    try:
        env = SCHEMA_ONLY.decode(rows[0].topic, rows[0].payload)
    except ContractViolation as err:
        refused: ContractViolation | None = err
    else:
        refused = None
        assert storable(msgspec.to_builtins(env.body))
    # An ack echoes the command's id; one the platform could not have sent (a NUL in it) is
    # refused there and dead-lettered, which is where it belongs.
    assert refused is None or (kinds == ["ack"] and refused.code == "schema"), refused


@pytest.mark.parametrize(("action", "kept"), [("\ud800", "\ufffd"), ("a\x00b", "a\ufffdb")],
                         ids=["lone-surrogate", "nul"])
def test_a_press_with_a_garbled_action_is_still_an_sos(action: str, kept: str) -> None:
    """Regression: a lone surrogate in ``action`` made the translator raise (the gateway then
    forwarded the press as a rejection, not an alarm), and a NUL reached the platform, which
    cannot store it. Both now become U+FFFD, and an unknown action is an SOS."""
    raw = encode_json({"action": action})
    out = Translator(CONFIG).translate("zigbee2mqtt/sos-pendant", raw, received_ms=NOW_MS)
    bodies = [SCHEMA_ONLY.decode(m.topic, m.payload).body for m in out.messages]
    events = [b for b in bodies if isinstance(b, Event)]
    assert [(e.type, e.detail) for e in events] == [("sos", {"action": kept})]
