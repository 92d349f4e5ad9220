"""Per-device rate limiting: the token bucket on its own, then a flood from one device through the
real pipeline — its excess is dead-lettered as rate_limited, while its own SOS and another
device's SOS are stored in the very batch that carried them."""

from __future__ import annotations

import math
import re
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from ingest.codec import encode
from ingest.contract import ALARM_LANE, Event, EventType, Kind, Telemetry
from ingest.mqtt import Incoming
from ingest.pipeline import Ingest
from ingest.ratelimit import LIMITED, Budget, RateLimiter
from store import registry
from tests.ingest.test_pipeline import ListSource


def test_a_full_bucket_lets_a_burst_through_then_refills_at_the_rate() -> None:
    limiter = RateLimiter(Budget(burst=50, per_s=10))
    assert sum(limiter.allow("w", now=0.0) for _ in range(80)) == 50
    assert not limiter.allow("w", now=0.05)  # half a token
    assert limiter.allow("w", now=0.1)
    assert sum(limiter.allow("w", now=2.1) for _ in range(30)) == 20


def test_a_wearable_streaming_as_designed_is_never_limited() -> None:
    """1 accelerometer window a second, vitals every 10 s, a location a minute, a check-in every
    5 minutes, for an hour: the busiest device class the platform expects."""
    limiter = RateLimiter()
    refused = 0
    for second in range(3600):
        now = 1_790_000_000.0 + second
        sends = [3200]  # a 1 s window at 200 Hz with gyro, in base64
        sends += [120] * (second % 10 == 0) + [150] * (second % 60 == 0) + [80] * (second % 300 == 0)
        refused += sum(not limiter.allow("watch", now=now, observed=now - 0.5, size=size)
                       for size in sends)
    assert refused == 0


def test_a_flood_is_cut_to_the_budget_and_other_devices_are_untouched() -> None:
    limiter = RateLimiter(Budget(burst=50, per_s=10))
    allowed = 0
    for i in range(5000):  # 5,000 messages in one second, all stamped "now": a firmware loop
        now = 100.0 + i / 5000
        allowed += limiter.allow("flooder", now=now, observed=100.0)
        if i % 100 == 0:
            assert limiter.allow("neighbour", now=now, observed=now)
    assert 50 <= allowed <= 50 + 10 + 1


def test_a_replayed_backlog_passes_because_its_timestamps_advance() -> None:
    """A gateway back from a 10-minute outage sends 10 minutes of 1 s windows at once."""
    limiter = RateLimiter(Budget(burst=50, per_s=10))
    replayed = [limiter.allow("watch", now=500.0 + i / 1000, observed=float(i)) for i in range(600)]
    assert all(replayed)


def test_large_payloads_cost_more_tokens() -> None:
    limiter = RateLimiter(Budget(burst=50, per_s=10, bytes_per_token=4096))
    assert sum(limiter.allow("w", now=0.0, size=60 * 1024) for _ in range(10)) == 3  # 15 each
    assert Budget(burst=5).cost(10**9) == 5  # never more than a full bucket


def test_a_clock_stepping_back_refills_nothing() -> None:
    limiter = RateLimiter(Budget(burst=2, per_s=1))
    assert limiter.allow("w", now=100.0) and limiter.allow("w", now=100.0)
    assert not limiter.allow("w", now=50.0)
    assert not limiter.allow("w", now=100.5)
    assert limiter.allow("w", now=101.0)


def test_memory_is_bounded_and_the_least_recent_device_is_forgotten() -> None:
    limiter = RateLimiter(Budget(burst=1, per_s=0.001), max_devices=3)
    for device in ("a", "b", "c"):
        assert limiter.allow(device, now=0.0)
    assert not limiter.allow("a", now=0.0)  # "a" is now the most recent
    assert limiter.allow("d", now=0.0)  # evicts "b"
    assert len(limiter) == 3
    assert limiter.allow("b", now=0.0)  # forgotten: a full bucket again
    assert not limiter.allow("a", now=0.0) and not limiter.allow("d", now=0.0)


def test_alarm_lane_kinds_and_status_are_never_limited() -> None:
    assert not LIMITED & set(ALARM_LANE)
    assert Kind.EVENT not in LIMITED and Kind.STATUS not in LIMITED
    assert {Kind.ACCEL, Kind.TELEMETRY, Kind.LOCATION, Kind.CHECKIN} == LIMITED


@pytest.mark.parametrize("budget", [{"burst": 0}, {"per_s": 0}, {"bytes_per_token": 0},
                                    {"per_s": float("nan")}])
def test_a_nonsense_budget_is_refused(budget: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="budget"):
        Budget(**budget)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.floats(-1, 5), st.floats(-1, 5), st.integers(0, 70_000)),
                max_size=300))
def test_what_is_let_through_never_exceeds_the_budget(steps: list[tuple[float, float, int]]) -> None:
    """Conservation: the tokens spent never exceed a full bucket plus the rate times the time
    credited, and the credit is at most both clocks' progress added up."""
    budget = Budget(burst=20, per_s=5)
    limiter = RateLimiter(budget)
    now = observed = 0.0
    nows, observeds = [], []
    spent = 0.0
    for d_now, d_observed, size in steps:
        now, observed = now + d_now, observed + d_observed
        nows.append(now)
        observeds.append(observed)
        if limiter.allow("w", now=now, observed=observed, size=size):
            spent += budget.cost(size)
    if steps:
        credited = (max(nows) - nows[0]) + (max(observeds) - observeds[0])
        assert spent <= budget.burst + budget.per_s * credited + 1e-6


