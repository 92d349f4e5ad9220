"""Paging the on-call engineer when the alarm path breaks, and again when it works.

Every screen that answers alarms already shows a broken path (alerts/intake.py), and tells its
operator to call the on-call engineer. At 3 a.m. the operator is busy with calls, a care-home
tablet may be face down, and the engineer who can restart ingest hears nothing. So the console
process watches the same heartbeats and sends the engineers named in ``ELDERCARE_ONCALL`` (email
addresses and phone numbers, by the configured email and SMS channels) one message when the
trouble has lasted :data:`GRACE_S`, a reminder every :data:`REMIND_EVERY_S` while it lasts, and
an all-clear once the path has worked for :data:`CLEAR_AFTER_S`. A trouble that ends while
another goes on is said too ("partly working again"), with what is left, once it has been over
for :data:`CLEAR_AFTER_S` (a flapping service is not said at each flap). The grace keeps a restart
(a few seconds without ingest, never judged silent) from paging anyone; the all-clear's delay
keeps a flapping service from paging on each flap. Another service falling into trouble while
the page is open is said at once ("spreading"), with every trouble as it now stands.

Several console processes page once between them: the episode is a row of ``intake_pages``
(store/intake_pages.py), and only the process whose insert opened it sends. A console that
cannot reach the database cannot see the beats, and ingest cannot store alarms either: that is
paged too, from each console process on its own (there is no shared record to agree on), and
cleared when the database answers again. Messages are in Chinese and English, with times in the
centre's zone; each is tried up to three times, a few seconds apart, and what was delivered is
recorded, so the screens can say "on-call engineer paged at 03:13" or that paging failed.

An engineer who is on it says so on the console (the red line's "I'm on it", for admins and
supervisors; console/intake.py), or from the page itself: when the console's public address is
known (``ELDERCARE_PUBLIC_URL``), every message of an open page that nobody has taken ends with
a link of that address's own (:func:`take_link`, signed with the page's random key: it takes
only that page, only as that address, and it opens a page with an "I'm on it" button, so a mail
scanner that fetches links takes nothing). Then the screens say who is on it since when, every
on-call address is told once that it is taken (so the others need not come), and the reminders
slow to every :data:`REMIND_TAKEN_EVERY_S` (a fault still there two hours after it was taken is
news again; one taken is never left unreminded, in case its taker was called away).

>>> addresses = parse_oncall("ops@centre.example, +86 138-0000-0000")
>>> [channel_for(a) for a in addresses]
['email', 'sms']
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from psycopg_pool import AsyncConnectionPool

from alerts import intake
from alerts.channels import Channel, Outgoing
from alerts.channels.sms import sms_number
from alerts.delivery_errors import DeliveryError
from alerts.messages import DEFAULT_TZ, utc_offset
from store import intake_pages

log = logging.getLogger(__name__)

GRACE_S = 60.0
"""How long the path must be seen broken (after intake's own 30 s of silence) before a page."""
CHECK_EVERY_S = 10.0
REMIND_EVERY_S = 1800.0
REMIND_TAKEN_EVERY_S = 7200.0
CLEAR_AFTER_S = 60.0
RETRY_AFTER_S = (3.0, 10.0)
"""Pauses between a message's three tries."""

_SERVICE = {"ingest-alarms": ("报警接收", "alarm intake"),
            "ingest-streams": ("设备数据流", "device streams"),
            "escalator": ("超时升级", "escalation"), "notifier": ("家属通知", "family messages"),
            "database": ("数据库", "database")}
_PROBLEM = {"silent": ("自 {since} 起无响应", "not heard from since {since}"),
            "stopped": ("已停止", "has stopped"),
            "disconnected": ("与消息服务器断开", "has lost the message broker"),
            "stalled": ("自 {since} 起停滞", "stuck since {since}"),
            "none": ("未运行", "is not running"),
            "unreachable": ("自 {since} 起控制台无法连接", "unreachable from the console since {since}"),
            "quieter": ("自 {since} 起只收到 {devices} 台设备的消息（通常 {usual} 台）",
                        "hears {devices} devices since {since}, usually {usual}")}


def parse_oncall(value: str) -> tuple[str, ...]:
    """The on-call addresses in ``ELDERCARE_ONCALL`` (comma-separated); ValueError for one that
    is neither an email address nor a phone number."""
    addresses = tuple(a.strip() for a in value.split(",") if a.strip())
    for address in addresses:
        if "@" in address:
            local, _, domain = address.rpartition("@")
            if not local or "." not in domain or " " in address:
                raise ValueError(f"ELDERCARE_ONCALL: {address!r} is no email address")
        else:
            try:
                sms_number(address)
            except DeliveryError:
                raise ValueError(f"ELDERCARE_ONCALL: {address!r} is neither an email address"
                                 " nor a phone number") from None
    return addresses


def take_token(key: bytes, page_id: int, address: str) -> str:
    """What the "I'm on it" link sent to ``address`` for page ``page_id`` carries: an HMAC-SHA256
    of both under the page's own key (RFC 2104), base64url.

    >>> take_token(bytes(32), 7, "ops@centre.example") == take_token(bytes(32), 7, "ops@centre.example")
    True
    >>> take_token(bytes(32), 7, "ops@centre.example") == take_token(bytes(32), 8, "ops@centre.example")
    False
    """
    mac = hmac.new(key, f"{page_id}\n{address}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def token_fits(key: bytes, page_id: int, address: str, token: str) -> bool:
    """Whether ``token`` is the one sent to ``address`` for page ``page_id`` (in constant time)."""
    return hmac.compare_digest(take_token(key, page_id, address).encode(),
                               token.encode("utf-8", "replace"))


def take_link(public_url: str, page_id: int, address: str, key: bytes) -> str:
    """The "I'm on it" link for ``address``: the console's page that takes page ``page_id``.

    >>> take_link("https://c.example/", 7, "+8613800000000", bytes(32)).split("?")[0]
    'https://c.example/oncall/take/7'
    """
    query = urlencode({"to": address, "key": take_token(key, page_id, address)})
    return f"{public_url.rstrip('/')}/oncall/take/{page_id}?{query}"


def channel_for(address: str) -> str:
    return "email" if "@" in address else "sms"


def missing_channels(addresses: Sequence[str], channels: Mapping[str, Channel]) -> list[str]:
    """The channels the on-call addresses need that this process does not have."""
    return sorted({channel_for(a) for a in addresses} - set(channels))


def _clock(at: dt.datetime, zone: ZoneInfo) -> str:
    local = at.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M:%S} ({utc_offset(local)})"


def _duration(seconds: float) -> tuple[str, str]:
    minutes = max(1, round(seconds / 60))
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} 小时 {minutes} 分钟", f"{hours} h {minutes:02d} min"
    return f"{minutes} 分钟", f"{minutes} min"


