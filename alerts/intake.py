"""Is the alarm path working? The services' heartbeats (store/heartbeats.py) judged for the
console, which tells every operator, supervisor and care-home tablet when alarms or family
messages may not be getting through.

Telecare's worst failure is the silent one: a console that says "live" while no alarm can reach
it, because the ingest process died, hung, lost the broker or cannot write. Each process beats
every :data:`BEAT_EVERY_S` seconds with what each of its services is doing; a service is in
trouble when

- ``silent``: no beat for :data:`SILENT_AFTER_S` (the process died, hung, or cannot reach the
  database, which is where its alarms would go);
- ``stopped``: its task ended (a bug; the process is still up);
- ``disconnected``: an ingest lane has lost the broker;
- ``stalled``: an ingest lane has done no round of work for :data:`STALLED_AFTER_S` (it takes one
  every second even when no device speaks);
- ``quieter``: an ingest lane at work heard far fewer devices than usual in each of its three
  latest five-minute slots (ingest/activity.py): fewer than :data:`QUIET_SHARE` of the median
  of the same slot on the days before (up to seven), and so few that a Poisson count with that
  median would fall as low less than once in :data:`QUIET_P` (a small lane's ordinary ups and
  downs are no news). A broker ACL change or a carrier's outage that silences part of the
  district is seen in fifteen minutes, where each device's own "no check-in" takes an hour (a
  watch) or 37 h (a button). The slots are judged against the same time of day, so a district
  that takes its watches off at night is compared with its own nights; a lane with no history
  yet (its first day, or a new partitioning's names) is not judged;

and the path is broken when no alarm intake (``ingest-alarms``) has beaten at all. A service not
heard from for :data:`FORGET_AFTER_S` is taken as retired and no longer reported; so at once is
a partitioned worker (``…-wKofN``) of a partitioning that was replaced: when a role's workers
were restarted as ``wKofM`` (scaled up or down, or to one process), the ones beating for the
newest start are the role's workers and the others' silence or stop is not news.

>>> import datetime as dt
>>> now = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
>>> row = {"name": "ingest-alarms", "role": "ingest-alarms", "beat_at": now, "running": True,
...        "connected": False, "processed_at": now, "last_message_at": None}
>>> [(s.name, s.problem) for s in judge(now, [row]).troubled]
[('ingest-alarms', 'disconnected')]
>>> judge(now, []).troubled[0].problem
'none'
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from scipy.special import gammaincc

from ingest.activity import SLOT_S
from store import heartbeats

BEAT_EVERY_S = 5.0
SILENT_AFTER_S = 30.0
"""Six beats missed."""
STALLED_AFTER_S = 60.0
FORGET_AFTER_S = 24 * 3600.0
QUIET_SHARE = 0.6
QUIET_P = 1e-6
QUIET_SLOTS = heartbeats.ACTIVITY_SLOTS
"""Consecutive quiet slots before a lane is called quieter (15 min of five-minute slots)."""
_DAY = dt.timedelta(days=1)
ALARM_INTAKE = "ingest-alarms"
"""The role without which no press, fall or smoke alarm is taken in."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceState:
    name: str
    role: str
    problem: str | None
    """None, ``silent``, ``stopped``, ``disconnected``, ``stalled``; ``none`` for the alarm
    intake missing altogether."""
    since: dt.datetime | None
    """When the trouble began, as far as the heartbeats tell (the last good beat or round)."""
    beat_at: dt.datetime | None = None
    last_message_at: dt.datetime | None = None
    host: str | None = None
    """The machine and process it last beat from (for the engineer)."""
    devices: int | None = None
    """``quieter``: devices heard in the latest slot."""
    usual_devices: float | None = None
    """``quieter``: the median of the same slot on the days before."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Intake:
    services: tuple[ServiceState, ...]

    @property
    def troubled(self) -> tuple[ServiceState, ...]:
        return tuple(s for s in self.services if s.problem is not None)

    @property
    def ok(self) -> bool:
        return not self.troubled


def _problem(now: dt.datetime, row: Mapping[str, Any]) -> tuple[str | None, dt.datetime | None]:
    beat_at: dt.datetime = row["beat_at"]
    if (now - beat_at).total_seconds() > SILENT_AFTER_S:
        return "silent", beat_at
    if not row["running"]:
        return "stopped", beat_at
    if row.get("connected") is False:
        return "disconnected", beat_at
    processed = row.get("processed_at")
    if processed is None and row.get("connected") is not None:  # a lane yet to do any work
        processed = row.get("started_at")
    if processed is not None and (now - processed).total_seconds() > STALLED_AFTER_S:
        return "stalled", processed
    return None, None


_WORKER = re.compile(r"-w\d+of(\d+)$")


def _scheme(row: Mapping[str, Any]) -> int:
    """How many workers share the row's role (1: not partitioned), from its name."""
    found = _WORKER.search(row["name"])
    return int(found.group(1)) if found else 1


