"""One transaction per ingest batch: readings, dead letters, device state and alarms together.

Everything a batch of MQTT messages produced is written in a single transaction, so that ingest can
acknowledge the messages to the broker only after they are durable, all or nothing. New and
changed alarms are announced with ``NOTIFY alarms`` inside the same transaction: PostgreSQL
delivers the notification only on commit, so a console never hears of an alarm it cannot read.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from store import registry
from store import tickets as store_tickets
from store.health import INSERT_READINGS, HealthReading
from store.tickets import NewTicket

log = logging.getLogger(__name__)

ALARM_CHANNEL = "alarms"


_TELEMETRY = "device_id, seq, ts, hr, spo2, skin_temp, steps, battery, worn"
_LOCATIONS = "device_id, seq, ts, lat, lon, acc, source"
_CHECKINS = "device_id, seq, ts, kind, battery, rssi"

COPY_FROM = 200
"""Rows of one table in a batch from which they go by COPY rather than one INSERT each. The
staging table costs a fixed amount per transaction, so below ~200 rows COPY is no faster
(``bench/bulk_rows.py``, docs/performance.md)."""


async def _copy_new(cur: psycopg.AsyncCursor[Any], table: str, columns: str,
                    rows: list[tuple[Any, ...]]) -> None:
    """Write ``rows`` with COPY, skipping any already stored (a redelivered message).

    COPY cannot skip a duplicate key, and idempotent redelivery needs exactly that, so the rows
    go by COPY into a session-local staging table emptied at every commit (``ON COMMIT DELETE
    ROWS``; created in the same transaction, so it also works behind a transaction-pooling
    proxy) and from there into the table with ``ON CONFLICT DO NOTHING``. For a batch of 1,000
    telemetry rows: about 70 % of the time of one INSERT per row, and a quarter of the client's
    CPU (``bench/bulk_rows.py``)."""
    stage = f"stage_{table}"
    await cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table})"
                      " ON COMMIT DELETE ROWS")
    async with cur.copy(f"COPY {stage} ({columns}) FROM STDIN") as copy:
        for row in rows:
            await copy.write_row(row)
    await cur.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {stage}"
                      " ON CONFLICT DO NOTHING")


async def notify_incident(cur: psycopg.AsyncCursor[Any], incident_id: int) -> None:
    await cur.execute("SELECT pg_notify(%s, %s)", (ALARM_CHANNEL, json.dumps(
        {"id": incident_id, "op": "update", "type": "incident"})))


async def join_incident(cur: psycopg.AsyncCursor[Any], alarm_id: int, alarm: NewAlarm,
                        plan: IncidentPlan) -> tuple[int, bool]:
    """Open an incident for the alarm's subject or join the open one. The partial unique index
    on open incidents makes concurrent alarms for one subject join, never fork."""
    await cur.execute(
        "INSERT INTO incidents AS i (correlation_key, kind, priority, route, site_id, resident_id,"
        " floor, opened_at, last_alarm_at, family_until, next_timer_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, now(), %s, %s, %s)"
        " ON CONFLICT (correlation_key) WHERE status <> 'resolved' DO UPDATE SET"
        "  alarm_count = i.alarm_count + 1,"
        "  last_alarm_at = GREATEST(i.last_alarm_at, EXCLUDED.last_alarm_at),"
        "  priority = LEAST(i.priority, EXCLUDED.priority),"
        "  next_timer_at = CASE WHEN i.status = 'new'"
        "    THEN LEAST(i.next_timer_at, EXCLUDED.next_timer_at) ELSE i.next_timer_at END"
        " RETURNING id, (xmax = 0) AS opened",
        (plan.correlation_key, alarm.kind, alarm.priority, plan.route, alarm.site_id,
         alarm.resident_id, plan.floor, alarm.occurred_at, plan.family_until, plan.next_timer_at))
    row = await cur.fetchone()
    assert row is not None
    incident_id, opened = (row["id"], row["opened"]) if isinstance(row, dict) else (row[0], row[1])
    await cur.execute("UPDATE alarms SET incident_id = %s WHERE id = %s", (incident_id, alarm_id))
    await cur.execute(
        "INSERT INTO incident_timeline (incident_id, at, actor, action, to_status, details)"
        " VALUES (%s, now(), 'system', %s, CASE WHEN %s THEN 'new' END, %s)",
        (incident_id, "opened" if opened else "alarm_joined", opened,
         Jsonb({"alarm_id": alarm_id, "kind": alarm.kind, "device_id": alarm.device_id})))
    return int(incident_id), bool(opened)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadLetter:
    topic: str
    payload: bytes
    code: str
    reason: str
    device_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentPlan:
    """How the alarm joins or opens an incident; decided by alerts/, written here."""

    correlation_key: str
    route: str
    floor: int | None
    family_until: dt.datetime | None
    next_timer_at: dt.datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class NewAlarm:
    kind: str
    priority: int
    device_id: str
    site_id: str
    resident_id: str | None
    room_id: str | None
    source_seq: int
    occurred_at: dt.datetime
    details: dict[str, Any]
    snippet: tuple[float, dt.datetime, bytes] | None = None
    """(hz, time of first sample, float32 little-endian (n, 3) samples) for falls."""
    incident: IncidentPlan | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmCancel:
    """The wearer cancelled on the device: annotate their latest open alarm; never delete it."""

    device_id: str
    cancelled_at: dt.datetime
    within: dt.timedelta = dt.timedelta(minutes=10)


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmMark:
    """A later fact about an elder's latest open alarm of ``kind`` (one whose details have
    ``only_if``, when given): its time is added to the details as ``mark``, so the operator
    knows it. The alarm is marked, never closed: an elder's emergency devices heard again
    (``heard_again_at`` on a welfare check), their silent watch heard again
    (``watch_heard_again_at`` on a no-activity alarm), a care home's devices heard again
    (``site_heard_again_at`` on its ``site_silent``) say nothing of how they are. The alarm is
    the elder's (``resident_id``), or, without one, the site's (``site_id``)."""

    resident_id: str | None
    kind: str
    mark: str
    at: dt.datetime
    only_if: str | None = None
    site_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceRestored:
    """A device whole again (device health's ``restored``): its open maintenance item, if
    nobody has taken it and every alarm in it is a problem of the kind it is whole again from
    (:data:`SELF_CLEARING`), is resolved as ``self_cleared`` by ``system``, its waiting alarms
    with it. One somebody has taken stays theirs: its timeline says the device is healthy
    again. An event a device sent of itself (a fault, a tamper) is never cleared so: being
    heard says nothing of it. Its own "battery low" is cleared by a fresh battery read
    (``fresh_battery``), and only so; its own fault or tamper by its saying that is over
    (``over``: ``fault_cleared``, ``tamper_cleared``), and only so.

    With ``area``: not the device's item but its community's outage (``area_outage``), raised
    on this gateway: the community's gateways are heard again, and it closes itself so, or, if
    somebody has it, its timeline says so."""

    device_id: str
    at: dt.datetime
    detail: str
    fresh_battery: bool = False
    over: tuple[str, ...] = ()
    area: str = ""


SELF_CLEARING = ("no_checkin", "offline", "low_battery")
"""The problems (an alarm's ``details.problem``) a device heard again and whole is rid of."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceSeen:
    last_seen: dt.datetime
    battery: int | None = None
    checkin: bool = False
    online: bool | None = None
    clock_offset_s: float | None = None
    """How far its latest message's time was moved to place it (its clock is wrong and its
    error learnt: ingest/codec.py); None: its clock is right."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingFall:
    device_id: str
    source_seq: int
    impact_at: dt.datetime
    deadline: dt.datetime
    finding: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class FallOutcome:
    device_id: str
    impact_at: dt.datetime
    outcome: str  # alarmed, recovered, cancelled
    resolved_at: dt.datetime
    evidence: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayWiring:
    """A home gateway's ``online`` listing the devices it speaks for (the contract's
    ``Status.devices``): they reach the platform through it (``devices.via``), and those the
    registry had through it that the list leaves out no longer do. Only registered devices of
    the gateway's own site are taken; any other listed is said in a dead letter (the message's
    copy, its reason naming them) and the rest are wired all the same."""

    gateway: str
    site_id: str
    devices: tuple[str, ...]
    topic: str
    payload: bytes


@dataclass(slots=True)
class Batch:
    events: list[tuple[str, int, dt.datetime, str, Jsonb | None]] = field(default_factory=list)
    telemetry: list[tuple[Any, ...]] = field(default_factory=list)
    locations: list[tuple[Any, ...]] = field(default_factory=list)
    checkins: list[tuple[Any, ...]] = field(default_factory=list)
    health: list[HealthReading] = field(default_factory=list)
    """Self check-up readings (kiosk or staff), stored with the alarms they raise."""
    dead_letters: list[DeadLetter] = field(default_factory=list)
    devices: dict[str, DeviceSeen] = field(default_factory=dict)
    alarms: list[NewAlarm] = field(default_factory=list)
    cancels: list[AlarmCancel] = field(default_factory=list)
    marks: list[AlarmMark] = field(default_factory=list)
    restored: list[DeviceRestored] = field(default_factory=list)
    falls_opened: list[PendingFall] = field(default_factory=list)
    falls_closed: list[FallOutcome] = field(default_factory=list)
    acks: list[tuple[str, str]] = field(default_factory=list)
    """(command id, status) answers from devices and gateways."""
    tickets: list[NewTicket] = field(default_factory=list)
    """Service tickets opened by a button's service press: never alarms, never incidents."""
    wirings: list[GatewayWiring] = field(default_factory=list)
    """Gateways' lists of the devices they speak for, in the order they came."""

    def __len__(self) -> int:
        return (len(self.events) + len(self.telemetry) + len(self.locations) + len(self.checkins)
                + len(self.dead_letters) + len(self.alarms) + len(self.cancels)
                + len(self.marks) + len(self.restored)
                + len(self.tickets) + len(self.health) + len(self.wirings))


