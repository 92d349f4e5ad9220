"""Telling families and partner systems: who gets which message (``enqueue``; and, belonging to
no incident, the reminder before a family's stay ends, ``remind_stay``) and getting it there
(``Notifier``), with retries, backoff and fallback from one channel to the next.

``enqueue`` writes outbox rows in the caller's transaction, so an incident and its notifications
commit together (or not at all). A ``Notifier`` process claims due rows, sends each through the
current channel of its chain and records the result::

    sms fails (transient) -> retry after 10 s, 30 s ... up to N attempts -> next channel (email)
    sms fails (permanent: 4xx, bad number, not configured) -> next channel at once
    last channel exhausted -> given_up (store.notifications.given_up lists them for the console)

>>> step = next_step(error=DeliveryError("HTTP 500", permanent=False), attempts=1, channel_index=0,
...                  chain_length=2, now=1000.0, policy=RetryPolicy())
>>> step.status, step.channel_index, step.next_attempt_at
('failed', 0, 1010.0)
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from alerts.channels import ADDRESS_FIELD, Channel, Outgoing
from alerts.delivery_errors import DeliveryError
from alerts.kinds import KINDS
from alerts.messages import DEFAULT_TZ, DEVICE_MESSAGES, Facts, payload, render
from store import notifications as outbox

log = logging.getLogger(__name__)

DEFAULT_KINDS = ("alarm", "handled", "device")
"""'device': a device of the elder's that the family can see to (their watch gone flat)."""
ALL_KINDS = (*DEFAULT_KINDS, "escalated", "accepted")
"""'escalated' is not a preference: an unanswered P1 reaches every contact who can be reached.
Nor is 'accepted' (one of the family is going): it goes to those who want the alarm itself."""
DEFAULT_CHANNELS = ("sms", "email")  # SMS first: it reaches an old phone, and it is read at once
QUIET_EXEMPT_PRIORITY = 1  # life at risk now: a fall or a fire wakes the family, whatever they asked


@dataclass(frozen=True, slots=True, kw_only=True)
class Preferences:
    """What one contact wants. A contact without a stored row gets these defaults."""

    kinds: tuple[str, ...] = DEFAULT_KINDS
    channels: tuple[str, ...] = DEFAULT_CHANNELS
    quiet_start: dt.time | None = None
    quiet_end: dt.time | None = None
    tz: str = DEFAULT_TZ

    def quiet_until(self, now: dt.datetime, *, priority: int) -> dt.datetime | None:
        """When the quiet period holding ``now`` ends, or None (not quiet, or priority 1).

        >>> p = Preferences(quiet_start=dt.time(22), quiet_end=dt.time(7))
        >>> p.quiet_until(dt.datetime(2026, 1, 1, 15, tzinfo=dt.UTC), priority=3)  # 23:00 local
        datetime.datetime(2026, 1, 2, 7, 0, tzinfo=zoneinfo.ZoneInfo(key='Asia/Shanghai'))
        """
        start, end = self.quiet_start, self.quiet_end
        if priority <= QUIET_EXEMPT_PRIORITY or start is None or end is None or start == end:
            return None
        zone = ZoneInfo(self.tz)
        local = now.astimezone(zone)
        clock = local.time().replace(tzinfo=None)
        wraps = start > end  # 22:00-07:00 spans midnight
        quiet = (clock >= start or clock < end) if wraps else (start <= clock < end)
        if not quiet:
            return None
        day = local.date() + dt.timedelta(days=1 if wraps and clock >= start else 0)
        return dt.datetime.combine(day, end, tzinfo=zone)


def _zone(name: str | None, fallback: str) -> str:
    """``name`` if it is a known time zone, else ``fallback``: a mistyped zone in someone's
    preferences must not abort the transaction that opens an incident."""
    try:
        ZoneInfo(name or fallback)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown time zone %r; using %s", name, fallback)
        return fallback
    return name or fallback


def _preferences(contact: Mapping[str, Any], *, site_tz: str) -> Preferences:
    return Preferences(
        # an empty list is a choice (nothing but what no one may refuse: 'escalated'), not
        # "unset": until 2026-12-07 it fell back to the defaults, and someone who had unticked
        # everything was sent every alarm
        kinds=DEFAULT_KINDS if contact["kinds"] is None else tuple(contact["kinds"]),
        channels=tuple(contact["channels"] or DEFAULT_CHANNELS),
        quiet_start=contact["quiet_start"], quiet_end=contact["quiet_end"],
        tz=_zone(contact["tz"], site_tz))


