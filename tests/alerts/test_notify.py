"""Who is told what, and when: recipients, preferences, quiet hours, idempotent enqueueing.
Real PostgreSQL; the outbox rows are what the notifier will send."""

from __future__ import annotations

import datetime as dt
import doctest
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

import alerts.notify
from alerts.delivery_errors import DeliveryError
from alerts.notify import Preferences, RetryPolicy, enqueue, next_step
from store import notifications as outbox

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 11, 22, 14, 46, tzinfo=dt.UTC)  # 22:46 in Shanghai


async def seed_family(conn: AsyncConnection[Any], *, contacts: list[dict[str, Any]],
                      prefs: dict[str, dict[str, Any]] | None = None,
                      webhooks: list[dict[str, Any]] | None = None) -> dict[str, int]:
    """Site s1, resident r1 (王秀英) and the given contacts; returns contact ids by name."""
    await conn.execute("INSERT INTO sites (id, kind, name) VALUES ('s1', 'home', '幸福里小区')")
    await conn.execute("INSERT INTO residents (id, site_id, name) VALUES ('r1', 's1', '王秀英')")
    ids: dict[str, int] = {}
    for contact in contacts:
        row = {"relation": "daughter", "phone": "", "email": "", "lang": "zh-CN", "priority": 1} | contact
        cur = await conn.execute(
            "INSERT INTO contacts (resident_id, name, relation, phone, email, lang, priority)"
            " VALUES ('r1', %(name)s, %(relation)s, %(phone)s, %(email)s, %(lang)s, %(priority)s)"
            " RETURNING id", row)
        found = await cur.fetchone()
        assert found is not None
        ids[contact["name"]] = found["id"]
    for name, pref in (prefs or {}).items():
        await conn.execute(
            "INSERT INTO notification_prefs (contact_id, kinds, channels, quiet_start, quiet_end, tz)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (ids[name], pref.get("kinds", ["alarm", "handled"]), pref.get("channels", ["sms", "email"]),
             pref.get("quiet_start"), pref.get("quiet_end"), pref.get("tz")))
    for hook in webhooks or []:
        await conn.execute(
            "INSERT INTO webhooks (site_id, url, secret, lang, active) VALUES ('s1', %s, %s, %s, %s)",
            (hook["url"], hook.get("secret", "s3cret"), hook.get("lang", "zh-CN"), hook.get("active", True)))
    return ids


async def raise_(conn: AsyncConnection[Any], *, incident_id: int = 1, kind: str = "alarm",
                 priority: int = 1, alarm_kind: str = "fall", now: dt.datetime = T0,
                 outcome: str | None = None) -> int:
    return await enqueue(conn, incident_id=incident_id, site_id="s1", resident_id="r1", kind=kind,
                         priority=priority, alarm_kind=alarm_kind, occurred_at=T0, outcome=outcome,
                         now=now)


def by_recipient(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["recipient"]: row for row in rows}


def test_docstring_examples() -> None:
    assert doctest.testmod(alerts.notify).failed == 0


TRANSIENT = DeliveryError("HTTP 503 from SMS gateway", permanent=False)
PERMANENT = DeliveryError("HTTP 400 from SMS gateway", permanent=True)


@pytest.mark.parametrize(("error", "attempts", "index", "expected"), [
    (None, 2, 0, ("sent", 0, 2, 1000.0)),
    (TRANSIENT, 1, 0, ("failed", 0, 1, 1010.0)),  # same channel after the first backoff
    (TRANSIENT, 2, 0, ("failed", 0, 2, 1030.0)),
    (TRANSIENT, 3, 0, ("failed", 1, 0, 1000.0)),  # attempts used up: next channel, now
    (PERMANENT, 1, 0, ("failed", 1, 0, 1000.0)),  # permanent: next channel without retrying
    (PERMANENT, 1, 1, ("given_up", 1, 1, 1000.0)),
    (TRANSIENT, 3, 1, ("given_up", 1, 3, 1000.0)),
])
def test_retry_and_fallback_policy(error: DeliveryError | None, attempts: int, index: int,
                                   expected: tuple[str, int, int, float]) -> None:
    step = next_step(error=error, attempts=attempts, channel_index=index, chain_length=2, now=1000.0,
                     policy=RetryPolicy(backoff=(10.0, 30.0), attempts_per_channel=3))
    assert (step.status, step.channel_index, step.attempts, step.next_attempt_at) == expected
    assert step.error == (error.reason if error else None)


