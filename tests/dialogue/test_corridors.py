"""Corridor cards, "is this fee normal?" and the job-ad check at engine level, in four languages."""

from __future__ import annotations

import pytest

from bot.channels.text import grapheme_len
from bot.dialogue.i18n import Translator
from tests.dialogue.chat import Chat, payloads, texts

# (language, what a person types, destination, the amount as shown, the verdict, the card)
FEES = [
    ("en", "broker wants 5 lakh taka saudi is that ok", "SA", "500,000", "is 3 times", "bd_gulf"),
    ("bn", "দালাল সৌদি যেতে ৫ লাখ টাকা চাইছে এটা কি ঠিক", "SA", "৫০০,০০০", "৩ গুণ", "bd_gulf"),
    ("my", "ထိုင်းသွားဖို့ ပွဲစားက ၅ သိန်း တောင်းတယ် ပုံမှန်လား", "TH", "၅၀၀,၀၀၀", "မတွေ့လို့", "mm_th"),
    ("km", "ទៅកូរ៉េ ភ្នាក់ងារសុំ ៣ពាន់ដុល្លារ ធម្មតាទេ", "KR", "៣,០០០ ដុល្លារ", "ខ្ញុំរកមិនឃើញ", "kh_kr"),
]  # fmt: skip


def _chat_in(chat: Chat, lang: str) -> Chat:
    chat.tap(f"language.set|lang={lang}")
    return chat


@pytest.mark.parametrize(
    ("lang", "text", "country", "typed", "verdict", "card"), FEES, ids=[f[0] for f in FEES]
)
def test_fee_compared_with_the_official_cost(
    chat: Chat,
    t: Translator,
    lang: str,
    text: str,
    country: str,
    typed: str,
    verdict: str,
    card: str,
) -> None:
    """Over the government-fixed cost (Bangladesh), or said plainly that none is published."""
    _chat_in(chat, lang)
    answer = texts(chat.say(text, "info_fees", lang=lang, entities={"country": country}))
    assert typed in answer and verdict in answer
    assert t(f"corridor.{card}.text", lang) in answer


def test_fee_asks_the_country_then_compares(chat: Chat, t: Translator) -> None:
    _chat_in(chat, "bn")
    replies = chat.say("দালাল ৩ লাখ টাকা চায় এটা কি স্বাভাবিক", "info_fees", lang="bn")
    assert texts(replies) == t("corridor.fee.country", "bn")
    answer = texts(chat.say("মালয়েশিয়া", "out_of_scope", lang="bn"))
    assert "৩০০,০০০" in answer and "৭৮,৯৯০" in answer  # vs the Tk 78,990 fixed for Malaysia


def test_fee_with_no_published_figure_says_so(chat: Chat, t: Translator) -> None:
    _chat_in(chat, "km")
    answer = texts(
        chat.say("ភ្នាក់ងារសុំ ៣ពាន់ដុល្លារ ទៅថៃ", "info_fees", lang="km", entities={"country": "TH"})
    )
    assert "៣,០០០ ដុល្លារ" in answer
    assert t("corridor.kh_th.text", "km")[:15] in answer
    assert "ខ្ញុំរកមិនឃើញថ្លៃផ្លូវការ" in answer


def test_fees_card_for_a_bengali_speaker_in_saudi(chat: Chat, t: Translator) -> None:
    _chat_in(chat, "bn")
    replies = chat.say("সৌদি যাওয়ার খরচ কত", "info_fees", lang="bn", entities={"country": "SA"})
    answer = texts(replies)
    assert t("corridor.bd_gulf.text", "bn") in answer
    assert "১৬৫,০০০ টাকা" in answer and "মুসানেদ" in answer


@pytest.mark.parametrize(
    ("lang", "card"), [("my", "mm_th"), ("km", "kh_th"), ("en", None), ("bn", None)]
)
def test_guides_from_the_tips_menu(chat: Chat, t: Translator, lang: str, card: str | None) -> None:
    _chat_in(chat, lang)
    chat.tap("tips.menu")
    if card:  # the country is known: the card for the route at once
        chat.say("x", "find_hotline", entities={"country": "TH"})
        answer = texts(chat.tap("corridors.guide"))
        assert t(f"corridor.{card}.text", lang) in answer
        assert "corridors.guide|list=yes" in payloads(chat.tap("corridors.guide"))
    else:
        replies = chat.tap("corridors.guide")
        offered = payloads(replies)
        assert "corridors.guide|card=scam" in offered
        assert len(offered) <= 13
        assert all(grapheme_len(c.title) <= 20 for r in replies for c in r.choices)


JOB_ADS = [
    ("en", "customer service job in thai 2000$ no experience telegram only @hr", "Telegram"),
    ("my", "ထိုင်းမှာ အွန်လိုင်းအလုပ် လစာကောင်း အတွေ့အကြုံမလို တယ်လီဂရမ်ကနေဆက်သွယ်ပါ", "Telegram"),
    ("km", "ការងារវាយអក្សរ ប្រាក់ខែខ្ពស់ មិនត្រូវការបទពិសោធន៍ ទាក់ទងតាមតេឡេក្រាម", "Telegram"),
    ("bn", "সৌদিতে কাজ, পাসপোর্ট অফিসে জমা রাখতে হবে, টাকা বিকাশে পাঠান, ভিজিট ভিসা", "পাসপোর্ট"),
]  # fmt: skip


@pytest.mark.parametrize(("lang", "ad", "word"), JOB_ADS, ids=[a[0] for a in JOB_ADS])
def test_job_ad_pasted_after_the_menu_item(
    chat: Chat, t: Translator, lang: str, ad: str, word: str
) -> None:
    _chat_in(chat, lang)
    asked = chat.tap("corridors.job_ask")
    assert texts(asked) == t("corridor.job.paste", lang)
    answer = texts(chat.say(ad, "out_of_scope", 0.3, lang=lang))
    assert word in answer
    assert t("corridor.job.what_to_do", lang) in answer


def test_job_ad_forwarded_as_one_message(chat: Chat, t: Translator) -> None:
    _chat_in(chat, "en")
    answer = texts(chat.say(JOB_ADS[0][1], "info_job_offer"))
    assert t("corridor.flag.scam_compound", "en") in answer


def test_short_job_question_gets_the_tip_then_the_check(chat: Chat, t: Translator) -> None:
    _chat_in(chat, "en")
    assert texts(chat.say("is this job real?", "info_job_offer")) == t("tips.job_offer", "en")
    assert texts(chat.tap("corridors.job_ask")) == t("corridor.job.paste", "en")
    clean = texts(
        chat.say("Factory job in Samut Sakhon, MOU, written contract", "out_of_scope", 0.2)
    )
    assert clean == t("corridor.job.clean", "en")