async def enqueue(conn: AsyncConnection[Any], *, incident_id: int, site_id: str, resident_id: str | None,
                  kind: str, priority: int, alarm_kind: str, occurred_at: dt.datetime,
                  outcome: str | None = None, now: dt.datetime | None = None,
                  by: str | None = None, skip_contact: int | None = None,
                  family_until: dt.datetime | None = None, note: str | None = None,
                  place: str | None = None) -> int:
    """Write the notifications of one incident event in the caller's transaction.

    ``by`` names who is going (an 'accepted' message), and ``skip_contact`` is that person's own
    contact, who needs no message about themselves. ``family_until``: the alarm is the
    family's first (family-first routing), until then; its message asks them to act.
    ``note``: a :data:`alerts.messages.NOTES` code the message adds (an 'alarm' message), or
    which 'device' message it is ("watch_flat"). ``place``: the safe place a wandering left,
    when not the home (:attr:`alerts.messages.Facts.place`).

    Recipients: the resident's contacts who want ``kind`` ('alarm', 'handled', 'device'), each with the
    channels they chose and have an address for, in their language; and the site's active
    webhooks. Quiet hours delay (never drop) priority 2-4 messages. A contact with no usable
    channel gets a ``given_up`` row at once, so the console shows that nobody could be told.
    Returns how many rows are new: calling twice for the same event adds nothing.
    """
    if kind not in ALL_KINDS:
        raise ValueError(f"notification kind must be one of {ALL_KINDS}, not {kind!r}")
    if kind == "device" and note not in DEVICE_MESSAGES:
        raise ValueError(f"a device message is one of {DEVICE_MESSAGES}, not {note!r}")
    now = now or dt.datetime.now(dt.UTC)
    subject = await outbox.incident_subject(conn, resident_id=resident_id, site_id=site_id)
    site_tz = _zone(subject["tz"], DEFAULT_TZ)
    # A care home's smoke alarm may concern no one resident: the site's name stands in.
    name = subject["resident_name"] or subject["site_name"]
    facts = Facts(kind=kind, alarm_kind=alarm_kind, resident_name=name,
                  site_name=subject["site_name"], occurred_at=occurred_at, outcome=outcome,
                  by=by, family_until=family_until, note=note, place=place)
    facts_json = payload(facts, incident_id=incident_id, priority=priority,
                         resident_id=resident_id, site_id=site_id)
    common: dict[str, Any] = {"incident_id": incident_id, "kind": kind, "priority": priority,
                              "payload": facts_json}
    rows: list[outbox.NewNotification] = []
    contacts = await outbox.contacts_with_prefs(conn, resident_id) if resident_id else []
    for contact in contacts:
        prefs = _preferences(contact, site_tz=site_tz)
        wanted = "alarm" if kind == "accepted" else kind
        if (wanted not in prefs.kinds and kind != "escalated") or contact["id"] == skip_contact:
            continue
        chain = tuple(c for c in prefs.channels if contact.get(ADDRESS_FIELD[c]))
        text = render(facts, lang=contact["lang"], tz=prefs.tz)
        rows.append(outbox.NewNotification(
            **common, contact_id=contact["id"], lang=text.lang, channels=chain,
            next_attempt_at=prefs.quiet_until(now, priority=priority) or now,
            subject=text.subject, body=text.body, short_text=text.short_text,
            status="pending" if chain else "given_up",
            last_error=None if chain else f"no address for any of {', '.join(prefs.channels)}"))
    # a community's outage is raised on one home's gateway but is not that home's: its partners
    # are not told of it as theirs (alerts/kinds.py about_area)
    about_area = (about := KINDS.get(alarm_kind)) is not None and about.about_area
    for hook in [] if about_area else await outbox.active_webhooks(conn, site_id):
        text = render(facts, lang=hook["lang"], tz=site_tz)
        rows.append(outbox.NewNotification(
            **common, webhook_id=hook["id"], lang=text.lang, channels=("webhook",),
            next_attempt_at=now, subject=text.subject, body=text.body, short_text=text.short_text))
    return len(await outbox.enqueue(conn, rows))


STAY_REMINDER_LEAD = dt.timedelta(hours=3)
"""How long before a family's stay ends its setter is reminded: an afternoon's notice for an
evening's end, time to extend it before the night's geofence counts the place out."""
STAY_REMINDER_MIN = dt.timedelta(minutes=30)
"""A stay set closer to its reminder than this gets none: whoever set it has it in mind."""
STAY_PRIORITY = 4  # a reminder: quiet hours hold it


