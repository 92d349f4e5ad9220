"""The ``eldercare`` command.

    eldercare demo [--for SECONDS] [--port PORT] [--seed N] [--homes N] [--care-homes N]
                   [--broker URL] [--db URL]
    eldercare ingest   --broker URL --db URL [--lane all|alarms|streams] [--workers K --worker k]
    eldercare console  --db URL [--host H] [--port P]
    eldercare simulate --broker URL [--seed N] [--homes N] [--care-homes N] [--scenario S]
    eldercare seed     --db URL [--seed N] [--homes N] [--care-homes N]
    eldercare migrate  --db URL
    eldercare check    --db URL                         (the alarm path, for monitoring: exit 0/2)
    eldercare eval falls --data DIR [--hz 50] [--json]
    eldercare eval nab --data DIR --labels FILE [--results-dir OUT] [--json] [--jobs N]
    eldercare contract --schemas DIR
    eldercare gateway --local URL --uplink URL ...     (home gateway; gateway/service.py)
    eldercare devices provision --out DIR ...          (credentials and ACLs; gateway/provision.py)
    eldercare devices wire --db URL gateway.toml ...   (which devices go through which gateway)
    eldercare bench --devices N --for SECONDS [--json] (load, latency, faults; bench/load.py)

--broker and --db default to $ELDERCARE_BROKER and $ELDERCARE_DB.
"""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import logging
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

# ``kill -USR1 <pid>`` writes every thread's stack to stderr: a service that does not end, or
# does not answer, says where it is (before the heavy imports below, which can be the place).
if hasattr(signal, "SIGUSR1"):
    faulthandler.register(signal.SIGUSR1, all_threads=True)

from eldercare.settings import Settings, SettingsError
from store.errors import StoreError


def _district_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=12349, help="random seed (same seed, same district)")
    p.add_argument("--homes", type=int, default=200, help="elders living at home")
    p.add_argument("--care-homes", type=int, default=2, help="care homes (3 floors x 8 rooms)")


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="eldercare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run a simulated district end to end")
    demo.add_argument("--for", dest="seconds", type=_positive, default=None,
                      help="stop after SECONDS and print the summary")
    demo.add_argument("--port", type=int, default=8349, help="console port (default 8349)")
    demo.add_argument("--broker", default=None, help="external broker URL (default: embedded)")
    demo.add_argument("--db", default=None, help="external PostgreSQL URL (default: embedded)")
    demo.add_argument("--scenario", choices=("demo", "realistic"), default="demo")
    _district_args(demo)

    ingest = sub.add_parser("ingest", help="the ingest service (MQTT -> detection -> PostgreSQL)")
    ingest.add_argument("--broker")
    ingest.add_argument("--db")
    ingest.add_argument("--workers", type=int, default=1,
                        help="how many ingest workers share the district (default 1)")
    ingest.add_argument("--worker", type=int, default=0,
                        help="this worker's index, 0..workers-1; worker 0 also runs escalation,"
                             " notifications and commands")
    ingest.add_argument("--lane", choices=("all", "alarms", "streams"), default="all",
                        help="all: both lanes in this process (default); alarms: events, acks and"
                             " kiosk check-ups only, with escalation, notifications and commands;"
                             " streams: motion, vitals, locations and check-ins (run with a"
                             " lower CPU priority; see docs/performance.md)")

    console = sub.add_parser("console", help="the console web service")
    console.add_argument("--db")
    console.add_argument("--host", default="127.0.0.1")
    console.add_argument("--port", type=int, default=8349)

    simulate = sub.add_parser("simulate", help="publish a simulated district in real time")
    simulate.add_argument("--broker")
    simulate.add_argument("--for", dest="seconds", type=_positive, default=None)
    simulate.add_argument("--scenario", choices=("demo", "realistic"), default="demo")
    _district_args(simulate)

    seed = sub.add_parser("seed", help="register a simulated district in the database")
    seed.add_argument("--db")
    _district_args(seed)

    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("--db")

    check = sub.add_parser("check", help="is the alarm path working? (exit 0: yes, 2: no)")
    check.add_argument("--db")

    evaluate = sub.add_parser("eval", help="evaluate detectors on recorded data")
    evaluate.add_argument("dataset", choices=("falls", "nab"))
    evaluate.add_argument("rest", nargs=argparse.REMAINDER)

    contract = sub.add_parser("contract", help="the wire contract's JSON Schemas")
    contract.add_argument("--schemas", type=Path, required=True, help="write one file per kind")
    return parser