@dataclass(frozen=True, slots=True)
class Written:
    new_alarm_ids: list[int]
    changed_alarm_ids: list[int]
    new_events: int
    new_incident_ids: list[int] = field(default_factory=list)
    new_ticket_ids: list[int] = field(default_factory=list)


OnTicket = Callable[[psycopg.AsyncConnection[Any], int], Awaitable[object]]
"""Called inside the batch's transaction for each service ticket opened (alerts/ passes the
router). It runs in a savepoint: if it fails, the ticket stays open and unrouted and everything
else in the batch, alarms first, is still written."""

OnOpened = Callable[[psycopg.AsyncConnection[Any], int, NewAlarm], Awaitable[object]]
"""Called inside the batch's transaction for each incident an alarm opened (alerts/ passes the
notification enqueuer, so an incident and its notifications commit together). ``on_joined``
is called so for each alarm that joined an incident already open."""


async def write(conn: psycopg.AsyncConnection[Any], batch: Batch, *,
                on_opened: OnOpened | None = None, on_ticket: OnTicket | None = None,
                on_joined: OnOpened | None = None) -> Written:
    """Write ``batch`` in one transaction. Idempotent: a replayed batch changes nothing.

    Call it on a connection with no transaction open, so that returning means committed: ingest
    acknowledges the batch's messages to the broker right after."""
    new_ids: list[int] = []
    changed: list[int] = []
    new_incidents: list[int] = []
    changed_incidents: list[int] = []
    new_tickets: list[int] = []
    new_events = 0
    async with conn.transaction(), conn.cursor() as cur:
        if batch.events:
            await cur.executemany(
                "INSERT INTO events (device_id, seq, ts, type, detail) VALUES (%s, %s, %s, %s, %s)"
                " ON CONFLICT (device_id, seq) DO NOTHING",
                batch.events,
            )
            new_events = max(cur.rowcount, 0)
        for table, columns, rows in (
            ("telemetry", _TELEMETRY, batch.telemetry),
            ("locations", _LOCATIONS, batch.locations),
            ("checkins", _CHECKINS, batch.checkins),
        ):
            if len(rows) >= COPY_FROM:
                await _copy_new(cur, table, columns, rows)
            elif rows:
                marks = ", ".join(["%s"] * len(rows[0]))
                await cur.executemany(
                    f"INSERT INTO {table} ({columns}) VALUES ({marks}) ON CONFLICT DO NOTHING",
                    rows,
                )
        if batch.health:
            await cur.executemany(INSERT_READINGS, [r.row() for r in batch.health])
        if batch.dead_letters:
            await cur.executemany(
                "INSERT INTO dead_letters (topic, payload, code, reason, device_id)"
                " VALUES (%s, %s, %s, %s, %s)",
                [(d.topic, d.payload, d.code, d.reason, d.device_id) for d in batch.dead_letters],
            )
        if batch.devices:
            await cur.executemany(
                "UPDATE devices SET"
                " last_seen = GREATEST(last_seen, %(seen)s),"
                " battery = COALESCE(%(battery)s, battery),"
                " last_checkin = CASE WHEN %(checkin)s"
                "   THEN GREATEST(last_checkin, %(seen)s) ELSE last_checkin END,"
                " online = COALESCE(%(online)s, online),"
                " clock_offset_s = CASE WHEN %(seen)s >= last_seen OR last_seen IS NULL"
                "   THEN %(offset)s ELSE clock_offset_s END"
                " WHERE id = %(id)s",
                [
                    {"id": dev, "seen": s.last_seen, "battery": s.battery, "checkin": s.checkin,
                     "online": s.online, "offset": s.clock_offset_s}
                    for dev, s in batch.devices.items()
                ],
            )
        for wiring in batch.wirings:
            await _wire(cur, wiring)
        if batch.locations:
            # Alarms stored before their device's fix arrived: give them the fix now.
            stamps = [row[2] for row in batch.locations]
            await cur.execute(_LATE_FIXES, {
                "devices": sorted({row[0] for row in batch.locations}), "first": min(stamps),
                "last": max(stamps), "window": LOCATION_WINDOW, "skew": LOCATION_SKEW})
            changed += [int(r["id"] if isinstance(r, dict) else r[0]) for r in await cur.fetchall()]
        # Alarms after the locations: a fix that came in the same batch is seen by the look-up.
        for alarm in batch.alarms:
            alarm_id = await _insert_alarm(conn, cur, alarm)
            if alarm_id is None:
                again = await _reused(cur, alarm)
                if again is None:
                    continue  # already raised by an earlier delivery of the same message
                alarm = again
                alarm_id = await _insert_alarm(conn, cur, alarm)
                if alarm_id is None:
                    continue  # the reused seq's alarm, raised by an earlier delivery
            new_ids.append(alarm_id)
            if alarm.incident is not None:
                incident_id, opened = await join_incident(cur, alarm_id, alarm, alarm.incident)
                (new_incidents if opened else changed_incidents).append(incident_id)
                if opened and on_opened is not None:
                    await on_opened(conn, incident_id, alarm)
                elif not opened and on_joined is not None:
                    await on_joined(conn, incident_id, alarm)
            if alarm.snippet is not None:
                hz, t0, samples = alarm.snippet
                await cur.execute(
                    "INSERT INTO alarm_snippets (alarm_id, hz, t0, samples) VALUES (%s, %s, %s, %s)",
                    (alarm_id, hz, t0, samples),
                )
        for cancel in batch.cancels:
            await cur.execute(
                "UPDATE alarms SET details = details || jsonb_build_object('cancelled_at', %s::text)"
                " WHERE id = (SELECT id FROM alarms WHERE device_id = %s AND status = 'new'"
                "   AND occurred_at BETWEEN %s AND %s AND NOT details ? 'cancelled_at'"
                "   ORDER BY occurred_at DESC LIMIT 1)"
                " RETURNING id",
                (cancel.cancelled_at.isoformat(), cancel.device_id,
                 cancel.cancelled_at - cancel.within, cancel.cancelled_at),
            )
            row = await cur.fetchone()
            if row is not None:
                changed.append(int(row["id"] if isinstance(row, dict) else row[0]))
        for mark in batch.marks:
            whose = "resident_id = %(resident)s" if mark.resident_id else "site_id = %(site)s"
            await cur.execute(
                "UPDATE alarms SET details = details"
                "   || jsonb_build_object(%(mark)s::text, %(iso)s::text)"
                f" WHERE id = (SELECT id FROM alarms WHERE {whose}"
                "   AND kind = %(kind)s AND status IN ('new', 'acknowledged')"
                "   AND occurred_at <= %(at)s AND NOT details ? %(mark)s"
                "   AND (%(only_if)s::text IS NULL OR details ? %(only_if)s)"
                "   ORDER BY occurred_at DESC LIMIT 1)"
                " RETURNING id",
                {"mark": mark.mark, "iso": mark.at.isoformat(), "resident": mark.resident_id,
                 "site": mark.site_id, "kind": mark.kind, "at": mark.at, "only_if": mark.only_if})
            row = await cur.fetchone()
            if row is not None:
                changed.append(int(row["id"] if isinstance(row, dict) else row[0]))
        for restored in batch.restored:
            cleared = await _clear_maintenance(cur, restored)
            if cleared is not None:
                incident_id, alarm_ids = cleared
                changed_incidents.append(incident_id)
                changed.extend(alarm_ids)
        for fall in batch.falls_opened:
            await cur.execute(
                "INSERT INTO pending_falls (device_id, source_seq, impact_at, deadline, finding)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (device_id) DO NOTHING",
                (fall.device_id, fall.source_seq, fall.impact_at, fall.deadline,
                 Jsonb(fall.finding)))
        for closed in batch.falls_closed:
            await cur.execute("DELETE FROM pending_falls WHERE device_id = %s", (closed.device_id,))
            await cur.execute(
                "INSERT INTO fall_log (device_id, impact_at, outcome, resolved_at, evidence)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (device_id, impact_at) DO NOTHING",
                (closed.device_id, closed.impact_at, closed.outcome, closed.resolved_at,
                 Jsonb(closed.evidence)))
        for command_id, status in batch.acks:
            await cur.execute(
                "UPDATE commands SET status = %s, answered_at = now() WHERE id = %s"
                " AND status IN ('pending', 'published', 'sent', 'timed_out') RETURNING id",
                (status, command_id))
            if await cur.fetchone() is not None:
                await cur.execute("SELECT pg_notify(%s, %s)", (ALARM_CHANNEL, json.dumps(
                    {"id": command_id, "op": "update", "type": "command"})))
        for ticket in batch.tickets:
            ticket_id = await store_tickets.insert(conn, ticket)
            if ticket_id is None:
                continue  # already opened by an earlier delivery of the same press
            new_tickets.append(ticket_id)
            if on_ticket is not None:
                await _guarded(conn, on_ticket, ticket_id)
        for alarm_id in new_ids:
            await cur.execute("SELECT pg_notify(%s, %s)",
                              (ALARM_CHANNEL, json.dumps({"id": alarm_id, "op": "new"})))
        for alarm_id in changed:
            await cur.execute("SELECT pg_notify(%s, %s)",
                              (ALARM_CHANNEL, json.dumps({"id": alarm_id, "op": "update"})))
        for incident_id in new_incidents + changed_incidents:
            await notify_incident(cur, incident_id)
    return Written(new_alarm_ids=new_ids, changed_alarm_ids=changed, new_events=new_events,
                   new_incident_ids=new_incidents, new_ticket_ids=new_tickets)