async def remind_stay(conn: AsyncConnection[Any], *, resident_id: str, place: Mapping[str, Any],
                      now: dt.datetime | None = None) -> dt.datetime | None:
    """Schedule the reminder of a family's stay (``place``, a ``resident_places`` row as
    ``store.admin.set_place`` returns it), in the caller's transaction: to the contact whose
    account set it, ``STAY_REMINDER_LEAD`` before its end, in their language and zone, held by
    their quiet hours. None for the centre's places, a stay set within ``STAY_REMINDER_MIN`` of
    its reminder, an account linked to no contact of the resident's, a contact with no address,
    or a reminder that quiet hours would hold past the end. Returns when it is due, or None.

    A reminder waiting from before is taken back by ``store.admin.set_place`` itself, so a stay
    extended is reminded of once, at its new end."""
    ends_at, name = place.get("ends_at"), place["name"]
    if not place.get("by_family") or ends_at is None:
        return None
    now = now or dt.datetime.now(dt.UTC)
    at = ends_at - STAY_REMINDER_LEAD
    if at < now + STAY_REMINDER_MIN:
        return None
    contact = await outbox.user_contact(conn, place["changed_by"], resident_id)
    if contact is None:
        return None
    cur = await conn.execute("SELECT site_id FROM residents WHERE id = %s", (resident_id,))
    resident = await cur.fetchone()
    if resident is None:
        return None
    subject = await outbox.incident_subject(conn, resident_id=resident_id, site_id=resident["site_id"])
    prefs = _preferences(contact, site_tz=_zone(subject["tz"], DEFAULT_TZ))
    due = prefs.quiet_until(at, priority=STAY_PRIORITY) or at
    chain = tuple(c for c in prefs.channels if contact.get(ADDRESS_FIELD[c]))
    if due >= ends_at or not chain:
        return None
    facts = Facts(kind="stay", alarm_kind="wandering", resident_name=subject["resident_name"],
                  site_name=subject["site_name"], occurred_at=ends_at, place=name)
    text = render(facts, lang=contact["lang"], tz=prefs.tz)
    row = outbox.NewNotification(
        about=outbox.stay_subject(resident_id, name), contact_id=contact["id"], kind="stay",
        priority=STAY_PRIORITY, lang=text.lang, channels=chain, next_attempt_at=due,
        subject=text.subject, body=text.body, short_text=text.short_text,
        payload=payload(facts, incident_id=None, priority=STAY_PRIORITY, resident_id=resident_id,
                        site_id=resident["site_id"]))
    return due if await outbox.enqueue(conn, [row]) else None


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    backoff: tuple[float, ...] = (10.0, 30.0, 90.0)
    """Seconds to wait after the 1st, 2nd, ... failed attempt on a channel; the last repeats."""
    attempts_per_channel: int = 3
    lease: float = 300.0
    """How long a claimed notification belongs to its sender. Longer than any channel's timeout,
    so that only a sender that died is overtaken (its notification is then sent again)."""

    def __post_init__(self) -> None:
        if not self.backoff or self.attempts_per_channel < 1:
            raise ValueError("a retry policy needs a backoff and at least one attempt per channel")

    def delay(self, attempt: int) -> float:
        return self.backoff[min(attempt, len(self.backoff)) - 1]

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> RetryPolicy:
        backoff = environ.get("ELDERCARE_NOTIFY_BACKOFF", "10,30,90")
        return cls(backoff=tuple(float(s) for s in backoff.split(",")),
                   attempts_per_channel=int(environ.get("ELDERCARE_NOTIFY_ATTEMPTS", "3")))


DEFAULT_POLICY = RetryPolicy()


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """What to record after an attempt."""

    status: str  # sent, failed (to be retried, maybe on the next channel), given_up
    channel_index: int
    attempts: int  # on the (new) current channel
    next_attempt_at: float
    error: str | None


def next_step(*, error: DeliveryError | None, attempts: int, channel_index: int, chain_length: int,
              now: float, policy: RetryPolicy) -> Step:
    """The retry and fallback policy, without I/O."""
    if error is None:
        return Step(status="sent", channel_index=channel_index, attempts=attempts,
                    next_attempt_at=now, error=None)
    if not error.permanent and attempts < policy.attempts_per_channel:
        return Step(status="failed", channel_index=channel_index, attempts=attempts,
                    next_attempt_at=now + policy.delay(attempts), error=error.reason)
    if channel_index + 1 < chain_length:
        return Step(status="failed", channel_index=channel_index + 1, attempts=0,
                    next_attempt_at=now, error=error.reason)
    return Step(status="given_up", channel_index=channel_index, attempts=attempts,
                next_attempt_at=now, error=error.reason)


