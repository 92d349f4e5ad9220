"""No secret in logs: an ingest process run with debug logging, a broker password in its URL and
a database password in its DSN never writes either (issue 8)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from tests.servers import Mosquitto

pytestmark = [pytest.mark.e2e, pytest.mark.db, pytest.mark.broker]

BROKER_SECRET = "br0ker-S3cret-xyz"
DB_SECRET = "db-S3cret-xyz"


def test_debug_logs_never_contain_the_passwords(mosquitto: Mosquitto, db_url: str,
                                               tmp_path: Path) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE app LOGIN SUPERUSER PASSWORD '{DB_SECRET}'")
    db = db_url.replace("postgres@", f"app:{DB_SECRET}@")
    broker = mosquitto.url.replace("mqtt://", f"mqtt://ingest:{BROKER_SECRET}@")
    env = {**os.environ, "ELDERCARE_ENV": "development", "ELDERCARE_CLIENT_ID": "secret-test"}
    log = tmp_path / "ingest.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "eldercare.cli", "-v", "ingest", "--broker", broker, "--db", db],
            stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 60
    while "connected to" not in log.read_text(errors="replace") and time.monotonic() < deadline:
        time.sleep(0.2)  # until ingest has connected to both, with debug logging on
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)
    text = log.read_text(errors="replace")
    assert "connected to" in text, text[-2000:]  # it did run, with debug logging on
    assert BROKER_SECRET not in text
    assert DB_SECRET not in text
