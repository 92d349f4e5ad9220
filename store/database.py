"""Connections: a pool for the application, translating psycopg's errors into the store's own."""

from __future__ import annotations

import datetime as dt
import logging

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from store.errors import StoreError
from store.migrate import migrate
from store.partitions import ensure_partitions

log = logging.getLogger(__name__)


async def prepare(url: str) -> None:
    """Migrate the schema and make sure today's partitions exist. Safe to run concurrently."""
    try:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            applied = await migrate(conn)
            if applied:
                log.info("applied migrations: %s", ", ".join(applied))
            await ensure_partitions(conn, today=dt.datetime.now(dt.UTC).date())
    except psycopg.OperationalError as err:
        raise StoreError(f"cannot reach PostgreSQL: {err}") from err


def open_pool(url: str, *, min_size: int = 1, max_size: int = 8) -> AsyncConnectionPool:
    """A connection pool whose connections return rows as dicts. Call ``await pool.open()``."""
    return AsyncConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        kwargs={"row_factory": dict_row, "autocommit": False},
        open=False,
        name="eldercare",
    )
