"""A console on a real PostgreSQL with a simulated district seeded (its grid, residents,
devices and demo users), and HTTP clients signed in as those users."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx

from eldercare.platform import Platform, seed_district
from eldercare.settings import Settings
from simulators.district import District
from tests.servers import free_port

PASSWORD = "console-pass-1"
CSRF = {"X-Requested-With": "eldercare"}
STREET_1 = {"cm-01", "cm-02"}  # grid1's street (st-01)


@contextlib.asynccontextmanager
async def district_console(db_url: str, district: District) -> AsyncIterator[Platform]:
    async with Platform(settings=Settings(), db_url=db_url, broker_url=None,
                        services=("console",), port=free_port()) as platform:
        await seed_district(db_url, district, demo_password=PASSWORD)
        yield platform


@contextlib.asynccontextmanager
async def signed_in(platform: Platform, user: str,
                    password: str = PASSWORD) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=platform.console_url, headers=CSRF) as client:
        r = await client.post("/api/v1/session", json={"username": user, "password": password})
        assert r.status_code == 200, r.text
        yield client


def node_of(district: District) -> dict[str, str]:
    """Each resident's grid community, as seeded."""
    site_node = {s.id: s.node_id for s in district.sites}
    return {r.id: site_node[r.site_id] for r in district.residents}
