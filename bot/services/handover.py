"""The person's side of a hand-over: is the team at work, how long they take, when to say so."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import Case
from bot.services.hours import ANY_LANGUAGE, Schedule

WAIT_SAMPLE_DAYS = 30
WAIT_MIN_SAMPLES = 3


@dataclass(frozen=True)
class Team:
    """What the bot needs to know about the hotline team to tell a waiting person the truth."""

    hours: dict[str, Schedule] = field(default_factory=dict)
    ack_interval: timedelta = timedelta(minutes=5)

    def schedule(self, language: str) -> Schedule | None:
        return self.hours.get(language) or self.hours.get(ANY_LANGUAGE)

    def is_open(self, language: str, at: datetime) -> bool:
        schedule = self.schedule(language)
        return schedule is None or schedule.is_open(at)


def expected_wait(session: Session, language: str | None, now: datetime) -> timedelta | None:
    """The median time to a first staff reply over recent cases in this language; None while
    there are too few to say."""
    since = now - timedelta(days=WAIT_SAMPLE_DAYS)
    rows = session.execute(
        select(Case.opened_at, Case.first_response_at).where(
            Case.language == language,
            Case.opened_at >= since,
            Case.first_response_at.is_not(None),
        )
    ).all()
    waits = [(answered - opened).total_seconds() for opened, answered in rows if answered]
    if len(waits) < WAIT_MIN_SAMPLES:
        return None
    return timedelta(seconds=statistics.median(waits))


def due_acknowledgement(
    case: Case, last_staff_reply: datetime | None, now: datetime, *, interval: timedelta
) -> bool:
    """Whether a message written during the case gets the bot's "a person will answer".

    The first one after the case opened always does (unless staff already answered); after
    that at most once per interval, and not while staff are answering (their reply within
    the interval is answer enough). Silence after every message would feel like no one is
    there; an answer to every message would drown the staff's.
    """
    recent = [t for t in (case.acked_at, last_staff_reply) if t is not None]
    return not recent or now - max(recent) >= interval
