"""The app applies retention when it starts (and daily after), beside the message loops."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from bot.clock import utcnow
from bot.db.models import Conversation, User
from bot.db.session import Database
from bot.pipeline.retention import PURGE_LOCK, purge_once
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


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_one_process_purges_at_a_time_on_postgresql(
    database_url: str, make_bot: BotFactory
) -> None:
    db = Database(database_url)
    with make_bot() as bot:
        with db.session() as other:  # another replica is purging
            other.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PURGE_LOCK})
            assert purge_once(db, bot.settings) is False
        assert purge_once(db, bot.settings) is True
    db.dispose()
