"""Hypothesis strategies for hostile input: random bytes, random JSON, and mutations of valid
payloads (fields dropped, retyped or overflowed, huge numbers, NaN, deep nesting, broken base64,
awkward unicode, truncation). Shared by the ingest and gateway fuzz tests.

>>> encode_json({"hr": float("nan"), "fw": "\\ud800"})
b'{"hr": NaN, "fw": "\\\\ud800"}'
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from hypothesis import strategies as st

from ingest.codec import pack_samples
from ingest.contract import Kind

NASTY_STRINGS = (
    "", " ", "\x00", "a\x00b", "\ud800", "\udfff", "\ufeff", "\u202eevil", "💥", "𝔘𝔫𝔦", "老人摔倒",
    "\n\r\t", "null", "true", "0", "-1", "1e400", "NaN", "sos", "fall", "online", "emergency",
    "A" * 300, "\\u0000", "'; DROP TABLE events; --",
)
"""Strings that broke somebody's parser somewhere: NUL (PostgreSQL text refuses it), lone
surrogates (not encodable as UTF-8), byte-order marks, bidi overrides, astral planes."""

HUGE_NUMBERS = (
    2**31, 2**53, 2**53 + 1, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**30, -(10**30), 10**400,
    1e308, -1e308, 5e-324, math.inf, -math.inf, math.nan, -0.0,
)
"""Integer and float edges: int32/int64/uint64 overflow, beyond double precision, beyond double
range (as a literal), the non-finite floats JSON has no syntax for."""

scalars = (
    st.none() | st.booleans() | st.integers() | st.floats()
    | st.sampled_from(HUGE_NUMBERS) | st.text(max_size=20) | st.sampled_from(NASTY_STRINGS)
)

json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8) | st.sampled_from(NASTY_STRINGS), inner, max_size=4),
    max_leaves=12,
)


def encode_json(value: Any, *, ascii_only: bool = True) -> bytes:
    """JSON as a careless device might write it: NaN/Infinity as bare words, lone surrogates as
    ``\\ud800`` escapes (``ascii_only``) or as the bytes Python's surrogatepass would give."""
    text = json.dumps(value, allow_nan=True, ensure_ascii=ascii_only)
    return text.encode("utf-8", "surrogatepass")


def deep(depth: int, *, obj: bool) -> bytes:
    """``depth`` nested arrays or objects: deeper than any recursive parser's stack."""
    if obj:
        return b'{"a":' * depth + b"1" + b"}" * depth
    return b"[" * depth + b"]" * depth


def valid_payload(kind: Kind, *, now_ms: int, seq: int = 1) -> dict[str, Any]:
    """A payload of ``kind`` that the contract accepts (at clock ``now_ms``)."""
    common: dict[str, Any] = {"seq": seq, "ts": now_ms - 1000}
    samples = np.tile([0.0, 0.0, 1.0], (50, 1))  # lying still, z up
    bodies: Mapping[Kind, dict[str, Any]] = {
        Kind.EVENT: {"type": "sos", "detail": {"action": "single"}},
        Kind.TELEMETRY: {"hr": 72, "spo2": 97, "skin_temp": 33.5, "steps": 1200, "battery": 80,
                         "worn": True},
        Kind.ACCEL: {"hz": 50, "range_g": 8, "scale": 1 / 1024, "n": 50,
                     "data": pack_samples(samples, 1 / 1024), "gyro": pack_samples(samples, 0.061),
                     "gyro_scale": 0.061},
        Kind.LOCATION: {"lat": 31.2304, "lon": 121.4737, "acc": 12.0, "source": "gps",
                        "detail": {"event": "leave", "region": "Home"}},
        Kind.CHECKIN: {"battery": 90, "rssi": -70, "fw": "1.2.3"},
        Kind.STATUS: {"state": "online"},
        Kind.REJECTED: {"topic": "zigbee2mqtt/kitchen-smoke",
                        "payload": base64.b64encode(b'{"smoke": "maybe"}').decode(),
                        "reason": "smoke: expected true or false"},
        Kind.ACK: {"id": "c-1", "command": "silence", "status": "sent"},
        Kind.CHECKUP: {"resident": "r1", "readings": {"bp_systolic": 135, "bp_diastolic": 85,
                                                      "glucose": 5.6, "weight": 61.5,
                                                      "temperature": 36.6, "heart_rate": 72,
                                                      "spo2": 97}},
    }
    assert kind in bodies, f"add a valid {kind} payload here, so that the fuzz tests cover it"
    return common | bodies[kind]


