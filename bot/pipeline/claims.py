"""Claiming rows for a worker, safely across threads and processes.

Inbound events and outbox messages share one life cycle: `pending` → `working` (under a lease)
→ a final status. PostgreSQL skips rows another worker holds (`FOR UPDATE SKIP LOCKED`); SQLite
has one writer at a time; and the conditional UPDATE makes a claim that lost a race a no-op.
A worker that dies mid-task loses its lease, and the row becomes claimable again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, update
from sqlalchemy.orm import Session

from bot.clock import utcnow

PENDING, WORKING = "pending", "working"


def claimable(model: Any, now: datetime) -> ColumnElement[bool]:
    """Pending rows, and rows whose worker died holding them."""
    return or_(model.status == PENDING, (model.status == WORKING) & (model.lease_until < now))


def claim_one(session: Session, model: Any, candidates: Select, lease_seconds: float) -> int | None:
    """Take the first id that `candidates` selects; None when there is none or it was taken."""
    now = utcnow()
    row_id = session.execute(
        candidates.limit(1).with_for_update(skip_locked=True, of=model)
    ).scalar_one_or_none()
    if row_id is None:
        return None
    claimed = session.execute(
        update(model)
        .where(model.id == row_id, claimable(model, now))
        .values(
            status=WORKING,
            lease_until=now + timedelta(seconds=lease_seconds),
            attempts=model.attempts + 1,
        )
    )
    return row_id if claimed.rowcount == 1 else None