_CLEAR = (
    "WITH item AS (SELECT id, status FROM incidents i WHERE correlation_key = %(key)s"
    "   AND status <> 'resolved' AND last_alarm_at <= %(at)s"
    "   AND NOT EXISTS (SELECT 1 FROM alarms a WHERE a.incident_id = i.id"
    "     AND coalesce(a.details ->> 'problem', '') <> ALL(%(clearing)s)"
    "     AND NOT (%(fresh)s AND a.details ->> 'event' = 'battery_low')"
    "     AND coalesce(a.details ->> 'event', '') <> ALL(%(over)s))"
    "   FOR UPDATE),"
    " resolved AS (UPDATE incidents i SET status = 'resolved', resolved_at = now(),"
    "   outcome = 'self_cleared', next_timer_at = NULL"
    "   FROM item WHERE i.id = item.id AND item.status = 'new' RETURNING i.id)"
    " SELECT item.id, item.status, (SELECT count(*) FROM resolved) > 0 AS resolved FROM item")


async def _clear_maintenance(cur: psycopg.AsyncCursor[Any], restored: DeviceRestored
                             ) -> tuple[int, list[int]] | None:
    """Resolve or annotate the device's open maintenance item (:class:`DeviceRestored`): the
    incident and its alarms that changed, or None if it had none to clear."""
    key = (f"area_outage:{restored.area}" if restored.area
           else f"maintenance:{restored.device_id}")
    await cur.execute(_CLEAR, {"key": key, "at": restored.at,
                               "clearing": ["area_outage"] if restored.area else list(SELF_CLEARING),
                               "fresh": restored.fresh_battery, "over": list(restored.over)})
    row = await cur.fetchone()
    if row is None:
        return None
    incident_id, status, resolved = ((row["id"], row["status"], row["resolved"])
                                     if isinstance(row, dict) else row)
    details = {"device_id": restored.device_id, "at": restored.at.isoformat(),
               "detail": restored.detail}
    await cur.execute(
        "INSERT INTO incident_timeline (incident_id, at, actor, action, from_status, to_status,"
        " details) VALUES (%s, now(), 'system', %s, %s, %s, %s)",
        (incident_id, "self_cleared" if resolved else "healthy_again", status,
         "resolved" if resolved else status, Jsonb(details)))
    if not resolved:
        return int(incident_id), []
    await cur.execute(
        "UPDATE alarms SET status = 'resolved' WHERE incident_id = %s AND status = 'new'"
        " RETURNING id", (incident_id,))
    return int(incident_id), [int(r["id"] if isinstance(r, dict) else r[0])
                              for r in await cur.fetchall()]


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenItem:
    """A device's maintenance item the store holds open (:func:`open_items`): what device
    health must see over before the item may close itself."""

    device_id: str
    low: bool
    """It holds a low battery (device health's finding, or the device's own event)."""
    said_low: bool
    """It holds the device's own "battery low"."""
    said: tuple[str, ...]
    """The faults and tampers the device said of itself in it."""


