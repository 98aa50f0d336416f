"""Canned replies: suggested texts per language that admins edit at /console/canned.

They start as the locales' `console.canned.*`, copied into the database the first time they
are read; from then on the database holds them. A language without its own text for a key
shows the English one, marked, so staff know it must be translated before sending.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.console import audit
from bot.db.models import CannedReply
from bot.dialogue.i18n import LOCALES, read_locale
from bot.understanding.base import LANGUAGES

PREFIX = "console.canned."
KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_TEXT = 2000


@dataclass(frozen=True)
class Canned:
    key: str
    text: str  # in the language asked for (English where it has none)
    english: str  # what it says, for staff who do not read that language
    translated: bool


def seed(session: Session) -> None:
    """Copy the locales' canned replies into the table while it is empty."""
    if session.scalar(select(func.count()).select_from(CannedReply)):
        return
    for language in LANGUAGES:
        texts = read_locale(LOCALES, language)
        session.add_all(
            CannedReply(key=key.removeprefix(PREFIX), language=language, text=text)
            for key, text in texts.items()
            if key.startswith(PREFIX)
        )
    session.flush()


def replies(session: Session, language: str | None) -> list[Canned]:
    """Every key, in `language` where it has a text, else in English."""
    seed(session)
    lang = language if language in LANGUAGES else "en"
    rows = session.scalars(select(CannedReply).order_by(CannedReply.id)).all()
    texts = {(r.key, r.language): r.text for r in rows}
    keys = list(dict.fromkeys(r.key for r in rows))
    out = []
    for key in keys:
        english = texts.get((key, "en"), "")
        own = texts.get((key, lang))
        out.append(Canned(key, own or english, english, own is not None))
    return out


class CannedError(ValueError):
    """Bad input on the editor; the message says what to fix."""


def save(session: Session, staff_id: int, key: str, language: str, text: str) -> None:
    """Set the text of `key` in `language`; an empty text removes that language's version
    (and the key everywhere when it is the English one)."""
    key, text = key.strip().lower(), text.strip()
    if not KEY.match(key):
        raise CannedError("A name is lower-case letters, digits and _ (like call_hotline).")
    if language not in LANGUAGES:
        raise CannedError(f"Choose one of {', '.join(LANGUAGES)}.")
    if len(text) > MAX_TEXT:
        raise CannedError(f"A reply can have at most {MAX_TEXT} characters.")
    seed(session)
    row = session.scalars(
        select(CannedReply).where(CannedReply.key == key, CannedReply.language == language)
    ).one_or_none()
    if not text:
        gone = delete(CannedReply).where(CannedReply.key == key)
        if language != "en":
            gone = gone.where(CannedReply.language == language)
        session.execute(gone)
        change = "removed"
    elif row is None:
        if language != "en" and _missing_english(session, key):
            raise CannedError("Add the English text first: it is what other staff read.")
        session.add(CannedReply(key=key, language=language, text=text, updated_at=utcnow()))
        change = "added"
    else:
        row.text, row.updated_at = text, utcnow()
        change = "edited"
    audit.record(session, "canned_edit", staff_id=staff_id, detail=f"{key} [{language}] {change}")


def _missing_english(session: Session, key: str) -> bool:
    english = select(CannedReply.id).where(CannedReply.key == key, CannedReply.language == "en")
    return session.scalar(english) is None
