"""`eldercare demo --for N` as a person runs it: embedded broker and database, a real process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_demo_runs_and_every_alarm_reaches_the_console(tmp_path: Path) -> None:
    env = {**os.environ, "ELDERCARE_ENV": "development", "TMPDIR": str(tmp_path)}
    os.chmod(tmp_path, 0o755)
    result = subprocess.run(
        [sys.executable, "-m", "eldercare.cli", "demo", "--for", "25", "--homes", "120",
         "--care-homes", "1", "--seed", "7", "--port", str(free_port())],
        capture_output=True, text=True, timeout=180, env=env)
    lines = result.stdout.strip().splitlines()
    assert result.returncode == 0, result.stdout + result.stderr
    match = re.fullmatch(r"demo: (\d+) messages, (\d+) alarms raised, (\d+) alarms delivered to"
                         r" console", lines[-1])
    assert match, lines[-1]
    messages, raised, delivered = map(int, match.groups())
    assert messages > 1000  # 25 s of ~60 wearables streaming 1 s windows, plus the rest
    assert raised == delivered
    assert any("sign in as:" in line for line in lines)


def test_demo_refuses_production() -> None:
    env = {**os.environ, "ELDERCARE_ENV": "production"}
    result = subprocess.run([sys.executable, "-m", "eldercare.cli", "demo", "--for", "1"],
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 2
    assert "production" in result.stderr