async def _wire(cur: psycopg.AsyncCursor[Any], wiring: GatewayWiring) -> None:
    """Record a gateway's list of its devices (:class:`GatewayWiring`). The registry's trigger
    tells a running ingest (migration 0034), which re-reads who goes through which gateway."""
    listed = sorted(set(wiring.devices) - {wiring.gateway})
    await cur.execute("SELECT id, site_id, coalesce(via, '') FROM devices"
                      " WHERE (id = ANY(%s) OR via = %s) AND retired_at IS NULL",
                      (listed, wiring.gateway))
    rows = [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in await cur.fetchall()]
    site_of = {str(r[0]): str(r[1]) for r in rows}
    via = {str(r[0]): str(r[2]) for r in rows}
    ours = [d for d in listed if site_of.get(d) == wiring.site_id]
    if any(via[d] != wiring.gateway for d in ours) or any(
            v == wiring.gateway and d not in ours for d, v in via.items()):
        # only a change is written: the registry's trigger then tells every ingest to re-read
        # it all, and a gateway says "online" at every reconnect
        await cur.execute(registry.WIRE, {"gateway": wiring.gateway, "listed": ours})
        await cur.execute(registry.RELEASE, {"gateway": wiring.gateway, "listed": ours})
    unknown = [d for d in listed if d not in site_of]
    elsewhere = [d for d in listed if d in site_of and d not in ours]
    if unknown or elsewhere:
        said = "; ".join(part for part in (
            f"not registered (or retired): {', '.join(unknown)}" if unknown else "",
            f"registered at another site: {', '.join(elsewhere)}" if elsewhere else "") if part)
        log.warning("gateway %s lists devices it cannot speak for: %s", wiring.gateway, said)
        await cur.execute(
            "INSERT INTO dead_letters (topic, payload, code, reason, device_id)"
            " VALUES (%s, %s, %s, %s, %s)",
            (wiring.topic, wiring.payload, "not_its_devices",
             f"gateway {wiring.gateway!r} lists devices it cannot speak for ({said}); the"
             f" {len(ours)} others of its site are recorded as going through it",
             wiring.gateway))


