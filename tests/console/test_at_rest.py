"""What a copy of the SQLite files would show: no reply text (bot or staff), and after the
person's erase no text of theirs, in the database file or its write-ahead log."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import make_url, select

from bot.clock import utcnow
from bot.db.models import InboundEvent
from bot.services import privacy
from tests.console.conftest import Console, urgent_case
from tests.fixtures.bot import RunningBot, messenger_body, messenger_text, reply_text
from tests.fixtures.servers import wait_until


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """The files on disk are SQLite's; PostgreSQL keeps its own."""
    return sqlite_url


def _raw(bot: RunningBot) -> bytes:
    path = Path(make_url(bot.settings.DATABASE_URL).database or "")
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def _forms(text: str) -> list[bytes]:
    """The text as UTF-8 and as JSON columns store it (non-ASCII escaped)."""
    return [text.encode(), json.dumps(text)[1:-1].encode()]


def _readable(raw: bytes, texts: list[str]) -> list[str]:
    return [t for t in texts if any(form in raw for form in _forms(t))]


def _handled(bot: RunningBot, mid: str) -> bool:
    with bot.db.sessions() as session:
        row = session.scalars(select(InboundEvent).where(InboundEvent.external_id == mid)).one()
        return row.status == "done"


def test_no_reply_text_in_the_database_file_or_its_wal_after_delivery_and_purge(
    login: Callable[[str], Console],
) -> None:
    agent = login("agent@example.org")
    bot = agent.bot
    case_id = urgent_case(bot, "P-disk")
    said = messenger_text("P-disk", "mrkuser boss took my passport help")
    assert bot.post_messenger(messenger_body(said)).status_code == 200
    wait_until(lambda: _handled(bot, said["message"]["mid"]))
    agent.post(f"/console/cases/{case_id}/claim", {})
    staff_text = "mrkstaff we are calling the hotline for you now"
    agent.post(f"/console/cases/{case_id}/reply", {"text": staff_text})
    wait_until(lambda: [r for r in bot.platforms.messenger("P-disk") if "mrkstaff" in str(r.body)])
    bot_texts = [reply_text(r.body) for r in bot.platforms.messenger("P-disk")]
    replies = [t for t in bot_texts if len(t) >= 16]
    assert staff_text in replies and len(replies) >= 3

    # Retention, run later (the conversation state, which quotes the hotline lines, idles out).
    with bot.db.session() as session:
        privacy.purge(session, bot.settings, utcnow() + timedelta(days=400))
    assert _readable(_raw(bot), replies) == [], "delivered replies are stored encrypted"

    bot.tap("P-disk", "privacy.erase")
    assert _readable(_raw(bot), ["mrkuser boss took my passport"]) == [], "erased at once"