@dataclass(frozen=True, slots=True, kw_only=True)
class Attempt:
    """One send, as ``Notifier.run_once`` reports it."""

    notification_id: int
    channel: str
    status: str
    error: str | None


def _utc(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC)


class Notifier:
    """The delivery loop. Several may run at once (``claim_due`` hands each row to one of them).

    ``clock`` returns epoch seconds; tests pass a controllable one and call ``run_once``.
    """

    def __init__(self, pool: AsyncConnectionPool[Any], channels: Mapping[str, Channel], *,
                 policy: RetryPolicy = DEFAULT_POLICY, clock: Callable[[], float] = time.time,
                 batch_size: int = 20, max_idle: float = 1.0) -> None:
        self._pool = pool
        self._channels = dict(channels)
        self._policy = policy
        self._clock = clock
        self._batch_size = batch_size  # also bounds how many sends run concurrently
        self._max_idle = max_idle  # a new notification waits at most this long to be seen

    @property
    def channels(self) -> Mapping[str, Channel]:
        """The channels it sends through, by name."""
        return self._channels

    async def run_once(self, now: float | None = None) -> list[Attempt]:
        """Send every notification due at ``now`` (default: the clock), at most one batch."""
        now = self._clock() if now is None else now
        async with self._pool.connection() as conn:
            rows = await outbox.claim_due(conn, now=_utc(now), lease_until=_utc(now + self._policy.lease),
                                          limit=self._batch_size)
        return list(await asyncio.gather(*(self._attempt(row, now) for row in rows)))

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Deliver until ``stop`` is set, sleeping until the next due time (at most ``max_idle``)."""
        stop = stop or asyncio.Event()
        while not stop.is_set():
            wait = self._max_idle
            try:
                done = await self.run_once()
                if len(done) >= self._batch_size:
                    wait = 0.0  # more may be due already
                else:
                    async with self._pool.connection() as conn:
                        due = await outbox.next_due_at(conn)
                    if due is not None:
                        wait = min(max(due.timestamp() - self._clock(), 0.0), self._max_idle)
            except Exception:  # the database away for a moment must not end the notifier
                log.exception("notifier round failed; retrying in %.1f s", wait)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await stop.wait()

    async def _attempt(self, row: Mapping[str, Any], now: float) -> Attempt:
        name = row["channel"]
        error: DeliveryError | None = None
        try:
            await self._send(name, row, now)
        except DeliveryError as err:
            error = err
        except Exception as err:  # a bug in a channel must not leave the row stuck in 'sending'
            log.exception("notification %s: channel %s raised unexpectedly", row["id"], name)
            error = DeliveryError(f"internal error in channel {name} ({type(err).__name__})",
                                  permanent=False)
        step = next_step(error=error, attempts=row["attempts"], channel_index=row["channel_index"],
                         chain_length=len(row["channels"]), now=max(now, self._clock()),
                         policy=self._policy)
        async with self._pool.connection() as conn:
            await outbox.record_outcome(
                conn, row["id"], claimed_attempts=row["attempts"],
                claimed_channel_index=row["channel_index"], status=step.status,
                channel_index=step.channel_index, attempts=step.attempts,
                next_attempt_at=_utc(step.next_attempt_at), error=step.error,
                sent_at=_utc(step.next_attempt_at) if step.status == "sent" else None)
        # Ids and reasons only: addresses are personal data and never logged.
        log_level = logging.WARNING if step.status == "given_up" else logging.INFO
        log.log(log_level, "notification %s via %s: %s%s", row["id"], name, step.status,
                f" ({step.error})" if step.error else "")
        return Attempt(notification_id=row["id"], channel=name, status=step.status, error=step.error)

    async def _send(self, name: str, row: Mapping[str, Any], now: float) -> None:
        channel = self._channels.get(name)
        if channel is None:
            raise DeliveryError(f"channel {name} is not configured", permanent=True)
        address = row[ADDRESS_FIELD[name]] or ""
        if not address:
            raise DeliveryError(f"recipient has no {ADDRESS_FIELD[name]}", permanent=True)
        await channel.send(Outgoing(
            notification_id=row["id"], kind=row["kind"], lang=row["lang"], address=address,
            subject=row["subject"], body=row["body"], short_text=row["short_text"],
            payload=row["payload"], sent_at=now, secret=row["secret"] or ""))