def test_retry_policy_from_the_environment_repeats_its_last_delay() -> None:
    policy = RetryPolicy.from_env({"ELDERCARE_NOTIFY_BACKOFF": "5,60", "ELDERCARE_NOTIFY_ATTEMPTS": "4"})
    assert [policy.delay(n) for n in (1, 2, 3)] == [5.0, 60.0, 60.0]
    assert policy.attempts_per_channel == 4
    with pytest.raises(ValueError, match="at least one attempt"):
        RetryPolicy(attempts_per_channel=0)


@pytest.mark.parametrize(("local", "until"), [
    ("21:59", None), ("22:00", "2026-11-23 07:00"), ("23:30", "2026-11-23 07:00"),
    ("06:59", "2026-11-22 07:00"), ("07:00", None), ("12:00", None)])
def test_quiet_hours_spanning_midnight(local: str, until: str | None) -> None:
    prefs = Preferences(quiet_start=dt.time(22), quiet_end=dt.time(7))
    now = dt.datetime.fromisoformat(f"2026-11-22 {local}").replace(tzinfo=SHANGHAI)
    expected = None if until is None else dt.datetime.fromisoformat(until).replace(tzinfo=SHANGHAI)
    assert prefs.quiet_until(now, priority=3) == expected
    assert prefs.quiet_until(now, priority=1) is None  # never for life-at-risk alarms


def test_quiet_hours_within_one_day() -> None:
    prefs = Preferences(quiet_start=dt.time(13), quiet_end=dt.time(14, 30), tz="Europe/Berlin")
    now = dt.datetime(2026, 6, 1, 13, 15, tzinfo=ZoneInfo("Europe/Berlin"))
    assert prefs.quiet_until(now, priority=2) == dt.datetime(2026, 6, 1, 14, 30,
                                                             tzinfo=ZoneInfo("Europe/Berlin"))
    assert prefs.quiet_until(now.replace(hour=15), priority=2) is None


@pytest.mark.db
async def test_contacts_get_their_channels_their_language_and_webhooks_too(
        pool: AsyncConnectionPool[Any]) -> None:
    async with pool.connection() as conn:
        ids = await seed_family(conn, contacts=[
            {"name": "王丽", "phone": "13800000001", "email": "li@example.org"},
            {"name": "Tom", "lang": "en", "email": "tom@example.org", "priority": 2},
            {"name": "王强", "phone": "13800000003", "priority": 3}],
            webhooks=[{"url": "http://partner.example/hook"},
                      {"url": "http://old.example/hook", "active": False}])
        assert await raise_(conn) == 4
    async with pool.connection() as conn:
        rows = by_recipient(await outbox.for_incident(conn, 1))
    assert set(rows) == {f"contact:{ids['王丽']}", f"contact:{ids['Tom']}", f"contact:{ids['王强']}",
                         "webhook:1"}
    li, tom, qiang = (rows[f"contact:{ids[n]}"] for n in ("王丽", "Tom", "王强"))
    assert li["channels"] == ["sms", "email"] and li["channel"] == "sms"
    assert tom["channels"] == ["email"]  # no phone: SMS is left out of his chain
    assert qiang["channels"] == ["sms"]
    assert li["subject"] == "【12349】王秀英：跌倒" and li["lang"] == "zh-CN"
    assert tom["subject"] == "[12349] Fall: 王秀英" and tom["lang"] == "en"
    assert rows["webhook:1"]["channels"] == ["webhook"]
    assert all(row["status"] == "pending" and row["next_attempt_at"] == T0 for row in rows.values())


@pytest.mark.db
async def test_enqueueing_twice_adds_nothing(pool: AsyncConnectionPool[Any]) -> None:
    async with pool.connection() as conn:
        await seed_family(conn, contacts=[{"name": "王丽", "phone": "13800000001"}],
                          webhooks=[{"url": "http://partner.example/hook"}])
        assert await raise_(conn) == 2
    async with pool.connection() as conn:
        assert await raise_(conn) == 0
        assert await raise_(conn, kind="handled", outcome="false_alarm") == 2  # another message
        assert await raise_(conn, incident_id=2) == 2  # another incident
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT incident_id, kind, count(*) AS n FROM notifications"
                                 " GROUP BY 1, 2 ORDER BY 1, 2")
        assert [tuple(r.values()) for r in await cur.fetchall()] == [
            (1, "alarm", 2), (1, "handled", 2), (2, "alarm", 2)]


