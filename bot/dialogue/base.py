"""What the message pipeline asks of the dialogue engine: one turn in, replies and effects out.

Effects are what the engine decided should change besides the replies (a transcript line, an
acknowledgement noted on a case, where the conversation now is, the interaction to log); the
pipeline applies them in the turn's transaction (`bot/pipeline/effects.py`), so the engine
decides and the edges write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from sqlalchemy.orm import Session

from bot.db.models import Case, Conversation, User
from bot.messages import InboundKind, Reply
from bot.understanding.base import LANGUAGES, Parse


@dataclass(frozen=True)
class Turn:
    """One thing the user did. `parse` is set for typed text, `payload` for a tap."""

    kind: InboundKind | Literal["case_overdue"]  # or a scheduled job's nudge
    received_at: datetime
    text: str | None = None
    payload: str | None = None
    attachment: str | None = None
    parse: Parse | None = None


@dataclass(frozen=True)
class CaseLine:
    """A line for a case transcript: what the person wrote or tapped, or what the bot said."""

    case_id: int
    direction: str  # "in" (typed), "tap" (a button's title) or "bot"
    text: str
    original: str | None = None  # as typed, when it was converted (Zawgyi)


@dataclass(frozen=True)
class CaseAcknowledged:
    """The person was told, at `at`, that a person will answer: the next such reply waits."""

    case_id: int
    at: datetime


@dataclass(frozen=True)
class ConversationSaved:
    """Where the person now is in a flow (the whole row, written in one statement): the engine
    works on a copy out of the session, so no unit of work tracks it through the turn."""

    user_id: int
    flow: str | None
    step: str | None
    slots: dict[str, Any]
    path: list[str]
    misses: int
    updated_at: datetime


@dataclass(frozen=True)
class Interaction:
    """One handled interaction for the anonymized log (O1.1.3): what was asked and what was
    served, never the words; `resource` is what was promoted, if anything."""

    intent: str | None
    flow: str | None
    step: str | None
    resource: str | None


Effect = CaseLine | CaseAcknowledged | ConversationSaved | Interaction


@dataclass
class Response:
    replies: list[Reply] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    # The person's active case as the engine left it (opened or read in the turn): the case
    # the transcript lines go to, held so that applying them needs no second read of it.
    case: Case | None = None


# The person's stored conversation and active case (either may be missing).
Stored = tuple[Conversation | None, Case | None]


class Dialogue(Protocol):
    def respond(
        self, session: Session, user: User, turn: Turn, stored: Stored | None = None
    ) -> Response:
        """Decide the replies and effects; record cases and what people answered in `session`.

        Runs inside the transaction that marks the inbound event handled and stores the
        replies in the outbox, so a turn takes effect whole or not at all. `stored`: the
        person's conversation and case when the caller has read them already; else read here.
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
