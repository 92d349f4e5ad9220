"""A home with one resident, two watches and a button: what the store tests write readings and
alarms for."""

from __future__ import annotations

import pytest
from psycopg_pool import AsyncConnectionPool

from store import registry


@pytest.fixture
async def seeded(pool: AsyncConnectionPool) -> AsyncConnectionPool:
    async with pool.connection() as conn:
        await registry.seed(conn, {
            "sites": [{"id": "home-1", "kind": "home", "name": "H1"}],
            "residents": [{"id": "r1", "site_id": "home-1", "name": "R1"}],
            "devices": [
                {"id": "watch-1", "site_id": "home-1", "kind": "wearable", "resident_id": "r1"},
                {"id": "watch-2", "site_id": "home-1", "kind": "wearable", "resident_id": "r1"},
                {"id": "btn-1", "site_id": "home-1", "kind": "button", "resident_id": "r1"},
            ],
        })
    return pool
