"""The wire contract: what is accepted, what is refused and why."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

from ingest.codec import ContractViolation, Decoder, accel_samples, encode, pack_samples
from ingest.contract import MAX_PAYLOAD_BYTES, Accel, Event, EventType, Kind, Topic, TopicError
from ingest.schemas import schema

NOW = 1_800_000_000.0
NOW_MS = int(NOW * 1000)
decoder = Decoder(clock=lambda: NOW)
T = "eldercare/v1/home-0001/btn-0001/"


def test_topic_round_trip() -> None:
    topic = Topic.parse(T + "event")
    assert (topic.site, topic.device, topic.kind) == ("home-0001", "btn-0001", Kind.EVENT)
    assert str(topic) == T + "event"


@pytest.mark.parametrize("bad", [
    "eldercare/v2/s/d/event", "eldercare/v1/s/d", "eldercare/v1/s/d/event/x",
    "eldercare/v1/s/d/nonsense", "eldercare/v1/s/d d/event", "eldercare/v1//d/event",
    "eldercare/v1/" + "x" * 65 + "/d/event",
])
def test_topic_refused(bad: str) -> None:
    with pytest.raises(TopicError):
        Topic.parse(bad)


def test_event_decodes() -> None:
    env = decoder.decode(T + "event", json.dumps(
        {"v": 1, "seq": 7, "ts": NOW_MS, "type": "sos", "future_field": 1}).encode())
    assert isinstance(env.body, Event)
    assert (env.device, env.site, env.seq, env.ts) == ("btn-0001", "home-0001", 7, NOW)
    assert env.body.type is EventType.SOS


@pytest.mark.parametrize(("topic_kind", "payload", "code", "says"), [
    ("event", b"{not json", "json", "malformed JSON"),
    ("event", b'{"seq": "7", "ts": 1, "type": "sos"}', "schema", "Expected `int`"),
    ("event", json.dumps({"seq": 1, "ts": NOW_MS, "type": "explode"}).encode(), "schema",
     "Invalid enum value"),
    ("event", json.dumps({"seq": -1, "ts": NOW_MS, "type": "sos"}).encode(), "schema", ">= 0"),
    ("event", json.dumps({"ts": NOW_MS, "type": "sos"}).encode(), "schema", "`seq`"),
    ("event", json.dumps({"v": 2, "seq": 1, "ts": NOW_MS, "type": "sos"}).encode(), "schema",
     "v"),
    ("telemetry", json.dumps({"seq": 1, "ts": NOW_MS, "hr": 999}).encode(), "schema", "<= 250"),
    ("location", json.dumps({"seq": 1, "ts": NOW_MS + 3_600_000, "lat": 31.2,
                             "lon": 121.4}).encode(), "ts_future", "in the future"),
    ("telemetry", json.dumps({"seq": 1, "ts": NOW_MS - 30 * 86_400_000, "hr": 70}).encode(),
     "ts_past", "in the past"),
    ("event", b"[]", "schema", "Expected `object`"),
])
def test_bad_payloads_are_refused_with_a_reason(topic_kind: str, payload: bytes, code: str,
                                                says: str) -> None:
    with pytest.raises(ContractViolation) as caught:
        decoder.decode(T + topic_kind, payload)
    assert caught.value.code == code
    assert says in caught.value.reason


@pytest.mark.parametrize("said", [0, 946_684_800_000, NOW_MS - 30 * 86_400_000,
                                  NOW_MS + 3_600_000, 2**53])
def test_an_event_at_a_time_that_cannot_be_is_placed_at_its_arrival_not_refused(said: int) -> None:
    """An SOS from a clock reset to 1970 or 2000, a month slow, an hour fast, or absurd: the
    press is real, so the event is kept, at the decoder's now, its device's time and its own
    detail kept. One inside the window keeps its time and has no such key."""
    payload = json.dumps({"seq": 1, "ts": said, "type": "sos", "detail": {"zone": "bed"}}).encode()
    env = decoder.decode(T + "event", payload)
    assert isinstance(env.body, Event) and env.body.type is EventType.SOS
    assert env.ts == NOW and env.body.ts == NOW_MS
    assert env.body.detail == {"zone": "bed", "device_clock_ts": said}
    fine = decoder.decode(T + "event", json.dumps(
        {"seq": 2, "ts": NOW_MS - 60_000, "type": "sos"}).encode())
    assert fine.body.ts == NOW_MS - 60_000 and fine.body.detail is None  # type: ignore[union-attr]


def test_a_wrong_clock_is_learnt_from_readings_spread_over_a_minute_then_placed_by_it() -> None:
    """A watch whose clock reset to 2000 sends its telemetry every 20 s. The first three are
    refused (the third agrees, but the three came within 40 s); the fourth, a minute after the
    first, is placed by the error learnt, and so is every one after, at the platform's time
    (``clock_offset`` says by how much). A status and a check-in are placed at their arrival and
    teach nothing. A reading at a right time forgets the error (its clock was set); a clock
    that jumps again is learnt again."""
    now = [NOW]
    d = Decoder(clock=lambda: now[0])
    y2k = 946_684_800_000
    watch = "eldercare/v1/home-0001/watch-0001/"

    def telemetry(seq: int, ts: float) -> bytes:
        return json.dumps({"seq": seq, "ts": int(ts), "hr": 70}).encode()

    said = []
    for i in range(4):
        now[0] = NOW + 20 * i
        try:
            env = d.decode(watch + "telemetry", telemetry(i + 1, y2k + 20_000 * i))
            said.append((env.ts, env.clock_offset))
        except ContractViolation as err:
            said.append(f"{err.code}: {err.reason.partition('; ')[2]}")
        if i == 1:  # a last will, from its connect a day before by its clock: said now
            will = d.decode(watch + "status", json.dumps(
                {"seq": 90, "ts": y2k - 86_400_000, "state": "offline"}).encode())
            assert (will.ts, will.clock_offset) == (now[0], NOW - y2k / 1000 + 86_400 + 20)
            here = d.decode(watch + "checkin", json.dumps({"seq": 91, "ts": 5}).encode())
            assert (here.ts, here.clock_offset) == (now[0], NOW + 20 - 0.005)
    error = NOW - y2k / 1000
    learning = "ts_past: its clock's error is being learnt (2 of 3 readings agree)"
    assert said == ["ts_past: ", learning, learning, (NOW + 60, pytest.approx(error))]
    now[0] = NOW + 80.5  # a little late in transit: placed by the error, not by its arrival
    late = d.decode(watch + "telemetry", telemetry(5, y2k + 80_000))
    assert late.ts == pytest.approx(NOW + 80, abs=0.2)
    right = d.decode(watch + "telemetry", telemetry(6, now[0] * 1000))  # its clock set
    assert (right.ts, right.clock_offset) == (now[0], 0.0)
    with pytest.raises(ContractViolation, match=r"in the past$"):
        d.decode(watch + "telemetry", telemetry(7, y2k + 100_000))  # reset again: learnt afresh


def test_a_clock_an_hour_slow_is_learnt_from_half_an_hour_of_readings_then_placed_by_it() -> None:
    """A watch set an hour behind (a zone slip: inside the window, so nothing is refused) sends
    telemetry every minute, each a second or two in transit. For half an hour its readings
    keep their own time; from then on they, and its SOS, are placed an hour later, at the
    platform's time (``clock_offset`` 3 600 s). A reading on time forgets it: the clock was
    set, and the next SOS keeps its own time."""
    now = [NOW]
    d = Decoder(clock=lambda: now[0])
    watch = "eldercare/v1/home-0001/watch-0001/"
    placed = []
    for i in range(40):
        now[0] = NOW + 60 * i
        said_ms = (now[0] - 3600 - 1 - i % 3) * 1000  # 1-3 s in transit
        env = d.decode(watch + "telemetry", json.dumps(
            {"seq": i + 1, "ts": int(said_ms), "hr": 70}).encode())
        placed.append((round(now[0] - env.ts), env.clock_offset))
    assert placed[:30] == [(3601 + i % 3, 0.0) for i in range(30)]  # an hour early
    assert set(placed[30:]) == {(1, 3600.0), (2, 3600.0), (3, 3600.0)}  # placed as sent
    sos = d.decode(watch + "event", json.dumps(
        {"seq": 90, "ts": int((now[0] - 3601) * 1000), "type": "sos"}).encode())
    assert (sos.ts, sos.clock_offset) == (now[0] - 1, 3600.0)
    assert isinstance(sos.body, Event) and sos.body.detail == {"device_clock_ts": int((now[0] - 3601) * 1000)}
    check = d.decode(watch + "checkin", json.dumps({"seq": 91, "ts": int((now[0] - 3600) * 1000)}).encode())
    assert check.clock_offset == 0.0  # a check-in keeps the time it says and teaches nothing
    now[0] += 60
    right = d.decode(watch + "telemetry", json.dumps(
        {"seq": 92, "ts": int(now[0] * 1000) - 1500, "hr": 70}).encode())
    assert right.clock_offset == 0.0
    sos = d.decode(watch + "event", json.dumps(
        {"seq": 93, "ts": int(now[0] * 1000) - 1000, "type": "sos"}).encode())
    assert (sos.ts, sos.clock_offset) == (now[0] - 1, 0.0)


@pytest.mark.parametrize(("late_s", "step_s"), [
    (17 * 60, 0.0),  # a clock that drifted 17 min: not a zone's quarter hours
    (2 * 3600, -50.0),  # a backlog after a two-hour outage, catching up 50 s a minute
])
def test_a_steady_lateness_off_the_quarter_hours_or_a_backlog_is_not_taken_for_a_slip(
        late_s: float, step_s: float) -> None:
    now = [NOW]
    d = Decoder(clock=lambda: now[0])
    for i in range(60):
        now[0] = NOW + 60 * i
        said_ms = (now[0] - max(late_s + step_s * i, 0)) * 1000
        env = d.decode(T + "telemetry", json.dumps({"seq": i + 1, "ts": int(said_ms),
                                                    "hr": 70}).encode())
        assert (env.ts, env.clock_offset) == (int(said_ms) / 1000, 0.0)


def test_a_backlog_replayed_in_one_burst_is_never_taken_for_a_wrong_clock() -> None:
    """A gateway replaying ten days' old readings at once (against the contract): they agree
    with each other as a wrong clock's would, but they came together, so all are refused."""
    d = Decoder(clock=lambda: NOW)
    old = NOW_MS - 10 * 86_400_000
    for i in range(20):
        with pytest.raises(ContractViolation) as caught:
            d.decode(T + "telemetry", json.dumps({"seq": i + 1, "ts": old + 2000 * i,
                                                  "hr": 70}).encode())
        assert caught.value.code == "ts_past"


