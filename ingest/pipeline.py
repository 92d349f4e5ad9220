"""The ingest loop: take what the broker delivered, validate, dedupe, detect, store, acknowledge.

Batching is "group commit": the loop takes whatever is waiting (up to ``max_batch``) the moment the
previous commit finishes. At low load a single button press is stored alone within milliseconds;
under load, messages arriving during one commit share the next, so throughput grows with load.

Nothing is acknowledged to the broker before the transaction holding it has committed. If the
database is unreachable the loop retries the same batch with backoff and acknowledges nothing
meanwhile; the bounded source queue then fills and the broker holds the rest. If PostgreSQL
rejects a batch (a constraint the contract did not foresee), the batch is written message by
message and each message it still rejects goes to the dead-letter table with the database's
reason: one bad message never blocks the others.

A device streaming beyond its budget (``ingest/ratelimit.py``) has its excess accel, telemetry,
location and check-in messages dead-lettered as ``rate_limited``, one row per device per batch;
its events (SOS, falls, smoke) are never limited.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import datetime as dt
import gc
import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, Protocol

import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from alerts.lifecycle import tell_family_of_alarm, tell_family_of_device
from alerts.raising import new_alarm
from alerts.services import button_ticket, route
from detection.inactivity import InactivitySummary
from ingest.activity import SLOT_S, Activity
from ingest.checkup import CheckupStage
from ingest.codec import ContractViolation, Decoder, Envelope, event_time, will_at_arrival
from ingest.contract import (
    Accel,
    Ack,
    Checkin,
    Checkup,
    Event,
    Location,
    Rejected,
    Status,
    Telemetry,
    Topic,
    TopicError,
)
from ingest.dedupe import SeenSequences
from ingest.handoff import DetectionStage, evidence, finding_from_json, finding_to_json
from ingest.mqtt import Incoming
from ingest.ratelimit import LIMITED, RateLimiter
from ingest.welfare import WelfareStage
from store import batch as store_batch
from store import detector_state, outcomes, resident_welfare
from store.batch import (
    AlarmCancel,
    AlarmMark,
    Batch,
    DeadLetter,
    DeviceRestored,
    DeviceSeen,
    FallOutcome,
    GatewayWiring,
    PendingFall,
)
from store.registry import DeviceRef, SafePlace, active_device, active_devices, safe_places

log = logging.getLogger(__name__)

_BATCH_LISTS = tuple(f.name for f in dataclasses.fields(Batch) if f.name != "devices")
"""The fields of a batch that a merge concatenates (``devices`` is merged device by device)."""
LAST_SEEN_EVERY_S = 30.0
"""devices.last_seen is a console display ("seen 2 min ago"), refreshed at most this often from
plain readings; check-ins, status and battery changes are always written."""
WELFARE = "welfare"
WELFARE_SAVE_EVERY_S = 300.0
"""Baselines are learnt over days and pending falls have their own table, so five minutes of
learning is all a crash can cost. The snapshot holds every resident; it is taken in pieces
between which the lane goes on (:meth:`Ingest.save_state`)."""
SUMMARIES_EVERY_S = 60.0
"""How often ingest keeps the residents' inactivity summaries for the console
(store/resident_welfare.py): the changed ones only."""
SUMMARIES_PIECE = 100
"""Residents' summaries worked out between two turns of the lane: one whose limits must all be
worked out again (after a restart: a fortnight's silences in every bin) costs 0.3-0.6 ms, so a
piece holds the lane for tens of milliseconds at most; afterwards only a bin that learnt a
silence is worked out again, and 8,000 summaries take 60 ms in all."""
OUTCOMES_EVERY_S = 60.0
"""How often ingest reads back operators' outcomes for the welfare detectors (store/outcomes.py):
an outcome comes minutes to hours after the silence it judges, so a minute late is nothing."""
OUTCOMES_LOOKBACK_S = 7 * 86400.0
"""How far back the first read after a start goes: outcomes given while ingest was down, or
after its last snapshot, are given again (giving one twice changes nothing)."""
OUTCOMES_OVERLAP = dt.timedelta(minutes=5)
"""Each read starts this long before the latest resolution seen: an incident resolved in a
transaction that committed after a later one is still read."""
UNKNOWN_MAX = 100_000
"""How many unregistered device ids ingest remembers not to look up again (for 30 s each)."""
EVENT_TIMES_KEPT = 10_000
"""Events whose (device, seq) and time ingest keeps to tell a redelivery from a reused seq."""
TICK_S = 1.0
"""With no message for this long, run detection's timers anyway (fall grace deadlines)."""


class Source(Protocol):
    async def get(self) -> Incoming: ...
    def get_nowait(self) -> Incoming | None: ...
    def ack_all(self, items: list[Incoming]) -> None: ...


@dataclass(slots=True)
class IngestStats:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    alarms_raised: int = 0
    batches: int = 0
    store_retries: int = 0
    rate_limited: int = 0
    observed: int = 0
    """Messages read only for the detectors (``observe``): not in ``received``."""
    dead_by_code: dict[str, int] = field(default_factory=dict)
    last_round_at: float | None = None
    """When the lane last finished a round of work (a batch, or the idle tick every second)."""
    last_message_at: float | None = None
    """When the lane last took a device message."""


def _forwarded_rejection(env: Envelope, body: Rejected) -> DeadLetter:
    """A gateway's untranslatable payload: store the original, as the gateway received it."""
    try:
        original = base64.b64decode(body.payload, validate=True)
    except (binascii.Error, ValueError):
        original = body.payload.encode()
    return DeadLetter(topic=body.topic, payload=original, code="gateway_rejected",
                      reason=f"gateway {env.device} at {env.site}: {body.reason}",
                      device_id=env.device)


def _storable(text: str) -> str:
    """``text`` as PostgreSQL's text type can hold it: NUL and unencodable characters escaped
    (a broker that does not check topics could hand us either)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def _kind_of(topic: str) -> str:
    return topic.rpartition("/")[2]


def _device_of(topic: str) -> str | None:
    """The device a topic names, if it is well formed (a dead letter names it: the maintenance
    list finds a device whose clock is wrong by its refused readings)."""
    try:
        return Topic.parse(topic).device
    except TopicError:
        return None


def _utc(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.UTC)


class Ingest:
    def __init__(
        self,
        *,
        pool: AsyncConnectionPool,
        source: Source,
        decoder: Decoder | None = None,
        detection: DetectionStage | None = None,
        welfare: WelfareStage | None = None,
        max_batch: int = 2000,
        on_alarms: Callable[[list[int]], None] | None = None,
        clock: Callable[[], float] = time.time,
        limiter: RateLimiter | None = None,
        state_name: str = WELFARE,
        checkups: CheckupStage | None = None,
        observe: Collection[str] = (),
        events_only: bool = False,
        welfare_chores: bool = True,
        activity_slot_s: float = SLOT_S,
    ) -> None:
        """``observe``: kinds this ingest reads for its detectors only, storing and alarming on
        none of them (the stream lane in its own process reads the events that way: a cancel
        closes a fall's grace period, a press is movement and a sign of life; the alarm lane
        stores them). ``events_only``: run only the event rules (the alarm lane in its own
        process): no welfare detectors, no fall grace periods resumed, no snapshot.
        ``welfare_chores``: this ingest restores the welfare detectors at start, saves their
        snapshot, hands them operators' outcomes and keeps residents' summaries. Two lanes in one
        process share one :class:`WelfareStage`, and only one of them may: both did, and took
        and wrote the same snapshot twice every five minutes, the second write failing on the
        first's rows whenever the two overlapped."""
        self._pool = pool
        self._source = source
        self._decoder = decoder or Decoder()
        self.activity = Activity(slot_s=activity_slot_s, started=clock())
        self._deaf_since: float | None = None
        """Since when this lane has not held the broker (None: it has)."""
        """Devices heard per slot (ingest/activity.py), written with the heartbeat."""
        self._detection = detection or DetectionStage()
        self._max_batch = max_batch
        self._seen = SeenSequences()
        self._event_times: dict[tuple[str, int], int] = {}
        """(device, seq) -> the device's time of the latest events (:meth:`_is_new`)."""
        self._devices: dict[str, DeviceRef] = {}
        self._places: dict[str, tuple[SafePlace, ...]] = {}
        """Each resident's safe places besides home, for the geofence (migration 0031)."""
        self._unknown_until: dict[str, float] = {}
        self._on_alarms = on_alarms
        self._clock = clock
        self._limiter = limiter or RateLimiter()
        self._checkups = checkups or CheckupStage(pool)
        """Per-device budget for stream kinds only; see ingest/ratelimit.py."""
        self.stats = IngestStats()
        self.idle = asyncio.Event()
        self._reopened: set[str] = set()
        self._observe = frozenset(observe)
        self._events_only = events_only
        self._welfare = None if events_only else welfare or WelfareStage()
        self._chores = self._welfare is not None and welfare_chores
        self._welfare_saved = 0.0
        self._outcomes_read = -1e18
        self._summaries_kept = -1e18
        self._summaries: dict[str, InactivitySummary] = {}
        """The summaries last written, by resident."""
        self._keeping: asyncio.Task[None] | None = None
        self._outcomes_since: dt.datetime | None = None
        self._saving: asyncio.Task[None] | None = None
        self._state_name = state_name
        """Where the welfare detectors' snapshot is kept: one per ingest worker."""
        self._last_seen_written: dict[str, float] = {}
        self._clock_wrong: set[str] = set()
        """Devices whose latest written "last seen" said their clock is wrong: the first
        message that says otherwise (or says so of another) is written at once."""

    async def refresh_registry(self) -> None:
        """Re-read who is who after the registry changed (``NOTIFY registry``): a reassigned,
        reconfigured or retired device is treated by its new row from the next batch on."""
        async with self._pool.connection() as conn:
            devices = await active_devices(conn)
            places = await safe_places(conn)
        self._devices, self._places = devices, places
        self._unknown_until.clear()
        if self._welfare is not None:
            self._welfare.configure(devices, places)

    async def load_registry(self) -> None:
        async with self._pool.connection() as conn:
            self._devices = await active_devices(conn)
            self._places = await safe_places(conn)
            # each device's latest time as stored: what a last will that comes before its
            # next message is placed against (will_at_arrival); else, after a restart, a will
            # set at connect was stored at that connect's time, hours before it came
            cur = await conn.execute("SELECT id, extract(epoch FROM last_seen)::float8 AS at"
                                     " FROM devices WHERE retired_at IS NULL"
                                     " AND last_seen IS NOT NULL")
            for raw_seen in await cur.fetchall():
                seen: dict[str, Any] = dict(raw_seen)
                self._last_seen_written.setdefault(seen["id"], seen["at"])
            pending: list[Any] = []
            welfare = None
            still_open: list[store_batch.OpenItem] = []
            if not self._events_only:  # the alarm lane alone sees no motion: falls are not its
                cur = await conn.execute("SELECT source_seq, deadline, finding FROM pending_falls")
                pending = await cur.fetchall()
                if self._chores and not self._welfare_saved:
                    welfare = await detector_state.load(conn, self._state_name)
                    still_open = await store_batch.open_items(conn)
        if self._welfare is not None:
            self._welfare.configure(self._devices, self._places)
            if welfare is not None:
                self._welfare.restore(welfare)
                self._welfare.configure(self._devices, self._places)
            for item in still_open:  # what the store holds open, not what the snapshot says
                self._welfare.health.still_open(item.device_id, low=item.low,
                                                said_low=item.said_low, said=item.said)
        for raw in pending:
            row: dict[str, Any] = dict(raw)
            if row["finding"]["device_id"] not in self._reopened:
                self._detection.reopen(finding_from_json(row["finding"]),
                                       source_seq=row["source_seq"],
                                       deadline=row["deadline"].timestamp())
                self._reopened.add(row["finding"]["device_id"])
        log.info("ingest knows %d devices; %d falls in their grace period; %d maintenance items"
                 " open", len(self._devices), len(pending), len(still_open))

    async def run(self) -> None:
        await self.load_registry()
        while True:
            self.idle.set()
            try:
                async with asyncio.timeout(TICK_S):
                    first = await self._source.get()
            except TimeoutError:
                await self.process([])  # grace periods run out even when devices fall silent
                continue
            self.idle.clear()
            items = [first]
            while len(items) < self._max_batch and (item := self._source.get_nowait()) is not None:
                items.append(item)
            await self.process(items)

    async def process(self, items: list[Incoming]) -> None:
        """Validate, detect, store and acknowledge one batch of messages."""
        if items:
            self.stats.last_message_at = self._clock()
        parts = await self._prepare(items)
        if parts:
            await self._store(parts)
        if self._chores and self._clock() - self._outcomes_read >= OUTCOMES_EVERY_S:
            await self.read_outcomes()
        if self._chores and self._clock() - self._summaries_kept >= SUMMARIES_EVERY_S \
                and (self._keeping is None or self._keeping.done()):
            self.keep_summaries()
        if self._chores and self._clock() - self._welfare_saved > WELFARE_SAVE_EVERY_S \
                and (self._saving is None or self._saving.done()):
            await self.save_state(wait=False)
        self._source.ack_all(items)
        self.stats.batches += 1
        self.stats.last_round_at = self._clock()

    def _hearing(self, now: float) -> bool:
        """Whether this lane holds the broker now; when it gets it back, the time it could not
        hear is excused (WelfareStage.excuse: the devices' check-ins, and the elders' silences
        wait to hear them again)."""
        connected = getattr(self._source, "connected", None)  # MqttSource's; test sources: none
        hearing = connected is None or connected.is_set()
        if not hearing and self._deaf_since is None:
            self._deaf_since = now
        elif hearing and self._deaf_since is not None:
            assert self._welfare is not None
            log.info("the broker is back after %.0f s: that time is not held against the"
                     " devices' check-ins", now - self._deaf_since)
            self._welfare.excuse(self._deaf_since, now)
            self._deaf_since = None
        return hearing

    async def read_outcomes(self) -> tuple[int, int]:
        """Hand operators' outcomes to the welfare detectors (store/outcomes.py): unlearn the
        silences found to be no ordinary life, and learn again what a changed outcome had
        taken back; how many of each. A failed read is retried at the next interval and never
        stops the lane."""
        if self._welfare is None:
            return 0, 0
        self._outcomes_read = self._clock()
        since = self._outcomes_since or _utc(self._clock() - OUTCOMES_LOOKBACK_S)
        try:
            async with self._pool.connection() as conn:
                found = await outcomes.silence_outcomes(conn, since)
        except (psycopg.OperationalError, psycopg.InterfaceError) as err:
            log.warning("could not read operators' outcomes (%s); will retry", err)
            return 0, 0
        except Exception:
            log.exception("could not read operators' outcomes")
            return 0, 0
        forgotten, relearnt = self._welfare.apply_outcomes(found)
        if found:
            self._outcomes_since = max(since, found[-1].resolved_at - OUTCOMES_OVERLAP)
        if forgotten or relearnt:
            log.info("operators' outcomes: %d silences taken back as no ordinary life, %d learnt"
                     " again on a changed outcome", forgotten, relearnt)
        return forgotten, relearnt

    def keep_summaries(self) -> asyncio.Task[None] | None:
        """Start writing the residents' inactivity summaries that changed since they were last
        written (store/resident_welfare.py), in a task that works them out a hundred at a
        time and lets the lane go on between; the task. A failed write is logged, and those
        residents are written at the next interval."""
        if self._welfare is None:
            return None
        self._summaries_kept = self._clock()
        self._keeping = asyncio.create_task(self._keep_summaries(), name="welfare-summaries")
        return self._keeping

    async def _keep_summaries(self) -> None:
        assert self._welfare is not None
        detector, kept = self._welfare.inactivity, self._summaries
        residents = detector.snapshot_keys()
        rows = []
        for at in range(0, len(residents), SUMMARIES_PIECE):
            for resident in residents[at:at + SUMMARIES_PIECE]:
                summary = detector.summary(resident)
                if summary is not None and resident_welfare.changed(kept.get(resident), summary):
                    rows.append((resident, summary))
            await asyncio.sleep(0)  # the lane's turn
        if not rows:
            return
        try:
            async with self._pool.connection() as conn:
                await resident_welfare.write(conn, rows, _utc(self._clock()))
        except (psycopg.OperationalError, psycopg.InterfaceError) as err:
            log.warning("could not keep residents' inactivity summaries (%s); will retry", err)
            return
        except Exception:  # never an unobserved task error
            log.exception("could not keep residents' inactivity summaries")
            return
        self._summaries.update(rows)

    async def save_state(self, *, wait: bool = True) -> None:
        """Keep the welfare detectors' baselines in PostgreSQL (they outlive a restart).

        The snapshot is taken in pieces (:meth:`WelfareStage.snapshot_pieces`) in a task, which
        yields the event loop after each so that the lane goes on ingesting between them, and
        then written (hundreds of MB for a large district, which PostgreSQL then parses), unless
        ``wait`` (at shutdown), when this returns once it is written."""
        if self._welfare is None:
            return
        if self._saving is not None and not self._saving.done():
            await self._saving  # one at a time: two would race for the same rows
        self._welfare_saved = self._clock()  # a failed write is retried at the next interval
        self._saving = asyncio.create_task(self._take_and_write_state(), name="welfare-save")
        if wait:
            await self._saving

    async def _take_and_write_state(self) -> None:
        assert self._welfare is not None
        started = time.monotonic()
        pieces: list[bytes] = []
        longest = 0.0
        collecting = gc.isenabled()
        try:
            for_each = iter(self._welfare.snapshot_pieces())
            while True:
                took = time.monotonic()
                # Thousands of fresh dicts and lists a piece, none in a cycle: without this the
                # collector walks the whole heap of baselines over and over.
                gc.disable()
                try:
                    piece = next(for_each, None)
                finally:
                    if collecting:
                        gc.enable()
                longest = max(longest, time.monotonic() - took)
                if piece is None:
                    break
                pieces.append(piece)
                await asyncio.sleep(0)  # the lane's turn
        except Exception:  # a detector's snapshot bug: say it, keep ingesting, try again later
            log.exception("could not take the welfare snapshot")
            return
        # A piece holds up this lane while it is taken: say so when that is long enough to matter.
        (log.warning if longest > 0.5 else log.debug)(
            "welfare snapshot of %.1f MB taken in %.2f s, the lane held at most %.3f s at once",
            sum(map(len, pieces)) / 1e6, time.monotonic() - started, longest)
        await self._write_state(pieces)

    async def _write_state(self, body: list[bytes]) -> None:
        started = time.monotonic()
        try:
            async with self._pool.connection() as conn:
                await detector_state.save_encoded(conn, self._state_name, body)
            log.debug("welfare snapshot written in %.2f s", time.monotonic() - started)
        except (psycopg.OperationalError, psycopg.InterfaceError) as err:
            self._welfare_saved = self._clock() - WELFARE_SAVE_EVERY_S + 30.0  # again in 30 s
            log.warning("could not save detector state (%s); will retry", err)
        except Exception:  # never an unobserved task error: say it, and try at the next interval
            log.exception("could not save detector state")

    # -- preparing ---------------------------------------------------------------------------

    @staticmethod
    def _wiring(part: Batch, item: Incoming, env: Envelope, status: Status,
                device: DeviceRef) -> None:
        """A gateway's ``online`` lists the devices it speaks for: recorded with the batch
        (store.batch.GatewayWiring). A list from a device that is not a gateway is said in a
        dead letter and recorded nowhere (its status itself is taken)."""
        if status.state != "online" or status.devices is None:
            return
        if device.kind != "gateway":
            part.dead_letters.append(DeadLetter(
                topic=item.topic, payload=item.payload, code="not_a_gateway",
                reason=f"device {env.device!r} is registered as a {device.kind}, not a gateway:"
                       " the devices its status lists are not recorded as going through it",
                device_id=env.device))
            return
        part.wirings.append(GatewayWiring(gateway=env.device, site_id=device.site_id,
                                          devices=tuple(status.devices), topic=item.topic,
                                          payload=item.payload))

    async def _device(self, env: Envelope) -> DeviceRef | None:
        ref = self._devices.get(env.device)
        if ref is None and self._unknown_until.get(env.device, 0.0) < time.monotonic():
            # A device registered after start-up: look it up once, then remember the answer.
            # While the database is away, wait for it like a write does: never crash on it.
            delay = 0.2
            while True:
                try:
                    async with self._pool.connection() as conn:
                        ref = await active_device(conn, env.device)
                    break
                except (psycopg.OperationalError, psycopg.InterfaceError) as err:
                    log.warning("database unavailable for a device look-up (%s); retrying", err)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
            if ref is None:
                if len(self._unknown_until) >= UNKNOWN_MAX:
                    # Bounded: with broker ACLs a device cannot invent ids, but without them a
                    # flood of made-up ids must not grow this for ever.
                    now = time.monotonic()
                    self._unknown_until = {d: t for d, t in self._unknown_until.items() if t > now}
                    if len(self._unknown_until) >= UNKNOWN_MAX:
                        self._unknown_until.clear()
                self._unknown_until[env.device] = time.monotonic() + 30.0
            else:
                self._devices[env.device] = ref
        return ref

    async def _prepare(self, items: list[Incoming]) -> list[tuple[Incoming | None, Batch]]:
        parts: list[tuple[Incoming | None, Batch]] = []
        accepted: list[Envelope] = []
        where: dict[tuple[str, int], Batch] = {}
        last_of_device: dict[str, Batch] = {}
        over_budget: dict[str, list[tuple[Batch, Incoming, Envelope]]] = {}
        arrived = self._clock()
        observed: set[tuple[str, int]] = set()
        observed_at: set[tuple[str, float]] = set()
        heard: list[str] = []  # the devices of well-formed messages (ingest/activity.py)
        for item in items:
            part = Batch()
            parts.append((item, part))
            try:
                env = self._decoder.decode(item.topic, item.payload)
            except ContractViolation as err:
                observing = _kind_of(item.topic) in self._observe
                if not observing:  # the lane that stores this kind dead-letters it
                    # kept whole, with its reason, even when the alarm in it is raised
                    reason = err.reason if err.salvaged is None else (
                        f"{err.reason}; raised all the same from its sound fields")
                    part.dead_letters.append(DeadLetter(topic=_storable(item.topic),
                                                        payload=item.payload, code=err.code,
                                                        reason=reason,
                                                        device_id=_device_of(item.topic)))
                if err.salvaged is None:
                    self.stats.observed += observing
                    self.stats.received += not observing
                    continue
                env = err.salvaged  # an event: a call for help is not lost to a bad field
            env = will_at_arrival(env, arrived, self._last_seen_written.get(env.device))
            heard.append(env.device)
            if env.kind in self._observe:
                self.stats.observed += 1
                device = self._devices.get(env.device)
                if device is not None and device.site_id == env.site and self._is_new(env):
                    accepted.append(env)
                    observed.add((env.device, env.seq))
                    observed_at.add((env.device, env.ts))
                continue
            self.stats.received += 1
            if env.kind in LIMITED and not self._limiter.allow(
                    env.device, now=arrived, observed=env.ts, size=len(item.payload)):
                over_budget.setdefault(env.device, []).append((part, item, env))
                continue
            device = self._devices.get(env.device)
            if device is None:  # not known yet: ask the database (a coroutine, so only then)
                device = await self._device(env)
            if device is None:
                part.dead_letters.append(DeadLetter(
                    topic=item.topic, payload=item.payload, code="unknown_device",
                    reason=f"device {env.device!r} is not registered (or is retired)",
                    device_id=env.device))
                continue
            if device.site_id != env.site:
                part.dead_letters.append(DeadLetter(
                    topic=item.topic, payload=item.payload, code="wrong_site",
                    reason=f"device {env.device!r} belongs to site {device.site_id!r},"
                           f" not {env.site!r}", device_id=env.device))
                continue
            if not self._is_new(env):
                self.stats.duplicates += 1
                continue
            if isinstance(env.body, Rejected):
                part.dead_letters.append(_forwarded_rejection(env, env.body))
                continue
            if isinstance(env.body, Checkup) and not await self._checkups.take(
                    item, env, device, part, now=self._clock()):
                continue  # dead-lettered: a resident unknown or not served by this device
            self._add_reading(part, env)
            if isinstance(env.body, Status) and env.body.devices is not None:
                self._wiring(part, item, env, env.body, device)
            accepted.append(env)
            where[(env.device, env.seq)] = part
            last_of_device[env.device] = part
        self.activity.heard(arrived, heard)  # also closes a slot when nothing came
        for device_id, dropped in over_budget.items():
            self._rate_limited(device_id, dropped)
        now = self._clock()
        handoff = self._detection.process(accepted, now=now, devices=self._devices)
        if observed:  # what observed messages trigger is the storing lane's to raise
            handoff.triggers[:] = [t for t in handoff.triggers
                                   if (t.device_id, t.source_seq) not in observed]
            handoff.services[:] = [p for p in handoff.services
                                   if (p.device_id, p.source_seq) not in observed]
            handoff.cancels[:] = [c for c in handoff.cancels if c not in observed_at]
        if self._welfare is not None:
            try:
                hearing = self._hearing(now)
                handoff.triggers.extend(self._welfare.process(accepted, now=now,
                                                              hearing=hearing, hearer=id(self)))
            except Exception:  # a detector bug must not stop SOS and smoke from being stored
                log.exception("welfare detectors failed on a batch of %d messages", len(accepted))
        for trigger in handoff.triggers:
            target = where.get((trigger.device_id, trigger.source_seq)) or last_of_device.get(
                trigger.device_id)
            if target is None:  # a grace period ran out with no message from the device in hand
                target = Batch()
                parts.append((None, target))
            target.alarms.append(new_alarm(trigger, self._devices[trigger.device_id], now=now))
        if self._welfare is not None and (self._welfare.marks or self._welfare.restored):
            marks, self._welfare.marks = self._welfare.marks, []
            restored, self._welfare.restored = self._welfare.restored, []
            if not parts:  # a timer tick with no messages
                parts.append((None, Batch()))
            last = parts[-1][1]  # after the alarms: a repeat's item is opened, then closed
            last.marks.extend(  # elders (a welfare check's or a watch's subject)
                AlarmMark(resident_id=None if m.site else m.subject, site_id=m.site,
                          kind=m.kind, mark=m.mark, at=_utc(m.at), only_if=m.only_if)
                for m in marks)
            last.restored.extend(DeviceRestored(device_id=r.device, at=_utc(r.at),
                                                detail=r.detail, fresh_battery=r.fresh_battery,
                                                over=r.over, area=r.area)
                                 for r in restored if r.device in self._devices)
        for press in handoff.services:  # a ticket, in the transaction that acks the press
            where[(press.device_id, press.source_seq)].tickets.append(button_ticket(
                device=self._devices[press.device_id], ticket_type=press.ticket_type,
                source_seq=press.source_seq, pressed_at=_utc(press.occurred_ts),
                said_ms=press.said_ms))
        for device_id, ts in handoff.cancels:
            last_of_device[device_id].cancels.append(
                AlarmCancel(device_id=device_id, cancelled_at=_utc(ts)))
        if handoff.opened or handoff.closed:
            if not parts:  # a timer tick with no messages: the outcome needs a batch of its own
                parts.append((None, Batch()))
            falls = parts[-1][1]
            falls.falls_opened += [PendingFall(
                device_id=o.finding.device_id, source_seq=o.source_seq,
                impact_at=_utc(o.finding.impact_ts), deadline=_utc(o.deadline),
                finding=finding_to_json(o.finding)) for o in handoff.opened]
            falls.falls_closed += [FallOutcome(
                device_id=c.finding.device_id, impact_at=_utc(c.finding.impact_ts),
                outcome=c.outcome, resolved_at=_utc(c.resolved_ts),
                evidence=evidence(c.finding)) for c in handoff.closed]
        return parts

    def _rate_limited(self, device_id: str, dropped: list[tuple[Batch, Incoming, Envelope]]) -> None:
        """One dead letter per device per batch for what its budget refused: the first message
        whole, and how many of which kinds (with their seq range) were dropped with it."""
        part, first, _ = dropped[0]
        kinds: dict[str, int] = {}
        for _, _, env in dropped:
            kinds[env.kind] = kinds.get(env.kind, 0) + 1
        seqs = [env.seq for _, _, env in dropped]
        counted = ", ".join(f"{kind} {n}" for kind, n in kinds.items())
        part.dead_letters.append(DeadLetter(
            topic=first.topic, payload=first.payload, code="rate_limited", device_id=device_id,
            reason=f"{len(dropped)} stream messages from {device_id!r} over its budget"
                   f" ({self._limiter.budget}) dropped in one batch ({counted};"
                   f" seq {min(seqs)}..{max(seqs)}); this row keeps the first whole"))
        self.stats.rate_limited += len(dropped)

    def _is_new(self, env: Envelope) -> bool:
        """Whether ``env`` has not been seen before. An event whose seq was seen is a
        redelivery only if it also said the same time: a device whose counter went back (a
        factory reset, a firmware that forgot it, against the contract) reuses a seq for a new
        press, which must reach the database, where the alarm's own check decides
        (store/batch.py ``_reused``); readings are judged by seq alone."""
        new = self._seen.is_new(env.device, env.seq)
        if not isinstance(env.body, Event):
            return new
        key, said = (env.device, env.seq), event_time(env.body)
        before = self._event_times.pop(key, None)
        self._event_times[key] = said
        if len(self._event_times) > EVENT_TIMES_KEPT:
            del self._event_times[next(iter(self._event_times))]
        return new or before != said

    def _add_reading(self, part: Batch, env: Envelope) -> None:
        body, device, ts = env.body, env.device, env.ts
        # how far its time was moved (a wrong clock, ingest/codec.py): the maintenance list
        offset = env.clock_offset or None
        news = (offset is not None) != (device in self._clock_wrong)
        if isinstance(body, Accel):  # motion is for the detectors; only its "last seen" is kept
            if news or ts - self._last_seen_written.get(device, -1e18) >= LAST_SEEN_EVERY_S:
                self._last_seen_written[device] = ts
                self._clock_said(device, offset)
                part.devices[device] = DeviceSeen(last_seen=_utc(ts), clock_offset_s=offset)
            return
        when = _utc(ts)
        seen = DeviceSeen(last_seen=when, clock_offset_s=offset)
        if isinstance(body, Event):
            detail = None if body.detail is None else Jsonb(body.detail)
            part.events.append((device, env.seq, when, body.type.value, detail))
            if event_time(body) != body.ts:  # placed at its arrival: its clock is wrong
                seen = DeviceSeen(last_seen=when, clock_offset_s=(body.ts - event_time(body)) / 1000)
        elif isinstance(body, Telemetry):
            part.telemetry.append((device, env.seq, when, body.hr, body.spo2, body.skin_temp,
                                   body.steps, body.battery, body.worn))
            seen = DeviceSeen(last_seen=when, battery=body.battery, clock_offset_s=offset)
        elif isinstance(body, Location):
            part.locations.append((device, env.seq, when, body.lat, body.lon, body.acc,
                                   body.source))
        elif isinstance(body, Checkin):
            part.checkins.append((device, env.seq, when, "checkin", body.battery, body.rssi))
            seen = DeviceSeen(last_seen=when, battery=body.battery, checkin=True,
                              clock_offset_s=offset)
        elif isinstance(body, Ack):
            part.acks.append((body.id, body.status))
        elif isinstance(body, Status):
            part.checkins.append((device, env.seq, when, body.state, None, None))
            seen = DeviceSeen(last_seen=when, online=body.state == "online",
                              clock_offset_s=offset)
        plain = seen.battery is None and not seen.checkin and seen.online is None
        news = (seen.clock_offset_s is not None) != (device in self._clock_wrong)
        if plain and not news and ts - self._last_seen_written.get(device, -1e18) < LAST_SEEN_EVERY_S:
            return  # a streaming wearable would otherwise cost an UPDATE per message
        self._last_seen_written[device] = ts
        self._clock_said(device, seen.clock_offset_s)
        part.devices[device] = seen

    def _clock_said(self, device: str, offset: float | None) -> None:
        if offset is None:
            self._clock_wrong.discard(device)
        else:
            self._clock_wrong.add(device)

    # -- storing -----------------------------------------------------------------------------

    @staticmethod
    def _merge(parts: list[tuple[Incoming | None, Batch]]) -> Batch:
        merged = Batch()
        for _, part in parts:
            # every list of the batch, in order (a list added to Batch is merged without a
            # line here: one forgotten once, a gateway's wiring, was silently never written)
            for name in _BATCH_LISTS:
                getattr(merged, name).extend(getattr(part, name))
            for device, seen in part.devices.items():
                before = merged.devices.get(device)
                merged.devices[device] = seen if before is None else DeviceSeen(
                    last_seen=max(before.last_seen, seen.last_seen),
                    battery=seen.battery if seen.battery is not None else before.battery,
                    checkin=before.checkin or seen.checkin,
                    online=seen.online if seen.online is not None else before.online,
                    clock_offset_s=(seen if seen.last_seen >= before.last_seen
                                    else before).clock_offset_s)
        return merged

    async def _store(self, parts: list[tuple[Incoming | None, Batch]]) -> None:
        merged = self._merge(parts)
        try:
            await self._write_retrying(merged)
        except (psycopg.IntegrityError, psycopg.DataError, psycopg.ProgrammingError) as err:
            log.error("database rejected a batch of %d (%s); writing one by one", len(parts), err)
            for item, part in parts:
                try:
                    await self._write_retrying(part)
                except (psycopg.IntegrityError, psycopg.DataError,
                        psycopg.ProgrammingError) as one:
                    if item is None:
                        log.exception("database rejected a fall outcome; it is lost: %s", one)
                        continue
                    try:
                        await self._write_retrying(Batch(dead_letters=[DeadLetter(
                            topic=_storable(item.topic), payload=item.payload, code="db_rejected",
                            reason=f"database rejected it: {one}".strip())]))
                    except (psycopg.IntegrityError, psycopg.DataError,
                            psycopg.ProgrammingError) as worse:
                        # Raising here would stop ingest, and the broker would hand the same
                        # message to the next ingest: a crash loop that also holds every alarm.
                        log.error("database refused even the dead letter of a %d-byte message"
                                  " on %r (%s); it is acknowledged and lost",
                                  len(item.payload), item.topic, worse)

    async def _write_retrying(self, batch: Batch) -> None:
        delay = 0.2
        while True:
            try:
                async with self._pool.connection() as conn:
                    written = await store_batch.write(conn, batch, on_opened=tell_family_of_alarm,
                                                      on_joined=tell_family_of_device,
                                                      on_ticket=route)
                break
            except (psycopg.OperationalError, psycopg.InterfaceError) as err:
                self.stats.store_retries += 1
                log.warning("database unavailable (%s); retrying in %.1f s", err, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        self.stats.stored += len(batch) - len(batch.dead_letters)
        self.stats.dead_letters += len(batch.dead_letters)
        for dead in batch.dead_letters:
            self.stats.dead_by_code[dead.code] = self.stats.dead_by_code.get(dead.code, 0) + 1
        self.stats.alarms_raised += len(written.new_alarm_ids)
        if written.new_alarm_ids and self._on_alarms is not None:
            self._on_alarms(written.new_alarm_ids)
