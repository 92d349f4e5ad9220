"""Messages for families: both languages, both kinds, times in the recipient's zone, one SMS."""

from __future__ import annotations

import dataclasses
import datetime as dt
import doctest
import itertools

import pytest

import alerts.messages
from alerts.kinds import KINDS
from alerts.messages import DEVICE_MESSAGES, LANGUAGES, TEMPLATES, Facts, render, sms_length
from alerts.notify import ALL_KINDS

FALL = Facts(kind="alarm", alarm_kind="fall", resident_name="王秀英", site_name="幸福里小区",
             occurred_at=dt.datetime(2026, 11, 22, 14, 46, tzinfo=dt.UTC))


def test_docstring_examples() -> None:
    assert doctest.testmod(alerts.messages).failed == 0


def test_every_kind_has_a_template_in_every_language() -> None:
    variants = (*(k for k in ALL_KINDS if k != "device"), "alarm_family_first",
                "handled_by_family", *(f"device_{m}" for m in DEVICE_MESSAGES), "stay")
    assert set(TEMPLATES) == {(k, lang) for k in variants for lang in LANGUAGES}


def test_zh_alarm_names_the_resident_the_alarm_and_the_local_time() -> None:
    text = render(FALL, lang="zh-CN")
    assert text.lang == "zh-CN"
    assert text.subject == "【12349】王秀英：跌倒"
    assert "2026年11月22日 22:46（UTC+08:00）" in text.body  # 14:46 UTC is 22:46 in Shanghai
    assert "11月22日 22:46" in text.short_text and "跌倒" in text.short_text


def test_english_handled_names_the_outcome() -> None:
    handled = dataclasses.replace(FALL, kind="handled", alarm_kind="sos", outcome="false_alarm")
    text = render(handled, lang="en")
    assert text.subject == "[12349] Handled: Emergency call (SOS) for 王秀英"
    assert "Outcome: false alarm, all is well" in text.body
    assert "22 Nov 22:46" in text.short_text


def test_the_time_is_shown_in_the_recipients_zone() -> None:
    text = render(FALL, lang="en", tz="Europe/London")  # a daughter abroad
    assert "22 Nov 2026, 14:46 (UTC+00:00)" in text.body


def test_an_outcome_that_is_not_a_known_code_is_shown_as_written() -> None:
    handled = dataclasses.replace(FALL, kind="handled", outcome="女儿已接老人去医院")
    assert "处理结果：女儿已接老人去医院" in render(handled, lang="zh-CN").body


@pytest.mark.parametrize(("given", "used"), [("zh", "zh-CN"), ("zh-TW", "zh-CN"), ("en-GB", "en"),
                                             ("fr", "en")])
def test_language_falls_back_to_the_nearest_we_write(given: str, used: str) -> None:
    assert render(FALL, lang=given).lang == used


def test_sms_length_counts_gsm_septets_and_ucs2_characters() -> None:
    assert sms_length("a" * 160) == (160, 160)
    assert sms_length("€") == (2, 160)  # extension table: escape + character
    assert sms_length("跌倒") == (2, 70)
    assert sms_length("Fall, 王") == (7, 70)  # one CJK character makes the whole SMS UCS-2


@pytest.mark.parametrize(("kind", "lang"),
                         list(itertools.product(("alarm", "handled", "escalated", "accepted"),
                                                LANGUAGES)))
def test_every_short_text_fits_one_sms_even_with_long_names_and_outcomes(kind: str, lang: str) -> None:
    for alarm_kind, name in itertools.product(KINDS, ("王秀英", "欧阳" * 12, "Margaret " * 10)):
        facts = dataclasses.replace(FALL, kind=kind, alarm_kind=alarm_kind, resident_name=name,
                                    outcome="老人由女儿陪同前往医院检查，一切平安" * 3,
                                    by="欧阳娜娜" * 5)
        text = render(facts, lang=lang).short_text
        used, allowed = sms_length(text)
        assert used <= allowed, text
        # What must survive shortening: which alarm, and when, and a name's beginning.
        words = LANGUAGES[lang]
        assert (words.title(KINDS[alarm_kind]) in text
                or words.sms_title(KINDS[alarm_kind]) in text), text
        assert "22:46" in text, text
        assert name[:2] in text, text


@pytest.mark.parametrize("kind", ["alarm", "alarm_family_first", "handled", "handled_by_family",
                                  "escalated", "accepted"])