def test_an_event_broken_in_a_side_field_is_refused_with_its_sound_fields_salvaged() -> None:
    """The violation is raised as ever (the message is dead-lettered whole), carrying the event
    made of its sound fields: a double press keeps its count when its service type is unknown
    (the button's configured service is asked for), a bad count is left out, and so is a
    detail that is not flat. A reading, or an event without a sound seq or type, has none."""
    def refused(topic_kind: str, body: dict[str, object]) -> ContractViolation:
        with pytest.raises(ContractViolation) as caught:
            decoder.decode(T + topic_kind, json.dumps(body).encode())
        assert caught.value.code == "schema"
        return caught.value

    base = {"seq": 3, "ts": NOW_MS, "type": "sos"}
    double = refused("event", {**base, "presses": 2, "service_type": "massage"}).salvaged
    assert double is not None and isinstance(double.body, Event)
    assert (double.body.presses, double.body.service_type, double.ts) == (2, None, NOW)
    assert double.body.detail is not None and "service_type" in double.body.detail["contract_error"]
    nested = refused("event", {**base, "presses": 0, "detail": {"a": [1]}}).salvaged
    assert nested is not None and isinstance(nested.body, Event)
    assert nested.body.presses is None and set(nested.body.detail or {}) == {"contract_error"}
    for broken in ({**base, "seq": "three"}, {**base, "type": "panic"}):
        assert refused("event", broken).salvaged is None
    assert refused("telemetry", {"seq": 1, "ts": NOW_MS, "hr": 999}).salvaged is None


