"""Apply what the dialogue engine decided, in the turn's own transaction."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.db.models import Case, User
from bot.dialogue.base import CaseAcknowledged, CaseLine, ConversationSaved, Interaction, Response
from bot.services import analytics, cases, conversations


def apply(session: Session, user: User, response: Response) -> None:
    """In order: transcript lines keep the order the person saw things in."""
    known = response.case
    for effect in response.effects:
        if isinstance(effect, ConversationSaved):
            conversations.save(session, effect)
            continue
        if isinstance(effect, Interaction):
            analytics.record(
                session, user, intent=effect.intent, flow=effect.flow, step=effect.step,
                resource=effect.resource,
            )  # fmt: skip
            continue
        case = known if known and known.id == effect.case_id else session.get(Case, effect.case_id)
        if case is None:  # erased within the turn
            continue
        if isinstance(effect, CaseLine):
            cases.append_transcript(
                session, case, direction=effect.direction, text=effect.text,
                original=effect.original,
            )  # fmt: skip
        elif isinstance(effect, CaseAcknowledged):
            case.acked_at = effect.at
