"""Amounts typed the way people type them, in all four languages."""

from __future__ import annotations

import pytest

from bot.corridors.amounts import Amount, find_amounts, first_amount, localize_digits


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Broker wants 5 lakh taka, is that OK?", Amount(500_000, "BDT")),
        ("dalal 4.5 lac nibe saudi jete", Amount(450_000, None)),
        ("agency chaise 1,65,000 tk", Amount(165_000, "BDT")),
        ("দালাল ৫ লাখ টাকা চাইছে এটা কি ঠিক", Amount(500_000, "BDT")),
        ("সৌদি যেতে ৩.৫ লক্ষ টাকা লাগবে বলছে", Amount(350_000, "BDT")),
        ("পাঁচ লাখ না, ৪৫০০০০ টাকা", Amount(450_000, "BDT")),
        ("ပွဲစားက ၅ သိန်း တောင်းတယ်", Amount(500_000, None)),
        ("ထိုင်းသွားဖို့ သိန်း ၅၀ ကျပ် ပေးရမှာလား", Amount(5_000_000, "MMK")),
        ("အေးဂျင့်ခ ၁၅ ထောင် ဘတ်", Amount(15_000, "THB")),
        ("ភ្នាក់ងារសុំ ៣ពាន់ដុល្លារ ទៅកូរ៉េ", Amount(3_000, "USD")),
        ("ត្រូវបង់ ២លានរៀល", Amount(2_000_000, "KHR")),
        ("mou thai 18k baht ok?", Amount(18_000, "THB")),
        ("RM 6000 for permit", Amount(6_000, "MYR")),
        ("$1500/month", Amount(1_500, "USD")),
    ],
)
def test_reads_amounts(text: str, expected: Amount) -> None:
    assert first_amount(text) == expected


@pytest.mark.parametrize(
    "text",
    ["call me 01712345678", "I go 2025 to saudi", "room 12 floor 3", "is 500 ok", "ok"],
)
def test_ignores_numbers_that_are_not_money(text: str) -> None:
    assert find_amounts(text) == []


def test_every_amount_in_an_ad() -> None:
    ad = "Salary 1500 USD, fee 3,000 USD, call 0923456789"
    assert find_amounts(ad) == [Amount(1_500, "USD"), Amount(3_000, "USD")]


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "Tk 165,000"), ("bn", "Tk ১৬৫,০০০"), ("my", "Tk ၁၆၅,၀၀၀"), ("km", "Tk ១៦៥,០០០")],
)
def test_digits_in_the_readers_script(language: str, expected: str) -> None:
    assert localize_digits("Tk 165,000", language) == expected
