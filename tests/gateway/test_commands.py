"""Commands down to devices: the table, the acknowledgements, and a round trip on real brokers."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.config import GatewayConfig
from gateway.service import Gateway
from gateway.spool import Spool
from tests.gateway.harness import GatewayProcess, Received, Recorder, publish
from tests.servers import Mosquitto, start_mosquitto

FIXTURES = Path(__file__).parent / "fixtures"
CONFIG = GatewayConfig.load(FIXTURES / "gateway.toml")
NOW_MS = 1790000000000


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    spool = Spool(tmp_path / "spool.sqlite3")
    try:
        yield Gateway(CONFIG, spool, clock=lambda: NOW_MS)
    finally:
        spool.close()


def _spooled(gateway: Gateway) -> list[tuple[str, dict[str, Any]]]:
    return [(r.topic, json.loads(r.payload)) for r in gateway.spool.pending(after=0, limit=100)]


def _recording(sent: list[tuple[str, bytes]]) -> Callable[[str, bytes], bool]:
    def send(topic: str, payload: bytes) -> bool:
        sent.append((topic, payload))
        return True

    return send


def _command(name: str, *, ts: int = NOW_MS, id: str = "c-1") -> bytes:
    return json.dumps({"id": id, "command": name, "ts": ts}).encode()


@pytest.mark.parametrize(("device", "command", "native_topic", "native_payload"), [
    ("smoke-0001", "silence", "zigbee2mqtt/kitchen-smoke/set", {"buzzer": "mute"}),
    ("smoke-0002", "self_test", "zigbee2mqtt/hall/smoke/set", {"selftest": ""}),
    ("phone-0001", "locate", "owntracks/grandma/phone/cmd", {"_type": "cmd", "action": "reportLocation"}),
])
def test_command_is_sent_natively_and_acknowledged(
        gateway: Gateway, device: str, command: str, native_topic: str,
        native_payload: dict[str, str]) -> None:
    sent: list[tuple[str, bytes]] = []
    gateway.on_command(f"eldercare/v1/home-0001/{device}/cmd", _command(command),
                       _recording(sent))
    assert [(t, json.loads(p)) for t, p in sent] == [(native_topic, native_payload)]
    ((topic, ack),) = _spooled(gateway)
    assert topic == f"eldercare/v1/home-0001/{device}/ack"
    assert {k: ack[k] for k in ("id", "command", "status", "ts")} == {
        "id": "c-1", "command": command, "status": "sent", "ts": NOW_MS}
    assert ack["seq"] >= NOW_MS << 20


@pytest.mark.parametrize(("device", "payload", "status"), [
    ("btn-0001", _command("self_test"), "unsupported"),
    ("smoke-0001", _command("reboot"), "unsupported"),
    ("smoke-0001", _command("silence", ts=NOW_MS - 3_600_000), "expired"),
    ("nobody-here", _command("silence"), "unknown_device"),
])
def test_commands_that_are_not_run_are_acknowledged_with_why(
        gateway: Gateway, device: str, payload: bytes, status: str) -> None:
    sent: list[tuple[str, bytes]] = []
    gateway.on_command(f"eldercare/v1/home-0001/{device}/cmd", payload,
                       _recording(sent))
    assert sent == []
    ((topic, ack),) = _spooled(gateway)
    assert ack["status"] == status
    if status == "unknown_device":
        assert topic == "eldercare/v1/home-0001/gw-0001/ack" and ack["device"] == device


def test_local_broker_down_acknowledges_failed(gateway: Gateway) -> None:
    gateway.on_command("eldercare/v1/home-0001/smoke-0001/cmd", _command("silence"),
                       lambda t, p: False)
    assert _spooled(gateway)[0][1]["status"] == "failed"


def test_garbage_on_the_command_topic_is_forwarded_as_rejected(gateway: Gateway) -> None:
    gateway.on_command("eldercare/v1/home-0001/smoke-0001/cmd", b'{"command": 5}',
                       lambda t, p: True)
    ((topic, body),) = _spooled(gateway)
    assert topic == "eldercare/v1/home-0001/smoke-0001/rejected"
    assert body["topic"] == "eldercare/v1/home-0001/smoke-0001/cmd"
    assert "not a command" in str(body["reason"])


def _states(got: list[Received]) -> list[str]:
    return [m.body["state"] for m in got if m.device == "gw-0001" and m.kind == "status"]


@pytest.mark.broker
def test_command_round_trip_and_last_will_on_real_brokers(tmp_path: Path) -> None:
    local: Mosquitto = start_mosquitto(tmp_path / "local")
    uplink: Mosquitto = start_mosquitto(tmp_path / "uplink")
    acks = Recorder(uplink.port, client_id="test-console")
    natives = Recorder(local.port, "zigbee2mqtt/+/set", client_id="test-z2m")
    gateway = GatewayProcess(local=local.url, uplink=uplink.url, config=FIXTURES / "gateway.toml",
                             spool=tmp_path / "spool", log=tmp_path / "gateway.log")
    try:
        acks.wait_for(lambda got: any(m.device == "gw-0001" and m.kind == "status"
                                      and m.body["state"] == "online" for m in got))
        now = int(time.time() * 1000)
        publish(uplink.port, [("eldercare/v1/home-0001/smoke-0001/cmd",
                               _command("silence", ts=now, id="c-42"))])
        (native,) = natives.wait_for(lambda got: len(got) >= 1)
        assert native.topic == "zigbee2mqtt/kitchen-smoke/set"
        assert json.loads(native.payload) == {"buzzer": "mute"}
        got = acks.wait_for(lambda got: any(m.kind == "ack" for m in got))
        (ack,) = [m for m in got if m.kind == "ack"]
        assert ack.topic == "eldercare/v1/home-0001/smoke-0001/ack"
        assert (ack.body["id"], ack.body["status"]) == ("c-42", "sent")

        online = next(m for m in got if m.device == "gw-0001" and m.kind == "status")
        assert online.body["state"] == "online"
        gateway.kill()  # no DISCONNECT: the broker publishes the gateway's last will
        got = acks.wait_for(lambda got: _states(got) == ["online", "offline"])

        # Restarted, then stopped on purpose: online, then an explicit offline (a clean
        # DISCONNECT discards the will), each with a larger sequence number than the last.
        gateway = GatewayProcess(local=local.url, uplink=uplink.url,
                                 config=FIXTURES / "gateway.toml", spool=tmp_path / "spool",
                                 log=tmp_path / "gateway.log")
        acks.wait_for(lambda got: _states(got)[-1:] == ["online"] and len(_states(got)) == 3)
        gateway.stop()
        got = acks.wait_for(lambda got: _states(got) == ["online", "offline", "online", "offline"])
        seqs = [m.body["seq"] for m in got if m.device == "gw-0001" and m.kind == "status"]
        assert seqs[2:] == sorted(seqs[2:]) and seqs[3] > seqs[1]
    finally:
        gateway.stop()
        acks.close()
        natives.close()
        local.stop()
        uplink.stop()


def test_a_translation_bug_is_forwarded_as_rejected_not_lost(
        gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("oops")

    monkeypatch.setattr(gateway.translator, "translate", broken)
    gateway.on_native("zigbee2mqtt/kitchen-smoke", b'{"smoke": true}')
    ((topic, body),) = _spooled(gateway)
    assert topic == "eldercare/v1/home-0001/gw-0001/rejected"
    assert "gateway error" in body["reason"] and body["topic"] == "zigbee2mqtt/kitchen-smoke"