def _as_json(state: intake.ServiceState) -> dict[str, Any]:
    return {"name": state.name, "role": state.role, "problem": state.problem, "host": state.host,
            "since": None if state.since is None else state.since.isoformat(),
            "devices": state.devices, "usual_devices": state.usual_devices}


def _lines(problems: Sequence[Mapping[str, Any]], zone: ZoneInfo) -> tuple[list[str], list[str]]:
    zh, en = [], []
    for p in problems:
        since = "?" if not p.get("since") else _clock(dt.datetime.fromisoformat(p["since"]), zone)
        names = _SERVICE.get(p["role"], (p["role"], p["role"]))
        words = _PROBLEM.get(p["problem"], (p["problem"], p["problem"]))
        where = ", ".join(x for x in (p["name"] if p["name"] != p["role"] else "", p.get("host"))
                          if x)
        where = f" ({where})" if where else ""
        counts = {"devices": p.get("devices"), "usual": round(p.get("usual_devices") or 0)}
        zh.append(f"- {names[0]}{where}：{words[0].format(since=since, **counts)}")
        en.append(f"- {names[1]}{where}: {words[1].format(since=since, **counts)}")
    return zh, en


def describe_problems(problems: Sequence[Mapping[str, Any]],
                      tz: str = DEFAULT_TZ) -> tuple[list[str], list[str]]:
    """Each trouble of a page as its messages say it, in Chinese and in English."""
    zh, en = _lines(problems, ZoneInfo(tz))
    return [z.removeprefix("- ") for z in zh], [e.removeprefix("- ") for e in en]


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    ref: str
    subject: str
    body: str
    short_text: str


