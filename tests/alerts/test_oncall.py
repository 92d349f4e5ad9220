"""Paging the on-call engineer when the alarm path breaks (alerts/oncall.py): the messages and
settings on their own, then the pager in a real console process on PostgreSQL, sending through
a real SMTP server (aiosmtpd), with nothing mocked."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import doctest
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from alerts import oncall
from alerts.channels.email import EmailChannel
from eldercare.platform import Platform, seed_district
from eldercare.settings import Settings, SettingsError
from simulators.district import District
from store import heartbeats
from store.database import prepare
from tests.alerts.test_channels import SmtpServer, smtp_server
from tests.servers import free_port

AT = dt.datetime(2026, 12, 7, 3, 12, tzinfo=dt.UTC)
SILENT = {"name": "ingest-alarms", "role": "ingest-alarms", "problem": "silent",
          "since": AT.isoformat(), "host": "box:42"}
FAST = {"grace_s": 1.0, "every_s": 0.2, "clear_after_s": 1.0, "retry_after_s": (0.1, 0.1)}


def test_docstring_examples() -> None:
    assert doctest.testmod(oncall).failed == 0


def test_on_call_addresses_are_checked_at_start() -> None:
    assert oncall.parse_oncall(" eng@centre.example ,, +8613800000000 ") == (
        "eng@centre.example", "+8613800000000")
    assert oncall.parse_oncall("") == ()
    for bad in ("engineer", "eng@localhost", "@centre.example", "12ab"):
        with pytest.raises(ValueError, match="ELDERCARE_ONCALL"):
            oncall.parse_oncall(bad)


def test_a_bad_on_call_setting_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ELDERCARE_ONCALL", "eng@centre.example,not a number")
    with pytest.raises(SettingsError, match="not a number"):
        Settings.from_env()
    monkeypatch.setenv("ELDERCARE_ONCALL", "eng@centre.example,+86 138 0000 0000")
    assert Settings.from_env().oncall == ("eng@centre.example", "+86 138 0000 0000")


def test_the_page_says_what_broke_where_and_since_when_in_both_languages() -> None:
    page = oncall.compose("opened", page_id=3, began_at=AT, now=AT + dt.timedelta(minutes=1),
                          problems=[SILENT, {**SILENT, "name": "notifier", "role": "notifier",
                                             "problem": "stopped", "host": "box:43"}])
    assert page.ref == "intake-page-3-opened"
    assert page.subject == "[12349] 报警链路故障 / Alarm path fault"
    assert "- 报警接收 (box:42)：自 2026-12-07 11:12:00 (UTC+08:00) 起无响应" in page.body
    assert "- alarm intake (box:42): not heard from since 2026-12-07 11:12:00 (UTC+08:00)" in page.body
    assert "- family messages (box:43): has stopped" in page.body
    quiet = oncall.compose("opened", page_id=4, began_at=AT, now=AT, problems=[{
        **SILENT, "name": "ingest-streams", "role": "ingest-streams", "problem": "quieter",
        "devices": 410, "usual_devices": 822.0}])
    assert ("- device streams (box:42): hears 410 devices since 2026-12-07 11:12:00 (UTC+08:00),"
            " usually 822") in quiet.body
    assert ("- 设备数据流 (box:42)：自 2026-12-07 11:12:00 (UTC+08:00) 起只收到 410 台设备的消息"
            "（通常 822 台）") in quiet.body
    reminder = oncall.compose("reminder", page_id=3, began_at=AT, problems=[SILENT],
                              now=AT + dt.timedelta(minutes=95))
    assert "Alarm path still broken (1 h 35 min)" in reminder.subject
    assert reminder.ref != page.ref  # a gateway deduplicating on the key must not drop it
    cleared = oncall.compose("cleared", page_id=3, began_at=AT, problems=[SILENT],
                             now=AT + dt.timedelta(minutes=7))
    assert "after a fault of 7 min" in cleared.body and "持续 7 分钟" in cleared.body


def _mail(smtp: SmtpServer) -> EmailChannel:
    return EmailChannel(smtp.settings())


async def _wait(predicate: Callable[[], Any], timeout: float = 15.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {timeout} s")


async def _beat_healthy(pool: AsyncConnectionPool) -> None:
    """An alarm intake at work, beating every half second."""
    started = dt.datetime.now(dt.UTC)
    while True:
        async with pool.connection() as conn:
            await heartbeats.beat(conn, [heartbeats.Beat(
                name="ingest-alarms", role="ingest-alarms", host="box:42", started_at=started,
                running=True, connected=True, processed_at=dt.datetime.now(dt.UTC))])
        await asyncio.sleep(0.5)


@contextlib.asynccontextmanager
async def _console(db_url: str, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch,
                   oncall_to: tuple[str, ...],
                   pager: dict[str, Any] | None = None) -> AsyncIterator[Platform]:
    await prepare(db_url)
    await seed_district(db_url, District.generate(seed=5, homes=1, care_homes=0),
                        demo_password="oncall-pass-1")
    monkeypatch.setenv("ELDERCARE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ELDERCARE_SMTP_PORT", str(smtp.port))
    monkeypatch.setenv("ELDERCARE_SMTP_TLS", "none")
    monkeypatch.delenv("ELDERCARE_SMS_URL", raising=False)
    async with Platform(settings=Settings(oncall=oncall_to), db_url=db_url, broker_url=None,
                        services=("console",), port=free_port(),
                        pager_options=FAST | (pager or {})) as platform:
        yield platform


async def _check(db_url: str) -> subprocess.CompletedProcess[str]:
    """``eldercare check``, as a monitoring system runs it."""
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "eldercare.cli", "check", "--db", db_url],
        capture_output=True, text=True, timeout=60, check=False)


@contextlib.asynccontextmanager
async def _signed_in(platform: Platform, username: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=platform.console_url,
                                 headers={"X-Requested-With": "eldercare"}) as client:
        r = await client.post("/api/v1/session", json={"username": username,
                                                      "password": "oncall-pass-1"})
        assert r.status_code == 200, r.text
        yield client


async def _intake(platform: Platform) -> dict[str, Any]:
    async with _signed_in(platform, "op1") as client:
        r = await client.get("/api/v1/intake")
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body


@pytest.mark.db
async def test_the_engineer_is_paged_when_no_alarm_intake_runs_and_told_when_it_does(
        db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A console with no alarm intake beating pages the on-call engineer by email once (not
    at every check), says on the screens that it did, and sends the all-clear once ingest has
    beaten for a while. The phone number cannot be paged (no SMS gateway) and that is counted."""
    with smtp_server() as smtp:
        async with _console(db_url, smtp, monkeypatch,
                            ("eng@centre.example", "+8613800000000")) as platform:
            assert platform.pager is not None and platform.pool is not None
            await _wait(lambda: len(smtp.mailbox.messages) >= 1)
            await asyncio.sleep(1.0)  # several more checks: still one page
            [page] = smtp.mailbox.messages
            assert page["To"] == "eng@centre.example"
            assert page["Subject"] == "[12349] 报警链路故障 / Alarm path fault"
            assert "- alarm intake: is not running" in page.get_content()
            body = await _intake(platform)
            assert body["ok"] is False and body["oncall"] is True
            assert body["page"]["delivered"] == 1 and body["page"]["recipients"] == 2
            assert body["page"]["problems"][0]["problem"] == "none"
            assert (f"intake-page-{body['page']['id']}-opened", "+8613800000000",
                    False) in platform.pager.sent
            # what a monitoring system asks, without signing in, and its command-line twin
            async with httpx.AsyncClient(base_url=platform.console_url) as anyone:
                r = await anyone.get("/healthz/alarm-path")
            assert r.status_code == 503 and r.json()["troubled"] == [
                {"service": "ingest-alarms", "problem": "none", "since": None}], r.text
            check = await _check(db_url)
            assert check.returncode == 2 and "ingest-alarms: none" in check.stdout, check

            beating = asyncio.create_task(_beat_healthy(platform.pool))
            try:
                await _wait(lambda: len(smtp.mailbox.messages) >= 2)
                cleared = smtp.mailbox.messages[1]
                assert cleared["Subject"] == "[12349] 报警链路已恢复 / Alarm path working again"
                body = await _intake(platform)
                assert body["ok"] is True and body["page"] is None
                assert body["pages"][0]["cleared_at"] is not None
                async with httpx.AsyncClient(base_url=platform.console_url) as anyone:
                    r = await anyone.get("/healthz/alarm-path")
                assert r.status_code == 200 and r.json() == {"ok": True, "troubled": []}
                check = await _check(db_url)
                assert check.returncode == 0, check
                assert check.stdout.splitlines()[-1] == "OK: the alarm path is working"
            finally:
                beating.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await beating


