"""Money amounts as people type them: any digit script, lakh/crore, k, သိန်း, ម៉ឺន, currencies.

"Broker wants 5 lakh taka", "৫ লাখ টাকা", "၅ သိန်း", "သိန်း ၅၀", "3000$", "២លានរៀល" and
"Tk 1,65,000" all become an `Amount`. Pure functions; no I/O.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import regex

# Multiplier words (after the number; the Burmese ones also come before it: "သိန်း ၅၀").
MULTIPLIERS: dict[str, int] = {
    "k": 1_000, "thousand": 1_000, "hajar": 1_000, "hazar": 1_000, "হাজার": 1_000,
    "ထောင်": 1_000, "ពាន់": 1_000,
    "lakh": 100_000, "lakhs": 100_000, "lac": 100_000, "lacs": 100_000, "lak": 100_000,
    "লাখ": 100_000, "লক্ষ": 100_000, "သိန်း": 100_000, "សែន": 100_000,
    "သောင်း": 10_000, "ម៉ឺន": 10_000,
    "million": 1_000_000, "m": 1_000_000, "သန်း": 1_000_000, "លាន": 1_000_000,
    "crore": 10_000_000, "koti": 10_000_000, "কোটি": 10_000_000,
}  # fmt: skip
_BEFORE = ("သိန်း", "သောင်း", "သန်း")
CURRENCIES: dict[str, str] = {
    "taka": "BDT", "tk": "BDT", "tk.": "BDT", "৳": "BDT", "টাকা": "BDT", "bdt": "BDT",
    "kyat": "MMK", "kyats": "MMK", "ks": "MMK", "ကျပ်": "MMK", "mmk": "MMK",
    "riel": "KHR", "រៀល": "KHR", "៛": "KHR", "khr": "KHR",
    "baht": "THB", "฿": "THB", "บาท": "THB", "ဘတ်": "THB", "បាត": "THB", "বাত": "THB",
    "thb": "THB",
    "$": "USD", "usd": "USD", "dollar": "USD", "dollars": "USD", "ដុល្លារ": "USD",
    "ဒေါ်လာ": "USD", "ডলার": "USD",
    "ringgit": "MYR", "rm": "MYR", "রিংগিত": "MYR", "ရင်းဂစ်": "MYR", "myr": "MYR",
    "yen": "JPY", "¥": "JPY", "ইয়েন": "JPY", "ယန်း": "JPY", "jpy": "JPY",
    "won": "KRW", "₩": "KRW", "krw": "KRW",
    "riyal": "SAR", "rial": "SAR", "sar": "SAR", "রিয়াল": "SAR",
    "sgd": "SGD", "s$": "SGD",
}  # fmt: skip


def _alternation(words: list[str]) -> str:
    return "|".join(regex.escape(w) for w in sorted(words, key=len, reverse=True))


_NUMBER = r"(?<![\d.,])\d+(?:[.,]\d+)*"
_MULT = _alternation(list(MULTIPLIERS))
_CUR = _alternation(list(CURRENCIES))
# A word ends at a non-letter (Latin words only: the other scripts run words together).
_END = r"(?![a-z])"
_AMOUNT = regex.compile(
    rf"(?:(?P<cur1>{_CUR}){_END}\s*)?"
    rf"(?:(?P<pre>{_alternation(list(_BEFORE))})\s*)?"
    rf"(?P<num>{_NUMBER})\s*"
    rf"(?:(?P<mult>{_MULT}){_END}\s*)?"
    rf"(?:(?P<cur2>{_CUR}){_END})?",
    regex.IGNORECASE,
)


@dataclass(frozen=True)
class Amount:
    value: int
    currency: str | None  # ISO 4217, or None when the person did not say


def ascii_digits(text: str) -> str:
    """Burmese, Khmer, Bengali (any Unicode) digits as 0-9."""
    return "".join(
        str(unicodedata.decimal(ch)) if unicodedata.category(ch) == "Nd" else ch for ch in text
    )


def find_amounts(text: str) -> list[Amount]:
    """Every amount that names a currency or a multiplier, or is a bare number ≥ 1,000."""
    found: list[Amount] = []
    for match in _AMOUNT.finditer(ascii_digits(unicodedata.normalize("NFC", text))):
        multiplier = match["mult"] or match["pre"]
        currency = match["cur1"] or match["cur2"]
        value = _number(match["num"]) * (MULTIPLIERS[multiplier.lower()] if multiplier else 1)
        if not (multiplier or currency) and not _plausible_bare(match["num"]):
            continue
        code = CURRENCIES[currency.lower()] if currency else None
        found.append(Amount(round(value), code))
    return found


def first_amount(text: str) -> Amount | None:
    amounts = find_amounts(text)
    return amounts[0] if amounts else None


def _plausible_bare(digits: str) -> bool:
    """A number with no unit is money only from 1,000 up, and not a year or a phone number."""
    plain = regex.sub(r"[.,]", "", digits)
    year = len(plain) == 4 and plain[:2] in ("19", "20")
    return float(plain) >= 1000 and len(plain) <= 8 and not year and not plain.startswith("0")


def _number(digits: str) -> float:
    """ "1,65,000" and "165.000" are thousands; "1.5" (lakh) is a decimal."""
    parts = regex.split(r"[.,]", digits)
    if len(parts) == 2 and len(parts[1]) != 3:
        return float(f"{parts[0]}.{parts[1]}")
    return float("".join(parts))


def localize_digits(text: str, language: str) -> str:
    """0-9 in the language's own script (Burmese, Khmer, Bengali); English unchanged."""
    zero = {"my": "၀", "km": "០", "bn": "০"}.get(language)
    if zero is None:
        return text
    return "".join(chr(ord(zero) + int(ch)) if ch.isascii() and ch.isdigit() else ch for ch in text)