def test_an_english_sms_about_a_chinese_elder_keeps_her_whole_name_and_every_time(
        kind: str) -> None:
    """A daughter abroad reads English; her mother's name is Chinese, which makes the SMS UCS-2
    (70 characters, not 160). The text then takes its compact form: the kind's SMS title, the
    whole name, the time, the takeover time, and the outcome's first words. Before, the name was
    cut to nothing (which made the text GSM again, so it "fitted") or the takeover time cut off."""
    for alarm_kind, name in itertools.product(KINDS, ("王秀英", "欧阳秀英")):
        facts = dataclasses.replace(
            FALL, kind="alarm" if kind == "alarm_family_first" else kind.removesuffix("_by_family"),
            alarm_kind=alarm_kind, resident_name=name, outcome="accidental",
            by="王小明" if kind in ("accepted", "handled_by_family") else None,
            family_until=FALL.occurred_at + dt.timedelta(minutes=10)
            if kind == "alarm_family_first" else None)
        text = render(facts, lang="en").short_text
        assert sms_length(text) <= (70, 70), text
        assert name in text and "22:46" in text, text
        assert KINDS[alarm_kind].title_en in text or KINDS[alarm_kind].sms_en in text, text
        if kind == "alarm_family_first":
            assert text.endswith("centre from 22:56."), text
        if kind.startswith("handled"):
            assert "22 Nov" in text and "all is well" in text, text
        if facts.by:
            assert "王小明" in text, text
    assert render(dataclasses.replace(FALL, alarm_kind="sos", outcome="false_alarm", kind="handled"),
                  lang="en").short_text == (
        "12349: SOS, 王秀英, 22 Nov 22:46, handled: false alarm, all is well")


def test_a_shortened_name_is_marked_with_an_ellipsis() -> None:
    text = render(dataclasses.replace(FALL, resident_name="欧阳" * 30), lang="zh-CN").short_text
    assert "欧阳欧阳" in text and "…" in text
    assert sms_length(text)[0] <= 70


