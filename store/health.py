"""The health record (issue 9): register fields, self check-up readings, wearable day summaries.

Check-up readings are written by :func:`store.batch.write` (``Batch.health``), in the same
transaction as the alarms they raise, for a kiosk's message and a staff entry alike. What is here
reads them back, gives a check-up its context (the resident, their own limits, their recent
readings) and changes the record. Callers write the audit trail with :func:`audit`; a record
update writes it itself, in the update's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from store.errors import Conflict, NotFound
from store.registry import DeviceRef

RECORD_FIELDS = ("conditions", "medications", "allergies", "mobility", "blood_type", "doctor",
                 "doctor_phone", "care_setting", "needs", "checkup_bounds")
"""What a record update may change; identity, site and node change through a move."""
HISTORY_DAYS = 180
"""Check-ups older than this do not form the own baseline: half a year is about what a
clinician compares against, and an elder's usual values change over longer spans."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthReading:
    """One measurement of a check-up, as stored (``finding`` None: normal)."""

    resident_id: str
    at: dt.datetime
    kind: str
    value: float
    unit: str
    source: str  # kiosk, staff, self
    device_id: str | None
    source_seq: int
    entered_by: str = ""
    finding: str | None = None

    def row(self) -> tuple[Any, ...]:
        return (self.resident_id, self.at, self.kind, self.value, self.unit, self.source,
                self.device_id, self.source_seq, self.entered_by, self.finding is not None,
                self.finding)


INSERT_READINGS = (
    "INSERT INTO health_readings (resident_id, at, kind, value, unit, source, device_id,"
    " source_seq, entered_by, abnormal, finding) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (device_id, source_seq, kind) DO NOTHING")


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckupContext:
    """What judging and placing a check-up needs to know about its resident."""

    resident_id: str
    site_id: str
    room_id: str | None
    node_path: tuple[str, ...]
    routing: dict[str, Any] | None
    bounds: dict[str, Any]
    site_kind: str
    site_routing: dict[str, Any] | None
    site_lat: float | None
    site_lon: float | None
    site_tz: str
    floor: int | None

    def source(self, device_id: str) -> DeviceRef:
        """The staff-entry source of the resident's site, as alarms are placed by devices."""
        return DeviceRef(id=device_id, site_id=self.site_id, kind="staff_entry",
                         resident_id=self.resident_id, room_id=self.room_id,
                         site_kind=self.site_kind, floor=self.floor,
                         site_routing=self.site_routing, resident_routing=self.routing,
                         site_lat=self.site_lat, site_lon=self.site_lon, site_tz=self.site_tz)


async def _rows(conn: psycopg.AsyncConnection[Any], query: str,
                args: Any = None) -> list[dict[str, Any]]:
    return [dict(r) for r in await (await conn.execute(query, args)).fetchall()]


async def checkup_context(conn: psycopg.AsyncConnection[Any],
                          resident_id: str) -> CheckupContext | None:
    rows = await _rows(
        conn,
        "SELECT p.id, p.site_id, p.room_id, coalesce(n.path, '{}') AS node_path, p.routing,"
        " p.checkup_bounds, s.kind AS site_kind, s.routing AS site_routing, s.lat, s.lon, s.tz,"
        " rm.floor FROM residents p JOIN sites s ON s.id = p.site_id"
        " LEFT JOIN org_nodes n ON n.id = p.node_id LEFT JOIN rooms rm ON rm.id = p.room_id"
        " WHERE p.id = %s", (resident_id,))
    if not rows:
        return None
    r = rows[0]
    return CheckupContext(resident_id=r["id"], site_id=r["site_id"], room_id=r["room_id"],
                          node_path=tuple(r["node_path"]), routing=r["routing"],
                          bounds=dict(r["checkup_bounds"] or {}), site_kind=r["site_kind"],
                          site_routing=r["site_routing"], site_lat=r["lat"], site_lon=r["lon"],
                          site_tz=r["tz"], floor=r["floor"])


async def site_node(conn: psycopg.AsyncConnection[Any], site_id: str) -> str | None:
    """The community a site sits in (None: not placed in the grid)."""
    rows = await _rows(conn, "SELECT node_id FROM sites WHERE id = %s", (site_id,))
    return None if not rows else rows[0]["node_id"]


async def history(conn: psycopg.AsyncConnection[Any], resident_id: str, kinds: Sequence[str], *,
                  before: dt.datetime, per_kind: int) -> dict[str, list[float]]:
    """The values of the resident's last ``per_kind`` check-ups of each kind measured before
    ``before`` (so a redelivered message never counts itself), oldest first."""
    rows = await _rows(
        conn,
        "SELECT kind, value FROM (SELECT kind, value, at, id, row_number() OVER"
        "   (PARTITION BY kind ORDER BY at DESC, id DESC) AS n FROM health_readings"
        "   WHERE resident_id = %s AND kind = ANY(%s) AND at < %s AND at >= %s) recent"
        " WHERE n <= %s ORDER BY kind, at, id",
        (resident_id, list(kinds), before, before - dt.timedelta(days=HISTORY_DAYS), per_kind))
    found: dict[str, list[float]] = {}
    for row in rows:
        found.setdefault(row["kind"], []).append(float(row["value"]))
    return found


