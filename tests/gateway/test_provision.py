"""Provisioning: files, hashes mosquitto accepts, and ACLs enforced by a real mosquitto."""

from __future__ import annotations

import csv
import json
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from gateway.credentials import hash_password, verify_password
from gateway.provision import main
from tests.gateway.harness import Recorder, publish
from tests.servers import Mosquitto, start_mosquitto, temporary_folder

DEVICES = """id,site_id,kind
btn-1,home-1,button
btn-2,home-1,button
gw-1,home-1,gateway
smoke-9,care-2,smoke
"""


def _provision(folder: Path) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "registered.csv"
    source.write_text(DEVICES)
    assert main(["provision", "--out", str(folder / "auth"), "--devices", str(source)]) == 0
    with (folder / "auth" / "devices.csv").open() as f:
        passwords = {r["username"]: r["password"] for r in csv.DictReader(f)}
    with (folder / "auth" / "platform.csv").open() as f:
        passwords |= {r["username"]: r["password"] for r in csv.DictReader(f)}
    return passwords


def test_files_are_private_and_passwords_survive_a_rerun(tmp_path: Path) -> None:
    first = _provision(tmp_path)
    for name in ("devices.csv", "platform.csv", "passwd", "acl"):
        assert stat.S_IMODE((tmp_path / "auth" / name).stat().st_mode) == 0o600
    assert set(first) == {"btn-1", "btn-2", "gw-1", "smoke-9", "ingest"}
    assert len(set(first.values())) == 5
    assert _provision(tmp_path) == first  # re-running keeps installed devices working
    (tmp_path / "registered.csv").write_text("id,site_id,kind\nbtn-1,home-1,button\n")
    assert main(["provision", "--out", str(tmp_path / "auth"),
                 "--devices", str(tmp_path / "registered.csv"), "--rotate"]) == 0
    passwd = (tmp_path / "auth" / "passwd").read_text()
    assert "btn-2:" not in passwd  # retired: gone
    line = dict(entry.split(":", 1) for entry in passwd.splitlines())
    assert not verify_password(first["btn-1"], line["btn-1"])  # rotated


def test_our_hash_is_mosquitto_passwd_format() -> None:
    """Our $7$ lines and mosquitto_passwd's verify each other's way."""
    hashed = hash_password("s3cret")
    assert verify_password("s3cret", hashed) and not verify_password("s3cre", hashed)


def test_bad_input_is_refused_with_a_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "bad.csv"
    source.write_text("id,site_id,kind\nbtn 1,home/1,button\n")
    assert main(["provision", "--out", str(tmp_path / "o"), "--devices", str(source)]) == 2
    assert "btn 1" in capsys.readouterr().err


@pytest.fixture
def secured() -> Iterator[tuple[Mosquitto, dict[str, str]]]:
    # Not under tmp_path: mosquitto reads the password file after dropping to its own user, who
    # cannot enter pytest's private (0700) temporary tree; temporary_folder is 0755.
    with temporary_folder("eldercare-test-auth-") as folder:
        passwords = _provision(folder)  # inside the broker's folder: handed to its user when root
        auth = folder / "auth"
        # start_mosquitto writes `allow_anonymous true` first; mosquitto takes the last value.
        server = start_mosquitto(folder, extra=(
            f"allow_anonymous false\npassword_file {auth}/passwd\nacl_file {auth}/acl\n"))
        try:
            yield server, passwords
        finally:
            server.stop()


def _connect(port: int, username: str | None, password: str | None) -> int:
    """The CONNACK reason: 0 accepted, otherwise refused."""
    result: list[int] = []
    client = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv311)
    if username:
        client.username_pw_set(username, password)
    client.on_connect = lambda c, u, f, rc, p: result.append(rc.value)
    client.connect("127.0.0.1", port, 10)
    client.loop_start()
    deadline = time.monotonic() + 5
    while not result and time.monotonic() < deadline:
        time.sleep(0.05)
    client.disconnect()
    client.loop_stop()
    return result[0] if result else -1


def _event(seq: int) -> bytes:
    return json.dumps({"seq": seq, "ts": int(time.time() * 1000), "type": "sos"}).encode()


@pytest.mark.broker
def test_mosquitto_enforces_who_may_say_what(secured: tuple[Mosquitto, dict[str, str]]) -> None:
    server, pw = secured
    assert _connect(server.port, None, None) != 0, "anonymous must be refused"
    assert _connect(server.port, "btn-1", "wrong") != 0
    assert _connect(server.port, "btn-1", pw["btn-1"]) == 0

    ingest = Recorder(server.port, client_id="ingest-test", username="ingest", password=pw["ingest"])
    own_cmd = Recorder(server.port, "eldercare/v1/#", client_id="btn-1-sub", username="btn-1",
                       password=pw["btn-1"])
    try:
        publish(server.port, [
            ("eldercare/v1/home-1/btn-2/event", _event(1)),       # speaking as another device
            ("eldercare/v1/care-2/smoke-9/event", _event(2)),     # another site
            ("eldercare/v1/home-1/btn-1/cmd", b'{"id":"x","command":"silence","ts":0}'),
            ("eldercare/v1/home-1/btn-1/event", _event(3)),       # its own: allowed
        ], username="btn-1", password=pw["btn-1"])
        publish(server.port, [
            ("eldercare/v1/care-2/smoke-9/event", _event(4)),     # a gateway outside its site
            ("eldercare/v1/home-1/btn-2/event", _event(5)),       # a gateway for its site
        ], username="gw-1", password=pw["gw-1"])
        got = ingest.wait_for(lambda got: len(got) >= 2, timeout=10)
        time.sleep(0.3)  # anything forbidden would have arrived by now (published before)
        assert [(m.topic, m.body["seq"]) for m in ingest.snapshot()] == [
            ("eldercare/v1/home-1/btn-1/event", 3), ("eldercare/v1/home-1/btn-2/event", 5)]
        assert len(got) >= 2

        publish(server.port, [("eldercare/v1/home-1/btn-2/cmd", b'{"id":"a"}'),
                              ("eldercare/v1/home-1/btn-1/cmd", b'{"id":"b"}')],
                username="ingest", password=pw["ingest"])
        own_cmd.wait_for(lambda got: len(got) >= 1, timeout=10)
        time.sleep(0.3)
        # btn-1 subscribed to everything but reads only its own commands.
        assert [m.topic for m in own_cmd.snapshot()] == ["eldercare/v1/home-1/btn-1/cmd"]
    finally:
        ingest.close()
        own_cmd.close()


