"""Property tests: random and mutated native payloads never crash the translator, every output is
a valid contract message, and every rejection carries the original payload and a reason."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.config import GatewayConfig
from gateway.translate import Translator
from ingest.codec import Decoder

FIXTURES = Path(__file__).parent / "fixtures"
CONFIG = GatewayConfig.load(FIXTURES / "gateway.toml")
NOW_MS = 1790000000000
SCHEMA_ONLY = Decoder(max_future_s=1e15, max_age_s=1e15, clock=lambda: NOW_MS / 1000)
SAMPLES = [m for p in sorted(FIXTURES.glob("*.json"))
           for m in json.loads(p.read_text())["messages"]]
KEYS = sorted({k for m in SAMPLES if isinstance(m["payload"], dict) for k in m["payload"]})

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=12) | st.sampled_from(["fall", "falling", "online", "emergency", ""]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    sample = draw(st.sampled_from(SAMPLES))
    payload = sample["payload"]
    if isinstance(payload, dict):
        payload = dict(payload)
        for key in draw(st.lists(st.sampled_from([*KEYS, "_type", "x"]), max_size=4)):
            choice = draw(st.integers(0, 2))
            if choice == 0:
                payload.pop(key, None)
            else:
                payload[key] = draw(json_values)
    else:
        payload = draw(json_values)
    raw = json.dumps(payload).encode() if draw(st.booleans()) or not isinstance(payload, str) \
        else payload.encode()
    if draw(st.integers(0, 9)) == 0:
        raw = draw(st.binary(max_size=40))
    return sample["topic"], raw


def _check(translator: Translator, topic: str, raw: bytes, received_ms: int) -> None:
    out = translator.translate(topic, raw, received_ms=received_ms)
    translator.adopt(out.states)
    for m in out.messages:
        env = SCHEMA_ONLY.decode(m.topic, m.payload)  # raises if the gateway broke the contract
        if env.kind == "rejected":
            body: dict[str, Any] = m.body
            assert body["reason"].strip()
            assert base64.b64decode(body["payload"]) == raw
            assert body["topic"] == topic


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutated(), min_size=1, max_size=8))
def test_mutated_payloads_never_crash_and_rejections_have_reasons(
        messages: list[tuple[str, bytes]]) -> None:
    translator = Translator(CONFIG)
    for n, (topic, raw) in enumerate(messages):
        _check(translator, topic, raw, NOW_MS + n)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([b.native for b in CONFIG.devices]),
       st.sampled_from(["", "/availability", "/event", "/x/y"]), st.binary(max_size=64))
def test_random_bytes_never_crash(native: str, suffix: str, raw: bytes) -> None:
    _check(Translator(CONFIG), native + suffix, raw, NOW_MS)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(SAMPLES), min_size=2, max_size=12))
def test_sequence_numbers_strictly_increase_per_device(messages: list[dict[str, Any]]) -> None:
    translator = Translator(CONFIG)
    last: dict[str, int] = {}
    for n, m in enumerate(messages):
        raw = m["payload"].encode() if isinstance(m["payload"], str) else json.dumps(m["payload"]).encode()
        out = translator.translate(m["topic"], raw, received_ms=NOW_MS + n // 2)
        translator.adopt(out.states)
        for msg in out.messages:
            device = msg.topic.split("/")[3]
            assert msg.body["seq"] > last.get(device, -1)
            last[device] = msg.body["seq"]