def test_a_family_first_alarm_asks_the_family_to_act_and_says_until_when() -> None:
    """The family is asked first (family-first routing): the message must not say the centre
    is handling it, which it is not yet; it says to call or go, and when the centre takes
    over (22:48 in Shanghai), in one SMS whatever the alarm."""
    until = FALL.occurred_at + dt.timedelta(minutes=2)
    zh = render(dataclasses.replace(FALL, family_until=until), lang="zh-CN")
    assert zh.short_text == ("【12349】王秀英于11月22日 22:46发生跌倒，请您先致电或前往；"
                             "22:48前无人处理则由中心接手。")
    assert "正在处理" not in zh.short_text + zh.body and "我去处理" in zh.body
    en = render(dataclasses.replace(FALL, family_until=until, resident_name="Wang Xiuying"),
                lang="en")
    assert en.short_text == ("12349: Fall, Wang Xiuying, 22 Nov 22:46. Asked first: call or go;"
                             " centre takes over 22:48.")
    assert "responding" not in en.body and "I'm going" in en.body
    for alarm_kind, name in itertools.product(KINDS, ("王秀英", "欧阳" * 12)):
        text = render(dataclasses.replace(FALL, family_until=until, alarm_kind=alarm_kind,
                                          resident_name=name), lang="zh-CN").short_text
        assert sms_length(text)[0] <= 70 and "22:48前无人处理" in text, text
        assert LANGUAGES["zh-CN"].title(KINDS[alarm_kind]) in text


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_a_wandering_from_a_safe_place_besides_home_names_it(lang: str) -> None:
    """A daughter told her mother left "the safe zone" at 02:10 looks at home; she was at her
    son's. The subject and email name the place after the alarm's title, the SMS too where it
    fits whole (never at the cost of the name), and the webhook's payload carries it. Only an
    'alarm' message names it."""
    words = LANGUAGES[lang]
    place = "儿子家" if lang == "zh-CN" else "Tom's flat"
    plain = dataclasses.replace(FALL, alarm_kind="wandering")
    named = dataclasses.replace(plain, place=place)
    title, said = words.title(KINDS["wandering"]), words.place(place)
    for name in ("王秀英", "Margaret", "欧阳" * 12, "Margaret " * 10):
        before = render(dataclasses.replace(plain, resident_name=name), lang=lang)
        after = render(dataclasses.replace(named, resident_name=name), lang=lang)
        assert after.subject == before.subject.replace(title, title + said)
        assert after.body == before.body.replace(title, title + said)
        used, allowed = sms_length(after.short_text)
        assert used <= allowed
        # in the SMS whole, costing nothing else, or not at all
        assert after.short_text.replace(said, "") == before.short_text
    # room for it beside a short name in either language
    short_name = "王秀英" if lang == "zh-CN" else "Margaret"
    assert said in render(dataclasses.replace(named, resident_name=short_name), lang=lang).short_text
    assert place in render(dataclasses.replace(named, resident_name="欧阳" * 12), lang=lang).body
    handled = render(dataclasses.replace(named, kind="handled", outcome="genuine"), lang=lang)
    assert place not in handled.body
    assert alerts.messages.payload(named, incident_id=1, priority=3, resident_id="r1",
                                   site_id="s1")["place"] == place


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_a_no_activity_alarm_over_a_flat_watch_says_it_may_be_the_watch(lang: str) -> None:
    """A daughter told "no activity" should know the watch has probably gone flat: the email
    says so under the alarm's line, the SMS where the words fit whole (never at the cost of the
    name, the alarm or the time), the webhook's payload names the note. Only an 'alarm'
    message carries it, and a message without a note is as it was."""
    words = LANGUAGES[lang]
    plain = dataclasses.replace(FALL, alarm_kind="inactivity")
    noted = dataclasses.replace(plain, note="watch_flat")
    sentence, sms = words.notes["watch_flat"]
    for name in ("王秀英", "Margaret", "欧阳" * 12, "Margaret " * 10):
        for until in (None, dt.datetime(2026, 11, 22, 15, 0, tzinfo=dt.UTC)):
            before = render(dataclasses.replace(plain, resident_name=name, family_until=until),
                            lang=lang)
            after = render(dataclasses.replace(noted, resident_name=name, family_until=until),
                           lang=lang)
            assert sentence not in before.body and sentence in after.body
            alarm_line = next(line for line in after.body.splitlines() if "22:46" in line)
            assert after.body.splitlines().index(alarm_line) + 1 == after.body.splitlines().index(
                sentence.strip())  # right under the alarm's line
            assert after.body.replace(sentence, "") == before.body
            used, allowed = sms_length(after.short_text)
            assert used <= allowed
            fits = sms_length(before.short_text + sms)
            assert after.short_text == (before.short_text + sms if fits[0] <= fits[1]
                                        else before.short_text)
    # a Chinese text always has room for it; so has an English one naming Margaret
    assert render(noted, lang="zh-CN").short_text.endswith(LANGUAGES["zh-CN"].notes["watch_flat"][1])
    margaret = render(dataclasses.replace(noted, resident_name="Margaret"), lang="en")
    assert margaret.short_text.endswith("Watch may be flat.")
    handled = render(dataclasses.replace(noted, kind="handled", outcome="genuine"), lang=lang)
    assert sentence not in handled.body
    assert alerts.messages.payload(noted, incident_id=1, priority=3, resident_id="r1",
                                   site_id="s1")["note"] == "watch_flat"


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_a_watch_gone_flat_asks_the_family_to_charge_it_in_one_sms(lang: str) -> None:
    """The 'device' message of a watch gone flat names the elder and the time in the subject
    and the SMS; says in the email what a flat watch cannot do and that their other devices
    still can; and fits one SMS whatever the name (English naming a Chinese elder included)."""
    flat = dataclasses.replace(FALL, kind="device", alarm_kind="maintenance", note="watch_flat")
    cannot = {"zh-CN": "不能呼叫求助", "en": "cannot call for help"}[lang]
    for name in ("王秀英", "Margaret", "欧阳" * 12, "Margaret " * 10):
        text = render(dataclasses.replace(flat, resident_name=name), lang=lang)
        assert text.lang == lang
        assert name in text.subject and cannot in text.body and "22:46" in text.body
        used, allowed = sms_length(text.short_text)
        assert used <= allowed, text.short_text
        assert "22:46" in text.short_text and text.short_text.startswith(
            "【12349】" if lang == "zh-CN" else "12349: ")
        assert name[:2] in text.short_text
    assert render(flat, lang=lang).short_text == {
        "zh-CN": "【12349】王秀英的手表可能没电了（11月22日 22:46起），没电不能呼救，请提醒老人充电。",
        "en": "12349: 王秀英's watch may be flat since 22:46. Please charge it."}[lang]
    with pytest.raises(KeyError):
        render(dataclasses.replace(flat, note="unknown"), lang=lang)