@pytest.mark.db
async def test_two_consoles_page_once_and_a_long_fault_is_recalled(
        db_url: str, pool: AsyncConnectionPool) -> None:
    """Two console processes watch one database: one page between them; while it lasts, a
    reminder comes every ``remind_every_s`` (here 1 s), again only once each time."""
    await prepare(db_url)
    with smtp_server() as smtp:
        channels = {"email": _mail(smtp)}
        pagers = [oncall.OnCallPager(pool, channels, ["eng@centre.example"], remind_every_s=1.5,
                                     **FAST) for _ in range(2)]
        tasks = [asyncio.create_task(p.run()) for p in pagers]
        try:
            await _wait(lambda: len(smtp.mailbox.messages) >= 2)
            await asyncio.sleep(0.4)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    subjects = [m["Subject"] for m in smtp.mailbox.messages]
    assert subjects[0] == "[12349] 报警链路故障 / Alarm path fault"
    assert subjects[1].startswith("[12349] 报警链路仍故障（已 1 分钟） / Alarm path still broken")
    assert len(subjects) == 2, subjects
    async with pool.connection() as conn:
        rows = await (await conn.execute("SELECT * FROM intake_pages")).fetchall()
    assert len(rows) == 1 and rows[0]["reminded_at"] is not None


@pytest.mark.db
async def test_another_service_in_trouble_is_said_at_once_not_at_the_next_reminder(
        pool: AsyncConnectionPool) -> None:
    """Paged for a missing alarm intake; then the notifier stops too: the engineer hears of it
    at once, with both troubles, and once (not at every check)."""
    with smtp_server() as smtp:
        pager = oncall.OnCallPager(pool, {"email": _mail(smtp)}, ["eng@centre.example"], **FAST)
        task = asyncio.create_task(pager.run())
        try:
            await _wait(lambda: len(smtp.mailbox.messages) >= 1)
            async with pool.connection() as conn:
                await heartbeats.beat(conn, [heartbeats.Beat(
                    name="notifier", role="notifier", host="box:7",
                    started_at=dt.datetime.now(dt.UTC), running=False)])
            await _wait(lambda: len(smtp.mailbox.messages) >= 2)
            await asyncio.sleep(1.0)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    first, worse = smtp.mailbox.messages
    assert "- family messages" not in first.get_content()
    assert worse["Subject"].startswith("[12349] 报警链路故障扩大（已 1 分钟） / Alarm path fault spreading")
    body = worse.get_content()
    assert "- alarm intake: is not running" in body and "- family messages (box:7): has stopped" in body


