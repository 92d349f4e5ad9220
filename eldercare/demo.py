"""``eldercare demo``: a whole simulated district on one machine, end to end on real components.

With no ``--db`` an embedded PostgreSQL starts in a temporary folder; with no ``--broker`` an
embedded MQTT broker. The district is seeded, the services start, the simulator publishes in
real time, and a built-in console client (the "watcher") stays signed in as an operator so the
run can prove that every alarm raised reached a console. With ``--for`` the demo stops by itself,
drains, and prints as its last line::

    demo: <N> messages, <N> alarms raised, <N> alarms delivered to console

exiting 0 only when every alarm raised was delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from alerts.channels.outbox import OutboxChannel
from eldercare.platform import DEMO_USERS, Platform, demo_password, seed_district
from eldercare.settings import Settings, SettingsError
from eldercare.watcher import watching
from ingest.embedded_broker import EmbeddedBroker
from simulators.district import District
from simulators.publisher import Publisher, run_realtime
from simulators.scenario import SCENARIOS
from simulators.simulation import Simulation
from store import alarms as store_alarms
from store.embedded import EmbeddedPostgres
from store.notifications import notified_since

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoOptions:
    seconds: float | None
    port: int
    seed: int
    homes: int
    care_homes: int
    broker: str | None
    db: str | None
    scenario: str = "demo"
    broker_port: int = 0


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def run_demo(options: DemoOptions) -> int:
    settings = Settings.from_env(broker=options.broker, db=options.db)
    if settings.production:
        raise SettingsError("the demo is for development only (ELDERCARE_ENV=production is set)")
    started_at = dt.datetime.now(dt.UTC)
    async with contextlib.AsyncExitStack() as stack:
        db_url = options.db
        if db_url is None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="eldercare-pg-")))
            os.chmod(folder, 0o755)
            print("starting embedded PostgreSQL ...", flush=True)
            db_url = stack.enter_context(EmbeddedPostgres(folder / "data"))
        broker_url = options.broker
        if broker_url is None:
            broker = EmbeddedBroker(options.broker_port or _free_port())
            broker_url = await broker.start()
            stack.push_async_callback(broker.stop)
        district = District.generate(seed=options.seed, homes=options.homes,
                                     care_homes=options.care_homes, day_cares=True,
                                     home_gateways=True)
        password = os.environ.get("ELDERCARE_DEMO_PASSWORD") or demo_password()
        # No SMS gateway or mail server here: what families would be told is written to a
        # folder of this run's own, which outlives the run (the database does not).
        outbox = (settings.data_dir / "demo-outbox"
                  / started_at.strftime("%Y%m%d-%H%M%S")).absolute()
        platform = await stack.enter_async_context(Platform(
            settings=settings, db_url=db_url, broker_url=broker_url, port=options.port,
            services=("ingest", "alerts", "commands", "console"), client_id="eldercare-demo-ingest",
            outbox=outbox))
        await seed_district(db_url, district, demo_password=password)
        for _, ingest in platform.lanes:
            await ingest.load_registry()
        print(f"district: {len(district.sites)} sites, {len(district.residents)} residents,"
              f" {len(district.devices)} devices (seed {options.seed})")
        print(f"broker:   {broker_url}")
        print(f"console:  {platform.console_url}/")
        print("sign in as: " + ", ".join(f"{u['username']} ({u['role']})" for u in DEMO_USERS)
              + f" -- password: {password}", flush=True)
        assert platform.notifier is not None
        stand_ins = [c.name for c in platform.notifier.channels.values()
                     if isinstance(c, OutboxChannel)]
        if stand_ins:
            print(f"family:   {' and '.join(stand_ins)} written to {outbox}"
                  " (no gateway or mail server is configured)", flush=True)

        watcher = await stack.enter_async_context(
            watching(platform.console_url, "op1", password))
        publisher = Publisher(broker_url, client_id=f"eldercare-demo-sim-{options.seed}")
        await asyncio.to_thread(publisher.connect)
        stack.callback(publisher.close)
        sim = Simulation(district, SCENARIOS[options.scenario], seed=options.seed,
                         start=time.time())
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            # a Ctrl-C during start-up, taken by asyncio.run's handler as a cancel that a
            # library's wait may have lost: stop now, as if it had come after this point
            stop.set()
        await run_realtime(sim, publisher, seconds=options.seconds, stop=stop)

        print("stopping: draining ingest and waiting for the console ...", flush=True)
        await platform.drained(timeout=20)
        assert platform.pool is not None
        deadline = time.monotonic() + 10
        while True:
            async with platform.pool.connection() as conn:
                raised, delivered = await store_alarms.counts_since(conn, started_at)
            if delivered >= raised or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        stats = platform.stats()
        async with platform.pool.connection() as conn:
            told = await notified_since(conn, started_at)
        print("family notifications: " + (", ".join(f"{n} {status}" for status, n in told.items())
                                          or "none"), flush=True)
        print(f"published {publisher.published} messages; ingest: {stats['stored']} stored,"
              f" {stats['duplicates']} duplicates, {stats['dead_letters']} dead letters;"
              f" simulated incidents: {dict(sim.counts)}; watcher saw {len(watcher.seen)} alarms")
        print(f"demo: {stats['received']} messages, {raised} alarms raised,"
              f" {delivered} alarms delivered to console", flush=True)
        return 0 if delivered == raised else 1
    return 1  # pragma: no cover - the with-block always returns
