"""Urgent cases nobody answered in time: supervisors are alerted, the person is told what to do.

A periodic job beside the message loops. An urgent case still waiting for staff
`CONSOLE_URGENT_WAIT_MINUTES` after the person last wrote gets one alert per wait (listed and
acknowledged in the console through `bot.services.alerts`) and a warning in the log; the
person gets the dialogue's `case_overdue` answer (sorry, the numbers to call meanwhile).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from bot.channels.base import Channel
from bot.clock import Clock, utcnow
from bot.console.handover import reply_window
from bot.db.models import Case, User
from bot.db.session import Database, rowcount
from bot.dialogue.base import Dialogue, Turn
from bot.pipeline import effects, outbox
from bot.services.alerts import URGENT_UNANSWERED, raise_alert
from bot.settings import Settings

log = logging.getLogger(__name__)


def _overdue(session: Session, now: datetime, wait: timedelta) -> list[int]:
    """Urgent, waiting for staff past the limit, and not yet alerted for this wait."""
    return list(
        session.scalars(
            select(Case.id)
            .where(
                Case.priority == "urgent",
                Case.status == "open",
                Case.waiting_since <= now - wait,
                or_(Case.alerted_at.is_(None), Case.alerted_at < Case.waiting_since),
            )
            .order_by(Case.waiting_since)
        )
    )


def _alert(
    session: Session,
    case_id: int,
    now: datetime,
    dialogue: Dialogue,
    channels: dict[str, Channel],
) -> bool:
    """Alert once for this case; True when a message for the person was queued."""
    # The UPDATE decides, so two workers checking at once alert once.
    taken = session.execute(
        update(Case)
        .where(
            Case.id == case_id,
            or_(Case.alerted_at.is_(None), Case.alerted_at < Case.waiting_since),
        )
        .values(alerted_at=now)
        .execution_options(synchronize_session=False)
    )
    if not rowcount(taken):
        return False
    case = session.get_one(Case, case_id)
    raise_alert(session, case, URGENT_UNANSWERED, now)
    waited = int((now - (case.waiting_since or now)).total_seconds() // 60)
    log.warning("urgent case %s unanswered for %s minutes: supervisors alerted", case.id, waited)
    user = session.get(User, case.user_id) if case.user_id else None
    channel = channels.get(case.channel)
    if user is None or channel is None:
        return False
    window = reply_window(user, now)
    if not window.allowed or window.tag is not None:
        return False  # only in the platform's ordinary reply window: this is the bot talking
    response = dialogue.respond(session, user, Turn(kind="case_overdue", received_at=now))
    effects.apply(session, user, response)
    return bool(outbox.enqueue(session, user, response.replies, channel, case_id=case.id).rows)


def check_once(
    db: Database,
    dialogue: Dialogue,
    channels: dict[str, Channel],
    *,
    wait: timedelta,
    now: datetime,
) -> int:
    """One pass; returns how many messages were queued for people (each case its own
    transaction, so one failure does not hold back the others)."""
    with db.session() as session:
        due = _overdue(session, now, wait)
    queued = 0
    for case_id in due:
        with db.session() as session:
            queued += _alert(session, case_id, now, dialogue, channels)
    return queued


async def watch(
    db: Database,
    dialogue: Dialogue,
    channels: dict[str, Channel],
    settings: Settings,
    *,
    clock: Clock = utcnow,
    on_queued: Callable[[], None] = lambda: None,
) -> None:
    """Check every HANDOVER_CHECK_SECONDS; a failed pass is logged and tried again."""
    wait = timedelta(minutes=settings.CONSOLE_URGENT_WAIT_MINUTES)
    while True:
        try:
            if await asyncio.to_thread(check_once, db, dialogue, channels, wait=wait, now=clock()):
                on_queued()
        except Exception:
            log.exception("urgent-case check failed")
        await asyncio.sleep(settings.HANDOVER_CHECK_SECONDS)
