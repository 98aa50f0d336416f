"""`safestep purge` applies retention to DATABASE_URL and says what it deleted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from bot.cli import app
from bot.clock import utcnow
from bot.db.models import Conversation, User
from bot.db.session import Database
from bot.settings import get_settings


def test_purge_command(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = get_settings().model_copy(update={"DATABASE_URL": sqlite_url})
    monkeypatch.setattr("bot.cli.get_settings", lambda: settings)
    db = Database(sqlite_url)
    with db.session() as session:
        idle, active = User(channel="viber", address="I"), User(channel="viber", address="A")
        idle.language = active.language = "km"
        session.add_all([idle, active])
        session.flush()
        stale = utcnow() - timedelta(days=settings.CONVERSATION_RETENTION_DAYS + 1)
        session.add_all(
            [
                Conversation(user_id=idle.id, slots={}, path=[], updated_at=stale),
                Conversation(user_id=active.id, slots={}, path=[]),
            ]
        )
    result = CliRunner().invoke(app, ["purge"])
    assert result.exit_code == 0, result.output
    assert "conversations=1" in result.output and "destroyed_keys=-" in result.output
    with db.sessions() as session:
        assert session.scalars(select(Conversation.user_id)).all() == [active.id]
    db.dispose()
