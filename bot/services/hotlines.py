"""Hotlines by country and purpose, in the order a person in trouble needs them."""

from __future__ import annotations

import regex
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import Hotline

# Order matters: it is the order of the answer and of the (at most three) call buttons.
PURPOSES = ("emergency", "anti_trafficking", "child", "labour", "migrant_support")
URGENT_PURPOSES = ("emergency", "anti_trafficking")
# For someone under 18: the child helpline first, then the urgent numbers.
CHILD_PURPOSES = ("child", *URGENT_PURPOSES)
CALLING_CODES = {
    "BD": "880", "KH": "855", "MM": "95", "TH": "66", "MY": "60", "PH": "63",
    "SG": "65", "JP": "81", "KR": "82", "SA": "966", "AE": "971", "QA": "974", "KW": "965",
}  # fmt: skip


def find(session: Session, country: str, purposes: tuple[str, ...] = PURPOSES) -> list[Hotline]:
    """The country's numbers for these purposes, in the order the purposes are given."""
    rows = session.scalars(
        select(Hotline).where(Hotline.country == country, Hotline.purpose.in_(purposes))
    )
    return sorted(rows, key=lambda h: (purposes.index(h.purpose), h.id))


def countries(session: Session) -> set[str]:
    return set(session.scalars(select(Hotline.country).distinct()))


def dial_value(number: str, country: str) -> str:
    """What a phone should dial: E.164 for full numbers, the bare digits for short codes.

    Messenger's call button needs "+"; short codes (1300, 999) only work inside the country
    and stay as digits, so the channel shows them in the text instead.
    """
    digits = regex.sub(r"[^\d+]", "", number)
    if digits.startswith("+"):
        return digits
    code = CALLING_CODES.get(country)
    if digits.startswith("0") and len(digits) > 6 and code:
        return f"+{code}{digits[1:]}"
    return digits
