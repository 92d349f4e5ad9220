"""Hostile input against the wire contract's decoder, for every kind: random bytes, random JSON and
mutated valid payloads either decode to a value PostgreSQL can store or raise ContractViolation
with a known code and a reason — never anything else. Then a sample of them goes through the real
ingest pipeline: every rejected one is in dead_letters with its reason, and the SOS after it is
stored."""

from __future__ import annotations

import time
from typing import Any

import msgspec
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from ingest.codec import ContractViolation, Decoder, Envelope, accel_samples, encode, gyro_samples
from ingest.contract import Accel, Event, EventType, Kind
from ingest.mqtt import Incoming
from ingest.pipeline import Ingest
from store import registry
from tests.hostile import deep, hostile_payload, mutated, storable, topics, valid_payload
from tests.ingest.test_pipeline import ListSource

NOW_MS = 1_790_000_000_000
DECODER = Decoder(clock=lambda: NOW_MS / 1000)
SITE, DEVICE = "home-0001", "watch-0001"
DECODER_CODES = frozenset({"topic", "too_large", "json", "schema", "ts_future", "ts_past"})
FAST = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])
PER_KIND = settings(FAST, max_examples=50)
KINDS = pytest.mark.parametrize("kind", list(Kind))
"""One run per kind: hypothesis favours the first elements of a ``sampled_from``."""


def check(topic: str, payload: bytes, decoder: Decoder = DECODER) -> Envelope | ContractViolation:
    """The property: a storable value, or the project's own rejection with a code and a reason."""
    try:
        env = decoder.decode(topic, payload)
    except ContractViolation as err:
        refused: ContractViolation | None = err
    else:
        refused = None
    if refused is not None:
        assert refused.code in DECODER_CODES, refused.code
        assert refused.reason.strip() and storable(refused.reason), refused.reason
        return refused
    assert storable(msgspec.to_builtins(env.body)), env.body
    again = decoder.decode(topic, encode(env.body))  # what we accepted, we accept again
    assert again == env
    if isinstance(env.body, Accel):
        samples = accel_samples(env.body)
        assert samples.shape == (env.body.n, 3) and np.isfinite(samples).all()
        gyro = gyro_samples(env.body)
        assert gyro is None or gyro.shape == (env.body.n, 3)
    return env


@KINDS
def test_valid_payload_of_every_kind_is_accepted(kind: Kind) -> None:
    payload = encode_valid(kind)
    assert isinstance(check(f"eldercare/v1/{SITE}/{DEVICE}/{kind}", payload), Envelope)


def encode_valid(kind: Kind) -> bytes:
    return msgspec.json.encode(valid_payload(kind, now_ms=NOW_MS))


@FAST
@given(st.sampled_from(list(Kind)), st.binary(max_size=300))
def test_random_bytes_are_rejected_cleanly(kind: Kind, payload: bytes) -> None:
    check(f"eldercare/v1/{SITE}/{DEVICE}/{kind}", payload)


@KINDS
@PER_KIND
@given(payload=st.data())
def test_hostile_payloads_of_every_kind_never_crash(kind: Kind, payload: st.DataObject) -> None:
    check(f"eldercare/v1/{SITE}/{DEVICE}/{kind}", payload.draw(hostile_payload(kind, now_ms=NOW_MS)))


@KINDS
@PER_KIND
@given(payload=st.data())
def test_mutated_valid_payloads_never_crash(kind: Kind, payload: st.DataObject) -> None:
    check(f"eldercare/v1/{SITE}/{DEVICE}/{kind}", payload.draw(mutated(kind, now_ms=NOW_MS)))


@FAST
@given(st.data())
def test_hostile_topics_never_crash(data: st.DataObject) -> None:
    topic, kind = data.draw(topics(SITE, DEVICE))
    check(topic, encode_valid(kind))


@pytest.mark.parametrize("depth", [1000, 100_000])
@pytest.mark.parametrize("obj", [False, True], ids=["arrays", "objects"])
@pytest.mark.parametrize("kind", [Kind.EVENT, Kind.ACCEL])
def test_deep_nesting_is_a_schema_or_json_violation(kind: Kind, depth: int, obj: bool) -> None:
    result = check(f"eldercare/v1/{SITE}/{DEVICE}/{kind}", deep(depth, obj=obj))
    assert isinstance(result, ContractViolation)


def test_oversized_payload_is_too_large_before_it_is_parsed() -> None:
    payload = b'{"seq": 1, "ts": 1, "type": "sos", "pad": "' + b"x" * 70_000 + b'"}'
    result = check(f"eldercare/v1/{SITE}/{DEVICE}/event", payload)
    assert isinstance(result, ContractViolation) and result.code == "too_large"