@pytest.mark.db
async def test_a_trouble_that_ends_while_another_goes_on_is_said_with_what_is_left(
        pool: AsyncConnectionPool) -> None:
    """Paged for a missing alarm intake and a stopped notifier; the notifier comes back: once
    it has been back for ``clear_after_s`` the engineer hears the path is partly working again,
    with what is left (the alarm intake), once, and not the all-clear."""
    started = dt.datetime.now(dt.UTC)

    async def notifier(running: bool) -> None:
        async with pool.connection() as conn:
            await heartbeats.beat(conn, [heartbeats.Beat(
                name="notifier", role="notifier", host="box:7", started_at=started,
                running=running, connected=True, processed_at=dt.datetime.now(dt.UTC))])

    await notifier(False)
    with smtp_server() as smtp:
        pager = oncall.OnCallPager(pool, {"email": _mail(smtp)}, ["eng@centre.example"], **FAST)
        task = asyncio.create_task(pager.run())
        try:
            await _wait(lambda: len(smtp.mailbox.messages) >= 1)
            assert "- family messages (box:7): has stopped" in smtp.mailbox.messages[0].get_content()
            back = asyncio.get_running_loop().time()
            await notifier(True)
            await _wait(lambda: len(smtp.mailbox.messages) >= 2)
            # over for clear_after_s since the pager last saw it (one check or less before it
            # was back), so not at the first check after
            waited = asyncio.get_running_loop().time() - back
            assert waited >= FAST["clear_after_s"] - FAST["every_s"], waited
            await asyncio.sleep(1.0)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    assert len(smtp.mailbox.messages) == 2, [m["Subject"] for m in smtp.mailbox.messages]
    better = smtp.mailbox.messages[1]
    assert better["Subject"].startswith("[12349] 报警链路部分恢复，仍有故障（已 1 分钟） / Alarm path"
                                        " partly working again, still faulty"), better["Subject"]
    body = better.get_content()
    assert "- alarm intake: is not running" in body and "- family messages" not in body