def _broken_base64(draw: st.DrawFn) -> str:
    return draw(st.sampled_from([
        "", "=", "A", "AAA", "!!!!", "AAAA====", "QUFB\n", "QUFBQQ", "老人", "AAAA" * 7,
        base64.b64encode(b"\x00" * 299).decode(), base64.urlsafe_b64encode(b"\xfb\xff" * 150).decode(),
    ]) | st.text(max_size=30))


@st.composite
def mutated(draw: st.DrawFn, kind: Kind, *, now_ms: int) -> bytes:
    """A valid payload of ``kind`` with a few hostile edits, serialised, maybe damaged as bytes."""
    payload = valid_payload(kind, now_ms=now_ms, seq=draw(st.integers(1, 10**6)))
    keys = [*payload, "v", "extra", "detail"]
    for _ in range(draw(st.integers(0, 4))):
        key = draw(st.sampled_from(keys))
        edit = draw(st.sampled_from(["drop", "retype", "huge", "nasty", "base64", "nest"]))
        if edit == "drop":
            payload.pop(key, None)
        elif edit == "retype":
            payload[key] = draw(json_values)
        elif edit == "huge":
            payload[key] = draw(st.sampled_from(HUGE_NUMBERS))
        elif edit == "nasty":
            payload[key] = draw(st.sampled_from(NASTY_STRINGS))
        elif edit == "base64":
            payload[draw(st.sampled_from(["data", "gyro", "payload"]))] = _broken_base64(draw)
        else:
            payload[key] = json.loads(deep(draw(st.integers(1, 40)), obj=draw(st.booleans())))
    raw = encode_json(payload, ascii_only=draw(st.booleans()))
    damage = draw(st.sampled_from(["none"] * 6 + ["truncate", "flip", "bom", "pad", "nul"]))
    if damage == "truncate":
        raw = raw[: draw(st.integers(0, max(len(raw) - 1, 0)))]
    elif damage == "flip" and raw:
        at = draw(st.integers(0, len(raw) - 1))
        raw = raw[:at] + bytes([raw[at] ^ draw(st.integers(1, 255))]) + raw[at + 1:]
    elif damage == "bom":
        raw = b"\xef\xbb\xbf" + raw
    elif damage == "pad":
        raw = raw + b" " * draw(st.sampled_from([1, 64 * 1024]))
    elif damage == "nul":
        raw = raw + b"\x00"
    return raw


@st.composite
def hostile_payload(draw: st.DrawFn, kind: Kind, *, now_ms: int) -> bytes:
    """Anything a broken or malicious device could publish on a topic of ``kind``."""
    choice = draw(st.integers(0, 9))
    if choice == 0:
        return draw(st.binary(max_size=200))
    if choice == 1:
        return encode_json(draw(json_values), ascii_only=draw(st.booleans()))
    if choice == 2:
        return deep(draw(st.sampled_from([100, 1000, 100_000])), obj=draw(st.booleans()))
    return draw(mutated(kind, now_ms=now_ms))


TOPIC_DAMAGE = ("", "eldercare/v1", "eldercare/v2/s/d/event", "eldercare/v1/s/d/evil", "#",
                "eldercare/v1/-s/d/event", "eldercare/v1/s/d/event/extra", "eldercare/v1/s/ /event",
                "eldercare/v1/s/d\x00/event", "eldercare/v1/老/d/event", "eldercare/v1/s/d/cmd",
                "eldercare/v1/" + "s" * 65 + "/d/event")


def topics(site: str, device: str) -> st.SearchStrategy[tuple[str, Kind]]:
    """The topic a message is published on and the kind its payload pretends to be: usually a
    well-formed topic, sometimes a broken one."""
    kinds = st.sampled_from(list(Kind))
    good = kinds.map(lambda k: (f"eldercare/v1/{site}/{device}/{k}", k))
    bad = st.tuples(st.sampled_from(TOPIC_DAMAGE) | st.text(max_size=40), kinds)
    return st.one_of(good, good, good, bad)


def storable(value: Any) -> bool:
    """Whether PostgreSQL can hold every string in ``value`` (text and jsonb refuse NUL, and a
    lone surrogate cannot be encoded as UTF-8) and every float is finite (jsonb refuses NaN)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return "\x00" not in value
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, Mapping):
        return all(storable(k) and storable(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(storable(v) for v in value)
    return True
