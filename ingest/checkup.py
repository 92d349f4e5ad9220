"""Self check-ups from kiosks: whose they are, whether this kiosk serves them, what they raise.

A ``checkup`` message names the resident (the kiosk read the elder's card) and carries readings.
Ingest accepts it only for a resident the device serves:

* a **kiosk** serves the residents of its site's community (a resident whose grid node lies in
  the subtree of the kiosk site's node: a community kiosk takes the cards of its community's
  elders, whichever home or day-care centre they are registered at) and the residents registered
  at its own site; a kiosk whose site is not placed in the grid serves only its own site;
* any **other device bound to a resident** (a home blood-pressure meter) serves that resident
  only, and its readings are stored as ``self`` measurements.

Anything else is dead-lettered: ``unknown_resident`` (no such resident) or ``not_served`` (with
the rule it broke). Accepted readings are judged by ``alerts.checkups.plan`` (the same code the
console runs for staff entries) against the resident's last check-ups **read from PostgreSQL**,
not kept in memory: check-ups are a few a day per resident, staff enter them in another process,
and the database then holds the one history both judge against. Readings and alarms go into the
message's own part of the batch, so they commit with its acknowledgement; a redelivered message
hits the unique keys of both and stores nothing new. Two check-ups of one resident in the same
batch do not see each other in their history (the first is not stored yet): at kiosk rates that
is seconds of difference once in a long while, and only for the baseline.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging

import msgspec
import psycopg
from psycopg_pool import AsyncConnectionPool

from alerts import checkups
from detection.checkup import BaselineConfig
from ingest.codec import Envelope
from ingest.contract import Checkup
from ingest.mqtt import Incoming
from store import health
from store.batch import Batch, DeadLetter
from store.health import CheckupContext
from store.registry import DeviceRef

log = logging.getLogger(__name__)

BASELINE = BaselineConfig()


def refusal(device: DeviceRef, kiosk_node: str | None,
            resident: CheckupContext) -> str | None:
    """Why ``device`` may not take a check-up for ``resident`` (None: it may)."""
    if device.kind == "kiosk":
        if resident.site_id == device.site_id:
            return None
        if kiosk_node is None:
            return (f"kiosk {device.id} at {device.site_id} is not placed in the grid: it serves"
                    f" only residents of {device.site_id}")
        if kiosk_node in resident.node_path:
            return None
        return (f"resident {resident.resident_id} is not in {kiosk_node}, the community served"
                f" by kiosk {device.id}")
    if device.resident_id is None or device.kind == "staff_entry":
        return f"device {device.id} ({device.kind}) does not take check-ups"
    if device.resident_id != resident.resident_id:
        return f"device {device.id} belongs to another resident"
    return None


class CheckupStage:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def _look_up(self, device: DeviceRef, body: Checkup, at: dt.datetime
                       ) -> tuple[CheckupContext | None, str | None, dict[str, list[float]]]:
        delay = 0.2
        while True:  # while the database is away, wait for it as a write does
            try:
                async with self._pool.connection() as conn:
                    resident = await health.checkup_context(conn, body.resident)
                    if resident is None:
                        return None, None, {}
                    node = await health.site_node(conn, device.site_id)
                    past = await health.history(conn, body.resident, _kinds(body), before=at,
                                                per_kind=BASELINE.history)
                    return resident, node, past
            except (psycopg.OperationalError, psycopg.InterfaceError) as err:
                log.warning("database unavailable for a check-up look-up (%s); retrying", err)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def take(self, item: Incoming, env: Envelope, device: DeviceRef, part: Batch, *,
                   now: float) -> bool:
        """Add the check-up's readings and alarms to ``part``, or its dead letter (False)."""
        body = env.body
        assert isinstance(body, Checkup)
        at = dt.datetime.fromtimestamp(env.ts, dt.UTC)
        resident, kiosk_node, past = await self._look_up(device, body, at)

        def dead(code: str, reason: str) -> bool:
            part.dead_letters.append(DeadLetter(topic=item.topic, payload=item.payload, code=code,
                                                reason=reason, device_id=env.device))
            return False

        if resident is None:
            return dead("unknown_resident", f"no resident {body.resident!r} in the register")
        reason = refusal(device, kiosk_node, resident)
        if reason is not None:
            return dead("not_served", reason)
        placed = dataclasses.replace(device, resident_id=resident.resident_id,
                                     resident_routing=resident.routing)
        plan = checkups.plan(readings=_values(body), at=env.ts, history=past,
                             overrides=resident.bounds, device=placed,
                             source="kiosk" if device.kind == "kiosk" else "self",
                             source_seq=env.seq, row_device=device.id, now=now)
        part.health += plan.rows
        part.alarms += plan.alarms
        return True


def _values(body: Checkup) -> dict[str, float]:
    given = msgspec.structs.asdict(body.readings)
    return {kind: float(value) for kind, value in given.items() if value is not None}


def _kinds(body: Checkup) -> list[str]:
    return list(_values(body))
