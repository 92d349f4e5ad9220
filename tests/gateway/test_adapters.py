"""The adapter tables against fixtures in the real payload shapes (tests/gateway/fixtures)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from gateway.config import GatewayConfig
from gateway.translate import Outgoing, Translator
from ingest.codec import Decoder

FIXTURES = Path(__file__).parent / "fixtures"
CONFIG = GatewayConfig.load(FIXTURES / "gateway.toml")
NOW_MS = 1790000000000
# The fixtures' timestamps are in 2026; the platform's decoder judges them against that moment.
DECODER = Decoder(clock=lambda: NOW_MS / 1000 + 86400 * 2)


def _raw(payload: Any) -> bytes:
    return payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()


def feed(translator: Translator, messages: list[dict[str, Any]]) -> list[Outgoing]:
    out: list[Outgoing] = []
    for n, message in enumerate(messages):
        translation = translator.translate(message["topic"], _raw(message["payload"]),
                                           received_ms=NOW_MS + n)
        translator.adopt(translation.states)
        out.extend(translation.messages)
    return out


def summary(messages: list[Outgoing]) -> list[list[Any]]:
    rows = []
    for m in messages:
        device, kind = m.topic.split("/")[3:5]
        rows.append([device, kind, m.body])
    return rows


@pytest.mark.parametrize("name", sorted(p.stem for p in FIXTURES.glob("*.json")))
def test_fixture_translates_as_expected(name: str) -> None:
    fixture = json.loads((FIXTURES / f"{name}.json").read_text())
    out = feed(Translator(CONFIG), fixture["messages"])
    got = summary(out)
    assert len(got) == len(fixture["expected"]), got
    for (device, kind, body), (want_device, want_kind, want_fields) in zip(
            got, fixture["expected"], strict=True):
        assert (device, kind) == (want_device, want_kind), got
        assert {k: body.get(k) for k in want_fields} == want_fields, body
    for m in out:  # everything the gateway sends passes the platform's own decoder
        DECODER.decode(m.topic, m.payload)


@pytest.mark.parametrize("name", sorted(p.stem for p in FIXTURES.glob("*.json")))
def test_sequence_numbers_grow_per_device_and_survive_a_restart(name: str) -> None:
    messages = json.loads((FIXTURES / f"{name}.json").read_text())["messages"]
    first = Translator(CONFIG)
    out = feed(first, messages)
    # A restart with the stored state, at a clock that went back an hour (a hub without an RTC).
    restarted = Translator(CONFIG, {k: first.state(b) for b in CONFIG.devices
                                    for k in [f"{b.site}/{b.device}"]})
    again = restarted.translate(messages[0]["topic"], b"{not json", received_ms=NOW_MS - 3_600_000)
    out += list(again.messages)
    last: dict[str, int] = {}
    for m in out:
        device, seq = m.topic.split("/")[3], m.body["seq"]
        assert seq > last.get(device, -1)
        last[device] = seq


def test_smoke_repeated_after_restart_is_not_a_second_alarm() -> None:
    translator = Translator(CONFIG)
    msg = [{"topic": "zigbee2mqtt/kitchen-smoke", "payload": {"smoke": True}}]
    assert [r[2]["type"] for r in summary(feed(translator, msg)) if r[1] == "event"] == ["smoke"]
    restarted = Translator(CONFIG, {"home-0001/smoke-0001": translator.state(CONFIG.devices[0])})
    assert [r for r in summary(feed(restarted, msg)) if r[1] == "event"] == []


def _rejected(messages: list[Outgoing]) -> list[dict[str, Any]]:
    return [m.body for m in messages if m.topic.endswith("/rejected")]


def test_unmappable_payload_is_forwarded_whole_as_rejected() -> None:
    raw = b'{"smoke": "maybe", "battery": 250}'
    out = Translator(CONFIG).translate("zigbee2mqtt/kitchen-smoke", raw, received_ms=NOW_MS)
    (rejected,) = _rejected(list(out.messages))
    assert base64.b64decode(rejected["payload"]) == raw
    assert rejected["topic"] == "zigbee2mqtt/kitchen-smoke"
    assert "smoke" in rejected["reason"] and "battery" in rejected["reason"]
    assert out.messages[-1].topic == "eldercare/v1/home-0001/smoke-0001/rejected"
    env = DECODER.decode(out.messages[-1].topic, out.messages[-1].payload)
    assert env.kind == "rejected"


def test_good_keys_still_count_when_another_key_is_bad() -> None:
    raw = b'{"smoke": true, "tamper": "yes"}'
    out = Translator(CONFIG).translate("zigbee2mqtt/kitchen-smoke", raw, received_ms=NOW_MS)
    kinds = [m.topic.rsplit("/", 1)[1] for m in out.messages]
    assert kinds[0] == "event" and out.messages[0].body["type"] == "smoke"
    assert "rejected" in kinds


def test_not_json_is_rejected_with_a_reason() -> None:
    out = Translator(CONFIG).translate("owntracks/grandma/phone", b"\xff\xfe", received_ms=NOW_MS)
    (rejected,) = _rejected(list(out.messages))
    assert rejected["reason"] == "payload is not JSON"


def test_owntracks_location_out_of_range_is_rejected_by_the_contract() -> None:
    raw = json.dumps({"_type": "location", "lat": 95.0, "lon": 0, "tst": 1790000000}).encode()
    out = Translator(CONFIG).translate("owntracks/grandma/phone", raw, received_ms=NOW_MS)
    (rejected,) = _rejected(list(out.messages))
    assert "location" in rejected["reason"] and "lat" in rejected["reason"]


def test_encrypted_owntracks_and_unknown_types_are_rejected_but_cards_ignored() -> None:
    translator = Translator(CONFIG)
    enc = translator.translate("owntracks/grandma/phone", b'{"_type":"encrypted","data":"x"}',
                               received_ms=NOW_MS)
    assert "encrypted" in _rejected(list(enc.messages))[0]["reason"]
    card = translator.translate("owntracks/grandma/phone/info", b'{"_type":"card"}',
                                received_ms=NOW_MS)
    assert card.messages == ()


def test_unknown_native_device_is_reported_once_under_the_gateways_own_id() -> None:
    translator = Translator(CONFIG)
    first = translator.translate("zigbee2mqtt/new-lamp", b'{"state":"ON"}', received_ms=NOW_MS)
    translator.adopt(first.states)
    second = translator.translate("zigbee2mqtt/new-lamp", b'{"state":"OFF"}', received_ms=NOW_MS)
    (rejected,) = first.messages
    assert rejected.topic == "eldercare/v1/home-0001/gw-0001/rejected"
    assert "zigbee2mqtt/new-lamp" in rejected.body["reason"]
    assert second.messages == ()


@pytest.mark.parametrize("topic", ["zigbee2mqtt/bridge/state", "zigbee2mqtt/kitchen-smoke/set",
                                   "zigbee2mqtt/kitchen-smoke/get", "homeassistant/status"])
def test_requests_and_bridge_topics_are_not_device_reports(topic: str) -> None:
    assert Translator(CONFIG).translate(topic, b'{"buzzer":"mute"}', received_ms=NOW_MS).messages == ()
