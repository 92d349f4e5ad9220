"""The notifier against real servers and real PostgreSQL, driven by a controllable clock:
retries with backoff, fallback to the next channel, giving up visibly, quiet hours, leases, and
two notifiers never sending the same notification."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections import Counter
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool

from alerts.channels import Channel
from alerts.channels.email import EmailChannel, SmtpSettings
from alerts.channels.sms import SmsChannel
from alerts.channels.webhook import WebhookChannel, verify
from alerts.notify import Notifier, RetryPolicy
from store import notifications as outbox
from store.database import open_pool
from tests.alerts.test_channels import HttpReceiver, smtp_server
from tests.alerts.test_notify import SHANGHAI, T0, raise_, seed_family
from tests.servers import free_port

pytestmark = pytest.mark.db

START = T0.timestamp()


class Clock:
    """Epoch seconds that move only when the test says so."""

    def __init__(self, at: float = START) -> None:
        self.now = at

    def __call__(self) -> float:
        return self.now

    def at(self, seconds_after_t0: float) -> None:
        self.now = START + seconds_after_t0


def notifier(pool: AsyncConnectionPool[Any], clock: Clock, channels: dict[str, Channel], *,
             backoff: tuple[float, ...] = (10.0, 30.0), attempts: int = 3, batch_size: int = 20) -> Notifier:
    return Notifier(pool, channels, clock=clock, batch_size=batch_size,
                    policy=RetryPolicy(backoff=backoff, attempts_per_channel=attempts))


async def only_row(pool: AsyncConnectionPool[Any], incident_id: int = 1) -> dict[str, Any]:
    async with pool.connection() as conn:
        [row] = await outbox.for_incident(conn, incident_id)
    return row


async def test_webhook_failing_twice_is_delivered_on_the_third_attempt_after_the_backoff(
        pool: AsyncConnectionPool[Any]) -> None:
    clock = Clock()
    with HttpReceiver([500, 500, 200]) as receiver:
        async with pool.connection() as conn:
            await seed_family(conn, contacts=[], webhooks=[{"url": receiver.url, "secret": "k"}])
            await raise_(conn)
        sender = notifier(pool, clock, {"webhook": WebhookChannel(timeout=5)})
        statuses = []
        for seconds in (0, 9.999, 10, 39.999, 40, 1000):
            clock.at(seconds)
            statuses.append([a.status for a in await sender.run_once()])
    assert statuses == [["failed"], [], ["failed"], [], ["sent"], []]
    assert [r.json()["sent_at"] for r in receiver.requests] == [START, START + 10, START + 40]
    assert {r.json()["notification_id"] for r in receiver.requests} == {1}  # one notification, retried
    for request in receiver.requests:
        assert verify(request.body, request.headers, secret="k", now=request.json()["sent_at"])
    row = await only_row(pool)
    assert (row["status"], row["total_attempts"]) == ("sent", 3)
    assert row["sent_at"] == T0 + dt.timedelta(seconds=40)
    assert row["last_error"] == 'HTTP 500 from webhook: {"error":"invalid number"}'


async def test_webhook_answering_400_is_not_retried(pool: AsyncConnectionPool[Any]) -> None:
    clock = Clock()
    with HttpReceiver([400]) as receiver:
        async with pool.connection() as conn:
            await seed_family(conn, contacts=[], webhooks=[{"url": receiver.url}])
            await raise_(conn)
        sender = notifier(pool, clock, {"webhook": WebhookChannel(timeout=5)})
        assert [a.status for a in await sender.run_once()] == ["given_up"]
        clock.at(3600)
        assert await sender.run_once() == []
    assert len(receiver.requests) == 1
    async with pool.connection() as conn:
        [listed] = await outbox.given_up(conn)
    assert listed["recipient"] == "webhook:1" and "HTTP 400" in listed["last_error"]
    assert listed["recipient_name"] == f"webhook {receiver.url.split('/')[2]}"  # host, not the URL


async def test_sms_rejected_falls_back_to_email_at_once_in_the_contacts_language(
        pool: AsyncConnectionPool[Any]) -> None:
    clock = Clock()
    with HttpReceiver([400]) as gateway, smtp_server() as smtp:
        async with pool.connection() as conn:
            await seed_family(conn, contacts=[
                {"name": "王丽", "phone": "13800000001", "email": "li@example.org"}])
            await raise_(conn)
        sender = notifier(pool, clock, {"sms": SmsChannel(url=gateway.url, token="t"),
                                        "email": EmailChannel(smtp.settings())})
        first = await sender.run_once()
        second = await sender.run_once()  # same instant: a permanent failure waits for no backoff
    assert [(a.channel, a.status) for a in first + second] == [("sms", "failed"), ("email", "sent")]
    assert len(gateway.requests) == 1
    [mail] = smtp.mailbox.messages
    assert mail["To"] == "li@example.org"
    assert mail["Subject"] == "【12349】王秀英：跌倒"
    assert "王秀英（幸福里小区）于2026年11月22日 22:46" in mail.get_content()
    row = await only_row(pool)
    assert (row["status"], row["channel"]) == ("sent", "email")
    assert "HTTP 400 from SMS gateway" in row["last_error"]


async def test_an_unconfigured_channel_is_skipped(pool: AsyncConnectionPool[Any]) -> None:
    with smtp_server() as smtp:
        async with pool.connection() as conn:
            await seed_family(conn, contacts=[
                {"name": "王丽", "phone": "13800000001", "email": "li@example.org"}])
            await raise_(conn)
        sender = notifier(pool, Clock(), {"email": EmailChannel(smtp.settings())})
        attempts = await sender.run_once() + await sender.run_once()
    assert [(a.channel, a.status, a.error) for a in attempts] == [
        ("sms", "failed", "channel sms is not configured"), ("email", "sent", None)]
    assert len(smtp.mailbox.messages) == 1


async def test_when_every_channel_fails_the_notification_is_given_up_and_listed(
        pool: AsyncConnectionPool[Any]) -> None:
    clock = Clock()
    nobody_listening = SmtpSettings(host="127.0.0.1", port=free_port(), sender="a@b.c", tls="none",
                                    timeout=2)
    dead_smtp = EmailChannel(nobody_listening)
    with HttpReceiver([503]) as gateway:
        async with pool.connection() as conn:
            ids = await seed_family(conn, contacts=[
                {"name": "王丽", "phone": "13800000001", "email": "li@example.org"}])
            await raise_(conn)
        sender = notifier(pool, clock, {"sms": SmsChannel(url=gateway.url, token="t"), "email": dead_smtp},
                          backoff=(10.0,), attempts=2)
        steps = []
        for seconds in (0, 10, 10, 19, 20, 500):
            clock.at(seconds)
            steps.append([(a.channel, a.status) for a in await sender.run_once()])
    assert steps == [[("sms", "failed")], [("sms", "failed")], [("email", "failed")], [],
                     [("email", "given_up")], []]
    assert len(gateway.requests) == 2
    async with pool.connection() as conn:
        [listed] = await outbox.given_up(conn)
    assert listed["contact_id"] == ids["王丽"] and listed["recipient_name"] == "王丽"
    assert listed["total_attempts"] == 4
    assert listed["last_error"] == "mail server unreachable (ConnectionRefusedError)"


async def test_quiet_hours_hold_a_p3_until_morning_but_not_a_p1(pool: AsyncConnectionPool[Any]) -> None:
    night = dt.datetime(2026, 11, 22, 23, 30, tzinfo=SHANGHAI)
    morning = dt.datetime(2026, 11, 23, 7, 0, tzinfo=SHANGHAI)
    clock = Clock(night.timestamp())
    with HttpReceiver([200]) as gateway:
        async with pool.connection() as conn:
            await seed_family(conn, contacts=[{"name": "王丽", "phone": "13800000001"}],
                              prefs={"王丽": {"quiet_start": dt.time(22), "quiet_end": dt.time(7)}})
            await raise_(conn, incident_id=1, priority=1, alarm_kind="fall", now=night)
            await raise_(conn, incident_id=2, priority=3, alarm_kind="inactivity", now=night)
        sender = notifier(pool, clock, {"sms": SmsChannel(url=gateway.url, token="t")})
        at_night = await sender.run_once()
        clock.now = morning.timestamp() - 1
        before_seven = await sender.run_once()
        clock.now = morning.timestamp()
        at_seven = await sender.run_once()
    assert [a.status for a in at_night] == ["sent"] and before_seven == []
    assert [a.status for a in at_seven] == ["sent"]
    texts = [r.json()["text"] for r in gateway.requests]
    assert "跌倒" in texts[0] and "长时间无活动" in texts[1]


async def test_a_notification_claimed_by_a_sender_that_died_is_sent_after_the_lease(
        pool: AsyncConnectionPool[Any]) -> None:
    clock = Clock()
    policy = RetryPolicy()
    with HttpReceiver([200]) as gateway:
        async with pool.connection() as conn:
            await seed_family(conn, contacts=[{"name": "王丽", "phone": "13800000001"}])
            await raise_(conn)
            # A notifier claims the row and dies before sending.
            [claimed] = await outbox.claim_due(conn, now=T0, limit=10,
                                               lease_until=T0 + dt.timedelta(seconds=policy.lease))
        sender = Notifier(pool, {"sms": SmsChannel(url=gateway.url, token="t")}, clock=clock)
        clock.at(policy.lease - 1)
        assert await sender.run_once() == []
        clock.at(policy.lease)
        assert [a.notification_id for a in await sender.run_once()] == [claimed["id"]]
    assert len(gateway.requests) == 1


async def test_two_notifiers_never_send_the_same_notification(db_url: str,
                                                              pool: AsyncConnectionPool[Any]) -> None:
    clock = Clock()
    with HttpReceiver([200]) as gateway:
        async with pool.connection() as conn:
            await seed_family(conn, contacts=[{"name": "王丽", "phone": "13800000001"}])
            for incident in range(1, 41):
                await raise_(conn, incident_id=incident)
        # Separate pools: as separate processes, each with its own connections.
        pools = [open_pool(db_url, max_size=3) for _ in range(4)]
        for each in pools:
            await each.open(wait=True)
        try:
            senders = [notifier(each, clock, {"sms": SmsChannel(url=gateway.url, token="t")},
                                batch_size=5) for each in pools]
            per_sender: Counter[int] = Counter()
            for later in (0.0, 1000.0, 2000.0):
                # A transient failure (a refused connection on a loaded machine) is retried
                # after its backoff: move the clock past it and let the senders finish.
                clock.at(later)
                while True:
                    rounds = await asyncio.gather(*(s.run_once() for s in senders))
                    if not any(rounds):
                        break
                    for index, attempts in enumerate(rounds):
                        per_sender[index] += len([a for a in attempts if a.error is None])
        finally:
            for each in pools:
                await each.close()
    keys = Counter(r.headers["Idempotency-Key"] for r in gateway.requests)
    assert len(keys) == 40 and set(keys.values()) == {1}  # every one sent, none twice
    assert sum(per_sender.values()) == 40
    assert len([n for n in per_sender.values() if n]) >= 2  # the work really was shared


async def test_run_delivers_until_stopped(pool: AsyncConnectionPool[Any]) -> None:
    arrived = threading.Event()
    with HttpReceiver([200]) as gateway:
        async with pool.connection() as conn:
            await seed_family(conn, contacts=[{"name": "王丽", "phone": "13800000001"}])
            await raise_(conn, now=dt.datetime.now(dt.UTC))
        channel = SmsChannel(url=gateway.url, token="t")

        class Watched:  # tells the test (in another thread's terms) when the SMS went out
            name = "sms"

            async def send(self, message: Any) -> None:
                await channel.send(message)
                arrived.set()

        stop = asyncio.Event()
        task = asyncio.create_task(Notifier(pool, {"sms": Watched()}, max_idle=0.05).run(stop))
        assert await asyncio.to_thread(arrived.wait, 10)
        stop.set()
        await asyncio.wait_for(task, 10)
    assert (await only_row(pool))["status"] == "sent"


async def test_a_stay_reminder_is_sent_when_it_is_due_and_not_before(
        pool: AsyncConnectionPool[Any]) -> None:
    """The reminder of a family's stay waits in the outbox until three hours before the end,
    then goes out like any message (a real SMTP server here): to the daughter who set it."""
    from alerts.notify import STAY_REMINDER_LEAD, remind_stay
    from tests.alerts.test_notify import stay_family, stay_place

    clock = Clock()
    ends = T0 + dt.timedelta(hours=10)
    with smtp_server() as smtp:
        async with pool.connection() as conn:
            await stay_family(conn, channels=["email"])
            due = await remind_stay(conn, resident_id="r1", place=stay_place(ends), now=T0)
        assert due == ends - STAY_REMINDER_LEAD
        sender = notifier(pool, clock, {"email": EmailChannel(smtp.settings())})
        clock.at((due - T0).total_seconds() - 1)
        assert await sender.run_once() == []
        clock.at((due - T0).total_seconds())
        assert [(a.channel, a.status) for a in await sender.run_once()] == [("email", "sent")]
    [mail] = smtp.mailbox.messages
    assert (mail["To"], mail["Subject"]) == ("li@example.org", "【12349】王秀英在我家的留宿将于08:46到期")
    assert "家属页面的“在外留宿”中延长" in mail.get_content()
