"""Countries and licence numbers read from what people type, in all four scripts."""

from __future__ import annotations

import pytest
import yaml
from pydantic import ValidationError

from bot.dialogue.flows import load
from bot.dialogue.i18n import LOCALES, read_locale
from bot.understanding.base import LANGUAGES
from bot.understanding.entities import (
    COUNTRIES_FILE,
    CountryFinder,
    CountryNames,
    find_country,
    find_licence,
    is_licence_only,
)

ISSUE_COUNTRIES = (
    "TH", "MY", "SG", "BN", "SA", "AE", "QA", "KW", "OM", "BH", "JO", "LB", "JP", "KR", "HK", "TW",
    "MM", "KH", "BD",
)  # fmt: skip


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("Dubai", "AE"),
        ("i am in dubai now", "AE"),
        ("Riyadh", "SA"),
        ("work in jeddah", "SA"),
        ("Doha", "QA"),
        ("mae sot", "TH"),
        ("Johor", "MY"),
        ("KW", "KW"),
        ("kw", "KW"),
        ("စင်ကာပူ", "SG"),
        ("စင်ကာပူမှာ အလုပ်လုပ်နေတယ်", "SG"),
        ("ဆော်ဒီသွားမယ်", "SA"),
        ("ម៉ាឡេស៊ី", "MY"),
        ("ខ្ញុំនៅថៃ", "TH"),
        ("কুয়েতে আছি", "KW"),
        ("সৌদি আরব", "SA"),
        ("দুবাই থেকে বলছি", "AE"),
        ("malaysian company", "MY"),
        ("south korea", "KR"),
        ("southkorea job", "KR"),
        ("want go south\n  korea", "KR"),
        ("Hong Kong", "HK"),
        ("from myanmar now in thailand", "TH"),
        ("my passport", None),
        ("a woman", None),
        ("দোহাই লাগে", None),
        ("MYY", None),
    ],
)
def test_country_names_spellings_demonyms_and_cities(typed: str, code: str | None) -> None:
    assert find_country(typed) == code


@pytest.mark.parametrize("code", ISSUE_COUNTRIES)
def test_every_country_has_names_in_all_four_languages(code: str) -> None:
    data = CountryNames.model_validate(yaml.safe_load(COUNTRIES_FILE.read_text(encoding="utf-8")))
    assert set(data.countries[code]) == set(LANGUAGES)
    assert find_country(code) == code


def test_every_country_name_the_bot_shows_is_recognised_when_typed() -> None:
    flows = load()
    for lang in LANGUAGES:
        texts = read_locale(LOCALES, lang)
        for code in flows.countries:
            assert find_country(texts[f"country.{code}"]) == code, (lang, code)


def test_a_name_given_to_two_countries_is_refused() -> None:
    with pytest.raises(ValidationError, match="names both"):
        CountryNames.model_validate(
            {"origins": [], "countries": {"TH": {"en": ["siam"]}, "KH": {"en": ["Siam"]}}}
        )
    with pytest.raises(ValidationError, match="ISO"):
        CountryNames.model_validate({"origins": [], "countries": {"Thai": {"en": ["thai"]}}})


def test_a_destination_wins_over_an_origin() -> None:
    finder = CountryFinder(
        CountryNames(origins=("MM",), countries={"MM": {"en": ("yangon",)}, "TH": {"en": ("bkk",)}})
    )
    assert finder.find("yangon to bkk") == "TH"
    assert finder.find("yangon") == "MM"


@pytest.mark.parametrize(
    ("sentence", "licence"),
    [
        ("আরএল ১০২৪ লাইসেন্স চেক করুন", "RL-1024"),
        ("এই এজেন্সির লাইসেন্স নম্বর ১০২৪", "1024"),
        ("ဒီအေဂျင်စီ လိုင်စင် ၁၀၂၄ ဟုတ်လား", "1024"),
        ("OEA-၁၀၁ စစ်ပေးပါ", "101"),
        ("សូមពិនិត្យអាជ្ញាប័ណ្ណ ១០២៤", "1024"),
        ("pls chek rl1024 ok", "RL-1024"),
        ("i am 17", None),
        ("no number at all", None),
    ],
)
def test_a_licence_number_inside_a_sentence(sentence: str, licence: str | None) -> None:
    assert find_licence(sentence) == licence


@pytest.mark.parametrize(
    ("text", "alone"),
    [
        ("OEA-၁၀၁", True),
        ("PRA-០១២", True),
        ("rl-0215", True),
        ("আরএল ১০২৪", True),
        ("1024", True),
        ("help 999", False),
        ("i am 16", False),
        ("RL 1024 check pls", False),
    ],
)
def test_a_licence_number_alone_is_told_from_a_sentence(text: str, alone: bool) -> None:
    assert is_licence_only(text) is alone
