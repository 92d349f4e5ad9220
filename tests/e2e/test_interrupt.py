"""Ctrl-C at any moment of start-up ends an ingest process promptly: what had been started
(the database pool, the broker connections, the lanes' tasks) is stopped, so nothing keeps the
interpreter alive. An interrupt between the broker's CONNACK and its SUBACKs once left it
hanging for ever."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.servers import Mosquitto

pytestmark = [pytest.mark.e2e, pytest.mark.db, pytest.mark.broker]


@pytest.mark.parametrize("when", ["during start-up", "at the broker's CONNACK", "once running"])
def test_ctrl_c_ends_ingest_at_any_moment_of_start_up(mosquitto: Mosquitto, db_url: str,
                                                      tmp_path: Path, when: str) -> None:
    log = tmp_path / "ingest.log"
    env = {**os.environ, "ELDERCARE_ENV": "development",
           "ELDERCARE_CLIENT_ID": f"interrupt-{time.time_ns()}"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "eldercare.cli", "-v", "ingest", "--broker", mosquitto.url,
             "--db", db_url], stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        if when == "during start-up":
            time.sleep(0.5)  # importing, migrating, loading the registry
        else:
            # the first lane's CONNACK is logged before its SUBACKs; once running, both lanes
            # have connected and had a moment to subscribe
            lanes = 1 if when == "at the broker's CONNACK" else 2
            deadline = time.monotonic() + 60
            while log.read_text(errors="replace").count("connected to") < lanes \
                    and time.monotonic() < deadline:
                time.sleep(0.005)
            if when == "once running":
                time.sleep(1.5)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) != 0, log.read_text(errors="replace")[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
