"""SQLite writers take turns at a lock file shared by processes, and give up like SQLite."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from bot.db.migrate import upgrade
from bot.db.models import User
from bot.db.session import Database
from bot.pipeline.claims import is_database_outage


def test_a_writer_waits_for_another_process_and_gives_up_as_an_outage(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    upgrade(url)
    # Two Databases on one file stand for two processes: each has its own lock file handle.
    holder, waiter = Database(url), Database(f"{url}?timeout=0.3")
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with holder.session() as session:
            session.add(User(channel="messenger", address="first"))
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert holding.wait(10)
        with pytest.raises(OperationalError) as raised, waiter.session():
            pass
        assert is_database_outage(raised.value)  # a retry, not a counted failure
    finally:
        release.set()
        thread.join()
    with waiter.session() as session:  # free again: the write goes through
        session.add(User(channel="messenger", address="second"))
    with holder.sessions() as session:
        assert {u.address for u in session.query(User)} == {"first", "second"}
    assert Path(f"{tmp_path / 'shared.db'}.writer").exists()
    holder.dispose()
    waiter.dispose()
