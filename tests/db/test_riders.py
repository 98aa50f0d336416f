"""Writes that ride along the next statement: on PostgreSQL in fewer round trips, and on both
backends never lost, never late for a later statement, and void with a rollback."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.channels.messenger import Messenger
from bot.clock import utcnow
from bot.db.models import AnalyticsEvent, Conversation, User
from bot.db.session import Database
from bot.dialogue.base import ConversationSaved
from bot.messages import Reply
from bot.pipeline import outbox
from bot.services import analytics, conversations
from tests.fixtures.database import statements


def _messenger() -> Messenger:
    return Messenger(app_secret="s", page_token="t", graph_url="http://127.0.0.1:9", timeout=1)


def _person(db: Database) -> User:
    with db.session() as session:
        user = User(channel="messenger", address="rider", language="en")
        session.add(user)
    return user


def _saved(user: User, step: str) -> ConversationSaved:
    return ConversationSaved(user.id, "fees", step, {"country": "TH"}, ["fees"], 0, utcnow())


def _log(session, user: User) -> None:  # type: ignore[no-untyped-def]
    analytics.record(session, user, intent="info_fees", flow="fees", step="ask", resource=None)


def _stored(db: Database) -> tuple[str | None, int]:
    with db.sessions() as session:
        step = session.scalar(select(Conversation.step))
        logged = session.scalar(select(func.count()).select_from(AnalyticsEvent))
    return step, logged or 0


def test_a_turns_last_writes_go_with_its_reply(db: Database) -> None:
    """The conversation and the log line, then the reply: one statement on PostgreSQL."""
    user = _person(db)
    with db.session() as session:
        user = session.merge(user)
        with statements(db) as seen:
            _log(session, user)
            conversations.save(session, _saved(user, "ask"))
            stored = outbox.enqueue(
                session, user, [Reply(text="hi")], _messenger(), notify=False, claim_lease=30
            )
    assert len(stored.rows) == 1
    assert stored.first is not None and stored.first.loaded.reply == Reply(text="hi")
    writes = [s for s in seen if "pseudonym_keys" not in s]  # the year's key, made once
    postgres = db.engine.dialect.name == "postgresql"
    assert len(writes) == (1 if postgres else 3)
    if postgres:
        assert "INSERT INTO analytics_events" in writes[0] and "INSERT INTO outbox" in writes[0]
    assert _stored(db) == ("ask", 1)


def test_a_statement_that_carries_nothing_comes_after_the_writes(db: Database) -> None:
    """A read in the same transaction sees the waiting write, and the commit sends what is
    left: nothing is lost when no statement carries them."""
    user = _person(db)
    with db.session() as session:
        conversations.save(session, _saved(user, "ask"))
        assert session.scalar(select(Conversation.step)) == "ask"
        conversations.save(session, _saved(user, "told"))
        _log(session, user)
    assert _stored(db) == ("told", 1)


def test_a_later_write_of_the_same_row_wins(db: Database) -> None:
    """Two upserts of one row never wait side by side (as CTEs, which one wins is undefined)."""
    user = _person(db)
    with db.session() as session:
        for step in ("ask", "told", "done"):
            conversations.save(session, _saved(user, step))
    assert _stored(db) == ("done", 0)


def test_a_flush_sends_the_writes_first(db: Database) -> None:
    user = _person(db)
    with db.session() as session, statements(db) as seen:
        conversations.save(session, _saved(user, "ask"))
        session.add(User(channel="messenger", address="other"))
        session.flush()
    writes = [s for s in seen if s.startswith(("INSERT", "WITH"))]
    assert "INSERT INTO conversations" in writes[0] and "INSERT INTO users" in writes[1]


def test_a_rollback_takes_the_writes_with_it(db: Database) -> None:
    """Also from a session that goes on: its next transaction does not send them."""
    user = _person(db)
    with db.sessions() as session:
        with pytest.raises(RuntimeError), session.begin():
            conversations.save(session, _saved(user, "ask"))
            _log(session, user)
            raise RuntimeError("the turn failed")
        with session.begin():
            session.add(User(channel="messenger", address="next"))
    assert _stored(db) == (None, 0)