async def open_items(conn: psycopg.AsyncConnection[Any]) -> list[OpenItem]:
    """Every device's open maintenance item, for device health at ingest's start
    (``DeviceHealthDetector.still_open``): an item stays open only while something in it is
    not over, whatever the detectors' snapshot remembers."""
    cur = await conn.execute(
        "SELECT i.correlation_key AS key,"
        " coalesce(bool_or(a.details ->> 'problem' = 'low_battery'"
        "   OR a.details ->> 'event' = 'battery_low'), false) AS low,"
        " coalesce(bool_or(a.details ->> 'event' = 'battery_low'), false) AS said_low,"
        " coalesce(array_agg(DISTINCT a.details ->> 'event')"
        "   FILTER (WHERE a.details ->> 'event' IN ('fault', 'tamper')), '{}') AS said"
        " FROM incidents i JOIN alarms a ON a.incident_id = i.id"
        " WHERE i.correlation_key LIKE 'maintenance:%' AND i.status <> 'resolved'"
        # one somebody has taken, already noted healthy again since its latest alarm, is
        # theirs: a restart must not note it again
        "   AND NOT EXISTS (SELECT 1 FROM incident_timeline t WHERE t.incident_id = i.id"
        "     AND t.action = 'healthy_again' AND t.at >= i.last_alarm_at)"
        " GROUP BY i.correlation_key")
    found = []
    for raw in await cur.fetchall():
        row: dict[str, Any] = dict(raw)
        found.append(OpenItem(device_id=row["key"].removeprefix("maintenance:"), low=row["low"],
                              said_low=row["said_low"], said=tuple(row["said"])))
    return found


