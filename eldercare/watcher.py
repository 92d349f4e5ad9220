"""A console client without a browser: signs in as an operator, holds the live WebSocket open and
confirms every alarm it receives, exactly as the operator page does. The demo uses it to prove
that every alarm raised reached a console; tests use it to time the path from button to screen.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import urllib.request
from http.cookies import SimpleCookie
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from eldercare.platform import end_tasks


def sign_in(base_url: str, username: str, password: str) -> str:
    """Returns the session cookie value."""
    request = urllib.request.Request(
        f"{base_url}/api/v1/session", method="POST",
        data=json.dumps({"username": username, "password": password}).encode(),
        headers={"Content-Type": "application/json", "X-Requested-With": "eldercare"})
    with urllib.request.urlopen(request, timeout=10) as response:
        cookie = SimpleCookie(response.headers["Set-Cookie"])
    return cookie["eldercare_session"].value


class Watcher:
    def __init__(self, base_url: str, username: str, password: str) -> None:
        self._base = base_url
        self._credentials = (username, password)
        self.seen: dict[int, float] = {}
        """alarm id -> monotonic time it first arrived."""
        self.alarms: dict[int, dict[str, Any]] = {}
        self.connected = asyncio.Event()
        self._arrived = asyncio.Condition()

    async def run(self) -> None:
        cookie = await asyncio.to_thread(sign_in, self._base, *self._credentials)
        ws_url = self._base.replace("http", "ws", 1) + "/api/v1/ws"
        while True:
            try:
                async with connect(ws_url, additional_headers={
                        "Cookie": f"eldercare_session={cookie}"}) as ws:
                    async for raw in ws:
                        message = json.loads(raw)
                        alarms = (message.get("alarms", []) if message["type"] == "snapshot"
                                  else [message["alarm"]] if message["type"] == "alarm" else [])
                        if message["type"] == "snapshot":
                            self.connected.set()
                        if alarms:
                            await ws.send(json.dumps({"type": "received",
                                                      "ids": [a["id"] for a in alarms]}))
                            async with self._arrived:
                                for alarm in alarms:
                                    self.seen.setdefault(alarm["id"], time.monotonic())
                                    self.alarms[alarm["id"]] = alarm
                                self._arrived.notify_all()
            except (ConnectionClosed, OSError):
                self.connected.clear()
                await asyncio.sleep(0.5)

    async def wait_for(self, predicate: Any, timeout: float) -> dict[str, Any]:
        """The first alarm for which ``predicate(alarm)`` holds, waiting up to ``timeout``."""
        async def find() -> dict[str, Any]:
            async with self._arrived:
                while True:
                    for alarm in self.alarms.values():
                        if predicate(alarm):
                            return alarm
                    await self._arrived.wait()
        async with asyncio.timeout(timeout):
            return await find()


@contextlib.asynccontextmanager
async def watching(base_url: str, username: str, password: str) -> Any:
    watcher = Watcher(base_url, username, password)
    task = asyncio.create_task(watcher.run(), name="watcher")
    try:
        async with asyncio.timeout(15):
            await watcher.connected.wait()
        yield watcher
    finally:
        await end_tasks([task])  # the demo's stop must not hang on a lost cancel either
