"""Alerts for supervisors: raised by the workers, listed and acknowledged in the console.

An alert holds no text: the case id, its language and when. The console shows the
unacknowledged ones (newest wait first) and records who acknowledged each.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from bot.db.models import Alert, Case

URGENT_UNANSWERED = "urgent_unanswered"


def raise_alert(session: Session, case: Case, kind: str, now: datetime) -> Alert:
    alert = Alert(kind=kind, case_id=case.id, language=case.language, created_at=now)
    session.add(alert)
    session.flush()
    return alert


def unacknowledged(session: Session) -> list[Alert]:
    return list(
        session.scalars(
            select(Alert).where(Alert.acknowledged_at.is_(None)).order_by(Alert.created_at)
        )
    )


def acknowledge(session: Session, alert_id: int, staff_id: int, now: datetime) -> bool:
    """True for the one who acknowledged it first; later clicks change nothing."""
    done = session.execute(
        update(Alert)
        .where(Alert.id == alert_id, Alert.acknowledged_at.is_(None))
        .values(acknowledged_at=now, acknowledged_by=staff_id)
        .execution_options(synchronize_session=False)
    )
    return bool(cast(CursorResult[Any], done).rowcount)  # an UPDATE's result has rowcount
