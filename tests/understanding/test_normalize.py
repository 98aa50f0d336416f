"""Normalization: NFC, invisible characters, Zawgyi, digits, script."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import icu
import pytest
import yaml

from bot.understanding.normalize import (
    ascii_digits,
    detect_script,
    drop_invisible,
    is_zawgyi,
    normalize,
)

NLU = Path(__file__).resolve().parents[2] / "nlu"
UNICODE_BURMESE = [
    "ကျွန်မကိုအလုပ်ရှင်ကအိမ်ထဲမှာပိတ်ထားတယ်",
    "အလုပ်ရှင်က ပတ်စပို့ သိမ်းထားတယ်",
    "မင်္ဂလာပါ",
    "ကျေးဇူးတင်ပါတယ်",
    "ထိုင်းမှာ သံရုံး ဖုန်းနံပါတ်",
    "ဒီနေ့ ရာသီဥတု",
]


def to_zawgyi(text: str) -> str:
    return icu.Transliterator.createInstance("my-Zawgyi").transliterate(text)


@pytest.mark.parametrize("unicode", UNICODE_BURMESE)
def test_zawgyi_input_comes_out_as_its_unicode_form(unicode: str) -> None:
    zawgyi = to_zawgyi(unicode)
    assert zawgyi != unicode
    result = normalize(zawgyi)
    assert result.was_zawgyi
    assert result.text == unicode
    assert result.lang == "my"


def test_known_zawgyi_sentence_is_converted() -> None:
    result = normalize("ကြၽန္မကိုအလုပ္ရွင္ကအိမ္ထဲမွာပိတ္ထားတယ္")
    assert result.was_zawgyi
    assert result.text == "ကျွန်မကိုအလုပ်ရှင်ကအိမ်ထဲမှာပိတ်ထားတယ်"


def test_unicode_burmese_training_data_is_never_converted() -> None:
    data = yaml.safe_load((NLU / "data/nlu/my.yml").read_text(encoding="utf-8"))
    lines = [
        line.strip()[2:]
        for item in data["nlu"]
        if "intent" in item
        for line in item["examples"].splitlines()
        if line.strip() and "[" not in line
    ]
    assert len(lines) > 400
    changed = [t for t in lines if normalize(t).was_zawgyi or normalize(t).text != ascii_digits(t)]
    assert changed == []


def test_ambiguous_text_is_not_reported_as_zawgyi() -> None:
    # Characters that read the same in both encodings: nothing to convert.
    assert not normalize("မရပါဘူး").was_zawgyi
    assert is_zawgyi("ဒီေန့ ရာသီဥတု")  # E-vowel after a vowel sign: impossible in Unicode


def test_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "ক্ষ café")
    assert normalize(decomposed).text == unicodedata.normalize("NFC", "ক্ষ café")


def test_invisible_characters_are_dropped() -> None:
    assert drop_invisible("\ufeffhel\u200blo\u2060") == "hello"
    assert normalize("ပတ်စ\u200bပို့\u200c").text == "ပတ်စပို့"
    assert normalize("ខ្ញុំ\u200bត្រូវ\u200bគេ").text == "ខ្ញុំត្រូវគេ"


def test_joiners_inside_bengali_are_kept() -> None:
    # র‍্যাব: ZWJ after র selects the ya-phala form; removing it changes the spelling.
    word = "র\u200d্যাব"
    assert normalize(word).text == word


def test_native_digits_become_ascii() -> None:
    assert ascii_digits("၁၂၃၄ ០១២៣ ০৯৮৭ 42") == "1234 0123 0987 42"
    assert normalize("লাইসেন্স ১২৩৪").text == "লাইসেন্স 1234"
    assert normalize("លេខ ៥៦៧៨").text == "លេខ 5678"


def test_spaces_are_collapsed_and_trimmed() -> None:
    assert normalize("  hi \u00a0  there\t").text == "hi there"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("မင်္ဂလာပါ", "my"),
        ("សួស្តីបង", "km"),
        ("আমার পাসপোর্ট", "bn"),
        ("where is my passport", "en"),
        ("amar passport niye nise bhai", "bn"),
        ("ami kivabe jabo", "bn"),
        ("ok", "en"),
        ("RL-1234 agency ok? ပွဲစား", "my"),
        ("1234 !!", None),
    ],
)
def test_script_detection(text: str, lang: str | None) -> None:
    assert detect_script(text) == lang