@pytest.mark.db
async def test_notifications_commit_or_roll_back_with_the_callers_transaction(
        pool: AsyncConnectionPool[Any]) -> None:
    async with pool.connection() as conn:
        await seed_family(conn, contacts=[{"name": "王丽", "phone": "13800000001"}])
    async with pool.connection() as conn:

        async def incident_that_fails_after_enqueueing() -> None:
            async with conn.transaction():
                assert await raise_(conn) == 1
                raise RuntimeError("incident insert failed")

        with pytest.raises(RuntimeError, match="incident insert failed"):
            await incident_that_fails_after_enqueueing()
        assert await outbox.for_incident(conn, 1) == []


@pytest.mark.db
async def test_a_contact_who_wants_only_alarms_gets_no_handled_message(
        pool: AsyncConnectionPool[Any]) -> None:
    async with pool.connection() as conn:
        ids = await seed_family(
            conn, contacts=[{"name": "王丽", "phone": "13800000001"},
                            {"name": "王强", "phone": "13800000003", "email": "q@example.org"}],
            prefs={"王丽": {"kinds": ["alarm"]}, "王强": {"channels": ["email"]}})
        await raise_(conn)
        await raise_(conn, kind="handled", outcome="false_alarm")
    async with pool.connection() as conn:
        rows = await outbox.for_incident(conn, 1)
    got = {(row["contact_id"], row["kind"]): row for row in rows}
    assert set(got) == {(ids["王丽"], "alarm"), (ids["王强"], "alarm"), (ids["王强"], "handled")}
    assert got[(ids["王强"], "handled")]["channels"] == ["email"]  # his choice, though he has a phone
    handled = got[(ids["王强"], "handled")]
    assert handled["subject"] == "【12349】王秀英的跌倒已处理"
    assert handled["short_text"].endswith("已处理：误报，老人平安。")


@pytest.mark.db
async def test_a_contact_who_unticked_every_kind_is_sent_only_an_escalation(
        pool: AsyncConnectionPool[Any]) -> None:
    """An empty list of kinds is a choice, not "unset": until 2026-12-07 it fell back to the
    defaults, and a son who had unticked everything was sent every alarm. He still hears an
    unanswered P1 ('escalated': nobody may refuse it); a contact with no preferences saved gets
    the defaults, the watch's 'device' message among them."""
    async with pool.connection() as conn:
        ids = await seed_family(
            conn, contacts=[{"name": "王丽", "phone": "13800000001"},
                            {"name": "王强", "phone": "13800000003"}],
            prefs={"王强": {"kinds": []}})
        await raise_(conn)
        await raise_(conn, kind="handled", outcome="false_alarm")
        await raise_(conn, kind="escalated")
        await enqueue(conn, incident_id=2, site_id="s1", resident_id="r1", kind="device",
                      priority=4, alarm_kind="maintenance", occurred_at=T0, note="watch_flat")
    async with pool.connection() as conn:
        rows = await outbox.for_incident(conn, 1) + await outbox.for_incident(conn, 2)
    assert sorted((row["contact_id"], row["kind"]) for row in rows) == sorted([
        (ids["王丽"], "alarm"), (ids["王丽"], "handled"), (ids["王丽"], "escalated"),
        (ids["王丽"], "device"), (ids["王强"], "escalated")])
    [device] = [row for row in rows if row["kind"] == "device"]
    assert device["subject"] == "【12349】王秀英的手表可能没电了"
    assert device["short_text"].startswith("【12349】王秀英的手表可能没电了（11月22日 22:46起）")


@pytest.mark.db
async def test_quiet_hours_delay_a_p3_but_never_a_p1(pool: AsyncConnectionPool[Any]) -> None:
    night = dt.datetime(2026, 11, 22, 23, 30, tzinfo=SHANGHAI)
    async with pool.connection() as conn:
        await seed_family(conn, contacts=[{"name": "王丽", "phone": "13800000001"}],
                          prefs={"王丽": {"quiet_start": dt.time(22), "quiet_end": dt.time(7)}})
        await raise_(conn, incident_id=1, priority=1, alarm_kind="fall", now=night)
        await raise_(conn, incident_id=2, priority=3, alarm_kind="inactivity", now=night)
    async with pool.connection() as conn:
        [fall] = await outbox.for_incident(conn, 1)
        [quiet] = await outbox.for_incident(conn, 2)
    assert fall["next_attempt_at"] == night
    assert quiet["next_attempt_at"] == dt.datetime(2026, 11, 23, 7, 0, tzinfo=SHANGHAI)
    assert quiet["status"] == "pending"  # delayed, not dropped