def test_a_stay_reminder_says_where_until_when_and_how_to_extend_it_in_one_sms() -> None:
    stay = dataclasses.replace(FALL, kind="stay", alarm_kind="wandering", place="女儿家",
                               occurred_at=dt.datetime(2026, 11, 23, 10, tzinfo=dt.UTC))
    zh = render(stay, lang="zh-CN")
    assert zh.subject == "【12349】王秀英在女儿家的留宿将于18:00到期"
    assert "2026年11月23日 18:00（UTC+08:00）到期" in zh.body and "延长" in zh.body
    en = render(stay, lang="en", tz="Europe/London")
    assert en.subject == "[12349] 王秀英's stay at 女儿家 ends at 10:00"
    assert "ends at 23 Nov 2026, 10:00 (UTC+00:00)" in en.body
    for lang, name, place in itertools.product(LANGUAGES, ("王秀英", "欧阳" * 12, "Margaret " * 10),
                                               ("女儿家", "Daughter's flat", "儿子在浦东的新家")):
        text = render(dataclasses.replace(stay, resident_name=name, place=place), lang=lang)
        used, allowed = sms_length(text.short_text)
        assert used <= allowed, text.short_text


def _device_message(note: str, lang: str, *said: str) -> None:
    """The 'device' message ``note`` names the elder in its subject, says each of ``said`` and
    the time in the email, and fits one SMS naming the elder and the time, whatever the name
    (English naming a Chinese elder included)."""
    message = dataclasses.replace(FALL, kind="device", alarm_kind="maintenance", note=note)
    for name in ("王秀英", "Margaret", "欧阳" * 12, "Margaret " * 10):
        text = render(dataclasses.replace(message, resident_name=name), lang=lang)
        assert name in text.subject and "22:46" in text.body
        assert all(words in text.body for words in said), text.body
        used, allowed = sms_length(text.short_text)
        assert used <= allowed, text.short_text
        assert "22:46" in text.short_text and name[:2] in text.short_text


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_a_smoke_detector_taken_down_asks_the_family_to_put_it_back_in_one_sms(lang: str) -> None:
    """The 'device' message of a smoke detector at home taken off its base says in the email
    that down it warns of no fire and why elders take one down."""
    _device_message("smoke_down", lang, {"zh-CN": "不会报警", "en": "cannot warn of a fire"}[lang],
                    {"zh-CN": "电量低", "en": "chirp for a new battery"}[lang])
    down = dataclasses.replace(FALL, kind="device", alarm_kind="maintenance", note="smoke_down")
    assert render(down, lang=lang).short_text == {
        "zh-CN": "【12349】王秀英家的烟感于11月22日 22:46被取下，取下后不能报火警，请尽快帮老人装回。",
        "en": "12349: 王秀英's smoke detector was taken down 22:46. Please put it back."}[lang]


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_a_home_gateway_offline_asks_the_family_to_check_its_power_in_one_sms(lang: str) -> None:
    """The 'device' message of a home's alarm gateway gone offline says in the email what cannot
    call meanwhile and what can."""
    _device_message("gateway_down", lang,
                    {"zh-CN": "联系不上服务中心", "en": "cannot reach the centre"}[lang],
                    {"zh-CN": "手表仍可呼救", "en": "can still call for help"}[lang])


@pytest.mark.parametrize("lang", list(LANGUAGES))
@pytest.mark.parametrize("note", ["gateway_down", "area_down"])
def test_a_welfare_check_for_a_home_gateway_offline_says_so(lang: str, note: str) -> None:
    """A son told of his mother's welfare check should know her home's gateway is offline: the
    line, perhaps, not her, but nothing can call meanwhile. Said under the alarm's line in the
    email, in the SMS where it fits whole."""
    words = LANGUAGES[lang]
    plain = dataclasses.replace(FALL, alarm_kind="welfare_check")
    sentence, sms = words.notes[note]
    assert sms.strip() and sms.strip() not in sentence  # the SMS says it shorter
    for name in ("王秀英", "Margaret", "欧阳" * 12):
        before = render(dataclasses.replace(plain, resident_name=name), lang=lang)
        after = render(dataclasses.replace(plain, resident_name=name, note=note), lang=lang)
        assert after.body.replace(sentence, "") == before.body and sentence in after.body
        used, allowed = sms_length(after.short_text)
        assert used <= allowed, after.short_text
    # one of many homes of the community cut off: the provider's, nothing at home to fix
    assert render(dataclasses.replace(plain, note=note), lang="zh-CN").short_text.endswith(
        {"gateway_down": "家中网关离线。", "area_down": "片区断网。"}[note])
