"""The composition root: wires store, ingest, detection, alerts and console into running services.

``Platform`` runs any subset of the services in one event loop: the demo and the end-to-end tests
run them all; ``eldercare ingest`` and ``eldercare console`` run one each, in separate processes,
talking only through PostgreSQL (alarms are announced with NOTIFY, see store/batch.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import logging
import os
import secrets
import socket
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import psycopg
import psycopg.rows
import uvicorn
from psycopg_pool import AsyncConnectionPool

from alerts import intake
from alerts.channels import Channel
from alerts.channels.configured import configured_channels
from alerts.channels.outbox import OUTBOX_CHANNELS, OutboxChannel
from alerts.escalator import Escalator
from alerts.notify import Notifier
from alerts.oncall import OnCallPager, missing_channels
from console.app import create_app
from console.auth import hash_password
from console.live import Hub
from eldercare.settings import Settings, SettingsError
from ingest.activity import SLOT_S
from ingest.commands import CommandRelay
from ingest.contract import ALARM_LANE, STREAM_LANE, Kind
from ingest.gctune import GcClock
from ingest.handoff import DetectionStage
from ingest.mqtt import MqttSource
from ingest.partition import Partition
from ingest.pipeline import Ingest
from ingest.ratelimit import RateLimiter
from ingest.welfare import WelfareStage
from simulators.district import District
from store import heartbeats, registry
from store.database import open_pool, prepare
from store.partitions import drop_older_than, ensure_partitions

log = logging.getLogger(__name__)
REGISTRY_SETTLE_S = 0.2
"""After a registry notification, how long to let a burst of changes finish before re-reading."""
LANES = ("all", "alarms", "streams")
STREAM_BATCH = 1000
"""Messages per transaction for a stream lane in its own process (it holds up no alarm lane)."""
SITE_POLL_S = 2.0
"""How often a partitioned ingest worker looks for new sites (a site is registered before its
devices are provisioned, so its first message finds the subscription in place)."""

DEMO_USERS: tuple[dict[str, Any], ...] = (
    {"username": "op1", "role": "operator", "display_name": "值班员 王芳", "lang": "zh-CN"},
    {"username": "op2", "role": "operator", "display_name": "Operator Li Wei", "lang": "en"},
    {"username": "sup1", "role": "supervisor", "display_name": "班长 陈静", "lang": "zh-CN"},
    {"username": "care1", "role": "care_staff", "display_name": "护理员 刘洋", "lang": "zh-CN",
     "scope_site": "care-01"},
    {"username": "family1", "role": "family", "display_name": "家属 张丽", "lang": "zh-CN",
     "scope_resident": "r-h0001"},
    {"username": "admin", "role": "admin", "display_name": "Administrator", "lang": "en"},
    {"username": "bureau1", "role": "bureau", "display_name": "民政局 周敏", "lang": "zh-CN",
     "scope_node": "dist-01"},
    {"username": "grid1", "role": "grid_staff", "display_name": "街道 吴刚", "lang": "zh-CN",
     "scope_node": "st-01"},
    {"username": "prov1", "role": "provider", "display_name": "家政 孙丽", "lang": "zh-CN",
     "provider_id": "home-city-01"},
)


async def seed_district(url: str, district: District, *, demo_password: str | None) -> dict[str, int]:
    """Register a simulated district (and, in development, the demo users) in the database."""
    rows: dict[str, list[dict[str, Any]]] = dict(district.rows())
    sites = {s.id for s in district.sites}
    if demo_password is not None:
        hashed = hash_password(demo_password)
        rows["users"] = [
            {"username": u["username"], "password_hash": hashed, "role": u["role"],
             "display_name": u["display_name"], "lang": u["lang"],
             "scope_site": u.get("scope_site") if u.get("scope_site") in sites else None,
             "scope_resident": u.get("scope_resident")
             if any(r.id == u.get("scope_resident") for r in district.residents) else None,
             "contact_id": next((c.id for c in district.contacts
                                 if c.resident_id == u.get("scope_resident")), None),
             "scope_node": u.get("scope_node"), "provider_id": u.get("provider_id")}
            for u in DEMO_USERS
            if u["role"] not in ("care_staff", "family")
            or u.get("scope_site") in sites
            or any(r.id == u.get("scope_resident") for r in district.residents)
        ]
    pool = open_pool(url, max_size=2)
    await pool.open()
    try:
        async with pool.connection() as conn:
            inserted = await registry.seed(conn, rows)
            if demo_password is not None:
                # A re-seeded database keeps its users: give them this run's password.
                async with conn.transaction():
                    await conn.execute("UPDATE users SET password_hash = %s WHERE username = ANY(%s)",
                                       (rows["users"][0]["password_hash"],
                                        [u["username"] for u in rows["users"]]))
    finally:
        await pool.close()
    return inserted


def demo_password() -> str:
    return secrets.token_urlsafe(9)


async def end_tasks(tasks: list[asyncio.Task[Any]], *, again_every: float = 1.0,
                    tries: int = 10) -> None:
    """Cancel ``tasks`` and wait until they have ended, cancelling again any that goes on.

    One cancel is not always enough on Python 3.11: ``asyncio.wait_for`` can swallow it when the
    awaited thing finishes at the same moment (cpython gh-86296; 3.12 rebuilt wait_for on
    ``asyncio.timeout``, gh-96764), and psycopg and psycopg_pool wait that way on 3.11 (a
    connection being made, a pool connection handed over). The task then goes on looping, and a
    shutdown that awaited it hung for ever: a Ctrl-C just after the broker's CONNACK left ingest
    running in 3 of 300 tries (``bench/interrupt_soak.py``); since, 3 of 300 needed the second
    cancel (the notifier once, the registry follower, in psycopg's connect, twice) and none hung.
    A task still running ``again_every`` seconds after the last of ``tries`` more cancels is
    named in the log and left behind."""
    for task in tasks:
        task.cancel()
    pending = {t for t in tasks if not t.done()}
    for attempt in range(tries + 1):
        if not pending:
            break
        _, pending = await asyncio.wait(pending, timeout=again_every)
        if attempt == tries:
            break  # the last cancel had its time: what is left will not end
        for task in pending:
            log.warning("task %s went on after it was cancelled; cancelling it again",
                        task.get_name())
            task.cancel()
    if pending:
        log.error("tasks %s would not end; leaving them",
                  ", ".join(sorted(t.get_name() for t in pending)))
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            log.error("task %s had failed", task.get_name(), exc_info=task.exception())


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Beating:
    """A service whose heartbeat the platform writes."""

    name: str
    role: str
    task: asyncio.Task[None]
    source: MqttSource | None = None
    ingest: Ingest | None = None


def _at(epoch: float | None) -> dt.datetime | None:
    return None if epoch is None else dt.datetime.fromtimestamp(epoch, dt.UTC)


class Platform:
    """Runs the chosen services until stopped. Use ``async with Platform(...) as p``."""

    def __init__(self, *, settings: Settings, db_url: str, broker_url: str | None,
                 services: Sequence[str] = ("ingest", "console"), host: str = "127.0.0.1",
                 port: int = 8349, client_id: str | None = None,
                 partition: Partition | None = None, lane: str = "all",
                 outbox: Path | None = None,
                 pager_options: Mapping[str, Any] | None = None,
                 activity_slot_s: float = SLOT_S) -> None:
        if outbox is not None and settings.production:
            raise SettingsError("production refuses the demo's outbox: a message to a family"
                                " that reaches no one must fail where operators see it")
        self.outbox = outbox
        """Where SMS and email go when no gateway or mail server is configured (the demo's;
        alerts/channels/outbox.py), or None: those channels are then simply off."""
        self.pager_options = dict(pager_options or {})
        """Timings of the on-call pager (alerts/oncall.py's OnCallPager keywords), for tests."""
        self.activity_slot_s = activity_slot_s
        """The lanes' activity slot (ingest/activity.py); shorter only in tests."""
        self.pager: OnCallPager | None = None
        """Pages the on-call engineer when the alarm path breaks (console service, when
        ``settings.oncall`` names anyone)."""
        self.settings = settings
        self.db_url = db_url
        self.broker_url = broker_url
        self.services = tuple(services)
        self.host, self.port = host, port
        self.client_id = client_id or settings.client_id
        self.partition = partition or Partition()
        if lane not in LANES:
            raise ValueError(f"lane must be one of {', '.join(LANES)}, not {lane!r}")
        self.lane = lane
        """Which ingest lanes this process runs: "all" (both, one process), "alarms" or
        "streams" (the lanes in separate processes; see docs/performance.md)."""
        self._lane_kinds: list[tuple[str, ...]] = []
        self.pool: AsyncConnectionPool | None = None
        self.ingest: Ingest | None = None
        """The first lane's ingest (the alarm lane's unless this process runs streams only)."""
        self.source: MqttSource | None = None
        """The first lane's broker connection (the alarm lane's: it also publishes commands)."""
        self.lanes: list[tuple[MqttSource, Ingest]] = []
        self._gc = GcClock()
        self.registry_followed = asyncio.Event()
        """Set while ingest listens for registry changes (after its first re-read)."""
        self.hub: Hub | None = None
        self.escalator: Escalator | None = None
        self.notifier: Notifier | None = None
        self._server: uvicorn.Server | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._beating: list[_Beating] = []
        """The services whose heartbeat this process writes (alerts/intake.py)."""
        self._host = f"{socket.gethostname()}:{os.getpid()}"
        self._beat_failing = False
        self._started_at = dt.datetime.now(dt.UTC)

    @property
    def console_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def __aenter__(self) -> Platform:
        try:
            return await self._start()
        except BaseException:
            # Interrupted (Ctrl-C while connecting) or failed half-way: what was started is
            # stopped, or its tasks and pool would keep the process from exiting.
            await asyncio.shield(self.__aexit__())
            raise

    async def _start(self) -> Platform:
        self._gc.install()
        await prepare(self.db_url)
        self.pool = open_pool(self.db_url, max_size=10)
        await self.pool.open(wait=True, timeout=30)
        if "console" in self.services:  # first: a production set-up that cannot page refuses
            self._start_pager()
        if "ingest" in self.services:
            if self.broker_url is None:
                raise ValueError("ingest needs a broker URL")
            # Two lanes on two connections: alarms never wait behind a backlog of streams. In one
            # process (lane "all") they share the detectors (one event loop: their calls never
            # interleave). Split into two processes, the alarm lane runs only the event rules
            # and the stream lane also reads the events, for its detectors only (see Ingest).
            detection, welfare = DetectionStage(), WelfareStage(classes=self.settings.checkin)
            part = self.partition
            sites = [] if part.whole else await self._sites()
            suffix = f"-{part.name}" if part.name else ""
            # The stream lane takes small batches: in one process the event loop is shared, and a
            # long batch of motion windows would hold the alarm lane's next turn.
            plan: list[tuple[str, tuple[str, ...], tuple[str, ...], int]] = []
            if self.lane in ("all", "alarms"):
                plan.append(("alarms", ALARM_LANE, (), 2000))
            if self.lane == "all":
                plan.append(("streams", STREAM_LANE, (), 200))
            elif self.lane == "streams":  # alone in its process: larger batches, fewer commits
                plan.append(("streams", STREAM_LANE, (Kind.EVENT,), STREAM_BATCH))
            for lane, kinds, observe, batch in plan:
                source = MqttSource(self.broker_url, client_id=f"{self.client_id}{suffix}-{lane}",
                                    subscriptions=part.subscriptions((*kinds, *observe), sites))
                ingest = Ingest(pool=self.pool, source=source, detection=detection,
                                welfare=welfare, max_batch=batch, observe=observe,
                                events_only=self.lane == "alarms",
                                # in one process the stream lane keeps the shared detectors
                                welfare_chores=lane == "streams",
                                limiter=RateLimiter(self.settings.rate_limit),
                                state_name=f"welfare{suffix}",
                                activity_slot_s=self.activity_slot_s)
                await ingest.load_registry()
                await source.start()
                self.lanes.append((source, ingest))
                self._lane_kinds.append((*kinds, *observe))
                task = asyncio.create_task(ingest.run(), name=f"ingest-{lane}")
                self._tasks.append(task)
                self._beating.append(_Beating(name=f"ingest-{lane}{suffix}", role=f"ingest-{lane}",
                                              task=task, source=source, ingest=ingest))
            if not part.whole:
                self._tasks.append(asyncio.create_task(self._follow_sites(set(sites)),
                                                       name="sites"))
            self._tasks.append(asyncio.create_task(self._follow_registry(), name="registry"))
            self.source, self.ingest = self.lanes[0]
            self._tasks.append(asyncio.create_task(self._maintenance(), name="maintenance"))
            if "commands" in self.services:
                relay = CommandRelay(self.pool, self.source)
                self._tasks.append(asyncio.create_task(relay.run(), name="commands"))
            for source, _ in self.lanes:
                async with asyncio.timeout(30):
                    await source.connected.wait()
        if "alerts" in self.services:
            self.escalator = Escalator(self.pool)
            task = asyncio.create_task(self.escalator.run(), name="escalator")
            self._tasks.append(task)
            self._beating.append(_Beating(name="escalator", role="escalator", task=task))
            channels = self._channels()
            self.notifier = Notifier(self.pool, channels)
            task = asyncio.create_task(self.notifier.run(), name="notifier")
            self._tasks.append(task)
            self._beating.append(_Beating(name="notifier", role="notifier", task=task))
            log.info("notification channels: %s", ", ".join(channels) or "none configured")
        if self._beating:
            await self._beat()  # before anyone can ask: the console reads it at once
            self._tasks.append(asyncio.create_task(self._heartbeat(), name="heartbeat"))
        if "console" in self.services:
            self.hub = Hub(url=self.db_url, pool=self.pool)
            self._tasks.append(asyncio.create_task(self.hub.run(), name="hub"))
            app = create_app(settings=self.settings, pool=self.pool, hub=self.hub)
            config = uvicorn.Config(app, host=self.host, port=self.port, log_level="warning",
                                    lifespan="off", ws="websockets-sansio")
            self._server = uvicorn.Server(config)
            self._tasks.append(asyncio.create_task(self._server.serve(), name="console"))
            while not self._server.started:
                await asyncio.sleep(0.02)
                for task in self._tasks:
                    if task.done():
                        task.result()  # surface a start-up failure (port in use, ...)
            async with asyncio.timeout(30):
                await self.hub.listening.wait()
        return self

    def _channels(self) -> dict[str, Channel]:
        """The configured notification channels, and the demo's outbox for SMS and email when
        they are not configured."""
        channels = configured_channels(os.environ)
        if self.outbox is not None:
            for name in OUTBOX_CHANNELS:
                channels.setdefault(name, OutboxChannel(name, self.outbox))
        return channels

    def _start_pager(self) -> None:
        oncall = self.settings.oncall
        if not oncall:
            if self.settings.production:
                log.warning("ELDERCARE_ONCALL is not set: a broken alarm path shows on every"
                            " console screen, but no engineer is paged")
            return
        channels = self._channels()
        if missing := missing_channels(oncall, channels):
            message = (f"ELDERCARE_ONCALL names addresses for {', '.join(missing)}, which is not"
                       " configured (docs/notifications.md): those engineers could not be paged")
            if self.settings.production:
                raise SettingsError(message)
            log.warning("%s", message)
        assert self.pool is not None
        # the links in the pages: the console as the engineers reach it, or in development
        # (the demo's outbox) as this process serves it
        public = self.settings.public_url or (None if self.settings.production
                                              else self.console_url)
        self.pager = OnCallPager(self.pool, channels, oncall,
                                 **{"public_url": public, **self.pager_options})
        self._tasks.append(asyncio.create_task(self.pager.run(), name="oncall"))
        log.info("the on-call pager watches the alarm path for %d address(es)", len(oncall))

    async def _heartbeat(self) -> None:
        """Say every few seconds what each service of this process is doing (alerts/intake.py
        judges it for the console). A failed beat is logged and the next one tried: the beats
        going stale is itself what tells operators."""
        while True:
            await asyncio.sleep(intake.BEAT_EVERY_S)
            await self._beat()

    async def _beat(self, *, stopping: bool = False) -> None:
        assert self.pool is not None
        beats = []
        for b in self._beating:
            stats = b.ingest.stats if b.ingest is not None else None
            beats.append(heartbeats.Beat(
                name=b.name, role=b.role, host=self._host, started_at=self._started_at,
                running=not stopping and not b.task.done(),
                connected=None if b.source is None else b.source.connected.is_set(),
                processed_at=_at(stats.last_round_at) if stats else None,
                last_message_at=_at(stats.last_message_at) if stats else None))
        try:
            async with asyncio.timeout(5), self.pool.connection() as conn:
                await heartbeats.beat(conn, beats)
                for b in self._beating:  # the devices each lane heard (ingest/activity.py)
                    if b.ingest is not None and (slots := list(b.ingest.activity.pending)):
                        await heartbeats.record_activity(conn, b.name, [
                            (dt.datetime.fromtimestamp(s.start, dt.UTC), s.devices, s.messages)
                            for s in slots])
                        b.ingest.activity.written(len(slots))
        except Exception as err:  # the database away, or slow: the beats go stale, as they should
            if not self._beat_failing:  # said once, not every 5 s of an outage
                log.warning("could not write the services' heartbeat (%s); the console will show"
                            " this process as silent", err or type(err).__name__)
            self._beat_failing = True
            return
        if self._beat_failing:
            log.info("the services' heartbeat is written again")
        self._beat_failing = False

    async def _sites(self) -> list[str]:
        assert self.pool is not None
        async with self.pool.connection() as conn:
            cur = conn.cursor(row_factory=psycopg.rows.tuple_row)
            return [str(r[0]) for r in await (await cur.execute("SELECT id FROM sites")).fetchall()]

    async def _follow_sites(self, known: set[str]) -> None:
        """A partitioned worker subscribes to new sites it owns as they are registered."""
        while True:
            await asyncio.sleep(SITE_POLL_S)
            try:
                fresh = [s for s in await self._sites() if s not in known]
            except Exception:
                log.exception("could not read the sites; will retry")
                continue
            if fresh:
                known.update(fresh)
                for (source, _), kinds in zip(self.lanes, self._lane_kinds, strict=True):
                    source.add_subscriptions(self.partition.subscriptions(kinds, fresh))
                log.info("subscribed to %d new sites", sum(map(self.partition.owns, fresh)))

    async def _follow_registry(self) -> None:
        """LISTEN for registry changes (migration 0014) and have ingest re-read them. After a
        lost connection it re-reads anyway: a change may have been announced meanwhile."""
        delay = 0.5
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self.db_url,
                                                                 autocommit=True) as conn:
                    await conn.execute("LISTEN registry")
                    await self._refresh_registry()
                    self.registry_followed.set()
                    delay = 0.5
                    async for _ in conn.notifies():
                        # One re-read for a burst of changes (an import, a care home's devices).
                        await asyncio.sleep(REGISTRY_SETTLE_S)
                        await self._refresh_registry()
            except (psycopg.OperationalError, psycopg.InterfaceError) as err:
                self.registry_followed.clear()
                log.warning("registry LISTEN lost (%s); reconnecting in %.1f s", err, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
            except Exception:
                log.exception("could not re-read the registry; retrying")
                await asyncio.sleep(delay)

    async def _refresh_registry(self) -> None:
        for _, ingest in self.lanes:
            await ingest.refresh_registry()

    async def _maintenance(self) -> None:
        """Hourly: partitions for the coming days exist; those past retention go."""
        assert self.pool is not None
        while True:
            await asyncio.sleep(3600)
            today = dt.datetime.now(dt.UTC).date()
            try:
                async with self.pool.connection() as conn:
                    await conn.set_autocommit(True)
                    await ensure_partitions(conn, today=today)
                    await drop_older_than(conn, today=today, keep_days=90)
                    await conn.set_autocommit(False)
            except Exception:
                log.exception("partition maintenance failed; will retry in an hour")

    async def drained(self, timeout: float = 15.0) -> bool:
        """Wait until ingest has stored everything the broker delivered so far."""
        def quiet() -> bool:
            return all(s.backlog() == 0 and i.idle.is_set() for s, i in self.lanes)

        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            if quiet():
                await asyncio.sleep(0.3)  # let the broker deliver what was in flight
                if quiet():
                    return True
            await asyncio.sleep(0.05)
        return False

    async def run_forever(self) -> None:
        stats_file = os.environ.get("ELDERCARE_STATS_FILE")
        if stats_file and self.ingest is not None:
            self._tasks.append(asyncio.create_task(self._write_stats(stats_file), name="stats"))
        await asyncio.gather(*self._tasks)

    def stats(self) -> dict[str, Any]:
        """Both lanes' counters added up, and the messages waiting in ingest's queues."""
        total: dict[str, Any] = {"backlog": sum(s.backlog() for s, _ in self.lanes),
                                 "gc_ms": round(self._gc.seconds * 1000),
                                 "gc_full": self._gc.collections[2]}
        for _, ingest in self.lanes:
            for key, value in dataclasses.asdict(ingest.stats).items():
                if isinstance(value, int):
                    total[key] = total.get(key, 0) + value
        return total

    async def _write_stats(self, path: str) -> None:
        """Ingest's counters as JSON, once a second, for the benchmark and for monitoring."""
        target = Path(path)
        while True:
            stats = self.stats() | {"at": time.time()}
            partial = target.with_suffix(".tmp")
            partial.write_text(json.dumps(stats))
            partial.replace(target)  # atomic: a reader never sees half a file
            await asyncio.sleep(1.0)

    async def __aexit__(self, *exc: object) -> None:
        self._gc.uninstall()
        if self._beating and self.pool is not None:
            await self._beat(stopping=True)  # "stopped" at once, not "silent" in 30 s
        if self._server is not None:
            self._server.should_exit = True
        for source, _ in self.lanes:
            await source.stop()
        if self.lanes:
            await self.lanes[-1][1].save_state()  # the stream lane's, when there is one
        await end_tasks([t for t in self._tasks if t.get_name() != "console"])
        for task in self._tasks:
            if task.get_name() == "console":  # uvicorn ends itself once should_exit is set
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self.pool is not None:
            await self.pool.close()
