"""The urgent reply over the shipped directory: a known country always gets numbers that a
person can use, in one message that fits Messenger's button template."""

from __future__ import annotations

import pytest

from bot.channels.messenger import TEMPLATE_TEXT_LIMIT
from bot.dialogue.i18n import Translator
from bot.services.coverage import DESTINATIONS
from tests.dialogue.chat import Chat

LANGUAGES = ("en", "my", "km", "bn")
PROBASH_BANDHU = "+880 9610 102030"


def _urgent_in(chat: Chat, lang: str, country: str):  # type: ignore[no-untyped-def]
    chat.tap(f"start.privacy|lang={lang}")
    chat.say("help", "urgent_help", lang=lang, urgent=True)
    return chat.tap(f"urgent.numbers|country={country}")


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("country", DESTINATIONS)
def test_every_destination_gets_numbers_that_fit(
    chat: Chat, t: Translator, lang: str, country: str
) -> None:
    replies = _urgent_in(chat, lang, country)
    numbers = replies[0]
    assert t("urgent.no_numbers", lang) not in numbers.text
    assert numbers.text.startswith(t("urgent.numbers", lang, lines="").rstrip())
    assert t("directory.label.emergency", lang) in numbers.text
    assert len(numbers.text) <= TEMPLATE_TEXT_LIMIT, len(numbers.text)
    assert 1 <= len(numbers.buttons) <= 3
    assert replies[-1].text == t("urgent.promise", lang)


@pytest.mark.parametrize("lang", ["my", "km"])
def test_thailand_gives_1694_to_burmese_and_khmer_readers(chat: Chat, lang: str) -> None:
    text = _urgent_in(chat, lang, "TH")[0].text
    assert "191" in text and "1694" in text and "1300" not in text


def test_thailand_gives_the_english_trafficking_line_to_english_readers(chat: Chat) -> None:
    text = _urgent_in(chat, "en", "TH")[0].text
    assert "191" in text and "1300" in text


def test_a_bengali_reader_in_saudi_arabia_gets_embassy_and_home_line(chat: Chat) -> None:
    numbers = _urgent_in(chat, "bn", "SA")[0]
    for number in ("911", "19911", "800 100 125", PROBASH_BANDHU):
        assert number in numbers.text
    assert [b.value for b in numbers.buttons] == ["911", "19911", "800100125"]


def test_an_unconfirmed_embassy_is_never_shown(chat: Chat) -> None:
    text = _urgent_in(chat, "my", "QA")[0].text
    assert "Embassy of Myanmar" not in text and "+95 67 430183" in text


def test_unknown_country_gets_the_home_line_and_a_person(chat: Chat, t: Translator) -> None:
    chat.tap("start.privacy|lang=bn")
    chat.say("help", "urgent_help", lang="bn", urgent=True)
    replies = chat.tap("urgent.no_numbers")
    assert PROBASH_BANDHU in replies[0].text
    assert replies[0].buttons[0].value == "+8809610102030"
    assert replies[-1].text == t("urgent.promise", "bn")


def test_unknown_country_and_origin_still_gets_a_person(chat: Chat, t: Translator) -> None:
    chat.tap("start.privacy|lang=en")
    chat.say("help", "urgent_help", lang="en", urgent=True)
    replies = chat.tap("urgent.no_numbers")
    assert [r.text for r in replies] == [t("urgent.no_numbers", "en"), t("urgent.promise", "en")]


@pytest.mark.parametrize(
    ("lang", "place", "expected"),
    [
        ("my", "ထားဝယ်ကပါ", "Dawei"),
        ("en", "im from dawei township", "Dawei"),
        ("km", "ខ្ញុំនៅខេត្តបន្ទាយមានជ័យ", "Sisophon"),
        ("km", "siem reap", "Siem Reap"),
        ("my", "မန္တလေး", "Mandalay"),
    ],
)
def test_nearest_advice_centre_by_district(
    chat: Chat, t: Translator, lang: str, place: str, expected: str
) -> None:
    chat.tap(f"start.privacy|lang={lang}")
    assert chat.tap("advice.start")[-1].text == t("advice.ask", lang)
    found = chat.say(place, "out_of_scope", lang=lang)
    assert expected in found[0].text
    assert found[0].text.startswith(t("advice.found", lang, lines="").split("\n")[0])


def test_unknown_district_lists_the_places_known_and_offers_a_person(
    chat: Chat, t: Translator
) -> None:
    chat.tap("start.privacy|lang=km")
    chat.tap("advice.start")
    none = chat.say("kampot", "out_of_scope", lang="km")
    assert "Siem Reap" in none[0].text and "Pursat" in none[0].text
    assert "human.start" in [c.payload for c in none[0].choices]
