"""Fixtures that start real servers: PostgreSQL and mosquitto from Debian's packages.

One PostgreSQL server serves the whole session; every test that needs a database gets a fresh one
cloned from a migrated template (milliseconds). Every test that needs a broker gets its own
mosquitto, so persistent sessions never leak between tests.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from store.database import open_pool, prepare
from tests.servers import Mosquitto, Postgres, start_mosquitto, start_postgres, temporary_folder

_TEMPLATE = "eldercare_template"
_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    with temporary_folder("eldercare-test-pg-") as folder:
        server = start_postgres(folder)
        try:
            with psycopg.connect(server.url(), autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {_TEMPLATE}")
            asyncio.run(prepare(server.url(_TEMPLATE)))
            yield server
        finally:
            server.stop()


@pytest.fixture
def db_url(postgres: Postgres) -> str:
    """A fresh, migrated database for this test."""
    name = f"test_{next(_numbers)}"
    with psycopg.connect(postgres.url(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {_TEMPLATE}")
    return postgres.url(name)


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[AsyncConnectionPool]:
    pool = open_pool(db_url, max_size=4)
    await pool.open(wait=True)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    server = start_mosquitto(tmp_path / "mosquitto")
    try:
        yield server
    finally:
        server.stop()