@pytest.mark.parametrize("field", ["detail", "fw", "topic", "reason", "id"])
def test_nul_in_a_stored_string_is_a_schema_violation(field: str) -> None:
    """Regression: PostgreSQL's text and jsonb cannot hold U+0000. Such a message used to pass
    the decoder and fail the whole batch's transaction, forcing ingest to rewrite the batch
    message by message (a cheap way for one device to slow everybody's storage)."""
    kind = {"detail": Kind.EVENT, "fw": Kind.CHECKIN, "topic": Kind.REJECTED,
            "reason": Kind.REJECTED, "id": Kind.ACK}[field]
    payload = valid_payload(kind, now_ms=NOW_MS)
    payload[field] = {"note": "a\x00b"} if field == "detail" else "a\x00b"
    result = check(f"eldercare/v1/{SITE}/{DEVICE}/{kind}", msgspec.json.encode(payload))
    assert isinstance(result, ContractViolation) and result.code == "schema"
    assert "NUL" in result.reason


def test_escaped_backslash_before_u0000_is_not_a_nul() -> None:
    payload = valid_payload(Kind.CHECKIN, now_ms=NOW_MS) | {"fw": "\\u0000"}
    env = check(f"eldercare/v1/{SITE}/{DEVICE}/checkin", msgspec.json.encode(payload))
    assert isinstance(env, Envelope)


# -- through the real pipeline ----------------------------------------------------------------


def hostile_sample(now_ms: int, count: int) -> list[tuple[str, bytes]]:
    """``count`` hypothesis-made messages for one registered device (a fixed, derandomised
    sample, so the database test is reproducible)."""
    found: list[tuple[str, bytes]] = []

    @settings(max_examples=count, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def collect(data: st.DataObject) -> None:
        topic, kind = data.draw(topics(SITE, DEVICE))
        found.append((topic, data.draw(hostile_payload(kind, now_ms=now_ms))))

    collect()
    return found[:count]


@pytest.mark.db
async def test_every_rejected_message_is_dead_lettered_and_the_next_alarm_is_stored(
        pool: AsyncConnectionPool) -> None:
    async with pool.connection() as conn:
        await registry.seed(conn, {
            "sites": [{"id": SITE, "kind": "home", "name": "home 1"}],
            "residents": [{"id": "r1", "site_id": SITE, "name": "张秀英"}],
            "devices": [{"id": DEVICE, "site_id": SITE, "kind": "wearable", "resident_id": "r1"}],
        })
    now_ms = int(time.time() * 1000)
    decoder = Decoder()
    source = ListSource()
    ingest = Ingest(pool=pool, source=source, decoder=decoder)
    await ingest.load_registry()
    expected: dict[tuple[str, bytes], str] = {}  # what the decoder refuses -> its code
    batch: list[Incoming] = []
    sos_seq = 10**12  # above anything the sample uses: every press is new
    for topic, payload in hostile_sample(now_ms, 120):
        outcome = check(topic, payload, decoder)
        if isinstance(outcome, ContractViolation):
            stored_topic = topic.replace("\x00", "\\x00")  # text cannot hold NUL
            expected[(stored_topic, payload)] = outcome.code
        batch.append(source.add(topic, payload))
        sos_seq += 1
        press = encode(Event(seq=sos_seq, ts=now_ms, type=EventType.SOS))
        batch.append(source.add(f"eldercare/v1/{SITE}/{DEVICE}/event", press))
    for start in range(0, len(batch), 40):  # a few batches, as the broker would deliver them
        await ingest.process(batch[start:start + 40])

    async with pool.connection() as conn:
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute("SELECT topic, payload, code, reason FROM dead_letters")
        dead: list[dict[str, Any]] = await cur.fetchall()
        await cur.execute("SELECT count(*) AS n FROM events WHERE type = 'sos'"
                          " AND seq > %s AND seq <= %s", (10**12, sos_seq))
        presses = await cur.fetchone()
    assert len(expected) > 40, "the sample should be mostly hostile"
    got = {(d["topic"], bytes(d["payload"])): d["code"] for d in dead}
    for key, code in expected.items():
        assert got.get(key) == code, (key[0], key[1][:80], code, got.get(key))
    assert all(d["reason"].strip() for d in dead)
    assert "db_rejected" not in got.values()  # the contract let nothing through the store refuses
    assert presses is not None and presses["n"] == len(batch) // 2
    assert source.acked == [item.mid for item in batch]
