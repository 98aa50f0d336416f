"""The anonymized interaction log behind the O1.1.3 indicator."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.db.models import AnalyticsEvent, User
from bot.services.pseudonyms import user_key
from bot.settings import get_settings


def record(
    session: Session,
    user: User,
    *,
    intent: str | None,
    flow: str | None,
    step: str | None,
    resource: str | None,
) -> AnalyticsEvent:
    """Log one handled interaction: no text, no platform id, no link to the users table."""
    now = utcnow()
    event = AnalyticsEvent(
        user_key=user_key(get_settings().PSEUDONYM_KEY, user.channel, user.address),
        key_version="static",
        channel=user.channel,
        language=user.language,
        country=user.country,
        intent=intent,
        flow=flow,
        step=step,
        resource=resource,
        month=now.strftime("%Y-%m"),
        occurred_at=now,
    )
    session.add(event)
    return event
