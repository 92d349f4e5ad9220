"""Live alarms over WebSocket, fed by PostgreSQL ``LISTEN alarms``.

Whoever writes an alarm (ingest, in this process or another) notifies the ``alarms`` channel in
the same transaction; the hub reads the alarm and pushes it to every signed-in page allowed to see
it. A page first receives a snapshot of the waiting alarms, then changes; it confirms each alarm
it received, and the first confirmation is stored as the alarm's ``delivered_at``.

Overflow policy: each page has a bounded queue. A page that cannot keep up (its queue is full) is
disconnected with code 4408 rather than silently missing an alarm; it reconnects and resyncs from
a fresh snapshot. If the LISTEN connection itself drops, notifications may have been missed, so
after reconnecting the hub tells every page to resync.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import psycopg
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.encoders import jsonable_encoder
from psycopg_pool import AsyncConnectionPool

from console.auth import websocket_user
from console.scope import visible
from store import alarms as store_alarms
from store import commands as store_commands
from store import incidents as store_incidents
from store.batch import ALARM_CHANNEL

log = logging.getLogger(__name__)

PING_EVERY_S = 15.0
CLIENT_QUEUE = 1000


@dataclass(eq=False, slots=True)
class _Client:
    user: dict[str, Any]
    queue: asyncio.Queue[dict[str, Any]] = field(
        default_factory=lambda: asyncio.Queue(maxsize=CLIENT_QUEUE))
    overflowed: bool = False


class Hub:
    def __init__(self, *, url: str, pool: AsyncConnectionPool) -> None:
        self._url = url
        self._pool = pool
        self._clients: set[_Client] = set()
        self.delivered: set[int] = set()
        self.listening = asyncio.Event()

    @property
    def clients(self) -> int:
        return len(self._clients)

    def online_users(self) -> list[dict[str, Any]]:
        """Console users with a live page open, once each."""
        seen: dict[str, dict[str, Any]] = {}
        for client in self._clients:
            user = client.user
            seen[user["username"]] = {"username": user["username"], "role": user["role"],
                                      "display_name": user["display_name"]}
        return sorted(seen.values(), key=lambda u: u["username"])

    async def run(self) -> None:
        delay, reconnecting = 0.5, False
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self._url, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {ALARM_CHANNEL}")
                    if reconnecting:
                        self._broadcast_resync()  # what was notified meanwhile is lost
                    self.listening.set()
                    delay = 0.5
                    async for note in conn.notifies():
                        try:
                            await self._on_notify(note.payload)
                        except (psycopg.OperationalError, psycopg.InterfaceError):
                            raise
                        except Exception:  # one bad notification must not stop the feed
                            log.exception("could not push notification %r", note.payload)
            except (psycopg.OperationalError, psycopg.InterfaceError) as err:
                self.listening.clear()
                log.warning("LISTEN connection lost (%s); reconnecting in %.1f s", err, delay)
                await asyncio.sleep(delay)
                delay, reconnecting = min(delay * 2, 10.0), True

    async def _on_notify(self, payload: str) -> None:
        try:
            note = json.loads(payload)
            what = note.get("type", "alarm")
            if what == "command":
                await self._on_command(str(note["id"]))
                return
            row_id = int(note["id"])
        except (ValueError, KeyError, TypeError):
            log.error("ignoring malformed notification %r", payload)
            return
        async with self._pool.connection() as conn:
            if what == "incident":
                row = await store_incidents.incident(conn, row_id)
            else:
                row = await store_alarms.alarm(conn, row_id)
        message = {"type": what, what: jsonable_encoder(row)}
        for client in list(self._clients):
            if visible(client.user, row):
                self._send(client, message)

    async def _on_command(self, command_id: str) -> None:
        """A command's progress goes to the person who asked for it."""
        async with self._pool.connection() as conn:
            row = await store_commands.get(conn, command_id)
        message = {"type": "command", "command": jsonable_encoder(row)}
        for client in list(self._clients):
            if client.user["username"] == row["requested_by"]:
                self._send(client, message)

    def _send(self, client: _Client, message: dict[str, Any]) -> None:
        try:
            client.queue.put_nowait(message)
        except asyncio.QueueFull:
            client.overflowed = True

    def _broadcast_resync(self) -> None:
        for client in list(self._clients):
            self._send(client, {"type": "resync"})

    async def snapshot(self, user: dict[str, Any]) -> dict[str, Any]:
        async with self._pool.connection() as conn:
            rows = await store_alarms.open_alarms(conn)
            incidents = await store_incidents.open_incidents(conn)
        return {"type": "snapshot",
                "alarms": jsonable_encoder([r for r in rows if visible(user, r)]),
                "incidents": jsonable_encoder([i for i in incidents if visible(user, i)])}

    async def received(self, ids: list[int]) -> None:
        fresh = [i for i in ids if i not in self.delivered]
        if not fresh:
            return
        async with self._pool.connection() as conn:
            await store_alarms.mark_delivered(conn, fresh)
        self.delivered.update(fresh)

    async def serve(self, websocket: WebSocket, user: dict[str, Any]) -> None:
        client = _Client(user=user)
        self._clients.add(client)
        try:
            await websocket.send_json(await self.snapshot(user))
            reader = asyncio.create_task(self._read(websocket))
            try:
                while not reader.done():
                    getter = asyncio.ensure_future(client.queue.get())
                    done, _ = await asyncio.wait({getter, reader}, timeout=PING_EVERY_S,
                                                 return_when=asyncio.FIRST_COMPLETED)
                    if getter in done:
                        message = getter.result()
                    else:
                        getter.cancel()
                        if reader in done:
                            break
                        message = {"type": "ping"}
                    if client.overflowed:
                        await websocket.close(code=4408, reason="too slow; reconnect")
                        return
                    if message["type"] == "resync":
                        message = await self.snapshot(user)
                    await websocket.send_json(message)
            finally:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
                    await reader
        except WebSocketDisconnect:
            pass
        finally:
            self._clients.discard(client)

    async def _read(self, websocket: WebSocket) -> None:
        while True:
            try:
                message = await websocket.receive_json()
            except (ValueError, KeyError):
                continue  # a page sent something that is not JSON: ignore it, keep the socket
            if isinstance(message, dict) and message.get("type") == "received":
                ids = [i for i in message.get("ids", []) if isinstance(i, int)]
                if ids:
                    # Shielded: a page that confirms and then closes at once must still have
                    # its receipt recorded when this reader is cancelled by the close.
                    await asyncio.shield(self.received(ids))


router = APIRouter()


@router.websocket("/api/v1/ws")
async def live(websocket: WebSocket) -> None:
    await websocket.accept()
    user = await websocket_user(websocket)
    if user is None:
        await websocket.close(code=4401, reason="not signed in")
        return
    hub: Hub = websocket.app.state.hub
    await hub.serve(websocket, user)