async def readings(conn: psycopg.AsyncConnection[Any], resident_id: str,
                   since: dt.datetime) -> list[dict[str, Any]]:
    return await _rows(
        conn,
        "SELECT at, kind, value, unit, source, device_id, entered_by, abnormal, finding"
        " FROM health_readings WHERE resident_id = %s AND at >= %s ORDER BY kind, at, id"
        " LIMIT 10000", (resident_id, since))


async def wearable_days(conn: psycopg.AsyncConnection[Any], resident_id: str, since: dt.datetime,
                        tz: str) -> list[dict[str, Any]]:
    """Per local day: min, median and max of heart rate and SpO2 from the resident's wearables
    (readings taken off the wrist left out)."""
    return await _rows(
        conn,
        "SELECT (t.ts AT TIME ZONE %(tz)s)::date AS day,"
        " min(t.hr) AS hr_min, percentile_cont(0.5) WITHIN GROUP (ORDER BY t.hr) AS hr_median,"
        " max(t.hr) AS hr_max, count(t.hr) AS hr_n,"
        " min(t.spo2) AS spo2_min,"
        " percentile_cont(0.5) WITHIN GROUP (ORDER BY t.spo2) AS spo2_median,"
        " max(t.spo2) AS spo2_max, count(t.spo2) AS spo2_n"
        " FROM telemetry t JOIN devices d ON d.id = t.device_id"
        " WHERE d.resident_id = %(resident)s AND t.ts >= %(since)s AND t.worn IS NOT FALSE"
        " AND (t.hr IS NOT NULL OR t.spo2 IS NOT NULL)"
        " GROUP BY 1 ORDER BY 1",
        {"tz": tz, "resident": resident_id, "since": since})


async def record(conn: psycopg.AsyncConnection[Any], resident_id: str) -> dict[str, Any]:
    rows = await _rows(
        conn,
        "SELECT p.id, p.name, p.birth_year, p.sex, p.site_id, p.node_id, p.care_setting, p.needs,"
        " p.conditions, p.medications, p.allergies, p.mobility, p.blood_type, p.doctor,"
        " p.doctor_phone, p.checkup_bounds, s.tz FROM residents p"
        " JOIN sites s ON s.id = p.site_id WHERE p.id = %s", (resident_id,))
    if not rows:
        raise NotFound(f"no resident {resident_id}")
    return rows[0]


async def audit(conn: psycopg.AsyncConnection[Any], *, actor: str, action: str, target: str,
                details: Mapping[str, Any]) -> None:
    await conn.execute("INSERT INTO audit (actor, action, target, details) VALUES (%s, %s, %s, %s)",
                       (actor, action, target, Jsonb(dict(details))))


async def update_record(conn: psycopg.AsyncConnection[Any], resident_id: str,
                        changes: Mapping[str, Any], *, actor: str) -> list[str]:
    """Change the record's fields in ``changes`` and audit it (``update_health_record`` with the
    names of the fields that changed, never their values), in one transaction. Returns those
    names; a field sent with the value it already had is neither written nor audited."""
    names = sorted(changes)
    unknown = set(names) - set(RECORD_FIELDS)
    if unknown:
        raise ValueError(f"not record fields: {sorted(unknown)}")
    if not names:
        return []
    async with conn.transaction():
        cur = await conn.execute(
            sql.SQL("SELECT {} FROM residents WHERE id = %s FOR UPDATE").format(
                sql.SQL(", ").join(map(sql.Identifier, names))), (resident_id,))
        row = await cur.fetchone()
        if row is None:
            raise NotFound(f"no resident {resident_id}")
        before = dict(row) if isinstance(row, dict) else dict(zip(names, row, strict=True))
        changed = [k for k in names if before[k] != changes[k]]
        if changed:
            values = {k: Jsonb(changes[k]) if k == "checkup_bounds" else changes[k]
                      for k in changed}
            await conn.execute(
                sql.SQL("UPDATE residents SET {} WHERE id = {}").format(
                    sql.SQL(", ").join(sql.SQL("{} = {}").format(sql.Identifier(k),
                                                                  sql.Placeholder(k))
                                       for k in changed),
                    sql.Placeholder("resident_id")),
                {**values, "resident_id": resident_id})
            await audit(conn, actor=actor, action="update_health_record",
                        target=f"resident:{resident_id}", details={"fields": changed})
    return changed


async def staff_source(conn: psycopg.AsyncConnection[Any], site_id: str) -> str:
    """The id of the site's staff-entry source (migration 0011), created on first use, retired
    from birth so it is never taken for hardware."""
    device_id = f"entry-{site_id}"
    await conn.execute(
        "INSERT INTO devices (id, site_id, kind, model, retired_at)"
        " VALUES (%s, %s, 'staff_entry', 'console staff entry', now()) ON CONFLICT (id) DO NOTHING",
        (device_id, site_id))
    rows = await _rows(conn, "SELECT site_id, kind FROM devices WHERE id = %s", (device_id,))
    if rows[0]["kind"] != "staff_entry" or rows[0]["site_id"] != site_id:
        raise Conflict(f"device {device_id} exists and is not {site_id}'s staff-entry source")
    return device_id


async def next_staff_seq(conn: psycopg.AsyncConnection[Any]) -> int:
    rows = await _rows(conn, "SELECT nextval('staff_checkup_seq') AS seq")
    return int(rows[0]["seq"])