def _need(value: str | None, what: str) -> str:
    if not value:
        raise SettingsError(f"{what} is required (flag or environment variable)")
    return value


async def _serve(settings: Settings, services: tuple[str, ...], **kw: object) -> int:
    """Run services until SIGTERM (how systemd stops a unit) or SIGINT, then stop them in
    order: the broker sessions closed, the welfare snapshot saved, the pool closed. Exit 0 on
    SIGTERM, 130 on SIGINT. The handlers are the loop's own, so they also work when the process
    was started with SIGINT ignored (as a background job of a non-interactive shell is)."""
    serving = asyncio.current_task()
    assert serving is not None
    received: list[signal.Signals] = []
    stopped = asyncio.Event()

    def stop(sig: signal.Signals) -> None:
        if not received:  # a second signal changes nothing: the first is being acted on
            received.append(sig)
            stopped.set()  # also read after start-up: Python 3.11's wait_for can lose a cancel
            serving.cancel()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop, sig)
    if serving.cancelling():
        # A Ctrl-C before these handlers (while the command imported its modules) was taken by
        # asyncio.run's own handler, which only cancels this task. That cancel lands at start-up's
        # first wait, where a library can lose it, and then nothing would stop the services: so it
        # is recorded as ours.
        received.append(signal.SIGINT)
        stopped.set()
    from eldercare.platform import Platform  # after the handlers: importing takes a while
    from ingest import gctune

    try:
        async with Platform(settings=settings,
                            db_url=_need(settings.db_url, "--db / ELDERCARE_DB"),
                            broker_url=settings.broker_url, services=services,
                            **kw) as platform:  # type: ignore[arg-type]
            if not stopped.is_set():
                gctune.tune()  # what start-up loaded stays; see ingest/gctune.py
                if "console" in services:
                    print(f"console at {platform.console_url}/", flush=True)
                running = asyncio.ensure_future(platform.run_forever())
                waiting = asyncio.ensure_future(stopped.wait())
                try:
                    await asyncio.wait({running, waiting}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    running.cancel()
                    waiting.cancel()
                if running.done() and not running.cancelled():
                    running.result()  # a service that failed: say why
    except asyncio.CancelledError:
        if not received:
            raise
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    return 130 if received == [signal.SIGINT] else 0


async def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.partition import Partition

    try:
        partition = Partition(index=args.worker, count=args.workers)
    except ValueError as err:
        raise SettingsError(str(err)) from None
    # Escalation timers, notifications and the command relay are centre-wide: one worker runs
    # them, and never a stream-only one (commands go out on the alarm lane's connection).
    central = partition.index == 0 and args.lane != "streams"
    services = ("ingest", "alerts", "commands") if central else ("ingest",)
    return await _serve(settings, services, partition=partition, lane=args.lane)


async def _simulate(args: argparse.Namespace, settings: Settings) -> None:
    from simulators.district import District
    from simulators.publisher import Publisher, run_realtime
    from simulators.scenario import SCENARIOS
    from simulators.simulation import Simulation

    district = District.generate(seed=args.seed, homes=args.homes, care_homes=args.care_homes,
                                 day_cares=True, home_gateways=True)
    publisher = Publisher(_need(settings.broker_url, "--broker / ELDERCARE_BROKER"),
                          client_id=f"eldercare-simulator-{args.seed}")
    await asyncio.to_thread(publisher.connect)
    sim = Simulation(district, SCENARIOS[args.scenario], seed=args.seed, start=time.time())
    try:
        await run_realtime(sim, publisher, seconds=args.seconds, stop=asyncio.Event())
    finally:
        publisher.close()
    print(f"simulate: {publisher.published} messages published; {dict(sim.counts)}")


async def _seed(args: argparse.Namespace, settings: Settings) -> None:
    from eldercare.platform import demo_password, seed_district
    from simulators.district import District
    from store.database import prepare

    url = _need(settings.db_url, "--db / ELDERCARE_DB")
    await prepare(url)
    district = District.generate(seed=args.seed, homes=args.homes, care_homes=args.care_homes,
                                 day_cares=True, home_gateways=True)
    password = None if settings.production else demo_password()
    inserted = await seed_district(url, district, demo_password=password)
    print(f"seed: inserted {inserted}")
    if password:
        print(f"demo users' password: {password}")


def _contract(directory: Path) -> int:
    from ingest.schemas import write_schemas

    for path in write_schemas(directory):
        print(path)
    return 0


def _eval(dataset: str, rest: Sequence[str]) -> int:
    if dataset == "falls":
        from eldercare.evaluation import falls

        return falls.main(list(rest))
    from eldercare.evaluation import nab

    return nab.main(list(rest))


_DELEGATED = {"gateway": "gateway.service", "devices": "gateway.provision", "bench": "bench.load"}
"""Commands whose whole argument parsing lives in their own room's module (``main(argv)``)."""


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in _DELEGATED:
        import importlib

        module = importlib.import_module(_DELEGATED[argv[0]])
        return int(module.main(argv[1:]))
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "eval":
            return _eval(args.dataset, args.rest)
        if args.command == "contract":
            return _contract(args.schemas)
        settings = Settings.from_env(broker=getattr(args, "broker", None),
                                     db=getattr(args, "db", None))
        commands: dict[str, Callable[[], object]] = {
            "demo": lambda: _demo(args),
            "ingest": lambda: _ingest(args, settings),
            "console": lambda: _serve(settings, ("console",), host=args.host, port=args.port),
            "simulate": lambda: _simulate(args, settings),
            "seed": lambda: _seed(args, settings),
            "migrate": lambda: _migrate(settings),
            "check": lambda: _check(settings),
        }
        result: object = asyncio.run(commands[args.command]())  # type: ignore[arg-type]
        return int(result) if isinstance(result, int) else 0
    except (SettingsError, StoreError, ConnectionError) as err:
        print(f"eldercare: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


async def _demo(args: argparse.Namespace) -> int:
    from eldercare.demo import DemoOptions, run_demo

    return await run_demo(DemoOptions(seconds=args.seconds, port=args.port, seed=args.seed,
                                      homes=args.homes, care_homes=args.care_homes,
                                      broker=args.broker, db=args.db, scenario=args.scenario))


async def _migrate(settings: Settings) -> None:
    from store.database import prepare

    await prepare(_need(settings.db_url, "--db / ELDERCARE_DB"))
    print("migrate: schema is up to date")


async def _check(settings: Settings) -> int:
    """The alarm path as the console judges it (alerts/intake.py), one line a service, for a
    monitoring system's check (Nagios' codes: 0 OK, 2 CRITICAL, also when the database cannot
    be reached)."""
    import psycopg
    from psycopg.rows import dict_row

    from alerts import intake

    url = _need(settings.db_url, "--db / ELDERCARE_DB")
    try:
        async with await psycopg.AsyncConnection.connect(url, row_factory=dict_row,
                                                         connect_timeout=10) as conn:
            _, found = await intake.look(conn)
    except psycopg.Error as err:
        print(f"CRITICAL: the database cannot be reached ({type(err).__name__}): alarms cannot"
              " be stored")
        return 2
    for s in found.services:
        since = f" since {s.since:%Y-%m-%d %H:%M:%S} UTC" if s.since else ""
        counts = (f" ({s.devices} devices, usually {s.usual_devices:.0f})"
                  if s.devices is not None and s.usual_devices is not None else "")
        print(f"{s.name}: {s.problem or 'working'}{since}{counts}")
    print("OK: the alarm path is working" if found.ok
          else f"CRITICAL: {len(found.troubled)} service(s) of the alarm path in trouble")
    return 0 if found.ok else 2


if __name__ == "__main__":
    sys.exit(main())
