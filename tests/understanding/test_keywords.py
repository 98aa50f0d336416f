"""The degraded-mode keyword router and the entity canonical forms it shares with Rasa."""

from __future__ import annotations

import pytest

from bot.understanding.base import Entity
from bot.understanding.entities import canonical_country, canonical_licence
from bot.understanding.keywords import default_router
from bot.understanding.normalize import normalize


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("menu", "menu"),
        ("မီနူး", "menu"),
        ("ម៉ឺនុយ", "menu"),
        ("মেনু দেখাও", "menu"),
        ("hotline number pls", "find_hotline"),
        ("ဖုန်းနံပါတ်ပေးပါ", "find_hotline"),
        ("លេខទូរស័ព្ទជំនួយ", "find_hotline"),
        ("হটলাইন নম্বর", "find_hotline"),
        ("sos", "urgent_help"),
        ("ကယ်ပါ", "urgent_help"),
        ("ជួយខ្ញុំផង", "urgent_help"),
        ("বাঁচান", "urgent_help"),
        ("change language", "choose_language"),
        ("မြန်မာလို ပြောပါ", "choose_language"),
        ("ភាសាខ្មែរ", "choose_language"),
        ("বাংলায় বলুন", "choose_language"),
        ("banglay bolen", "choose_language"),
        ("hello", "greet"),
        ("talk to a real person", "talk_to_human"),
        ("delete my data", "delete_my_data"),
        ("is this agency licensed", "check_recruiter"),
        ("RL-1234?", "check_recruiter"),
        ("how much is the fee", "info_fees"),
        ("asdfgh", "out_of_scope"),
    ],
)
def test_keywords_route_the_important_intents(text: str, intent: str) -> None:
    assert default_router().classify(normalize(text).text).intent == intent


def test_latin_keywords_are_whole_words() -> None:
    # "hi" must not fire inside "this" or "hit".
    assert default_router().classify("this thing").intent == "out_of_scope"


def test_licence_numbers_are_extracted_in_canonical_form() -> None:
    result = default_router().classify(normalize("agency লাইসেন্স নং ১২৩৪ and rl 0987").text)
    assert [e.value for e in result.entities] == ["1234", "RL-0987"]
    assert all(isinstance(e, Entity) for e in result.entities)


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("RL-1234", "RL-1234"),
        ("rl 1234", "RL-1234"),
        ("R.L.1234", "RL-1234"),
        ("লাইসেন্স ১২৩৪", "1234"),
        ("licence no 5678", "5678"),
        ("no digits", None),
    ],
)
def test_canonical_licence(raw: str, value: str | None) -> None:
    assert canonical_licence(raw) == value


def test_canonical_country() -> None:
    assert canonical_country("th") == "TH"
    assert canonical_country("Thailand") is None