LOCATION_WINDOW = dt.timedelta(hours=24)
"""How old a fix may be and still ride on an alarm: an elder can be anywhere a day later."""
LOCATION_SKEW = dt.timedelta(seconds=60)
"""A fix stamped up to this long after the alarm still counts: a watch sends its SOS and its next
fix together, and the fix can carry the later timestamp."""

_INSERT_ALARM = (
    "INSERT INTO alarms (kind, priority, device_id, site_id, resident_id, room_id, source_seq,"
    " occurred_at, details) VALUES (%(kind)s, %(priority)s, %(device_id)s, %(site_id)s,"
    " %(resident_id)s, %(room_id)s, %(source_seq)s, %(occurred_at)s, {details})"
    " ON CONFLICT (device_id, source_seq, kind) DO NOTHING RETURNING id")

# The newest fix of a device in a span: one backward scan of the newest partitions' primary key
# (device_id, ts, seq); the lower bound on ts prunes every older partition.
_LAST_FIX = (
    "SELECT jsonb_build_object("
    "'lat', l.lat, 'lon', l.lon, 'acc_m', l.acc, 'source', l.source,"
    " 'at', to_char(l.ts AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'))"
    " FROM locations l WHERE l.device_id = {device} AND l.ts >= {since} AND l.ts <= {until}"
    " ORDER BY l.ts DESC, l.seq DESC LIMIT 1")