def test_oversized_payload_is_refused_before_parsing() -> None:
    payload = b'{"seq": 1, "ts": 1, "type": "sos", "detail": {"x": "' + b"a" * MAX_PAYLOAD_BYTES + b'"}}'
    with pytest.raises(ContractViolation) as caught:
        decoder.decode(T + "event", payload)
    assert caught.value.code == "too_large"


def _accel(samples: np.ndarray, **over: object) -> bytes:
    body = {"seq": 1, "ts": NOW_MS, "hz": 50.0, "scale": 1 / 1024, "n": len(samples),
            "data": pack_samples(samples, 1 / 1024)}
    body.update(over)
    return json.dumps(body).encode()


def test_accel_window_round_trips_within_quantisation() -> None:
    rng = np.random.default_rng(1)
    samples = rng.normal(0, 2, size=(50, 3)).astype(np.float32)
    env = decoder.decode(T + "accel", _accel(samples))
    assert isinstance(env.body, Accel)
    np.testing.assert_allclose(accel_samples(env.body), samples, atol=0.5 / 1024 + 1e-6)


@pytest.mark.parametrize(("over", "says"), [
    ({"n": 49}, "expected 294"),
    ({"data": "%%%"}, "not valid base64"),
    ({"hz": 10.0}, ">= 25.0"),
    ({"gyro": base64.b64encode(b"\0" * 300).decode()}, "gyro without gyro_scale"),
])
def test_accel_inconsistencies_are_refused(over: dict[str, object], says: str) -> None:
    with pytest.raises(ContractViolation) as caught:
        decoder.decode(T + "accel", _accel(np.zeros((50, 3), np.float32), **over))
    assert says in caught.value.reason


def test_encode_omits_absent_fields() -> None:
    assert json.loads(encode(Event(seq=1, ts=2, type=EventType.CANCEL))) == {
        "seq": 1, "ts": 2, "type": "cancel"}


@pytest.mark.parametrize("kind", list(Kind))
def test_published_schemas_match_the_code(kind: Kind) -> None:
    published = Path(__file__).resolve().parents[2] / "docs" / "schemas" / f"{kind}.schema.json"
    assert json.loads(published.read_text()) == schema(kind), (
        "docs/schemas is stale: run `eldercare contract --schemas docs/schemas`")


def test_schemas_validate_what_the_decoder_accepts() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    good = {"seq": 1, "ts": NOW_MS, "type": "smoke"}
    jsonschema.validate(good, schema(Kind.EVENT))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"seq": 1, "ts": NOW_MS, "type": "explode"}, schema(Kind.EVENT))