def compose(what: str, *, page_id: int | str, began_at: dt.datetime,
            problems: Sequence[Mapping[str, Any]], now: dt.datetime,
            tz: str = DEFAULT_TZ, taken: tuple[str, dt.datetime] | None = None) -> Message:
    """The page (``what`` = "opened"), more trouble ("worse"), less ("better": some trouble
    over, some not), a reminder ("reminder"), the all-clear ("cleared"), or that an engineer
    took it ("taken"; ``taken`` = who, when; a reminder of a taken page says it too).

    >>> at = dt.datetime(2026, 12, 7, 3, 12, tzinfo=dt.UTC)
    >>> m = compose("opened", page_id=3, began_at=at, now=at, problems=[{"name": "ingest-alarms",
    ...     "role": "ingest-alarms", "problem": "silent", "since": at.isoformat(), "host": "a:1"}])
    >>> m.short_text
    '12349 报警链路故障 Alarm path fault since 2026-12-07 11:12:00 (UTC+08:00): 报警接收 alarm intake silent'
    """
    zone = ZoneInfo(tz)
    began = _clock(began_at, zone)
    zh, en = _lines(problems, zone)
    names = "; ".join(" ".join((*_SERVICE.get(p["role"], (p["role"],) * 2), p["problem"]))
                      for p in problems)
    runbook = 'Runbook / 处理步骤: docs/operations.md, "Is the alarm path working?"'
    lasted_zh, lasted_en = _duration((now - began_at).total_seconds())
    if what == "taken" and taken is not None:
        who, at = taken
        return Message(
            ref=f"intake-page-{page_id}-taken",
            subject=f"[12349] 报警链路故障已由 {who} 处理 / Alarm path fault taken by {who}",
            body=(f"{who} 于 {_clock(at, zone)} 确认正在处理自 {began} 起的报警链路故障，"
                  "其他值班工程师无需前往。\n\n"
                  f"{who} said at {_clock(at, zone)} they are on the alarm path fault that began"
                  f" {began}; the other on-call engineers need not come.\n"),
            short_text=f"12349 报警链路故障 {who} 已在处理 Alarm path fault: {who} is on it")
    if what == "cleared":
        return Message(
            ref=f"intake-page-{page_id}-cleared",
            subject="[12349] 报警链路已恢复 / Alarm path working again",
            body=(f"报警链路已恢复（{_clock(now, zone)}），故障自 {began} 起，持续 {lasted_zh}。\n\n"
                  f"The alarm path is working again ({_clock(now, zone)}), after a fault of"
                  f" {lasted_en} that began {began}.\n"),
            short_text=f"12349 报警链路已恢复 Alarm path working again, after {lasted_en}")
    still = what in ("reminder", "worse", "better")
    head_zh, head_en = {
        "reminder": (f"报警链路仍故障（已 {lasted_zh}）", f"Alarm path still broken ({lasted_en})"),
        "worse": (f"报警链路故障扩大（已 {lasted_zh}）", f"Alarm path fault spreading ({lasted_en})"),
        "better": (f"报警链路部分恢复，仍有故障（已 {lasted_zh}）",
                   f"Alarm path partly working again, still faulty ({lasted_en})"),
    }.get(what, ("报警链路故障", "Alarm path fault"))
    taken_zh = taken_en = []
    if taken is not None:
        taken_zh = [f"{taken[0]} 已于 {_clock(taken[1], zone)} 确认处理。"]
        taken_en = [f"{taken[0]} has been on it since {_clock(taken[1], zone)}."]
    body = "\n".join([
        f"{head_zh}，自 {began} 起：", *zh,
        "报警或家属通知可能无法送达。各控制台屏幕正显示此故障。", *taken_zh, "",
        f"{head_en} since {began}:", *en,
        "Alarms or family messages may not be getting through. Every console screen shows it.",
        *taken_en, "", runbook, ""])
    return Message(ref=f"intake-page-{page_id}-{what}-{int(now.timestamp())}" if still
                   else f"intake-page-{page_id}-opened",
                   subject=f"[12349] {head_zh} / {head_en}",
                   body=body, short_text=f"12349 {head_zh} {head_en} since {began}: {names}")