# The alarm's own details win over a key of the same name.
_WITH_LAST_LOCATION = _INSERT_ALARM.format(details=(
    "COALESCE((SELECT jsonb_build_object('last_location', x.fix) FROM ("
    + _LAST_FIX.format(device="%(device_id)s", since="%(fix_since)s", until="%(fix_until)s")
    + ") AS x(fix)), '{}') || %(details)s"))
# A fix that reaches the store after its alarm (the two travel on different ingest lanes, and a
# watch sends its SOS and its next fix together) is put on the alarms it belongs to.
_LATE_FIXES = (
    "UPDATE alarms a SET details = a.details || jsonb_build_object('last_location', f.fix)"
    " FROM (SELECT a2.id, ("
    + _LAST_FIX.format(device="a2.device_id", since="a2.occurred_at - %(window)s",
                       until="a2.occurred_at + %(skew)s")
    + ") AS fix FROM alarms a2 WHERE a2.device_id = ANY(%(devices)s)"
    "   AND a2.occurred_at >= %(first)s - %(skew)s AND a2.occurred_at <= %(last)s + %(window)s) f"
    " WHERE a.id = f.id AND f.fix IS NOT NULL"
    "   AND a.details -> 'last_location' IS DISTINCT FROM f.fix"
    " RETURNING a.id")
