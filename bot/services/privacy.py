"""Delete-my-data, the quick erase and retention: everything that could link a person to a chat.

Analytics stay countable but unlinkable: a deleted person's events move to a random key.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, event, exists, select, update
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.db.models import (
    AnalyticsEvent,
    AnalyticsMonthly,
    Case,
    CaseMessage,
    CaseNote,
    Conversation,
    Demographic,
    InboundEvent,
    OutboxMessage,
    User,
)
from bot.services import indicator_counts
from bot.services.cases import ACTIVE_STATUSES
from bot.services.pseudonyms import destroy_closed_keys, live_keys
from bot.settings import Settings

log = logging.getLogger(__name__)
_IN_FLIGHT = ("pending", "working")


def delete_user_data(session: Session, user: User, reason: str) -> None:
    """Erase the conversation, case texts and notes, sent messages, demographics, user details.

    The `users` row itself is reduced to the channel address and nothing else (language,
    country, platform language and timestamps are cleared): the confirmation of this very
    deletion must still be delivered, and the outbox addresses replies by user row; `purge`
    deletes the row once nothing is left to send. Open cases are closed with outcome
    "deleted_by_user" and unlinked from the user. Analytics events (under every key version
    still linkable) move to a fresh random key: they keep counting, never again as this person.
    """
    case_ids = list(session.scalars(select(Case.id).where(Case.user_id == user.id)))
    if case_ids:
        session.execute(delete(CaseMessage).where(CaseMessage.case_id.in_(case_ids)))
        session.execute(delete(CaseNote).where(CaseNote.case_id.in_(case_ids)))
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
            OutboxMessage.user_id == user.id, OutboxMessage.status.notin_(_IN_FLIGHT)
        )
    )
    for key in live_keys(session, user.channel, user.address):
        anonymous = secrets.token_hex(32)
        for table in (AnalyticsEvent, AnalyticsMonthly):
            session.execute(update(table).where(table.user_key == key).values(user_key=anonymous))
        session.execute(delete(Demographic).where(Demographic.user_key == key))
        indicator_counts.forget(session, key, anonymous)
    user.language = user.platform_language = user.country = None
    user.last_inbound_at = None
    user.created_at = utcnow()
    session.expire(user, ["conversation"])
    session.flush()
    checkpoint_after_commit(session)
    log.info("user data deleted (reason=%s)", reason)


def checkpoint_after_commit(session: Session) -> None:
    """Erased text must not outlive its deletion in SQLite's write-ahead log: once this
    transaction commits, the log is folded into the database file and truncated (deleted rows
    are zeroed there: `secure_delete` is on, see `bot.db.session`). No-op on PostgreSQL."""
    engine = session.get_bind().engine
    if engine.dialect.name != "sqlite":
        return

    def truncate(_: Session) -> None:
        raw = engine.raw_connection()
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()

    event.listen(session, "after_commit", truncate, once=True)


@dataclass
class Purged:
    """What one retention run deleted, by kind (counts only, for the log and the CLI)."""

    counts: dict[str, int] = field(default_factory=dict)
    destroyed_keys: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{name}={n}" for name, n in self.counts.items()]
        return " ".join([*parts, f"destroyed_keys={','.join(self.destroyed_keys) or '-'}"])


def purge(session: Session, settings: Settings, now: datetime | None = None) -> Purged:
    """Apply retention: texts of long-resolved cases, idle state, handled queues, erased users.

    Also destroys the pseudonym keys of reporting years closed longer than the grace period.
    """
    now = now or utcnow()
    text_cutoff = now - timedelta(days=settings.CASE_TEXT_RETENTION_DAYS)
    idle_cutoff = now - timedelta(days=settings.CONVERSATION_RETENTION_DAYS)
    old_cases = select(Case.id).where(
        Case.status.notin_(ACTIVE_STATUSES), Case.resolved_at < text_cutoff
    )
    in_flight = exists().where(
        OutboxMessage.user_id == User.id, OutboxMessage.status.in_(_IN_FLIGHT)
    )
    statements = {
        "case_messages": delete(CaseMessage).where(CaseMessage.case_id.in_(old_cases)),
        "case_notes": delete(CaseNote).where(CaseNote.case_id.in_(old_cases)),
        "conversations": delete(Conversation).where(Conversation.updated_at < idle_cutoff),
        "outbox": delete(OutboxMessage).where(
            OutboxMessage.status.notin_(_IN_FLIGHT), OutboxMessage.created_at < idle_cutoff
        ),
        "inbound_events": delete(InboundEvent).where(
            InboundEvent.status.in_(("done", "failed")), InboundEvent.received_at < idle_cutoff
        ),
        # Rows delete_user_data reduced to an address, once their confirmation went out.
        "erased_users": delete(User).where(
            User.language.is_(None), User.last_inbound_at.is_(None), ~in_flight
        ),
    }
    result = Purged()
    for name, statement in statements.items():
        deleted = session.execute(statement.execution_options(synchronize_session=False))
        result.counts[name] = cast(CursorResult[Any], deleted).rowcount  # a DML result
    result.destroyed_keys = destroy_closed_keys(
        session, now.date(), settings.REPORTING_YEAR_START, settings.PSEUDONYM_KEY_GRACE_DAYS
    )
    checkpoint_after_commit(session)
    log.info("retention applied: %s", result.summary())
    return result
