"""``eldercare bench``: how far one machine carries the platform (issue 8).

    eldercare bench --devices N --for SECONDS [--workers K] [--alarms-per-s 5] [--json]
                    [--broker URL --db URL]

It starts mosquitto and PostgreSQL (or uses the given ones), registers N devices (40% wearables
streaming 1 s accelerometer windows at 50 Hz plus vitals every 10 s, 40% buttons, 20% smoke
detectors, every one checking in), runs ``eldercare ingest`` and ``eldercare console`` as their
own processes, and publishes the load from two publisher processes. Meanwhile it presses SOS
buttons at known times and measures, with a console client signed in as an operator, the time from
the press's publication to the alarm on the operator's WebSocket. First it measures the broker's
ceiling: how fast mosquitto_sub, a C subscriber writing to /dev/null, takes the same messages.

Figures: messages ingested per second, alarm latency p50/p95/p99, backlog, CPU and peak memory
per process, lost and duplicated alarms (both must be 0), and ingest as a share of the ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import psycopg
from rich.console import Console
from rich.live import Live
from rich.table import Table

from bench import publishers
from console.auth import hash_password
from eldercare.servers import free_port, start_mosquitto, start_postgres, temporary_folder
from eldercare.watcher import watching
from ingest.codec import encode
from ingest.contract import Event, EventType, Kind, topic
from store.database import prepare
from store.registry import seed

PASSWORD = "bench-operator-password"


class BenchError(RuntimeError):
    """The benchmark cannot run here; the message says what is missing."""


def _rows(n: int) -> tuple[dict[str, list[dict[str, Any]]], list[tuple[str, str, str]]]:
    """N devices: per five, two wearables, two buttons, one smoke detector; a home each."""
    sites, residents, devices, plan = [], [], [], []
    kinds = ("wearable", "wearable", "button", "button", "smoke")
    for i in range(n):
        site, kind = f"b{i:06d}", kinds[i % 5]
        sites.append({"id": site, "kind": "home", "name": site, "lat": 31.2, "lon": 121.4})
        residents.append({"id": f"r{i:06d}", "site_id": site, "name": f"住户{i}"})
        devices.append({"id": f"d{i:06d}", "site_id": site, "kind": kind,
                        "resident_id": f"r{i:06d}"})
        plan.append((site, f"d{i:06d}", kind))
    users = [{"username": "bench-op", "password_hash": hash_password(PASSWORD), "role": "operator",
              "display_name": "bench"}]
    return {"sites": sites, "residents": residents, "devices": devices, "users": users}, plan


def _ceiling(url: str, plan: list[tuple[str, str, str]], messages: int, folder: Path) -> float:
    """Messages per second the broker carries from C publishers (mosquitto_pub -l) to a C
    subscriber writing to /dev/null (mosquitto_sub), at QoS 1, with accelerometer-sized
    payloads: what no Python ingest can beat on this machine."""
    sub, pub = shutil.which("mosquitto_sub"), shutil.which("mosquitto_pub")
    if sub is None or pub is None:
        raise BenchError("the broker ceiling needs mosquitto_pub and mosquitto_sub"
                         " (apt-get install mosquitto-clients)")
    port = url.rsplit(":", 1)[1]
    sample = publishers._accel(1, int(time.time() * 1000), publishers._windows(1)[0])
    lines = folder / "ceiling.txt"
    lines.write_bytes((sample + b"\n") * (messages // 2))
    receiver = subprocess.Popen([sub, "-h", "127.0.0.1", "-p", port, "-t", "eldercare/v1/#",
                                 "-q", "1", "-C", str(2 * (messages // 2))],
                                stdout=subprocess.DEVNULL)
    time.sleep(0.5)
    started = time.monotonic()
    senders = []
    for site, device, _ in plan[:2]:
        with lines.open("rb") as feed:
            senders.append(subprocess.Popen(
                [pub, "-h", "127.0.0.1", "-p", port, "-q", "1", "-l",
                 "-t", topic(site, device, Kind.ACCEL)], stdin=feed))
    receiver.wait(timeout=600)
    elapsed = time.monotonic() - started
    for sender in senders:
        sender.wait(60)
    return 2 * (messages // 2) / elapsed


def _spawn(args: list[str], env: dict[str, str], log: Path,
           nice: int = 0) -> subprocess.Popen[bytes]:
    # ``nice`` execs the interpreter: the pid is the service's.
    prefix = ["nice", "-n", str(nice)] if nice else []
    with log.open("ab") as out:
        return subprocess.Popen([*prefix, sys.executable, "-m", "eldercare.cli", *args], env=env,
                                stdout=out, stderr=out)


class Usage:
    """CPU seconds and peak resident memory of the processes under test."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.started = time.monotonic()
        self.last = self.started
        self.procs = {name: psutil.Process(pid) for name, pid in pids.items()}
        # PostgreSQL works in one backend process per connection: count them with the server.
        self.children = {name for name in self.procs if name == "postgres"}
        self.cpu0: dict[str, float] = {}
        self.cpu0 = {name: self._cpu(p) for name, p in self.procs.items()}
        self.peak = {name: 0 for name in self.procs}
        self.cpu = dict(self.cpu0)
        """Last CPU reading of each: a process that has ended keeps what it used."""

    def _cpu(self, p: psutil.Process) -> float:
        try:
            times = p.cpu_times()
            total = float(times.user + times.system)
            if p.pid in {self.procs[n].pid for n in self.children}:
                for child in p.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        t = child.cpu_times()
                        total += float(t.user + t.system)
            return total
        except psutil.Error:
            return 0.0

    def sample(self) -> None:
        self.last = time.monotonic()
        for name, p in self.procs.items():
            with contextlib.suppress(psutil.Error):  # a process that ended keeps its figures
                self.peak[name] = max(self.peak[name], p.memory_info().rss)
                self.cpu[name] = self._cpu(p)

    def report(self) -> dict[str, dict[str, float]]:
        """Over the whole measured span (the load and the drain after it)."""
        seconds = max(self.last - self.started, 1e-9)
        used = {name: max(self.cpu[name] - self.cpu0[name], 0.0) for name in self.procs}
        return {name: {"cpu_s": round(used[name], 1),
                       "cpu_pct": round(100 * used[name] / seconds, 1),
                       "peak_rss_mb": round(self.peak[name] / 2**20, 1)}
                for name in self.procs}