_WITHOUT_LOCATION = _INSERT_ALARM.format(details="%(details)s")


async def _reused(cur: psycopg.AsyncCursor[Any], alarm: NewAlarm) -> NewAlarm | None:
    """For an alarm whose key (device, seq, kind) is taken: None if the stored alarm is the same
    message delivered again (the same time, or, for one placed at its arrival, the same device
    time); else the alarm under a key of its own, since the device reused a seq for a new
    press (a counter gone back, against the contract) and the press must not be lost. The key
    is minus its time in ms (a device's seq is never negative), and its details say which seq
    was reused."""
    if alarm.source_seq < 0:
        return None  # a key of its own already
    await cur.execute("SELECT occurred_at, details -> 'device_clock_ts' AS said FROM alarms"
                      " WHERE device_id = %s AND source_seq = %s AND kind = %s",
                      (alarm.device_id, alarm.source_seq, alarm.kind))
    row = await cur.fetchone()
    if row is None:
        return None
    stored, said = (row["occurred_at"], row["said"]) if isinstance(row, dict) else row
    if stored == alarm.occurred_at or (
            said is not None and said == alarm.details.get("device_clock_ts")):
        return None
    log.warning("%s from %s reuses seq %d (stored at %s, this one at %s): raised under a key"
                " of its own", alarm.kind, alarm.device_id, alarm.source_seq, stored,
                alarm.occurred_at)
    return dataclasses.replace(
        alarm, source_seq=-round(alarm.occurred_at.timestamp() * 1000),
        details={**alarm.details, "seq_reused": alarm.source_seq})


async def _insert_alarm(conn: psycopg.AsyncConnection[Any], cur: psycopg.AsyncCursor[Any],
                        alarm: NewAlarm) -> int | None:
    """Insert the alarm with its device's newest fix of the day before it in ``details`` as
    ``last_location`` (lat, lon, acc_m, at, source); return its id, or None if it was raised
    already (the stored alarm is left exactly as it was).

    The look-up runs in a savepoint: if it fails (a lock timeout while a partition is dropped, a
    privilege missing on ``locations``), the alarm is inserted without the location, because an
    SOS without a position still has to reach an operator. Only a lost connection fails the
    batch, which is then retried whole."""
    params = {
        "kind": alarm.kind, "priority": alarm.priority, "device_id": alarm.device_id,
        "site_id": alarm.site_id, "resident_id": alarm.resident_id, "room_id": alarm.room_id,
        "source_seq": alarm.source_seq, "occurred_at": alarm.occurred_at,
        "details": Jsonb(alarm.details), "fix_since": alarm.occurred_at - LOCATION_WINDOW,
        "fix_until": alarm.occurred_at + LOCATION_SKEW,
    }
    try:
        async with conn.transaction():
            await cur.execute(_WITH_LAST_LOCATION, params)
            row = await cur.fetchone()
    except (psycopg.IntegrityError, psycopg.DataError):
        raise  # the alarm's own fault, not the look-up's: ingest handles it as before
    except psycopg.Error:
        if conn.closed or conn.broken:
            raise
        log.exception("looking up the last location for a %s alarm from %s failed;"
                      " storing the alarm without it", alarm.kind, alarm.device_id)
        await cur.execute(_WITHOUT_LOCATION, params)
        row = await cur.fetchone()
    return None if row is None else int(row["id"] if isinstance(row, dict) else row[0])


async def _guarded(conn: psycopg.AsyncConnection[Any], hook: OnTicket, ticket_id: int) -> None:
    """Routing a ticket must never cost the batch its alarms: a failure rolls back to a savepoint
    and leaves the ticket open (unrouted, for grid staff to assign); a lost connection still
    fails the batch, which is retried whole."""
    try:
        async with conn.transaction():
            await hook(conn, ticket_id)
    except (psycopg.OperationalError, psycopg.InterfaceError):
        raise
    except Exception:
        log.exception("routing service ticket %d failed; it stays unrouted", ticket_id)