@pytest.mark.db
async def test_a_contact_with_no_usable_channel_is_given_up_at_once_and_listed(
        pool: AsyncConnectionPool[Any]) -> None:
    async with pool.connection() as conn:
        ids = await seed_family(conn, contacts=[{"name": "王丽", "phone": "13800000001"}],
                                prefs={"王丽": {"channels": ["email"]}})  # but no email address
        assert await raise_(conn) == 1
    async with pool.connection() as conn:
        [row] = await outbox.given_up(conn)
    assert row["contact_id"] == ids["王丽"] and row["recipient_name"] == "王丽"
    assert row["last_error"] == "no address for any of email"


@pytest.mark.db
async def test_a_site_alarm_without_a_resident_reaches_webhooks_under_the_sites_name(
        pool: AsyncConnectionPool[Any]) -> None:
    async with pool.connection() as conn:
        await seed_family(conn, contacts=[{"name": "王丽", "phone": "13800000001"}],
                          webhooks=[{"url": "http://partner.example/hook", "lang": "en"}])
        added = await enqueue(conn, incident_id=9, site_id="s1", resident_id=None, kind="alarm",
                              priority=1, alarm_kind="smoke", occurred_at=T0, now=T0)
        [row] = await outbox.for_incident(conn, 9)
    assert added == 1 and row["recipient"] == "webhook:1"  # no resident, so no family to tell
    assert row["subject"] == "[12349] Smoke alarm: 幸福里小区"
    assert row["payload"]["resident_name"] is None and row["payload"]["alarm_kind"] == "smoke"


@pytest.mark.db
async def test_a_communitys_outage_is_not_told_to_the_first_homes_partners(
        pool: AsyncConnectionPool[Any]) -> None:
    """An ``area_outage`` is raised on the first gateway down, whose home is s1; it is the
    community's, not s1's, and s1's partner is not told of it as s1's."""
    async with pool.connection() as conn:
        await seed_family(conn, contacts=[], webhooks=[{"url": "http://partner.example/hook"}])
        added = await enqueue(conn, incident_id=9, site_id="s1", resident_id=None, kind="alarm",
                              priority=3, alarm_kind="area_outage", occurred_at=T0, now=T0)
        assert added == 0 and await outbox.for_incident(conn, 9) == []


@pytest.mark.db
async def test_an_unknown_message_kind_is_refused(pool: AsyncConnectionPool[Any]) -> None:
    async with pool.connection() as conn:
        await seed_family(conn, contacts=[])
        with pytest.raises(ValueError, match="notification kind"):
            await raise_(conn, kind="reminder")


@pytest.mark.db
async def test_a_mistyped_time_zone_falls_back_instead_of_failing_the_incident(
        pool: AsyncConnectionPool[Any]) -> None:
    async with pool.connection() as conn:
        await seed_family(conn, contacts=[{"name": "王丽", "phone": "13800000001"}],
                          prefs={"王丽": {"tz": "Asia/Shangai"}})
        assert await raise_(conn) == 1
        [row] = await outbox.for_incident(conn, 1)
    assert "22:46" in row["short_text"]  # shown in the site's zone, Asia/Shanghai


async def stay_family(conn: AsyncConnection[Any], **prefs: Any) -> int:
    """r1's daughter 王丽, with an account (li) linked to her contact; returns the contact id."""
    ids = await seed_family(conn, contacts=[{"name": "王丽", "phone": "13800000001",
                                             "email": "li@example.org"}],
                            prefs={"王丽": prefs} if prefs else None)
    await conn.execute("INSERT INTO users (username, password_hash, role, display_name,"
                       " scope_resident, contact_id) VALUES ('li', 'x', 'family', '王丽', 'r1', %s)",
                       (ids["王丽"],))
    return ids["王丽"]


def stay_place(ends_at: dt.datetime, **changes: Any) -> dict[str, Any]:
    return {"name": "我家", "ends_at": ends_at, "by_family": True, "changed_by": "li"} | changes


