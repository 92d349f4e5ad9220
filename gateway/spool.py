"""The disk-backed queue between translation and the uplink: nothing is lost while it is down.

SQLite from the standard library, in WAL mode with ``synchronous=FULL``: a message and the device
state that produced it (its sequence number, its last smoke value) are committed in one
transaction and fsync'd before the native message is acknowledged to the local broker, so a
``kill -9`` at any point repeats work rather than losing it. Rows get ever-increasing ids
(``AUTOINCREMENT``), which is the order of replay; a row is deleted only once the uplink broker
PUBACKed it.

Overflow policy: the spool holds at most ``max_messages`` rows. When full, the oldest *droppable*
rows (telemetry, location, check-ins) make room, or, when none is left, new droppable messages are
not taken; the count of dropped messages is kept. Alarms
(events), status, rejections and command acks are never dropped: if nothing droppable is left they
are stored beyond the bound, and a warning is logged. At a home's rate (a few messages a minute)
the default bound holds weeks, longer than the platform accepts old timestamps (7 days).

>>> import tempfile, pathlib
>>> spool = Spool(pathlib.Path(tempfile.mkdtemp()) / "spool.db")
>>> spool.commit([Spooled(topic="t", payload=b"{}", retain=False, droppable=False)], {})
>>> [(row.id, row.topic) for row in spool.pending(after=0, limit=10)]
[(1, 't')]
>>> spool.remove([1]); len(spool)
0
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec

from gateway.draft import DeviceState

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spool (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    retain INTEGER NOT NULL,
    droppable INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS spool_droppable ON spool (droppable, id);
CREATE TABLE IF NOT EXISTS device_state (device TEXT PRIMARY KEY, state BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class SpoolError(RuntimeError):
    """The spool's file cannot be used (disk full, permissions, corruption)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Spooled:
    topic: str
    payload: bytes
    retain: bool
    droppable: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    id: int
    topic: str
    payload: bytes
    retain: bool


class Spool:
    """Thread-safe: the local broker's thread appends, the uplink's thread removes."""

    def __init__(self, path: Path, *, max_messages: int = 500_000) -> None:
        self._max = max_messages
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            (self._count,) = self._db.execute("SELECT count(*) FROM spool").fetchone()
        except (sqlite3.Error, OSError) as err:
            raise SpoolError(f"spool {path}: {err}") from None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __len__(self) -> int:
        return int(self._count)

    @property
    def dropped(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT value FROM counters WHERE name='dropped'").fetchone()
        return int(row[0]) if row else 0

    def commit(self, messages: Sequence[Spooled], states: Mapping[str, DeviceState]) -> None:
        """Store messages and the device states that produced them, atomically and durably."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                over = self._count + len(messages) - self._max
                dropped = self._drop_oldest(over) if over > 0 and messages else 0
                if over - dropped > 0:  # still full: new droppable messages are not taken either
                    kept = [m for m in messages if not m.droppable]
                    self._count_dropped(len(messages) - len(kept))
                    messages = kept
                self._db.executemany(
                    "INSERT INTO spool (topic, payload, retain, droppable) VALUES (?, ?, ?, ?)",
                    [(m.topic, m.payload, int(m.retain), int(m.droppable)) for m in messages])
                self._db.executemany(
                    "INSERT INTO device_state (device, state) VALUES (?, ?)"
                    " ON CONFLICT (device) DO UPDATE SET state = excluded.state",
                    [(k, msgspec.json.encode(v)) for k, v in states.items()])
                self._db.execute("COMMIT")
            except sqlite3.Error as err:
                self._rollback()
                raise SpoolError(f"spool: {err}") from None
            self._count += len(messages) - dropped
            if self._count > self._max:
                log.warning("spool holds %d messages, over its bound of %d: alarms are never "
                            "dropped", self._count, self._max)

    def _drop_oldest(self, n: int) -> int:
        cur = self._db.execute(
            "DELETE FROM spool WHERE id IN"
            " (SELECT id FROM spool WHERE droppable = 1 ORDER BY id LIMIT ?)", (n,))
        self._count_dropped(cur.rowcount)
        return max(cur.rowcount, 0)

    def _count_dropped(self, n: int) -> None:
        if n > 0:
            self._db.execute(
                "INSERT INTO counters (name, value) VALUES ('dropped', ?)"
                " ON CONFLICT (name) DO UPDATE SET value = value + excluded.value", (n,))
            log.warning("spool full: dropped %d droppable messages (oldest first)", n)

    def _rollback(self) -> None:
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    def pending(self, *, after: int, limit: int) -> list[Row]:
        """The oldest rows with an id above ``after``, in order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, topic, payload, retain FROM spool WHERE id > ? ORDER BY id LIMIT ?",
                (after, limit)).fetchall()
        return [Row(id=r[0], topic=r[1], payload=bytes(r[2]), retain=bool(r[3])) for r in rows]

    def remove(self, ids: Iterable[int]) -> None:
        """Forget rows the uplink acknowledged (ids already gone are ignored)."""
        batch = [(i,) for i in ids]
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                cur = self._db.executemany("DELETE FROM spool WHERE id = ?", batch)
                self._db.execute("COMMIT")
            except sqlite3.Error as err:
                self._rollback()
                raise SpoolError(f"spool: {err}") from None
            self._count -= max(cur.rowcount, 0)

    def states(self) -> dict[str, DeviceState]:
        with self._lock:
            rows = self._db.execute("SELECT device, state FROM device_state").fetchall()
        return {device: msgspec.json.decode(state, type=DeviceState) for device, state in rows}
