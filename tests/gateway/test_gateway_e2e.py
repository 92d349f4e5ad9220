"""The home gateway end to end on two real mosquittos: uplink down, kill -9, restart, nothing lost.

The gateway runs as a subprocess. With the uplink broker stopped, native messages are published on
the home's broker; the gateway is killed with SIGKILL once they are spooled; more native messages
arrive while it is dead (the home broker holds them in the gateway's persistent session); the
gateway restarts, then the uplink. A persistent QoS 1 subscriber on the uplink (as ingest is) must
then see every expected message, in order, with the original timestamps and sequence numbers that
grow per device across the restart.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.config import GatewayConfig
from tests.gateway.harness import GatewayProcess, Received, Recorder, native, publish
from tests.servers import Mosquitto, start_mosquitto

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

FIXTURES = Path(__file__).parent / "fixtures"
GATEWAY = "gw-0001"


def _fixture(name: str) -> tuple[list[tuple[str, bytes]], list[list[Any]]]:
    data = json.loads((FIXTURES / f"{name}.json").read_text())
    return [(m["topic"], native(m["payload"])) for m in data["messages"]], data["expected"]


@pytest.fixture
def brokers(tmp_path: Path) -> Iterator[tuple[Mosquitto, Mosquitto]]:
    local = start_mosquitto(tmp_path / "local")
    uplink = start_mosquitto(tmp_path / "uplink")
    try:
        yield local, uplink
    finally:
        local.stop()
        uplink.stop()


def _devices_only(messages: list[Received]) -> list[Received]:
    """What ingest would keep: no duplicates (device, seq), the gateway's own messages apart."""
    seen: set[tuple[str, int]] = set()
    out = []
    for m in messages:
        key = (m.device, m.body["seq"])
        if m.device == GATEWAY or key in seen:
            continue
        seen.add(key)
        out.append(m)
    return out


def test_nothing_is_lost_across_uplink_outage_and_kill_9(
        tmp_path: Path, brokers: tuple[Mosquitto, Mosquitto]) -> None:
    local, uplink = brokers
    recorder = Recorder(uplink.port)
    spool, log = tmp_path / "spool", tmp_path / "gateway.log"

    def start() -> GatewayProcess:
        return GatewayProcess(local=local.url, uplink=uplink.url, config=FIXTURES / "gateway.toml",
                              spool=spool, log=log)

    gateway = start()
    try:
        got = recorder.wait_for(lambda got: any(m.device == GATEWAY and m.kind == "status"
                                                and m.body["state"] == "online" for m in got))
        # its "online" lists the devices of its home it speaks for: the platform records them
        # as going through it (devices.via) without anyone wiring them by hand
        [online] = [m for m in got if m.device == GATEWAY and m.kind == "status"]
        config = GatewayConfig.load(FIXTURES / "gateway.toml")
        assert online.body["devices"] == sorted(
            b.device for b in config.devices if b.site == config.gateway.site)
        assert len(online.body["devices"]) >= 5
        uplink.stop()

        before, expected = [], []
        for name in ("heiman_hs1sa", "tuya_ts0215a_sos"):
            messages, want = _fixture(name)
            before += messages
            expected += want
        publish(local.port, before)
        gateway.wait_spooled(len(expected), exclude=GATEWAY)
        gateway.kill()

        after = []
        for name in ("owntracks", "tuya_fall_radar"):
            messages, want = _fixture(name)
            after += messages
            expected += want
        publish(local.port, after)  # the gateway is dead: its session on the home broker holds them

        gateway = start()
        gateway.wait_spooled(len(expected), exclude=GATEWAY)
        uplink = start_mosquitto(uplink.folder, port=uplink.port)

        got = recorder.wait_for(lambda got: len(_devices_only(got)) >= len(expected))
        devices = _devices_only(got)
        assert len(devices) == len(expected), [m.topic for m in devices]
        for m, (device, kind, fields) in zip(devices, expected, strict=True):
            assert (m.device, m.kind) == (device, kind)
            assert {k: m.body.get(k) for k in fields} == fields
        last: dict[str, int] = {}
        for m in devices:
            assert m.body["seq"] > last.get(m.device, -1), "sequence numbers must grow per device"
            last[m.device] = m.body["seq"]
        # Everything acknowledged is gone from the spool (waits, or raises TimeoutError).
        recorder.wait_for(lambda _: gateway.spooled() == 0, timeout=10)
    finally:
        gateway.stop()
        recorder.close()
        uplink.stop()
