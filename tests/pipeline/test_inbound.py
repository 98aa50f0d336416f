"""The inbound handler's bookkeeping, through the real webhook."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import select

from bot.db.models import User
from tests.fixtures.bot import RunningBot, messenger_body, messenger_text


def test_last_message_time_is_when_the_person_wrote_not_when_it_was_handled(
    bot: RunningBot,
) -> None:
    """Messenger's reply windows count from the message; a worker backlog must not move them."""
    two_hours_ago = int((time.time() - 7200) * 1000)
    item = messenger_text("late-handled", "hello")
    item["timestamp"] = two_hours_ago
    bot.turn("messenger", messenger_body(item), item["message"]["mid"])
    older = messenger_text("late-handled", "menu")
    older["timestamp"] = two_hours_ago - 60_000  # delivered out of order: must not go back
    bot.turn("messenger", messenger_body(older), older["message"]["mid"])
    with bot.db.sessions() as session:
        user = session.scalars(select(User).where(User.address == "late-handled")).one()
    assert user.last_inbound_at == datetime.fromtimestamp(two_hours_ago / 1000, UTC)
