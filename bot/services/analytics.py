"""The anonymized interaction log behind the O1.1.3 indicator."""

from __future__ import annotations

from functools import cache
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.db import riders
from bot.db.models import AnalyticsEvent, AnalyticsMonthly, User
from bot.db.session import insert_for
from bot.services import indicator_counts
from bot.services.pseudonyms import current_key


def record(
    session: Session,
    user: User,
    *,
    intent: str | None,
    flow: str | None,
    step: str | None,
    resource: str | None,
) -> AnalyticsEvent:
    """Log one handled interaction: no text, no platform id, no link to the users table;
    returns the logged event (not attached to the session).

    A served resource also bumps its row in the monthly roll-up, and every event keeps the
    indicator's counters (unique users, sex as now stated), in the same transaction.
    """
    now = utcnow()
    version, key = current_key(session, user.channel, user.address, now)
    fields = {
        "user_key": key,
        "key_version": version,
        "channel": user.channel,
        "language": user.language,
        "country": user.country,
        "intent": intent,
        "flow": flow,
        "step": step,
        "resource": resource,
        "month": now.strftime("%Y-%m"),
        "occurred_at": now,
    }
    # Written as a plain INSERT: the log is append-only, nothing in the turn reads it back (so
    # on PostgreSQL it rides along the next statement), and the session's unit of work costs
    # more than the row.
    riders.write(session, _insert_event, fields)
    event = AnalyticsEvent(**fields)
    if resource is not None:
        _roll_up(session, event)
    indicator_counts.count_event(session, event)
    return event


def _roll_up(session: Session, event: AnalyticsEvent) -> None:
    session.execute(
        _roll_up_statement(session.get_bind().dialect.name),
        {
            "month": event.month,
            "resource": event.resource,
            "user_key": event.user_key,
            "channel": event.channel,
            "language": event.language or "",
            "country": event.country or "",
            "interactions": 1,
        },
    )


# Statements built once and given their values as parameters, so SQLAlchemy reuses their
# compiled form: built per turn, they cost more CPU than running them.


_EVENT_FIELDS = (
    *("user_key", "key_version", "channel", "language", "country"),
    *("intent", "flow", "step", "resource", "month", "occurred_at"),
)


@cache
def _insert_event(_dialect: str, prefix: str) -> Any:
    table = cast(Table, AnalyticsEvent.__table__)
    return insert(table).values(riders.bound(table, _EVENT_FIELDS, prefix))


@cache
def _roll_up_statement(dialect: str) -> Any:
    """Carries the turn's waiting writes (`riders`): it reads only the roll-up."""
    table = cast(Table, AnalyticsMonthly.__table__)
    return (
        insert_for(dialect)(table)
        .on_conflict_do_update(
            index_elements=["month", "resource", "user_key", "channel", "language", "country"],
            set_={"interactions": table.c.interactions + 1},
        )
        .execution_options(**{riders.CARRIES_WRITES: True})
    )
