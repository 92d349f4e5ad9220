"""`eldercare bench` runs end to end on a tiny district and reports what issue 8 asks for.
(Its figures are read by people, in docs/performance.md; this test checks it works, not how fast.)"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.db, pytest.mark.broker]


@pytest.mark.parametrize(("lanes", "ingest"), [("split", {"ingest-alarms", "ingest-streams"}),
                                               ("one", {"ingest"})])
def test_bench_reports_every_figure_and_loses_nothing(lanes: str, ingest: set[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "eldercare.cli", "bench", "--devices", "50", "--for", "4",
         "--ceiling-messages", "2000", "--alarms-per-s", "3", "--lanes", lanes, "--json"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    for key in ("msgs_per_s", "latency_p99_ms", "lost_alarms", "duplicate_alarms",
                "ceiling_msgs_per_s", "processes"):
        assert key in report
    assert report["lost_alarms"] == 0 and report["duplicate_alarms"] == 0
    assert report["alarms_seen_on_console"] == report["alarms_injected"] >= 12
    assert report["ingested"] >= report["published"] > 0
    assert report["ceiling_msgs_per_s"] > 0
    assert ingest | {"console", "mosquitto", "postgres"} <= set(report["processes"])
    assert report["lanes"] == lanes


def test_bench_refuses_nonsense() -> None:
    result = subprocess.run([sys.executable, "-m", "eldercare.cli", "bench", "--devices", "2",
                             "--for", "1"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "devices" in result.stderr
