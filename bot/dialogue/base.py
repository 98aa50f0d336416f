"""What the message pipeline asks of the dialogue engine: one turn in, replies out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from bot.db.models import User
from bot.messages import InboundKind, Reply
from bot.understanding.base import LANGUAGES, Parse


@dataclass(frozen=True)
class Turn:
    """One thing the user did. `parse` is set for typed text, `payload` for a tap."""

    kind: InboundKind
    received_at: datetime
    text: str | None = None
    payload: str | None = None
    attachment: str | None = None
    parse: Parse | None = None


class Dialogue(Protocol):
    def respond(self, session: Session, user: User, turn: Turn) -> list[Reply]:
        """Decide the replies and record state, cases and analytics in `session`.

        Runs inside the transaction that marks the inbound event handled and stores the
        replies in the outbox, so a turn takes effect whole or not at all.
        """
        ...

    def welcome(self, language: str | None) -> Reply:
        """The first message to someone who opened the chat (Viber's conversation_started)."""
        ...


def language_from_platform(code: str | None) -> str | None:
    """Map a platform locale ("my", "km-KH", "bn_BD", "en-US") to one of our languages."""
    if not code:
        return None
    primary = code.replace("_", "-").split("-")[0].lower()
    return primary if primary in LANGUAGES else None