@pytest.mark.db
async def test_an_engineer_who_takes_the_page_is_said_to_all_and_the_reminders_slow(
        db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two engineers paged; one says "I'm on it" on the console (an admin; an operator may
    not). Both are told who took it, once; the screens say who since when; the 30-minute
    reminders (here 1 s) stop, and the slower ones for a taken page (here 2 s) come instead."""
    with smtp_server() as smtp:
        async with _console(db_url, smtp, monkeypatch, ("eng@centre.example", "eng2@centre.example"),
                            {"remind_every_s": 1.0, "remind_taken_every_s": 2.5}) as platform:
            await _wait(lambda: len(smtp.mailbox.messages) >= 2)
            page = (await _intake(platform))["page"]
            assert page["taken_at"] is None
            async with _signed_in(platform, "op1") as op1, _signed_in(platform, "admin") as admin:
                r = await op1.post(f"/api/v1/intake/pages/{page['id']}/take")
                assert r.status_code == 403, r.text
                r = await admin.post(f"/api/v1/intake/pages/{page['id']}/take")
                assert r.status_code == 200, r.text
                taken_at = dt.datetime.fromisoformat(r.json()["page"]["taken_at"])
                r = await admin.post(f"/api/v1/intake/pages/{page['id']}/take")
                assert r.status_code == 409 and "taken by admin already" in r.json()["detail"]
                r = await admin.post(f"/api/v1/intake/pages/{page['id'] + 99}/take")
                assert r.status_code == 404, r.text
                for bad in ("0", "x", str(2**63)):  # a clear 4xx, never a 500
                    r = await admin.post(f"/api/v1/intake/pages/{bad}/take")
                    assert r.status_code == 422, (bad, r.text)
            told = lambda: [m for m in smtp.mailbox.messages  # noqa: E731
                            if "taken by" in m["Subject"]]
            await _wait(lambda: len(told()) >= 2)
            assert sorted(m["To"] for m in told()) == ["eng2@centre.example", "eng@centre.example"]
            assert told()[0]["Subject"] == (
                "[12349] 报警链路故障已由 admin 处理 / Alarm path fault taken by admin")
            assert "the other on-call engineers need not come" in told()[0].get_content()
            body = await _intake(platform)
            assert body["page"]["taken_by"] == "admin" and body["pages"][0]["taken_by"] == "admin"
            # a reminder came about every second before; taken, none for 2.5 s, then one each
            seen = len(smtp.mailbox.messages)
            await asyncio.sleep(max(0.0, 2.0 - (dt.datetime.now(dt.UTC) - taken_at)
                                    .total_seconds()))
            assert len(smtp.mailbox.messages) == seen, [m["Subject"] for m in
                                                        smtp.mailbox.messages[seen:]]
            await _wait(lambda: len(smtp.mailbox.messages) >= seen + 2)
            reminder = smtp.mailbox.messages[seen]
            assert "still broken" in reminder["Subject"], reminder["Subject"]
            assert "admin has been on it since" in reminder.get_content()


def _link(message: Any) -> str:
    found = re.search(r"I'm on it: (\S+)", message.get_content())
    assert found is not None, message.get_content()
    return found.group(1)


@pytest.mark.db
async def test_an_engineer_takes_the_page_from_the_link_in_their_message(
        db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each engineer's page, and each reminder while nobody has it, ends with their own "I'm on
    it" link to the console (its own address in development; ELDERCARE_PUBLIC_URL outside).
    Opening it takes nothing (mail scanners open links): it shows the fault and a button, which
    takes the page as that address, and everyone is told. A link changed in any way shows
    nothing; once the page is taken, the other engineer's link says by whom, and takes nothing.
    Reminders of a taken page carry no link."""
    with smtp_server() as smtp:
        async with _console(db_url, smtp, monkeypatch, ("eng@centre.example", "eng2@centre.example"),
                            {"remind_every_s": 1.0, "remind_taken_every_s": 1.5}) as platform:
            await _wait(lambda: len(smtp.mailbox.messages) >= 4)  # the pages, then reminders
            mail = smtp.mailbox.messages
            links = {m["To"]: _link(m) for m in mail[:2]}
            assert links["eng@centre.example"] != links["eng2@centre.example"]
            assert "still broken" in mail[2]["Subject"] and _link(mail[2]) in links.values()
            link = httpx.URL(links["eng2@centre.example"])
            assert str(link).startswith(platform.console_url + "/oncall/take/")
            page_id, to, key = int(link.path.rsplit("/", 1)[1]), link.params["to"], link.params["key"]
            base = f"{platform.console_url}/oncall/take"
            async with httpx.AsyncClient() as browser:
                r = await browser.get(link)
                assert r.status_code == 200, r.text
                assert "I'm on it" in r.text and "alarm intake: is not running" in r.text
                assert f'<form method="post" action="{page_id}">' in r.text  # to this path
                assert r.headers["referrer-policy"] == "no-referrer"  # the key is in the URL
                assert "default-src 'none'" in r.headers["content-security-policy"]
                assert (await _intake(platform))["page"]["taken_at"] is None  # opened, not taken
                for params in ({"to": "eng@centre.example", "key": key},  # another's address
                               {"to": to, "key": key[:-2]}, {"to": to, "key": "x" * 43}):
                    r = await browser.get(f"{base}/{page_id}", params=params)
                    assert r.status_code == 403 and "alarm intake" not in r.text, params
                r = await browser.get(f"{base}/{page_id + 1}", params={"to": to, "key": key})
                assert r.status_code == 403  # another page: the same refusal as none at all
                r = await browser.post(f"{base}/{page_id}",
                                       data={"to": "eng@centre.example", "key": key})
                assert r.status_code == 403
                assert (await _intake(platform))["page"]["taken_at"] is None
                for bad in ({"to": to}, {"to": to, "key": "k" * 500}):  # a clear 4xx
                    r = await browser.get(f"{base}/{page_id}", params=bad)
                    assert r.status_code == 422, (bad, r.text)
                    r = await browser.post(f"{base}/{page_id}", data=bad)
                    assert r.status_code == 422 and "take form" in r.json()["detail"], r.text
                r = await browser.post(f"{base}/{page_id}", json={"to": to, "key": key})
                assert r.status_code == 415, r.text
                r = await browser.post(f"{base}/{page_id}", data={"to": to, "key": "k" * 4000})
                assert r.status_code == 413, r.text

                # the engineer's phone: the link, then the button, in a real browser
                playwright = pytest.importorskip("playwright.async_api")
                from tests.e2e.chromium import launch

                async with playwright.async_playwright() as pw:
                    chromium = await launch(pw)
                    try:
                        tab = await chromium.new_page(viewport={"width": 390, "height": 844})
                        await tab.goto(str(link))
                        await tab.click("button[type=submit]")
                        await tab.wait_for_selector("p.state", timeout=10_000)
                        shown = await tab.text_content("body") or ""
                    finally:
                        await chromium.close()
                assert "eng2@centre.example has been on it since" in shown, shown
                assert "The other on-call engineers are told." in shown
                assert (await _intake(platform))["page"]["taken_by"] == "eng2@centre.example"
                told = lambda: [m for m in smtp.mailbox.messages  # noqa: E731
                                if "taken by eng2@centre.example" in m["Subject"]]
                await _wait(lambda: len(told()) >= 2)
                r = await browser.get(links["eng@centre.example"])
                assert r.status_code == 200 and "<form" not in r.text
                assert "eng2@centre.example has been on it since" in r.text
                other = httpx.URL(links["eng@centre.example"]).params
                r = await browser.post(f"{base}/{page_id}",
                                       data={"to": other["to"], "key": other["key"]})
                assert r.status_code == 409 and "eng2@centre.example has been on it" in r.text
            seen = len(smtp.mailbox.messages)
            await _wait(lambda: len(smtp.mailbox.messages) >= seen + 2)  # a taken page's reminders
            for m in smtp.mailbox.messages[seen:]:
                assert "has been on it since" in m.get_content()
                assert "I'm on it:" not in m.get_content(), m.get_content()


def test_the_public_address_is_checked_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ELDERCARE_PUBLIC_URL", "https://console.centre.example/12349")
    assert Settings.from_env().public_url == "https://console.centre.example/12349"
    for bad in ("console.centre.example", "ftp://c.example", "https://", "https://c.example/?a=1"):
        monkeypatch.setenv("ELDERCARE_PUBLIC_URL", bad)
        with pytest.raises(SettingsError, match="ELDERCARE_PUBLIC_URL"):
            Settings.from_env()
    with pytest.raises(SettingsError, match="without https"):
        Settings(env="production", public_url="http://console.centre.example").check()


@pytest.mark.db
async def test_a_database_the_console_cannot_reach_is_paged_and_cleared(
        pool: AsyncConnectionPool) -> None:
    """The console cannot read the beats, and ingest cannot store alarms either: that is paged
    (from this process alone: there is no shared record), and cleared when it answers again."""
    dead = AsyncConnectionPool(f"postgresql://nobody@127.0.0.1:{free_port()}/none", open=False,
                               timeout=0.5, kwargs={"row_factory": dict_row})
    await dead.open(wait=False)
    with smtp_server() as smtp:
        pager = oncall.OnCallPager(dead, {"email": _mail(smtp)}, ["eng@centre.example"], **FAST)
        task = asyncio.create_task(pager.run())
        try:
            await _wait(lambda: len(smtp.mailbox.messages) >= 1)
            page = smtp.mailbox.messages[0]
            assert "- database: unreachable from the console since" in page.get_content()
            pager.pool = pool  # the database answers again
            await _wait(lambda: len(smtp.mailbox.messages) >= 2)
            assert smtp.mailbox.messages[1]["Subject"] == (
                "[12349] 报警链路已恢复 / Alarm path working again")
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await dead.close()


def test_production_refuses_on_call_addresses_it_cannot_reach(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ELDERCARE_SMTP_HOST", raising=False)
    monkeypatch.delenv("ELDERCARE_SMS_URL", raising=False)
    production = Settings(env="production", db_url="postgresql://db/x",
                          broker_url="mqtt://u:secret-1@b:1883", oncall=("eng@centre.example",))
    platform = Platform(settings=production, db_url="postgresql://db/x", broker_url=None,
                        services=("console",))
    with pytest.raises(SettingsError, match="email, which is not configured"):
        platform._start_pager()