def test_we_verify_what_mosquitto_passwd_writes(tmp_path: Path) -> None:
    """The other direction of the format check (mosquitto itself accepts ours: test above)."""
    passwd = tmp_path / "passwd"
    passwd.touch()
    try:
        subprocess.run(["mosquitto_passwd", "-b", str(passwd), "alice", "pw-1"], check=True,
                       capture_output=True)
    except FileNotFoundError:
        pytest.skip("mosquitto_passwd is not installed")
    user, hashed = passwd.read_text().strip().split(":", 1)
    assert user == "alice" and verify_password("pw-1", hashed) and not verify_password("pw-2", hashed)


@pytest.mark.db
def test_reads_active_devices_from_the_database(db_url: str, tmp_path: Path) -> None:
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO sites (id, kind, name) VALUES ('home-1', 'home', 'A home')")
        conn.execute("INSERT INTO devices (id, site_id, kind) VALUES ('btn-1', 'home-1', 'button'),"
                     " ('gw-1', 'home-1', 'gateway')")
        conn.execute("INSERT INTO devices (id, site_id, kind, retired_at)"
                     " VALUES ('old-1', 'home-1', 'smoke', now())")
    assert main(["provision", "--out", str(tmp_path), "--db", db_url]) == 0
    acl = (tmp_path / "acl").read_text()
    assert "user btn-1\ntopic write eldercare/v1/home-1/btn-1/event" in acl
    assert "user gw-1\ntopic write eldercare/v1/home-1/#" in acl
    assert "old-1" not in acl


@pytest.mark.db
def test_wire_records_which_devices_speak_through_each_home_gateway(
        db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The fixture gateway's configuration lists seven devices: ``wire`` records them as going
    through gw-0001. Its configuration rewritten without the radar, the radar goes back to "by
    itself". A configuration naming a device nobody registered, or a gateway that is not one,
    is refused with the reason and changes nothing."""
    import psycopg

    fixture = Path(__file__).parent / "fixtures" / "gateway.toml"
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO sites (id, kind, name) VALUES ('home-0001', 'home', 'A home')")
        conn.execute("INSERT INTO devices (id, site_id, kind) VALUES ('gw-0001', 'home-0001',"
                     " 'gateway'), ('smoke-0001', 'home-0001', 'smoke'), ('smoke-0002',"
                     " 'home-0001', 'smoke'), ('btn-0001', 'home-0001', 'button'), ('btn-0002',"
                     " 'home-0001', 'button'), ('btn-0003', 'home-0001', 'button'),"
                     " ('radar-0001', 'home-0001', 'radar'), ('phone-0001', 'home-0001',"
                     " 'wearable'), ('watch-4g', 'home-0001', 'wearable')")

        def via() -> dict[str, str | None]:
            return dict(conn.execute("SELECT id, via FROM devices ORDER BY id").fetchall())

        assert main(["wire", "--db", db_url, str(fixture)]) == 0
        assert "gw-0001: 7 devices through it (7 newly), 0 no longer" in capsys.readouterr().err
        wired = via()
        assert wired.pop("gw-0001") is None and wired.pop("watch-4g") is None
        assert set(wired.values()) == {"gw-0001"} and len(wired) == 7
        text = fixture.read_text()
        start = text.index('native = "zigbee2mqtt/bathroom-radar"')
        without = tmp_path / "gateway.toml"
        without.write_text(text[:text.rindex("[[devices]]", 0, start)]
                           + text[text.index("[[devices]]", start):])
        assert main(["wire", "--db", db_url, str(without)]) == 0
        assert "gw-0001: 6 devices through it (0 newly), 1 no longer" in capsys.readouterr().err
        assert via()["radar-0001"] is None and via()["btn-0001"] == "gw-0001"
        before = via()
        unknown = tmp_path / "unknown.toml"
        unknown.write_text(text.replace('id = "btn-0003"', 'id = "btn-9999"'))
        assert main(["wire", "--db", db_url, str(unknown)]) == 2
        assert "not registered: btn-9999" in capsys.readouterr().err
        not_one = tmp_path / "not-a-gateway.toml"
        not_one.write_text(text.replace('id = "gw-0001"', 'id = "watch-4g"'))
        assert main(["wire", "--db", db_url, str(not_one)]) == 2
        assert "not a gateway" in capsys.readouterr().err
        assert via() == before