async def test_a_familys_stay_is_reminded_to_whoever_set_it_before_it_ends(
        pool: AsyncConnectionPool[Any]) -> None:
    """Three hours before the stay ends, to the contact whose account set it, in her language
    and zone, on her channels; none for the centre's place, an account with no contact, a stay
    set within the last half hour before its reminder, or one whose reminder quiet hours would
    hold past the end."""
    from alerts.notify import STAY_REMINDER_LEAD, remind_stay

    ends = T0 + dt.timedelta(hours=10)  # 08:46 the next morning in Shanghai
    async with pool.connection() as conn:
        contact = await stay_family(conn)
        due = await remind_stay(conn, resident_id="r1", place=stay_place(ends), now=T0)
        assert due == ends - STAY_REMINDER_LEAD
        [row] = await outbox.about(conn, outbox.stay_subject("r1", "我家"))
        assert (row["contact_id"], row["kind"], row["priority"], row["channels"], row["status"],
                row["next_attempt_at"], row["incident_id"]) == (
            contact, "stay", 4, ["sms", "email"], "pending", due, None)
        assert row["subject"] == "【12349】王秀英在我家的留宿将于08:46到期"
        assert row["short_text"] == ("【12349】王秀英在我家的留宿将于11月23日 08:46到期，"
                                     "如需多住请在家属页面延长。")
        assert row["payload"]["place"] == "我家" and row["payload"]["incident_id"] is None
        for place, now in [(stay_place(ends, by_family=False), T0),  # the centre's: it has no setter
                           (stay_place(ends, changed_by="nobody"), T0),  # no contact of hers
                           (stay_place(ends), ends - STAY_REMINDER_LEAD - dt.timedelta(minutes=20)),
                           (stay_place(None), T0)]:
            assert await remind_stay(conn, resident_id="r1", place=place, now=now) is None
        assert len(await outbox.about(conn, outbox.stay_subject("r1", "我家"))) == 1


async def test_quiet_hours_hold_a_stay_reminder_and_drop_it_when_the_stay_is_over_by_then(
        pool: AsyncConnectionPool[Any]) -> None:
    from alerts.notify import remind_stay

    async with pool.connection() as conn:
        await stay_family(conn, quiet_start=dt.time(22), quiet_end=dt.time(7), tz="Asia/Shanghai")
        # ends 12:00 on the 23rd: its reminder at 09:00 is outside her quiet hours
        noon = dt.datetime(2026, 11, 23, 12, tzinfo=SHANGHAI)
        due = await remind_stay(conn, resident_id="r1", place=stay_place(noon), now=T0)
        assert due == dt.datetime(2026, 11, 23, 9, tzinfo=SHANGHAI)
        # ends 08:00: 05:00 is quiet until 07:00, still before the end
        eight = dt.datetime(2026, 11, 23, 8, tzinfo=SHANGHAI)
        due = await remind_stay(conn, resident_id="r1", place=stay_place(eight, name="儿子家"), now=T0)
        assert due == dt.datetime(2026, 11, 23, 7, tzinfo=SHANGHAI)
        # ends 06:30: held until 07:00 it would come after the end, so none
        dawn = dt.datetime(2026, 11, 23, 6, 30, tzinfo=SHANGHAI)
        assert await remind_stay(conn, resident_id="r1", place=stay_place(dawn, name="x"), now=T0) is None


async def test_a_stay_extended_or_ended_takes_its_waiting_reminder_back(
        pool: AsyncConnectionPool[Any]) -> None:
    """Through the store, in real time (a stay's end must be in the future): one reminder
    waits at a time, at the latest end; ending the stay early takes it back; a reminder
    already sent stays as the record of what she was told."""
    from alerts.notify import STAY_REMINDER_LEAD, remind_stay
    from store import admin as store_admin

    subject = outbox.stay_subject("r1", "我家")
    now = dt.datetime.now(dt.UTC)
    async with pool.connection() as conn:
        await stay_family(conn)
        for days in (2, 3):
            async with conn.transaction():
                row = await store_admin.set_place(
                    conn, "r1", "我家", lat=31.2, lon=121.4, radius_m=300.0, by="li",
                    ends_at=now + dt.timedelta(days=days), family=True)
                await remind_stay(conn, resident_id="r1", place=row)
        [waiting] = await outbox.about(conn, subject)
        assert waiting["next_attempt_at"] == now + dt.timedelta(days=3) - STAY_REMINDER_LEAD
        await conn.execute("UPDATE notifications SET status = 'sent' WHERE id = %s",
                           (waiting["id"],))
        async with conn.transaction():
            row = await store_admin.set_place(
                conn, "r1", "我家", lat=31.2, lon=121.4, radius_m=300.0, by="li",
                ends_at=now + dt.timedelta(days=4), family=True)
            await remind_stay(conn, resident_id="r1", place=row)
        assert [r["status"] for r in await outbox.about(conn, subject)] == ["sent", "pending"]
        await store_admin.remove_place(conn, "r1", "我家", family=True)
        assert [r["status"] for r in await outbox.about(conn, subject)] == ["sent"]
