"""Red flags in a pasted or forwarded job ad: signals from the patterns, flags from signals.

A signal is one pattern group of `data/job_offer_flags.yml` found in the text; a flag is what
the person is told ("no written contract"). Pure: text in, flag ids out, in a fixed order.
"""

from __future__ import annotations

from bot.corridors.amounts import ascii_digits, find_amounts
from bot.corridors.data import JobFlags, job_flags

# The order a person reads them in: the most dangerous first.
FLAGS = (
    "scam_compound",
    "passport_kept",
    "tourist_visa",
    "third_country",
    "personal_account",
    "no_contract",
    "high_pay",
    "no_experience_high_pay",
    "telegram_only",
)
# Pasted text at least this long is read as a job ad even when no flag is found.
AD_LENGTH = 120


def signals(text: str, rules: JobFlags | None = None) -> set[str]:
    """The pattern groups found in `text` (every language's patterns are tried)."""
    rules = rules or job_flags()
    folded = ascii_digits(text).casefold()
    found = {name for name, search in rules.searches.items() if search.search(folded)}
    if any(
        a.currency in rules.high_pay and a.value >= rules.high_pay[a.currency]
        for a in find_amounts(text)
    ):
        found.add("high_pay")
    return found


def red_flags(text: str, rules: JobFlags | None = None) -> list[str]:
    """The flags to tell the person about, most dangerous first."""
    s = signals(text, rules)
    lure = bool(s & {"high_pay", "high_pay_words", "no_experience", "telegram_only"})
    flags = set(s) & set(FLAGS)
    if "no_experience" in s and s & {"high_pay", "high_pay_words"}:
        flags.add("no_experience_high_pay")
    if "scam_area" in s or ("online_job" in s and lure):
        flags.add("scam_compound")
    return [f for f in FLAGS if f in flags]
