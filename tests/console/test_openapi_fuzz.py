"""Fuzzing the console's REST API from its own OpenAPI schema (schemathesis): no request, however
odd, gets a 5xx. Requests are made as a signed-in admin with the CSRF header, so they reach the
routes instead of stopping at 401/403.

The console runs on a real uvicorn and database (as in test_api.py); schemathesis's blocking
client runs in a worker thread so the event loop keeps serving. Every operation is fuzzed on its
own — with generated data (valid per the schema, then invalid), and with the ids of rows that exist
in the seeded district, so handlers run past their "not found" — a few examples each, to stay
well under the suite's budget.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.rows import dict_row
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok

from console.auth import COOKIE
from eldercare.platform import Platform, seed_district
from eldercare.settings import Settings
from simulators.district import District
from store.batch import Batch, NewAlarm
from store.batch import write as write_batch
from tests.servers import free_port

pytestmark = pytest.mark.db

PASSWORD = "fuzz-pass-1"
CSRF = {"X-Requested-With": "eldercare"}
DEEP = os.environ.get("ELDERCARE_FUZZ_EXAMPLES")
"""Set to, say, 100 for a long random search (unset: a few derandomised examples, for CI)."""
PER_RUN = int(DEEP or 5)
EXAMPLES = {GenerationMode.POSITIVE: PER_RUN, GenerationMode.NEGATIVE: PER_RUN}
KNOWN_ID_EXAMPLES = PER_RUN
SKIPPED = {("DELETE", "/api/v1/session")}
"""Signing out would end the fuzzer's own session."""


@pytest.fixture
async def console(db_url: str) -> AsyncIterator[tuple[Platform, District]]:
    district = District.generate(seed=4, homes=3, care_homes=1)
    async with Platform(settings=Settings(), db_url=db_url, broker_url=None,
                        services=("console",), port=free_port()) as platform:
        await seed_district(db_url, district, demo_password=PASSWORD)
        yield platform, district


async def _known_ids(platform: Platform, district: District) -> dict[str, list[Any]]:
    """Path parameters that name real rows: the district's residents, sites and devices, and
    alarms raised on three devices (and their incidents, where the write opened any)."""
    assert platform.pool is not None
    async with platform.pool.connection() as conn:
        written = await write_batch(conn, Batch(alarms=[NewAlarm(
            kind="sos", priority=1, device_id=d.id, site_id=d.site_id,
            resident_id=d.resident_id, room_id=d.room_id, source_seq=1,
            occurred_at=dt.datetime.now(dt.UTC), details={}) for d in district.devices[:3]]))
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute("SELECT id FROM incidents")
        incidents = [row["id"] for row in await cur.fetchall()]
    known = {
        "alarm_id": written.new_alarm_ids,
        "incident_id": incidents,
        "resident_id": [r.id for r in district.residents],
        "site_id": [s.id for s in district.sites],
        "device_id": [d.id for d in district.devices],
    }
    return {name: ids for name, ids in known.items() if ids}


def _fuzz(base_url: str, token: str, known: dict[str, list[Any]],
          statuses: Counter[int]) -> list[str]:
    """Run every operation; return what failed (an empty list when nothing answered 5xx)."""
    schema = schemathesis.openapi.from_url(f"{base_url}/api/v1/openapi.json")
    failures: list[str] = []
    cookies = {COOKIE: token}
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            failures.append(f"the schema has an operation schemathesis cannot read: {result}")
            continue
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        modes = [m for m in EXAMPLES if m is GenerationMode.POSITIVE or _has_input(operation)]
        runs: list[tuple[str, st.SearchStrategy[Any], int]] = [
            (mode.value, operation.as_strategy(generation_mode=mode, headers=CSRF, cookies=cookies),
             EXAMPLES[mode]) for mode in modes]
        names = [p.name for p in operation.path_parameters]
        if names and all(name in known for name in names):
            runs.append(("known ids", _with_known_ids(operation, names, known, cookies),
                         KNOWN_ID_EXAMPLES))
        for label, strategy, count in runs:
            try:
                _run(strategy, count, lambda case: _call(case, base_url, statuses))
            except Exception as err:  # collect them all: one report with every 5xx
                failures.append(f"{operation.method.upper()} {operation.path} ({label}): {err}")
    return failures


def _with_known_ids(operation: Any, names: list[str], known: dict[str, list[Any]],
                    cookies: dict[str, str]) -> st.SearchStrategy[Any]:
    """Cases whose path parameters name rows that exist, the rest generated."""
    ids = st.fixed_dictionaries({name: st.sampled_from(known[name]) for name in names})

    def cases(chosen: dict[str, Any]) -> st.SearchStrategy[Any]:
        strategy: st.SearchStrategy[Any] = operation.as_strategy(
            headers=CSRF, cookies=cookies, path_parameters=chosen)
        return strategy

    return ids.flatmap(cases)


def _has_input(operation: Any) -> bool:
    """Whether there is anything to make invalid (negative generation needs a parameter or a
    body; the header and cookie are fixed)."""
    return bool(len(operation.path_parameters) or len(operation.query) or len(operation.body))


def _call(case: Any, base_url: str, statuses: Counter[int]) -> None:
    response = case.call(base_url=base_url, timeout=30)
    statuses[response.status_code] += 1
    case.validate_response(response, checks=[not_a_server_error])


def _run(strategy: st.SearchStrategy[Any], count: int, test: Callable[[Any], None]) -> None:
    @settings(max_examples=count, deadline=None, derandomize=not DEEP, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def fuzz(case: Any) -> None:
        test(case)

    fuzz()


NUL_REQUESTS = (
    ("GET", "/api/v1/me/residents?q=%00", None),
    ("GET", "/api/v1/me/residents?node=a%00b", None),
    ("GET", "/api/v1/tickets?node=%00", None),
    ("GET", "/api/v1/commands/%00", None),
    ("PUT", "/api/v1/admin/residents/r-h0001", {"notes": "a\u0000b"}),
    ("POST", "/api/v1/admin/sites", {"id": "home-nul", "kind": "home", "name": "a\u0000b"}),
)
"""Regressions: a NUL character anywhere PostgreSQL must store or compare it used to give 500
(schemathesis seldom generates one, so these are asked for explicitly)."""


async def test_no_request_to_the_console_api_gets_a_5xx(
        console: tuple[Platform, District]) -> None:
    platform, district = console
    known = await _known_ids(platform, district)
    async with httpx.AsyncClient(base_url=platform.console_url) as client:
        r = await client.post("/api/v1/session", json={"username": "admin", "password": PASSWORD},
                              headers=CSRF)
        assert r.status_code == 200, r.text
        token = client.cookies[COOKIE]
    statuses: Counter[int] = Counter()
    failures = await asyncio.to_thread(_fuzz, platform.console_url, token, known, statuses)
    assert not failures, "\n\n".join(failures)
    # Signed in for real: most requests got past authentication, and many succeeded.
    assert statuses[401] + statuses[403] < sum(statuses.values()) / 10, statuses
    assert sum(n for code, n in statuses.items() if code < 300) > sum(statuses.values()) / 10

    async with httpx.AsyncClient(base_url=platform.console_url, cookies={COOKIE: token}) as client:
        for method, path, body in NUL_REQUESTS:
            r = await client.request(method, path, json=body, headers=CSRF)
            assert 400 <= r.status_code < 500, (method, path, r.status_code, r.text)
            assert "NUL" in r.json()["detail"], r.text