def _replaced(now: dt.datetime, rows: Sequence[Mapping[str, Any]]) -> set[str]:
    """Names of workers whose partitioning was replaced: for each role, the scheme of the
    newest start among the workers heard from lately is the role's current one."""
    current: dict[str, tuple[dt.datetime, int]] = {}
    for row in rows:
        if (now - row["beat_at"]).total_seconds() <= SILENT_AFTER_S and row.get("started_at"):
            known = current.get(row["role"])
            if known is None or row["started_at"] > known[0]:
                current[row["role"]] = (row["started_at"], _scheme(row))
    return {row["name"] for row in rows
            if row["role"] in current and _scheme(row) != current[row["role"]][1]}


@dataclass(frozen=True, slots=True, kw_only=True)
class Quieter:
    devices: int
    usual: float
    since: dt.datetime


def _quiet(devices: int, usual: float) -> bool:
    # the Poisson lower tail P(X <= devices) for mean ``usual`` is Q(devices + 1, usual)
    return devices < QUIET_SHARE * usual and float(gammaincc(devices + 1, usual)) < QUIET_P


def quieter(activity: Iterable[Mapping[str, Any]],
            slot: dt.timedelta = dt.timedelta(seconds=SLOT_S)) -> dict[str, Quieter]:
    """The lanes whose :data:`QUIET_SLOTS` latest slots were all quiet, from
    store.heartbeats.read_activity's rows (lane, slot_start, devices)."""
    by_lane: dict[str, dict[dt.datetime, int]] = {}
    for row in activity:
        by_lane.setdefault(row["lane"], {})[row["slot_start"]] = row["devices"]
    found = {}
    for lane, slots in by_lane.items():
        latest = max(slots)
        judged = []
        for start in (latest - back * slot for back in range(QUIET_SLOTS - 1, -1, -1)):
            usual = [slots[day] for k in range(1, heartbeats.ACTIVITY_DAYS + 1)
                     if (day := start - k * _DAY) in slots]
            if start not in slots or not usual:
                break
            judged.append((slots[start], float(statistics.median(usual))))
        if len(judged) == QUIET_SLOTS and all(_quiet(n, usual) for n, usual in judged):
            found[lane] = Quieter(devices=judged[-1][0], usual=judged[-1][1],
                                  since=latest - (QUIET_SLOTS - 1) * slot)
    return found


def judge(now: dt.datetime, rows: Iterable[Mapping[str, Any]],
          activity: Iterable[Mapping[str, Any]] = ()) -> Intake:
    """Each service's state at ``now`` (the database's clock, as the beats are), and with
    ``activity`` (store.heartbeats.read_activity) whether a lane at work hears fewer devices
    than usual."""
    rows = list(rows)
    quiet = quieter(activity)
    replaced = _replaced(now, rows)
    states = []
    for row in rows:
        if (now - row["beat_at"]).total_seconds() > FORGET_AFTER_S or row["name"] in replaced:
            continue
        problem, since = _problem(now, row)
        hush = quiet.get(row["name"]) if problem is None else None
        if hush is not None:
            problem, since = "quieter", hush.since
        states.append(ServiceState(name=row["name"], role=row["role"], problem=problem,
                                   since=since, beat_at=row["beat_at"],
                                   last_message_at=row.get("last_message_at"),
                                   host=row.get("host"),
                                   devices=None if hush is None else hush.devices,
                                   usual_devices=None if hush is None else hush.usual))
    if not any(s.role == ALARM_INTAKE for s in states):
        states.insert(0, ServiceState(name=ALARM_INTAKE, role=ALARM_INTAKE, problem="none",
                                      since=None))
    return Intake(services=tuple(states))


async def look(conn: AsyncConnection[Any]) -> tuple[dt.datetime, Intake]:
    """The database's now and the alarm path's state, from the beats and the lanes' activity."""
    now, rows = await heartbeats.read(conn)
    activity = await heartbeats.read_activity(conn, dt.timedelta(seconds=SLOT_S))
    return now, judge(now, rows, activity)
