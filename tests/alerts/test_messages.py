"""Messages for families: both languages, both kinds, times in the recipient's zone, one SMS."""

from __future__ import annotations

import dataclasses
import datetime as dt
import doctest
import itertools

import pytest

import alerts.messages
from alerts.kinds import KINDS
from alerts.messages import LANGUAGES, TEMPLATES, Facts, render, sms_length
from alerts.notify import ALL_KINDS

FALL = Facts(kind="alarm", alarm_kind="fall", resident_name="王秀英", site_name="幸福里小区",
             occurred_at=dt.datetime(2026, 11, 22, 14, 46, tzinfo=dt.UTC))


def test_docstring_examples() -> None:
    assert doctest.testmod(alerts.messages).failed == 0


def test_every_kind_has_a_template_in_every_language() -> None:
    assert set(TEMPLATES) == {(k, lang)
                              for k in (*ALL_KINDS, "alarm_family_first", "handled_by_family")
                              for lang in LANGUAGES}


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
        # What must survive shortening: which alarm, and when.
        assert LANGUAGES[lang].title(KINDS[alarm_kind]) in text
        assert LANGUAGES[lang].short_time(FALL.occurred_at.astimezone(
            dt.timezone(dt.timedelta(hours=8)))) in text


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
