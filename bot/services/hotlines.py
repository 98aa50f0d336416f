"""Hotlines by country and purpose, in the order a person in trouble needs them."""

from __future__ import annotations

import unicodedata

import regex
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import Hotline

# Order matters: it is the order of the answer and of the (at most three) call buttons.
# `embassy` rows sit under the destination and name the origin they serve; `from_abroad`,
# `child` and `advice_centre` rows sit under the origin country.
PURPOSES = (
    "emergency", "anti_trafficking", "labour", "migrant_support",
    "embassy", "from_abroad", "child", "advice_centre",
)  # fmt: skip
URGENT_PURPOSES = ("emergency", "anti_trafficking")
IN_PERSON = "advice_centre"
WORKER_PURPOSES = ("anti_trafficking", "labour")
# Rows users never see: kept so staff and `registry coverage` know the gap is known.
UNVERIFIED = "unverified"
CALLING_CODES = {
    "BD": "880", "KH": "855", "MM": "95", "TH": "66", "MY": "60", "PH": "63",
    "SG": "65", "JP": "81", "KR": "82", "SA": "966", "AE": "971", "QA": "974", "KW": "965",
    "OM": "968", "BH": "973", "JO": "962", "LB": "961", "BN": "673", "HK": "852", "TW": "886",
}  # fmt: skip


def find(
    session: Session,
    country: str,
    purposes: tuple[str, ...] = PURPOSES,
    *,
    origin: str | None = None,
) -> list[Hotline]:
    """Public rows for `country`, in the order the purposes are given; embassies only of
    `origin` when the origin is known."""
    rows = session.scalars(
        select(Hotline).where(
            Hotline.country == country,
            Hotline.purpose.in_(purposes),
            Hotline.listing != UNVERIFIED,
        )
    )
    kept = [h for h in rows if h.purpose != "embassy" or origin in (None, h.serves)]
    return sorted(kept, key=lambda h: (purposes.index(h.purpose), h.id))


def best_for(rows: list[Hotline], language: str) -> Hotline | None:
    """The row a person reading `language` can best use: their language, then English."""
    for wanted in (language, "en"):
        spoken = [h for h in rows if wanted in h.languages]
        if spoken:
            return spoken[0]
    return rows[0] if rows else None


def near(session: Session, text: str, origins: tuple[str, ...]) -> list[Hotline]:
    """Advice centres whose district, township or province the person named in `text`.

    `area` holds the place's names in several scripts ("Dawei|ထားဝယ်"); a name counts when it
    appears in the message, so "im from dawei township" finds Dawei.
    """
    folded = _fold(text)
    if not folded:
        return []
    rows = find_in(session, origins, (IN_PERSON,))
    return [h for h in rows if any(len(n) > 2 and n in folded for n in map(_fold, areas(h)))]


def find_in(
    session: Session, countries: tuple[str, ...], purposes: tuple[str, ...]
) -> list[Hotline]:
    """Public rows of several countries, in the order the countries are given."""
    return [h for country in countries for h in find(session, country, purposes)]


def areas(row: Hotline) -> list[str]:
    return [name.strip() for name in (row.area or "").split("|") if name.strip()]


def _fold(text: str) -> str:
    return regex.sub(r"[\p{P}\s]+", " ", unicodedata.normalize("NFC", text)).casefold().strip()


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