async def _settled(paths: list[Path], after: float, *, wait_s: float = 10.0) -> dict[str, Any]:
    """:func:`_stats` once every worker has written its counters after ``after`` (epoch s), or
    as they are after ``wait_s``."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            if all(float(json.loads(p.read_text()).get("at", 0)) > after for p in paths):
                break
        except (OSError, ValueError):
            pass
        await asyncio.sleep(0.2)
    return _stats(paths)


def _stats(paths: list[Path]) -> dict[str, Any]:
    """The workers' counters added up (a worker that has not written yet counts as nothing)."""
    total: dict[str, Any] = {}
    for path in paths:
        try:
            stats = dict(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
        for key, value in stats.items():
            if key != "at" and isinstance(value, int | float):
                total[key] = total.get(key, 0) + value
    return total


async def _run(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    servers: list[Any] = []
    broker, db = args.broker, args.db
    if broker is None:
        mq = start_mosquitto(folder / "mq", extra="max_inflight_messages 10000\n")
        servers.append(mq)
        broker = mq.url
    if db is None:
        pg = start_postgres(folder / "pg", durable=not args.fast_db)
        servers.append(pg)
        db = pg.url()
    try:
        await prepare(db)
        rows, plan = _rows(args.devices)
        async with await psycopg.AsyncConnection.connect(db) as conn:
            await seed(conn, rows)
            await conn.commit()
        ceiling = _ceiling(broker, plan, args.ceiling_messages, folder)
        env = {**os.environ, "ELDERCARE_ENV": "development",
               "ELDERCARE_CLIENT_ID": f"bench-ingest-{time.time_ns()}"}
        port = free_port()
        # (name, lane, worker, niceness): one process per ingest worker with both lanes, or
        # the alarm lane alone at normal priority and the stream workers below it.
        roles = ([(f"ingest-{k}" if args.workers > 1 else "ingest", "all", k, 0)
                  for k in range(args.workers)] if args.lanes == "one" else
                 [("ingest-alarms", "alarms", 0, 0)]
                 + [(f"ingest-streams-{k}" if args.workers > 1 else "ingest-streams", "streams",
                     k, args.stream_nice) for k in range(args.workers)])
        stats_files = [folder / f"{name}-stats.json" for name, *_ in roles]
        workers = [_spawn(["ingest", "--broker", broker, "--db", db, "--lane", lane,
                           "--workers", "1" if lane == "alarms" else str(args.workers),
                           "--worker", str(k)],
                          {**env, "ELDERCARE_STATS_FILE": str(stats)}, folder / f"{name}.log",
                          nice=nice)
                   for (name, lane, k, nice), stats in zip(roles, stats_files, strict=True)]
        console = _spawn(["console", "--db", db, "--port", str(port)],
                         {**env, "ELDERCARE_STATS_FILE": ""}, folder / "console.log")
        names = [name for name, *_ in roles]
        try:
            return await _measure(args, broker, db, port, plan, ceiling, stats_files,
                                  dict(zip(names, (w.pid for w in workers), strict=True))
                                  | {"console": console.pid}
                                  | {s.__class__.__name__.lower(): s.proc.pid for s in servers})
        finally:
            for proc in (*workers, console):
                proc.terminate()
                proc.wait(30)
    finally:
        for server in servers:
            server.stop()


def _healthy(port: int) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
            return True
    except OSError:
        return False


async def _until_console(port: int) -> None:
    for _ in range(300):
        if await asyncio.to_thread(_healthy, port):
            return
        await asyncio.sleep(0.1)
    raise RuntimeError("the console did not start")


async def _measure(args: argparse.Namespace, broker: str, db: str, port: int,
                   plan: list[tuple[str, str, str]], ceiling: float, stats_files: list[Path],
                   pids: dict[str, int]) -> dict[str, Any]:
    await _until_console(port)
    # Every ingest process is subscribed once it writes its first stats (after it connected):
    # what is published before that has no session to wait in.
    for _ in range(600):
        if all(path.exists() for path in stats_files):
            break
        await asyncio.sleep(0.1)
    else:
        raise BenchError("an ingest process did not start; see its log")
    buttons = [(s, d) for s, d, k in plan if k == "button"]
    presser = publishers._client(broker, f"bench-presser-{time.time_ns()}")
    seq = int(time.time() * 1000) << 20
    injected: dict[tuple[str, int], float] = {}

    def press() -> None:
        nonlocal seq
        site, device = random.choice(buttons)
        seq += 1
        injected[(device, seq)] = time.time()
        presser.publish(topic(site, device, Kind.EVENT),
                        encode(Event(seq=seq, ts=int(time.time() * 1000), type=EventType.SOS)),
                        qos=1)

    async with watching(f"http://127.0.0.1:{port}", "bench-op", PASSWORD) as watcher:
        # Canary presses until one reaches the console: before ingest has first subscribed, a
        # press has no session to wait in and is nobody's to keep, so these are not counted.
        while not injected or not any(
                a.get("source_seq") in {s for _, s in injected} for a in watcher.alarms.values()):
            press()
            await asyncio.sleep(0.5)
        injected.clear()
        # What the workers had received before the load, read once their counters are newer
        # than now (they write them once a second). Until 2026-12-08 this was read after the
        # publishers had started, and when starting them took over their one second's lead the
        # first messages of the load counted as "before": the drain then waited for a count it
        # could never reach, to its deadline, and the rate came out at a third of the truth.
        received0 = (await _settled(stats_files, time.time())).get("received", 0)
        half = len(plan) // 2
        start_at = time.time() + 1.0
        parts = [publishers.Slice(url=broker, devices=plan[:half], seconds=args.seconds,
                                  start_at=start_at, nice=args.publisher_nice),
                 publishers.Slice(url=broker, devices=plan[half:], seconds=args.seconds,
                                  start_at=start_at, nice=args.publisher_nice)]
        procs, published = publishers.start(parts)
        usage = Usage(pids | {f"publisher-{i}": p.pid for i, p in enumerate(procs) if p.pid})
        backlog_max, rates = 0, []
        t0 = time.monotonic()
        show = Console(stderr=True)
        with Live(console=show, refresh_per_second=2, transient=args.json) as live:
            last = (t0, received0)
            while time.monotonic() - t0 < args.seconds + 1:
                for _ in range(int(args.alarms_per_s)):
                    press()
                await asyncio.sleep(1.0)
                usage.sample()
                stats = _stats(stats_files)
                now, received = time.monotonic(), stats.get("received", 0)
                rates.append((received - last[1]) / (now - last[0]))
                last = (now, received)
                sent = published.value + len(injected)
                backlog = max(sent - (received - received0), 0)
                backlog_max = max(backlog_max, backlog)
                table = Table(title=f"eldercare bench: {args.devices} devices")
                for col in ("elapsed s", "published", "ingested/s", "backlog", "alarms seen"):
                    table.add_column(col)
                table.add_row(f"{now - t0:.0f}", str(published.value), f"{rates[-1]:.0f}",
                              str(backlog), str(len(watcher.seen)))
                live.update(table)
        # Off the event loop: while the publishers flush, the operator client must go on taking
        # alarms, or their arrival times (the latency measured) would wait for the join.
        for p in procs:
            await asyncio.to_thread(p.join, 60)
        published_s = time.monotonic() - t0
        # Drain: everything published is ingested, every injected alarm arrives (or not). A
        # backlog takes as long as it takes at the rate measured, within reason.
        rate = max(float(np.mean(rates[-5:])) if rates else 1.0, 1.0)
        deadline = time.monotonic() + min(60 + 1.5 * backlog_max / rate, 900)
        while time.monotonic() < deadline:
            stats = _stats(stats_files)
            if stats.get("received", 0) - received0 >= published.value + len(injected) \
                    and stats.get("backlog", 1) == 0:
                break
            await asyncio.sleep(0.5)
        # The rate is over the load and its drain: a backlog ingested after the load stopped
        # took that time too.
        elapsed = time.monotonic() - t0
        await asyncio.sleep(2.0)
        usage.sample()
        arrived = {(a["device_id"], a["source_seq"]): watcher.seen[i]
                   for i, a in watcher.alarms.items() if a["kind"] == "sos"}
    presser.disconnect()
    presser.loop_stop()
    mono_offset = time.time() - time.monotonic()
    latencies = np.array([(arrived[k] + mono_offset - t) * 1000 for k, t in injected.items()
                          if k in arrived])
    with psycopg.connect(db) as conn:
        stored: dict[str, int] = dict(conn.execute(
            "SELECT device_id || ':' || source_seq, count(*) FROM alarms WHERE kind = 'sos'"
            " GROUP BY 1").fetchall())
    keys = {f"{d}:{s}" for d, s in injected}
    lost = sum(1 for k in keys if k not in stored)  # after the drain: never stored at all
    duplicates = sum(n - 1 for k, n in stored.items() if k in keys and n > 1)
    total = _stats(stats_files).get("received", 0) - received0
    msgs_per_s = total / elapsed
    processes = usage.report()
    for path in stats_files:  # the garbage collector's share of each ingest process
        try:
            own = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        name = path.name.removesuffix("-stats.json")
        if name in processes and "gc_ms" in own:
            processes[name] |= {"gc_s": round(own["gc_ms"] / 1000, 1),
                                "gc_full": own.get("gc_full", 0)}
    return {
        "devices": args.devices, "seconds": args.seconds, "workers": args.workers,
        "lanes": args.lanes, "stream_nice": args.stream_nice if args.lanes == "split" else 0,
        "publisher_nice": args.publisher_nice,
        "published": published.value + len(injected), "ingested": total, "msgs_per_s": round(msgs_per_s),
        "ceiling_msgs_per_s": round(ceiling), "ingest_over_ceiling": round(msgs_per_s / ceiling, 3),
        "load_s": round(published_s, 1), "drained_s": round(elapsed, 1),
        "alarms_injected": len(injected), "alarms_seen_on_console": len(
            [k for k in injected if k in arrived]),
        "latency_p50_ms": round(float(np.percentile(latencies, 50)), 1) if len(latencies) else None,
        "latency_p95_ms": round(float(np.percentile(latencies, 95)), 1) if len(latencies) else None,
        "latency_p99_ms": round(float(np.percentile(latencies, 99)), 1) if len(latencies) else None,
        "lost_alarms": lost, "duplicate_alarms": duplicates, "backlog_max": backlog_max,
        "processes": processes,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="eldercare bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, required=True)
    parser.add_argument("--for", dest="seconds", type=float, required=True)
    parser.add_argument("--workers", type=int, default=1, choices=range(1, 9), metavar="K",
                        help="ingest worker processes, each owning a share of the sites"
                             " (ingest/partition.py)")
    parser.add_argument("--lanes", choices=("one", "split"), default="split",
                        help="split (default): the alarm lane in its own process and the stream"
                             " workers at a lower CPU priority; one: both lanes in each worker")
    parser.add_argument("--stream-nice", type=int, default=10, metavar="N",
                        help="niceness of the stream workers with --lanes split (default 10)")
    parser.add_argument("--publisher-nice", type=int, default=0, metavar="N",
                        help="niceness of the load generators (default 0: they compete with the"
                             " platform as they are)")
    parser.add_argument("--alarms-per-s", type=float, default=5.0)
    parser.add_argument("--ceiling-messages", type=int, default=100_000)
    parser.add_argument("--fast-db", action="store_true",
                        help="PostgreSQL without fsync (measures the code, not the disk)")
    parser.add_argument("--broker")
    parser.add_argument("--db")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", type=Path, default=None,
                        help="run in this folder and keep it (servers' and services' logs)")
    args = parser.parse_args(argv)
    if args.devices < 5 or args.seconds <= 0:
        print("eldercare bench: need --devices >= 5 and --for > 0", file=sys.stderr)
        return 2
    try:
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            os.chmod(args.keep, 0o755)
            result = asyncio.run(_run(args, args.keep.resolve()))
        else:
            with temporary_folder("eldercare-bench-") as folder:
                result = asyncio.run(_run(args, folder))
    except BenchError as err:
        print(f"eldercare bench: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:24} {value}")
    return 0 if result["lost_alarms"] == 0 and result["duplicate_alarms"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
