"""Relaying commands from the console to devices. Ingest is the platform's broker client, so it
publishes what the console asked for on ``eldercare/v1/<site>/<device>/cmd`` and closes commands
nobody answered by their deadline (the person who asked sees "no answer").

Commands are published at QoS 1 without retain: a device that is offline gets it from its
gateway's or its own persistent session, and the deadline decides when it is too late.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable

import psycopg
from psycopg_pool import AsyncConnectionPool

from ingest.codec import encode
from ingest.contract import Command, command_topic
from ingest.mqtt import MqttSource
from store import commands as store_commands

log = logging.getLogger(__name__)


class CommandRelay:
    def __init__(self, pool: AsyncConnectionPool, source: MqttSource, *,
                 clock: Callable[[], float] = time.time) -> None:
        self._pool = pool
        self._source = source
        self._clock = clock

    async def run_once(self) -> tuple[list[str], list[str]]:
        """Publish pending commands and time out late ones; returns (published, timed out)."""
        now = dt.datetime.fromtimestamp(self._clock(), dt.UTC)
        async with self._pool.connection() as conn:
            pending = await store_commands.to_publish(conn, now)
            published = []
            for row in pending:
                body = Command(id=row["id"], command=row["command"],
                               ts=int(row["requested_at"].timestamp() * 1000))
                if self._source.publish(command_topic(row["site_id"], row["device_id"]),
                                        encode(body)):
                    published.append(row["id"])
            await conn.commit()
            if published:
                await store_commands.mark_published(conn, published)
            timed_out = await store_commands.time_out(conn, now)
        return published, timed_out

    async def run(self, every: float = 0.5) -> None:
        while True:
            try:
                await self.run_once()
            except (psycopg.OperationalError, psycopg.InterfaceError) as err:
                log.warning("command relay cannot reach the database (%s); retrying", err)
            except Exception:  # commands and their timeouts must keep flowing
                log.exception("command relay round failed; retrying")
            await asyncio.sleep(every)
