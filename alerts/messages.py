"""What families are told: 'alarm', 'escalated', 'accepted' and 'handled' messages in zh-CN and
English, as data; 'device' messages, of a device of the elder's they can see to (their watch
has gone flat, ``note="watch_flat"``; their smoke detector at home has been taken down,
``note="smoke_down"``; their home's alarm gateway is offline, ``note="gateway_down"``); and
'stay', the reminder that a stay they
set ends soon (``place``, at ``occurred_at``).

Each (kind, language) has one template with an email subject, an email body and a short text
that must fit a single SMS: 70 characters when any character needs UCS-2 (every Chinese text),
160 when all are in the GSM 03.38 alphabet (3GPP TS 23.038). Too long a short text is fitted by
shortening the resident's name and the outcome, never the kind of alarm or the time. An English
text naming a Chinese elder is UCS-2 too, so its 160 become 70: English templates have a compact
form for that case, with the kinds' short SMS titles (alerts/kinds.py), which keeps the name.
Times are shown in the recipient's zone.

>>> facts = Facts(kind="alarm", alarm_kind="fall", resident_name="王秀英", site_name="幸福里",
...               occurred_at=dt.datetime(2026, 11, 22, 14, 46, tzinfo=dt.UTC))
>>> render(facts, lang="zh-CN").short_text
'【12349】王秀英于11月22日 22:46发生跌倒，服务中心正在处理，请保持电话畅通。'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from alerts.kinds import KINDS, AlarmKind

DEFAULT_TZ = "Asia/Shanghai"

# GSM 03.38 default alphabet; the extension table's characters cost two septets each.
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
_GSM_EXTENSION = frozenset("^{}\\[~]|€")


def sms_length(text: str) -> tuple[int, int]:
    """(units used, units allowed in one SMS) for ``text``.

    >>> sms_length("Fall at 22:46"), sms_length("跌倒")
    ((13, 160), (2, 70))
    """
    if all(c in _GSM_BASIC or c in _GSM_EXTENSION for c in text):
        return sum(2 if c in _GSM_EXTENSION else 1 for c in text), 160
    return len(text), 70


@dataclass(frozen=True, slots=True, kw_only=True)
class Facts:
    """What happened, independent of language."""

    kind: str  # 'alarm', 'handled', 'escalated', 'accepted', 'device' or 'stay'
    alarm_kind: str  # sos, fall, smoke, ... (alerts/kinds.py)
    resident_name: str
    site_name: str
    occurred_at: dt.datetime
    outcome: str | None = None  # for 'handled': an outcome code or the operator's own words
    by: str | None = None  # for 'accepted' and 'handled': who of the family is going, or closed it
    family_until: dt.datetime | None = None
    """For 'alarm' on the family-first route: the family is asked first, until then. The
    message says so, not that the centre is handling it (it is waiting for them)."""
    note: str | None = None
    """For 'device': which message (a template of its own, :data:`DEVICE_MESSAGES`). For
    'alarm': what the detector knows that changes how the family reads it (a code of
    :data:`NOTES`): "watch_flat", the stillness behind a no-activity alarm may be a watch gone
    flat; "device_flat", a device that went silent had run its battery down; "stay_ended", a
    wandering because a stay set for them ended while they are still there; "gateway_down", a
    welfare check because their home's gateway is offline (their devices cannot reach the
    centre: the line, perhaps, not them); "area_down", the same when the gateways of many homes
    of their community are down together (the provider's network: nothing at home to fix)."""
    place: str | None = None
    """For a wandering: the safe place left, when it is not the home (a daughter's flat the
    elder was staying at): the alarm's title names it, "离开安全区域（女儿家）", so the family
    looks there. In the SMS only where it fits whole. For 'stay': the place whose stay ends."""


NOTES = ("watch_flat", "device_flat", "stay_ended", "gateway_down", "area_down")
DEVICE_MESSAGES = ("watch_flat", "smoke_down", "gateway_down")
"""The 'device' messages (each a template of its own, ``device_<name>``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Rendered:
    lang: str
    subject: str
    body: str
    short_text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Language:
    code: str
    title: Callable[[AlarmKind], str]
    sms_title: Callable[[AlarmKind], str]
    short_time: Callable[[dt.datetime], str]
    long_time: Callable[[dt.datetime], str]
    outcomes: dict[str, str]
    ellipsis: str
    notes: dict[str, tuple[str, str]]
    """Note code -> (its sentence in an email, its few words in an SMS, added where they fit)."""
    place: Callable[[str], str]
    """What follows the alarm's title to name the safe place left (:attr:`Facts.place`)."""


def utc_offset(t: dt.datetime) -> str:
    """'UTC+08:00': unambiguous, unlike the abbreviation 'CST' (China, Cuba and US Central)."""
    return f"UTC{t:%z}"[:-2] + ":" + f"{t:%z}"[-2:]


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

LANGUAGES: dict[str, Language] = {
    "zh-CN": Language(
        code="zh-CN", title=lambda k: k.title_zh, sms_title=lambda k: k.title_zh,
        place=lambda p: f"（{p}）",
        short_time=lambda t: f"{t.month}月{t.day}日 {t:%H:%M}",
        long_time=lambda t: f"{t.year}年{t.month}月{t.day}日 {t:%H:%M}（{utc_offset(t)}）",
        outcomes={  # the outcome codes of incidents (store/migrations/0004_incidents.sql)
            "genuine": "确有紧急情况，已妥善处置", "false_alarm": "误报，老人平安",
            "test": "测试报警", "accidental": "误触，老人平安",
            "no_answer_escalated": "未能联系上老人，已派人上门", "device_fault": "设备故障，已安排检修",
        },
        ellipsis="…",
        notes={
            "watch_flat": ("老人的手表可能没电了：这次报警可能是手表的问题，未必是老人出事。\n",
                           "手表可能没电。"),
            "device_flat": ("老人的一台设备可能没电了：这可能是设备的问题，未必是老人出事。\n",
                            "设备可能没电。"),
            "stay_ended": ("为老人设置的留宿已到期，老人仍在留宿的地方：如果老人还要多住，"
                           "请在12349家属页面延长留宿。\n", "留宿已到期，仍在留宿处。"),
            "gateway_down": ("老人家的报警网关离线了：老人的设备联系不上中心，可能是停电或断网，"
                             "未必是老人出事，但此时老人无法呼救，请尽快联系老人。\n",
                             "家中网关离线。"),
            "area_down": ("老人所在社区多户的报警网关同时离线，是运营商网络故障，不是老人家里的问题，"
                          "家中无需检修；但此时老人无法呼救，中心正在逐户联系，也请您尽快联系老人。\n",
                          "片区断网。"),
        }),
    "en": Language(
        code="en", title=lambda k: k.title_en, sms_title=lambda k: k.sms_en or k.title_en,
        place=lambda p: f" ({p})",
        short_time=lambda t: f"{t.day} {_MONTHS[t.month - 1]} {t:%H:%M}",
        long_time=lambda t: f"{t.day} {_MONTHS[t.month - 1]} {t.year}, {t:%H:%M} ({utc_offset(t)})",
        outcomes={
            "genuine": "real emergency, help given", "false_alarm": "false alarm, all is well",
            "test": "test alarm", "accidental": "all is well, pressed by accident",
            "no_answer_escalated": "no answer, help sent", "device_fault": "device fault, repair arranged",
        },
        ellipsis="...",
        notes={
            "watch_flat": ("Their watch seems to have gone flat: this may be the watch, not"
                           " them.\n", " Watch may be flat."),
            "device_flat": ("A device of theirs seems to have gone flat: this may be the device,"
                            " not them.\n", " A device may be flat."),
            "stay_ended": ("The stay set for them has ended and they are still where they were"
                           " staying: if they are staying on, extend the stay on the 12349 family"
                           " page.\n", " Stay ended; still there."),
            "gateway_down": ("Their home's alarm gateway is offline, so their devices cannot"
                             " reach the centre: perhaps a power cut or the internet, not them,"
                             " but they cannot call for help meanwhile: please get in touch with"
                             " them.\n", " Home gateway offline."),
            "area_down": ("The alarm gateways of many homes in their community went offline"
                          " together: the provider's network, not their home, and nothing there"
                          " to fix; but they cannot call for help meanwhile. The centre is"
                          " calling each home: please get in touch with them too.\n",
                          " Area network down."),
        }),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Template:
    subject: str
    body: str
    short: str
    compact: str = ""
    """The short text when ``short`` does not fit: {alarm} is the kind's SMS title, {clock} the
    time without the date (for messages sent as it happens). Needed by English only."""


TEMPLATES: dict[tuple[str, str], Template] = {
    ("alarm", "zh-CN"): Template(
        subject="【12349】{resident}：{alarm}",
        body="您好，\n\n{resident}（{site}）于{long_time}发生{alarm}。\n"
             "12349为老服务中心已收到报警，正在处理，处理结果将另行通知。\n"
             "如需联系服务中心，请拨打12349。\n",
        short="【12349】{resident}于{time}发生{alarm}，服务中心正在处理，请保持电话畅通。"),
    ("alarm_family_first", "zh-CN"): Template(
        subject="【12349】请您先处理：{resident}{alarm}",
        body="您好，\n\n{resident}（{site}）于{long_time}发生{alarm}。\n"
             "按老人的设置，先由家属处理：请立即给老人打电话或前往查看，并在12349家属页面点"
             "“我去处理”，去不了请点“我去不了，请中心处理”。\n"
             "若{until}前无人处理，12349为老服务中心将接手。\n",
        short="【12349】{resident}于{time}发生{alarm}，请您先致电或前往；{until}前无人处理则由中心接手。"),
    ("handled", "zh-CN"): Template(
        subject="【12349】{resident}的{alarm}已处理",
        body="您好，\n\n{resident}（{site}）于{long_time}发生的{alarm}已由12349为老服务中心处理。\n"
             "处理结果：{outcome}\n",
        short="【12349】{resident}于{time}的{alarm}已处理：{outcome}。"),
    ("handled_by_family", "zh-CN"): Template(
        subject="【12349】{resident}的{alarm}已由{by}处理",
        body="您好，\n\n{resident}（{site}）于{long_time}发生的{alarm}已由{by}处理。\n"
             "处理结果：{outcome}\n",
        short="【12349】{resident}于{time}的{alarm}已由{by}处理：{outcome}。"),
    ("escalated", "zh-CN"): Template(
        subject="【12349】紧急：{resident}的{alarm}尚未接通",
        body="您好，\n\n{resident}（{site}）于{long_time}发生{alarm}，服务中心仍在联系中。\n"
             "如您方便，请立即给老人打电话或前往查看，并拨打12349告知情况。\n",
        short="【12349】紧急：{resident}于{time}发生{alarm}，中心仍在联系，请尽快致电或前往。"),
    ("accepted", "zh-CN"): Template(
        subject="【12349】{by}正在前往{resident}处",
        body="您好，\n\n{resident}（{site}）于{long_time}发生{alarm}。\n"
             "{by}已确认前往处理，您无需再前往。若30分钟内无人确认到达，服务中心将接手。\n",
        short="【12349】{resident}于{time}发生{alarm}，{by}已前往处理。"),
    ("device_watch_flat", "zh-CN"): Template(
        subject="【12349】{resident}的手表可能没电了",
        body="您好，\n\n{resident}（{site}）的手表于{long_time}前后失去联系，失联前电量已很低，"
             "可能没电了。\n手表没电时不能呼叫求助，也发现不了跌倒；老人的其他报警设备仍可使用。\n"
             "请提醒老人充电，或帮老人充上电。充上电后手表会自动恢复联系，无需回复。\n",
        short="【12349】{resident}的手表可能没电了（{time}起），没电不能呼救，请提醒老人充电。"),
    ("device_watch_flat", "en"): Template(
        subject="[12349] {resident}'s watch may be flat",
        body="Hello,\n\n{resident}'s watch ({site}) stopped reporting at about {long_time}, its "
             "battery nearly empty: it has probably gone flat.\nWhile it is flat it cannot call "
             "for help or notice a fall; their other alarm devices still work.\nPlease remind them "
             "to charge it, or charge it for them. Once charged it reconnects by itself; there is "
             "no need to reply.\n",
        short="12349: {resident}'s watch may be flat since {time}. It cannot call for help until"
              " charged: please see to it.",
        compact="12349: {resident}'s watch may be flat since {clock}. Please charge it."),
    ("device_smoke_down", "zh-CN"): Template(
        subject="【12349】{resident}家的烟感被取下了",
        body="您好，\n\n{resident}（{site}）家的烟感报警器于{long_time}被从底座上取下。\n"
             "取下的烟感在发生火情时不会报警，也不会通知服务中心。烟感电量低时会“嘀”响，"
             "老人常因此把它取下。\n请尽快帮老人装回底座；若它在提示电量低，请致电12349，"
             "我们安排更换电池。装回后会自动恢复，无需回复。\n",
        short="【12349】{resident}家的烟感于{time}被取下，取下后不能报火警，请尽快帮老人装回。"),
    ("device_smoke_down", "en"): Template(
        subject="[12349] {resident}'s smoke detector has been taken down",
        body="Hello,\n\n{resident}'s smoke detector ({site}) was taken off its base at about "
             "{long_time}.\nOff its base it cannot warn of a fire or call the centre. Detectors "
             "are often taken down because they chirp for a new battery.\nPlease help put it "
             "back; if it is chirping, call 12349 and we will change the battery. Once it is "
             "back it reconnects by itself; there is no need to reply.\n",
        short="12349: {resident}'s smoke detector was taken down at {time}. It cannot warn of a"
              " fire: please put it back.",
        compact="12349: {resident}'s smoke detector was taken down {clock}. Please put it back."),
    ("device_gateway_down", "zh-CN"): Template(
        subject="【12349】{resident}家的报警网关离线了",
        body="您好，\n\n{resident}（{site}）家的报警网关于{long_time}前后离线。\n"
             "网关离线时，家里的呼叫按钮和烟感都联系不上服务中心；老人随身的手表仍可呼救。\n"
             "常见原因是停电、插头被拔下或家里的网络断了。方便时请帮忙看一下网关和路由器是否"
             "通电、联网；恢复后会自动重新连接，无需回复。我们也会安排检修。\n",
        short="【12349】{resident}家的报警网关{time}起离线，按钮和烟感暂不能报警，请查看电源和网络。"),
    ("device_gateway_down", "en"): Template(
        subject="[12349] {resident}'s alarm gateway at home is offline",
        body="Hello,\n\n{resident}'s alarm gateway ({site}) went offline at about {long_time}.\n"
             "While it is offline, the call button and smoke detector at home cannot reach the "
             "centre; the watch they wear can still call for help.\nThe usual causes are a power "
             "cut, a plug pulled out or the home's internet down. If you can, please check that "
             "the gateway and the router have power and are online; it reconnects by itself, and "
             "there is no need to reply. We will arrange a repair too.\n",
        short="12349: {resident}'s alarm gateway is offline since {time}: the button and smoke"
              " detector cannot call. Please check its power and internet.",
        compact="12349: {resident}'s alarm gateway offline since {clock}. Check power/internet."),
    ("stay", "zh-CN"): Template(
        subject="【12349】{resident}在{place}的留宿将于{clock}到期",
        body="您好，\n\n您为{resident}设置的留宿（{place}）将于{long_time}到期。\n"
             "到期后老人若仍在那里，夜间将被视为离开安全区域，服务中心会收到报警。\n"
             "如果老人还要多住，请在12349家属页面的“在外留宿”中延长；如果老人已经回家，"
             "无需处理。\n",
        short="【12349】{resident}在{place}的留宿将于{time}到期，如需多住请在家属页面延长。"),
    ("stay", "en"): Template(
        subject="[12349] {resident}'s stay at {place} ends at {clock}",
        body="Hello,\n\nThe stay you set for {resident} at {place} ends at {long_time}.\n"
             "If they are still there after that, being out at night raises a wandering alarm "
             "at the centre.\nIf they are staying on, extend it under \"Staying away from home\" "
             "on the 12349 family page; if they are home, there is nothing to do.\n",
        short="12349: {resident}'s stay at {place} ends {time}. Staying on? Extend it on the"
              " family page.",
        compact="12349: {resident}'s stay ends {clock}. Staying on? Extend it online."),
    ("alarm", "en"): Template(
        subject="[12349] {alarm}: {resident}",
        body="Hello,\n\n{alarm} for {resident} ({site}) at {long_time}.\n"
             "The 12349 elderly-service centre has the alarm and is responding; we will tell you "
             "the outcome.\nTo reach the centre, call 12349.\n",
        # Short enough for 70 UCS-2 characters: a Chinese name makes the whole SMS UCS-2.
        short="12349: {alarm}, {resident}, {time}. Centre is responding.",
        compact="12349: {alarm}, {resident}, {time}. Centre is responding."),
    ("alarm_family_first", "en"): Template(
        subject="[12349] You are asked first: {alarm}, {resident}",
        body="Hello,\n\n{alarm} for {resident} ({site}) at {long_time}.\n"
             "As set for them, the family is asked first: call or go to them now, and press "
             "\"I'm going\" on the 12349 family page (or \"I can't go: centre, please\").\n"
             "If nobody has by {until}, the 12349 elderly-service centre takes over.\n",
        short="12349: {alarm}, {resident}, {time}. Asked first: call or go; centre takes over"
              " {until}.",
        compact="12349: {alarm}, {resident}, {clock}. Call/go now; centre from {until}."),
    ("escalated", "en"): Template(
        subject="[12349] Urgent: {alarm} for {resident} not yet answered",
        body="Hello,\n\n{alarm} for {resident} ({site}) at {long_time}: the 12349 centre is "
             "still trying to reach them.\nIf you can, call or go to them now, and call 12349 to "
             "tell us.\n",
        short="12349 URGENT: {alarm}, {resident}, {time}. Please call or go now.",
        compact="12349 URGENT: {alarm}, {resident}, {time}. Call or go now."),
    ("accepted", "en"): Template(
        subject="[12349] {by} is going to {resident}",
        body="Hello,\n\n{alarm} for {resident} ({site}) at {long_time}.\n"
             "{by} has said they are going; you need not go too. If nobody says they are there "
             "within 30 minutes, the 12349 centre takes over.\n",
        short="12349: {alarm}, {resident}, {time}. {by} is on the way.",
        compact="12349: {alarm}, {resident}, {clock}. {by} is on the way."),
    ("handled_by_family", "en"): Template(
        subject="[12349] Handled by {by}: {alarm} for {resident}",
        body="Hello,\n\nThe alarm \"{alarm}\" for {resident} ({site}) at {long_time} has been "
             "handled by {by}.\nOutcome: {outcome}\n",
        short="12349: {alarm}, {resident}, {time}, handled by {by}: {outcome}.",
        compact="12349: {alarm}, {resident}, {time}, by {by}: {outcome}"),
    ("handled", "en"): Template(
        subject="[12349] Handled: {alarm} for {resident}",
        body="Hello,\n\nThe alarm \"{alarm}\" for {resident} ({site}) at {long_time} has been "
             "handled by the 12349 elderly-service centre.\nOutcome: {outcome}\n",
        short="12349: {alarm}, {resident}, {time}, handled: {outcome}.",
        compact="12349: {alarm}, {resident}, {time}, handled: {outcome}"),
}


def language(lang: str) -> Language:
    """The language to write in: any Chinese variant gets zh-CN, everything else English."""
    return LANGUAGES["zh-CN" if lang.lower().startswith("zh") else "en"]


def render(facts: Facts, *, lang: str, tz: str = DEFAULT_TZ) -> Rendered:
    """The message in ``lang`` with times in ``tz``; the short text fits one SMS."""
    words = language(lang)
    variant = ("alarm_family_first" if facts.kind == "alarm" and facts.family_until
               else "handled_by_family" if facts.kind == "handled" and facts.by
               else f"device_{facts.note}" if facts.kind == "device" else facts.kind)
    template = TEMPLATES[(variant, words.code)]
    zone = ZoneInfo(tz)
    local = facts.occurred_at.astimezone(zone)
    kind = KINDS.get(facts.alarm_kind)
    title = words.title(kind) if kind else facts.alarm_kind
    values = {
        "resident": facts.resident_name, "site": facts.site_name,
        "alarm": title + (words.place(facts.place) if facts.place and facts.kind == "alarm" else ""),
        "time": words.short_time(local), "long_time": words.long_time(local),
        "outcome": words.outcomes.get(facts.outcome or "", facts.outcome or ""),
        "by": facts.by or "",
        "until": "" if facts.family_until is None else f"{facts.family_until.astimezone(zone):%H:%M}",
        "place": facts.place or "", "clock": f"{local:%H:%M}",
    }
    # the place left is in the SMS only where it fits whole: never at the cost of the name
    sms = values if _fits(template.short.format(**values)) else values | {"alarm": title}
    if _fits(template.short.format(**sms)) or not template.compact:
        short = _fit(template.short, sms, words.ellipsis)
    else:
        short = _fit(template.compact, sms | {
            "alarm": words.sms_title(kind) if kind else facts.alarm_kind,
            "clock": f"{local:%H:%M}"}, words.ellipsis)
    body = template.body.format(**values)
    if facts.note in words.notes and facts.kind == "alarm":
        # said in the email; in the SMS only where it fits whole (never at the cost of the
        # name, the alarm or the time)
        sentence, words_for_sms = words.notes[facts.note]
        head, _, rest = body.partition("\n\n")
        first, _, after = rest.partition("\n")
        body = f"{head}\n\n{first}\n{sentence}{after}"
        if _fits(short + words_for_sms):
            short += words_for_sms
    return Rendered(lang=words.code, subject=template.subject.format(**values),
                    body=body, short_text=short)


def _fits(text: str) -> bool:
    used, allowed = sms_length(text)
    return used <= allowed


# What shortening leaves of each free-length field at least: two characters of a name and one
# of who is going tell a family which of them; eight of an outcome say which way it went.
_KEEP = {"resident": 2, "by": 1, "outcome": 8}


def _fit(template: str, values: dict[str, str], ellipsis: str) -> str:
    """Shorten the free-length fields (name, outcome, who), longest first, until the text fits.

    A field is never shortened below ``_KEEP``: a name cut to nothing would also turn a Chinese
    name's UCS-2 text into GSM and hide the cut."""
    values = dict(values)
    text = template.format(**values)
    if sms_length(text)[1] == 70:
        ellipsis = "…"  # UCS-2 already: one character, not three
    while not _fits(text):
        room = [f for f in _KEEP if len(values[f].removesuffix(ellipsis)) > _KEEP[f]]
        if not room:
            return text[:sms_length(text)[1]]  # only a template itself too long ends here
        field = max(room, key=lambda f: len(values[f]))
        values[field] = values[field].removesuffix(ellipsis)[:-1] + ellipsis
        text = template.format(**values)
    return text


def payload(facts: Facts, *, incident_id: int | None, priority: int, resident_id: str | None,
            site_id: str) -> dict[str, Any]:
    """The structured part of a webhook call (JSON types only); no resident gives nulls."""
    return {"incident_id": incident_id, "kind": facts.kind, "alarm_kind": facts.alarm_kind,
            "priority": priority, "site_id": site_id, "site_name": facts.site_name,
            "resident_id": resident_id, "resident_name": facts.resident_name if resident_id else None,
            "occurred_at": facts.occurred_at.astimezone(dt.UTC).isoformat(),
            "outcome": facts.outcome, "note": facts.note, "place": facts.place}
