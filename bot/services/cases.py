"""Escalation cases: the hand-over from the bot to a person at the hotline.

The dialogue engine opens cases and feeds transcripts; the console (issue 5) works them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import cache

from sqlalchemy import (
    BindParameter,
    ScalarSelect,
    Select,
    SQLColumnExpression,
    bindparam,
    func,
    select,
)
from sqlalchemy.orm import Session, aliased

from bot.clock import utcnow
from bot.db.models import Case, CaseMessage, Conversation, User
from bot.services.crypto import encrypt
from bot.vocabulary import Indicator

# A case in one of these states holds the conversation: the bot stays silent.
ACTIVE_STATUSES = ("open", "pending", "snoozed")
PRIORITIES = ("normal", "urgent")


UserId = int | BindParameter[int] | SQLColumnExpression[int]


def latest_active(user_id: UserId) -> ScalarSelect[int]:
    """The id of the person's active case, as a subquery (over an alias of `cases`, so that a
    query also selecting `Case` keeps it in its own FROM)."""
    mine = aliased(Case)
    return (
        select(mine.id)
        .where(mine.user_id == user_id, mine.status.in_(ACTIVE_STATUSES))
        .order_by(mine.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def active_case(session: Session, user: User) -> Case | None:
    return session.scalars(select(Case).where(Case.id == latest_active(user.id))).one_or_none()


def conversation_and_case(session: Session, user: User) -> tuple[Conversation | None, Case | None]:
    """The person's conversation and active case, in the one query a turn starts with."""
    row = session.execute(_conversation_and_case(), {"user_id": user.id}).one()
    return row[0], row[1]


@cache
def _conversation_and_case() -> Select[Conversation, Case]:
    """Built once (every turn runs it), for the user `:user_id`."""
    user_id: BindParameter[int] = bindparam("user_id", type_=User.__table__.c.id.type)
    return (
        select(Conversation, Case)
        .select_from(User)
        .outerjoin(Conversation, Conversation.user_id == User.id)
        .outerjoin(Case, Case.id == latest_active(user_id))
        .where(User.id == user_id)
    )


def last_staff_reply(session: Session, case: Case) -> datetime | None:
    return session.scalar(
        select(func.max(CaseMessage.created_at)).where(
            CaseMessage.case_id == case.id, CaseMessage.direction == "staff"
        )
    )


def open_case(
    session: Session,
    user: User,
    *,
    priority: str,
    trigger: str,
    flow_path: list[str],
    indicators: Iterable[str] = (),
) -> Case:
    """The user's active case, or a new one. An urgent trigger upgrades an existing case.

    One person, one case at a time: staff must not find the same worker in three queue rows.
    The distress indicators heard are added to the case's (they only ever accumulate).
    """
    return open_or_upgrade(
        session,
        user,
        active_case(session, user),
        priority=priority,
        trigger=trigger,
        flow_path=flow_path,
        indicators=indicators,
    )


def open_or_upgrade(
    session: Session,
    user: User,
    case: Case | None,
    *,
    priority: str,
    trigger: str,
    flow_path: list[str],
    indicators: Iterable[str] = (),
) -> Case:
    """`open_case` for a caller that has read the person's active case (`case`) already in
    this transaction, as a turn has: one query fewer."""
    if priority not in PRIORITIES:
        raise ValueError(f"unknown priority {priority!r}")
    if case is not None:
        add_indicators(case, indicators)
        if priority == "urgent" and case.priority != "urgent":
            case.priority, case.trigger = "urgent", trigger
        if case.status == "snoozed":
            case.status, case.snoozed_until = "open", None
        case.waiting_since = case.waiting_since or utcnow()
        return case
    case = Case(
        user_id=user.id,
        channel=user.channel,
        language=user.language,
        country=user.country,
        priority=priority,
        trigger=trigger,
        status="open",
        flow_path=list(flow_path),
        indicators=merged_indicators((), indicators),
        opened_at=utcnow(),
        waiting_since=utcnow(),
    )
    session.add(case)
    session.flush()
    return case


def merged_indicators(known: Iterable[str], new: Iterable[str]) -> list[str]:
    """Indicator ids in the vocabulary's order, each once; anything else is dropped."""
    wanted = {str(i) for i in (*known, *new)}
    return [str(i) for i in Indicator if i in wanted]


def add_indicators(case: Case, indicators: Iterable[str]) -> None:
    """Label the case with what the person said since (reassigned, so the JSON is saved)."""
    merged = merged_indicators(case.indicators or (), indicators)
    if merged != list(case.indicators or ()):
        case.indicators = merged


def append_transcript(
    session: Session, case: Case, *, direction: str, text: str, original: str | None = None
) -> CaseMessage:
    """Add one line, encrypted. `original` keeps what the user typed when it was converted
    (Zawgyi), so staff can see both forms.

    A user writing to a snoozed case wakes it up ("snoozed until the user's next message"), and
    to a pending one (staff answered, waiting for the user) puts it back in front of staff.
    """
    message = CaseMessage(
        case_id=case.id,
        direction=direction,
        text_enc=encrypt(text),
        original_enc=encrypt(original) if original is not None and original != text else None,
    )
    session.add(message)
    if direction in ("in", "tap"):
        if case.status in ("snoozed", "pending"):
            case.status, case.snoozed_until = "open", None
        case.waiting_since = case.waiting_since or utcnow()
    session.flush()
    return message
