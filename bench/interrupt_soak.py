"""Interrupt an ingest process just after the broker's CONNACK, many times, and count how each
stop went: ended, hung, or ended only because a task was cancelled a second time.

``tests/e2e/test_interrupt.py`` does this once per CI run; a race that loses one interrupt in
150 passes there almost every time. This program repeats it so that such a rate can be
measured, before and after a change:

    PYTHONPATH=. .venv/bin/python bench/interrupt_soak.py [--runs 150] [--seed 1]
        [--during-start 2.5]

``--during-start S`` interrupts instead at a random moment from 0.1 to S seconds after the
process starts (importing, migrating, loading the registry, connecting), whether or not it
has connected by then: the window of the CI hang of 2026-12-07, where a Ctrl-C taken by
``asyncio.run``'s own handler had its cancel lost (tests/test_interrupt_before_handlers.py).

Each run gets a fresh database (cloned from a migrated template) and its own mosquitto, starts
``eldercare -v ingest``, waits for the first "connected to" line, waits a random 0–10 ms more,
and sends SIGINT. A process still running 15 s later is a hang: it gets SIGABRT (Python's
faulthandler then prints every thread's stack into its log), and the log's last lines are
printed. Needs mosquitto and PostgreSQL as the tests do (``scripts/setup.sh test``); about 3 s a
run on two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import psycopg

from eldercare.servers import start_mosquitto, start_postgres, temporary_folder
from store.database import prepare

HANG_S = 15.0
RECANCELLED = "went on after it was cancelled"


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # as Ctrl-C finds it in a terminal


def one_run(folder: Path, db_url: str, n: int, rng: random.Random,
            during_start: float | None = None) -> tuple[str, str]:
    """("ended" | "re-cancelled" | "hung" | "no connect", the log) of one interrupted start:
    interrupted just after the CONNACK, or (``during_start``) at a random moment of start-up."""
    broker = start_mosquitto(folder / f"mosquitto-{n}")
    log = folder / f"ingest-{n}.log"
    env = {**os.environ, "ELDERCARE_ENV": "development", "PYTHONFAULTHANDLER": "1",
           "ELDERCARE_CLIENT_ID": f"soak-{n}-{time.time_ns()}"}
    try:
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "eldercare.cli", "-v", "ingest", "--broker", broker.url,
                 "--db", db_url], stdout=out, stderr=subprocess.STDOUT, env=env,
                preexec_fn=_default_sigint)
        if during_start is not None:
            time.sleep(rng.uniform(0.1, during_start))
        else:
            deadline = time.monotonic() + 60
            while "connected to" not in log.read_text(errors="replace"):
                if time.monotonic() > deadline or proc.poll() is not None:
                    proc.kill()
                    proc.wait()
                    return "no connect", log.read_text(errors="replace")
                time.sleep(0.005)
            time.sleep(rng.random() * 0.01)
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=HANG_S)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            return "hung", log.read_text(errors="replace")
        text = log.read_text(errors="replace")
        return ("re-cancelled" if RECANCELLED in text else "ended"), text
    finally:
        broker.stop()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=150)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--during-start", type=float, default=None, metavar="S",
                        help="interrupt 0.1 to S seconds into start-up, not at the CONNACK")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    outcomes: Counter[str] = Counter()
    tasks: Counter[str] = Counter()
    started = time.monotonic()
    with temporary_folder("eldercare-soak-") as folder:
        server = start_postgres(folder / "pg")
        try:
            with psycopg.connect(server.url(), autocommit=True) as conn:
                conn.execute("CREATE DATABASE soak_template")
            asyncio.run(prepare(server.url("soak_template")))
            for n in range(args.runs):
                with psycopg.connect(server.url(), autocommit=True) as conn:
                    conn.execute(f"CREATE DATABASE soak_{n} TEMPLATE soak_template")
                outcome, text = one_run(folder, server.url(f"soak_{n}"), n, rng,
                                        args.during_start)
                outcomes[outcome] += 1
                for line in text.splitlines():
                    if RECANCELLED in line:
                        tasks[line.split("task ", 1)[1].split(" ", 1)[0]] += 1
                if outcome in ("hung", "no connect"):
                    lines = [x for x in text.splitlines() if not x.startswith("Extension modules")]
                    tail = "\n".join(lines[-40:])
                    print(f"run {n}: {outcome}; the end of its log:\n{tail}", flush=True)
                if (n + 1) % 25 == 0:
                    print(f"{n + 1} runs: {dict(outcomes)}", file=sys.stderr, flush=True)
        finally:
            server.stop()
    when = ("at the CONNACK" if args.during_start is None
            else f"0.1-{args.during_start:g} s into start-up")
    print(f"{args.runs} interrupts {when} in {time.monotonic() - started:.0f} s: "
          f"ended {outcomes['ended']}, ended after a second cancel {outcomes['re-cancelled']}"
          f" ({', '.join(f'{k} {v}' for k, v in sorted(tasks.items())) or 'none'}), "
          f"hung {outcomes['hung']}, never connected {outcomes['no connect']}")
    return 1 if outcomes["hung"] or outcomes["no connect"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
