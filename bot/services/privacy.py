"""Delete-my-data and the quick erase: everything that could link a person to this chat."""

from __future__ import annotations

import logging

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.db.models import Case, CaseMessage, Conversation, Demographic, OutboxMessage, User
from bot.services.cases import ACTIVE_STATUSES
from bot.services.pseudonyms import user_key
from bot.settings import get_settings

log = logging.getLogger(__name__)


def delete_user_data(session: Session, user: User, reason: str) -> None:
    """Erase the conversation, case texts, sent messages, demographics and the user's details.

    The `users` row itself is reduced to the channel address and nothing else (language,
    country, platform language and timestamps are cleared): the confirmation of this very
    deletion must still be delivered, and the outbox addresses replies by user row. Open
    cases are closed with outcome "deleted_by_user" and unlinked from the user.
    """
    case_ids = list(session.scalars(select(Case.id).where(Case.user_id == user.id)))
    if case_ids:
        session.execute(delete(CaseMessage).where(CaseMessage.case_id.in_(case_ids)))
        for case in session.scalars(select(Case).where(Case.id.in_(case_ids))):
            if case.status in ACTIVE_STATUSES:
                case.status, case.outcome, case.resolved_at = (
                    "resolved",
                    "deleted_by_user",
                    utcnow(),
                )
            case.user_id = None
    session.execute(delete(Conversation).where(Conversation.user_id == user.id))
    session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.user_id == user.id, OutboxMessage.status.notin_(("pending", "working"))
        )
    )
    key = user_key(get_settings().PSEUDONYM_KEY, user.channel, user.address)
    session.execute(delete(Demographic).where(Demographic.user_key == key))
    user.language = user.platform_language = user.country = None
    user.last_inbound_at = None
    user.created_at = utcnow()
    session.expire(user, ["conversation"])
    session.flush()
    log.info("user data deleted (reason=%s)", reason)