class OnCallPager:
    """Runs in the console process (eldercare/platform.py) while on-call addresses are set."""

    def __init__(self, pool: AsyncConnectionPool, channels: Mapping[str, Channel],
                 addresses: Sequence[str], *, grace_s: float = GRACE_S,
                 every_s: float = CHECK_EVERY_S, remind_every_s: float = REMIND_EVERY_S,
                 remind_taken_every_s: float = REMIND_TAKEN_EVERY_S,
                 clear_after_s: float = CLEAR_AFTER_S,
                 retry_after_s: Sequence[float] = RETRY_AFTER_S, tz: str = DEFAULT_TZ,
                 public_url: str | None = None) -> None:
        self.pool = pool
        self.public_url = public_url
        """The console's address for the engineers (``ELDERCARE_PUBLIC_URL``): the messages of
        a page nobody has taken carry each address's "I'm on it" link to it; None, no link."""
        self.channels = channels
        self.addresses = tuple(addresses)
        self.grace_s, self.every_s = grace_s, every_s
        self.remind_every = dt.timedelta(seconds=remind_every_s)
        self.remind_taken_every = dt.timedelta(seconds=remind_taken_every_s)
        self.clear_after_s = clear_after_s
        self.retry_after_s = tuple(retry_after_s)
        self.tz = tz
        self.sent: list[tuple[str, str, bool]] = []
        """(message ref, address, delivered) of every message tried, oldest first."""
        self._troubled_since: float | None = None
        self._ok_since: float | None = None
        self._db_away: tuple[float, dt.datetime] | None = None
        """(monotonic, wall clock) since the database has not answered."""
        self._db_paged_at: float | None = None
        self._seen: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}
        """(service, problem) -> (monotonic, the problem) when it was last seen."""

    async def run(self) -> None:
        while True:
            try:
                await self.check()
            except Exception:  # never the end of the watch: it is tried again at the next check
                log.exception("the on-call pager's check failed")
            await asyncio.sleep(self.every_s)

    async def check(self) -> None:
        mono = time.monotonic()
        try:
            async with asyncio.timeout(10), self.pool.connection() as conn:
                now, found = await intake.look(conn)
        except Exception as err:  # whatever it is, the beats cannot be seen
            await self._database_away(mono, err)
            return
        if self._db_away is not None:
            await self._database_back(now)
        if found.ok:
            self._troubled_since = None
            self._ok_since = mono if self._ok_since is None else self._ok_since
            if mono - self._ok_since >= self.clear_after_s:
                async with self.pool.connection() as conn:
                    closed = await intake_pages.clear(conn)
                if closed is not None:
                    log.info("the alarm path works again: the on-call engineer is told")
                    await self._send(compose("cleared", page_id=closed["id"],
                                             began_at=closed["began_at"],
                                             problems=closed["problems"], now=now, tz=self.tz))
            return
        self._ok_since = None
        self._troubled_since = mono if self._troubled_since is None else self._troubled_since
        if mono - self._troubled_since < self.grace_s:
            return
        problems = [_as_json(s) for s in found.troubled]
        for p in problems:
            self._seen[(p["name"], p["problem"])] = (mono, p)
        self._seen = {k: v for k, v in self._seen.items() if mono - v[0] < self.clear_after_s}
        # what narrowing compares: a trouble over for less than clear_after_s still counts
        lingering = [p for _, p in self._seen.values()]
        began = min((s.since for s in found.troubled if s.since is not None), default=now)
        key = secrets.token_bytes(32)
        async with self.pool.connection() as conn:
            opened = await intake_pages.open_episode(conn, began_at=began, problems=problems,
                                                     recipients=len(self.addresses), take_key=key)
        if opened is not None:
            log.error("the alarm path is broken (%s): paging the on-call engineer",
                      ", ".join(f"{s.name} {s.problem}" for s in found.troubled))
            delivered = await self._send(compose("opened", page_id=opened["id"], began_at=began,
                                                 problems=problems, now=now, tz=self.tz),
                                         take=(opened["id"], key))
            async with self.pool.connection() as conn:
                await intake_pages.record_delivery(conn, opened["id"], delivered)
            return
        async with self.pool.connection() as conn:
            worse = await intake_pages.worsened(conn, problems)
            due = None if worse is not None else await intake_pages.due_reminder(
                conn, self.remind_every, problems, taken_every=self.remind_taken_every)
            better = None if worse is not None or due is not None else \
                await intake_pages.narrowed(conn, lingering)
            taken = await intake_pages.taken_to_tell(conn)
        if taken is not None:  # every on-call address: the others need not come
            log.info("the alarm path fault was taken by %s", taken["taken_by"])
            await self._send(compose("taken", page_id=taken["id"], began_at=taken["began_at"],
                                     problems=problems, now=now, tz=self.tz,
                                     taken=(taken["taken_by"], taken["taken_at"])))
        episode = worse or due or better
        if episode is None:
            return
        taker = None if episode["taken_at"] is None else (
            episode["taken_by"], episode["taken_at"])
        take = None
        if taker is None and self.public_url is not None:  # nobody on it: the links again
            async with self.pool.connection() as conn:
                found_key = await intake_pages.one(conn, episode["id"])
            if found_key is not None and found_key[1] is not None:
                take = (episode["id"], found_key[1])
        if worse is not None:  # another service in trouble: said at once, not at the reminder
            log.error("the alarm path is worse (%s): telling the on-call engineer",
                      ", ".join(f"{s.name} {s.problem}" for s in found.troubled))
            await self._send(compose("worse", page_id=worse["id"], began_at=worse["began_at"],
                                     problems=problems, now=now, tz=self.tz, taken=taker),
                             take=take)
        elif due is not None:
            await self._send(compose("reminder", page_id=due["id"], began_at=due["began_at"],
                                     problems=problems, now=now, tz=self.tz, taken=taker),
                             take=take)
        elif better is not None:  # part of it is over: what is left, at once
            log.warning("the alarm path is partly working again; still: %s",
                        ", ".join(f"{s.name} {s.problem}" for s in found.troubled))
            await self._send(compose("better", page_id=better["id"],
                                     began_at=better["began_at"], problems=problems, now=now,
                                     tz=self.tz, taken=taker), take=take)

    async def _database_away(self, mono: float, err: BaseException) -> None:
        if self._db_away is None:
            log.warning("the console cannot read the services' heartbeats (%s)",
                        err or type(err).__name__)
            self._db_away = (mono, dt.datetime.now(dt.UTC))
        since_mono, since = self._db_away
        last = self._db_paged_at
        if mono - since_mono < self.grace_s or (
                last is not None and mono - last < self.remind_every.total_seconds()):
            return
        self._db_paged_at = mono
        now = dt.datetime.now(dt.UTC)
        problem = [{"name": "database", "role": "database", "problem": "unreachable",
                    "host": None, "since": since.isoformat()}]
        log.error("the database has not answered since %s: paging the on-call engineer", since)
        await self._send(compose("opened" if last is None else "reminder",
                                 page_id=f"db-{int(since.timestamp())}", began_at=since,
                                 problems=problem, now=now, tz=self.tz))

    async def _database_back(self, now: dt.datetime) -> None:
        assert self._db_away is not None
        _, since = self._db_away
        paged, self._db_away, self._db_paged_at = self._db_paged_at, None, None
        log.info("the console reads the services' heartbeats again")
        if paged is not None:
            await self._send(compose("cleared", page_id=f"db-{int(since.timestamp())}",
                                     began_at=since, problems=[], now=now, tz=self.tz))

    async def _send(self, message: Message, *, take: tuple[int, bytes] | None = None) -> int:
        """Tries each on-call address; returns how many took the message. With ``take`` (the
        page's id and key) and a public address, each address's message ends with its own
        "I'm on it" link."""
        results = await asyncio.gather(*(self._deliver(self._with_link(message, a, take), a)
                                         for a in self.addresses))
        return sum(results)

    def _with_link(self, message: Message, address: str,
                   take: tuple[int, bytes] | None) -> Message:
        if take is None or self.public_url is None:
            return message
        link = take_link(self.public_url, take[0], address, take[1])
        return replace(message, body=f"{message.body}\n我来处理 / I'm on it: {link}\n",
                       short_text=f"{message.short_text} 我来处理 I'm on it: {link}")

    async def _deliver(self, message: Message, address: str) -> bool:
        name = channel_for(address)
        channel = self.channels.get(name)
        reason = f"channel {name} is not configured"
        tries = 0 if channel is None else len(self.retry_after_s) + 1
        for attempt in range(tries):
            assert channel is not None
            try:
                await channel.send(Outgoing(
                    notification_id=0, kind="oncall", lang="zh-CN", address=address,
                    subject=message.subject, body=message.body, short_text=message.short_text,
                    payload={"ref": message.ref}, sent_at=time.time(), ref=message.ref))
            except DeliveryError as err:
                reason = str(err)
                if err.permanent or attempt + 1 == tries:
                    break
                await asyncio.sleep(self.retry_after_s[attempt])
            else:
                self.sent.append((message.ref, address, True))
                return True
        log.error("could not page the on-call engineer at %s: %s", address, reason)
        self.sent.append((message.ref, address, False))
        return False
