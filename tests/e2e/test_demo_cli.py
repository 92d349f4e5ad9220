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
    env = {**os.environ, "ELDERCARE_ENV": "development", "TMPDIR": str(tmp_path),
           "ELDERCARE_DATA": str(tmp_path / "var")}
    for name in ("ELDERCARE_SMS_URL", "ELDERCARE_SMTP_HOST"):
        env.pop(name, None)
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

    # Without a gateway or a mail server, what families are told goes to the run's outbox, and
    # the demo says where and how much of it there was.
    [where] = [line for line in lines if line.startswith("family:   ")]
    outbox = Path(where.split(" written to ")[1].split(" (")[0])
    assert outbox.parent == tmp_path / "var" / "demo-outbox"
    files = sorted(outbox.iterdir()) if outbox.exists() else []
    [told] = [line for line in lines if line.startswith("family notifications: ")]
    sent = re.search(r"(\d+) sent", told)
    assert raised == 0 or sent, told  # every simulated elder has a contact with a phone
    assert len(files) == (int(sent.group(1)) if sent else 0), (told, files)
    assert "given_up" not in told
    sms = [f for f in files if f.name.endswith("-sms.txt")]
    assert sms == [] or re.match(r"To: \+?\d+\n\n【12349】", sms[0].read_text()), sms[0].read_text()


def test_demo_refuses_production() -> None:
    env = {**os.environ, "ELDERCARE_ENV": "production"}
    result = subprocess.run([sys.executable, "-m", "eldercare.cli", "demo", "--for", "1"],
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 2
    assert "production" in result.stderr
