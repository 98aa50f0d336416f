"""The app applies retention when it starts (and daily after), beside the message loops."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.clock import utcnow
from bot.db.models import Conversation, User
from bot.db.session import Database
from tests.fixtures.bot import BotFactory
from tests.fixtures.servers import wait_until


def test_app_purges_on_start(database_url: str, make_bot: BotFactory) -> None:
    db = Database(database_url)
    with db.session() as session:
        user = User(channel="messenger", address="idle", language="en")
        session.add(user)
        session.flush()
        stale = utcnow() - timedelta(days=60)
        session.add(Conversation(user_id=user.id, slots={}, path=[], updated_at=stale))

    def purged() -> bool:
        with db.sessions() as session:
            return session.scalar(select(func.count()).select_from(Conversation)) == 0

    with make_bot():
        wait_until(purged, timeout=10)
    db.dispose()