# -- a flood through the real pipeline ---------------------------------------------------------

SITE = "home-0001"
FLOODER, NEIGHBOUR, STEADY = "watch-0001", "btn-0002", "watch-0003"


def _dropped(reason: str) -> int:
    counted = re.match(r"(\d+) stream messages", reason)
    assert counted is not None, reason
    return int(counted[1])


async def _rows(pool: AsyncConnectionPool, query: str) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute(query)
        return await cur.fetchall()


@pytest.mark.db
async def test_a_flood_from_one_device_is_dead_lettered_and_delays_no_alarm(
        pool: AsyncConnectionPool) -> None:
    async with pool.connection() as conn:
        await registry.seed(conn, {
            "sites": [{"id": SITE, "kind": "home", "name": "home 1"}],
            "residents": [{"id": "r1", "site_id": SITE, "name": "张秀英"},
                          {"id": "r2", "site_id": SITE, "name": "李建国"}],
            "devices": [
                {"id": FLOODER, "site_id": SITE, "kind": "wearable", "resident_id": "r1"},
                {"id": NEIGHBOUR, "site_id": SITE, "kind": "button", "resident_id": "r2"},
                {"id": STEADY, "site_id": SITE, "kind": "wearable", "resident_id": "r2"},
            ],
        })
    now = time.time()
    now_ms = int(now * 1000)
    source = ListSource()
    # A frozen clock: the budget refills nothing during the test, so the counts are exact.
    ingest = Ingest(pool=pool, source=source, clock=lambda: now,
                    limiter=RateLimiter(Budget(burst=50, per_s=10)))
    await ingest.load_registry()

    def topic(device: str, kind: Kind) -> str:
        return f"eldercare/v1/{SITE}/{device}/{kind}"

    flood = [source.add(topic(FLOODER, Kind.TELEMETRY),
                         encode(Telemetry(seq=seq, ts=now_ms - 60_000, hr=70)))
             for seq in range(1, 3001)]
    steady = [source.add(topic(STEADY, Kind.TELEMETRY),
                          encode(Telemetry(seq=seq, ts=now_ms - 60_000 + seq * 1000, hr=66)))
              for seq in range(1, 31)]
    own_sos = source.add(topic(FLOODER, Kind.EVENT),
                          encode(Event(seq=5000, ts=now_ms, type=EventType.SOS)))
    their_sos = source.add(topic(NEIGHBOUR, Kind.EVENT),
                            encode(Event(seq=1, ts=now_ms, type=EventType.SOS)))
    # The broker's interleaving: the steady device every 100 flood messages, both presses
    # half-way through the flood.
    items: list[Incoming] = []
    for i, message in enumerate(flood):
        items.append(message)
        if i % 100 == 99:
            items.append(steady[i // 100])
        if i == 1499:
            items += [own_sos, their_sos]
    presses_in = {own_sos.mid, their_sos.mid}
    alarms_seen_after_their_batch = None
    for start in range(0, len(items), 200):  # the stream lane's batch size
        chunk = items[start:start + 200]
        await ingest.process(chunk)
        if presses_in & {item.mid for item in chunk}:
            alarms_seen_after_their_batch = len(await _rows(pool, "SELECT id FROM alarms"))

    # Both presses were stored by the very batch that carried them: the flood delayed neither.
    assert alarms_seen_after_their_batch == 2
    alarms = await _rows(pool, "SELECT device_id, kind FROM alarms ORDER BY device_id")
    assert alarms == [{"device_id": NEIGHBOUR, "kind": "sos"}, {"device_id": FLOODER, "kind": "sos"}]
    stored = await _rows(pool, "SELECT device_id, count(*) AS n FROM telemetry GROUP BY device_id"
                               " ORDER BY device_id")
    assert stored == [{"device_id": FLOODER, "n": 50}, {"device_id": STEADY, "n": 30}]

    dead = await _rows(pool, "SELECT topic, payload, code, reason, device_id FROM dead_letters")
    assert {d["code"] for d in dead} == {"rate_limited"}
    assert {d["device_id"] for d in dead} == {FLOODER}
    assert len(dead) == math.ceil(len(items) / 200)  # one row per batch, not one per message
    assert sum(_dropped(d["reason"]) for d in dead) == 3000 - 50 == ingest.stats.rate_limited
    assert all("telemetry" in d["reason"] and "10/s" in d["reason"] for d in dead)
    assert {bytes(d["payload"]) for d in dead} <= {m.payload for m in flood}  # kept whole
    assert source.acked == [item.mid for item in items]  # everything acknowledged, in order


def test_the_budget_is_set_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import doctest

    from eldercare.settings import Settings, SettingsError
    from ingest import ratelimit

    assert doctest.testmod(ratelimit).failed == 0
    monkeypatch.setenv("ELDERCARE_RATE_LIMIT", "per_s=20, burst=100")
    assert Settings.from_env().rate_limit == Budget(burst=100, per_s=20, bytes_per_token=4096)
    monkeypatch.delenv("ELDERCARE_RATE_LIMIT")
    assert Settings.from_env().rate_limit == Budget()
    for bad, says in (("per_s=fast", "not a number"), ("burts=5", "expected burst="),
                      ("per_s=0", "positive rates"), ("burst=inf", "finite"),
                      ("per_s", "expected burst=")):
        monkeypatch.setenv("ELDERCARE_RATE_LIMIT", bad)
        with pytest.raises(SettingsError, match=says):
            Settings.from_env()
