"""SQLite writers take turns at a lock file shared by processes, and give up like SQLite;
database calls run on a few threads of their own."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from bot.db.migrate import upgrade
from bot.db.models import User
from bot.db.session import MAX_PG_THREADS, Database
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


def test_a_writer_first_in_line_goes_next_however_busy_the_others_are(tmp_path: Path) -> None:
    """Four threads of one "process" hand the lock to each other without a pause (a busy
    worker); a first-in-line writer (the webhook) waits at most about one of their
    transactions, never behind the queue."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    upgrade(url)
    busy, web = Database(url), Database(url, first_in_line=True)
    stop = threading.Event()
    hold = 0.02

    def work() -> None:
        while not stop.is_set():
            with busy.session():
                time.sleep(hold)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    waits = []
    try:
        time.sleep(0.2)
        for _ in range(20):
            started = time.monotonic()
            with web.session():
                waits.append(time.monotonic() - started)
            time.sleep(0.01)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert max(waits) < 3 * hold, waits  # one transaction in hand, and the poll's grain
    busy.dispose()
    web.dispose()


async def test_database_calls_share_a_few_threads(db: Database) -> None:
    """However many calls wait, a database runs them on its own few threads (on PostgreSQL no
    more than MAX_PG_THREADS, each round trip there handing the GIL over)."""
    seen: set[int] = set()

    def call() -> None:
        seen.add(threading.get_ident())
        time.sleep(0.02)

    await asyncio.gather(*(db.run(call) for _ in range(12)))
    assert threading.get_ident() not in seen
    assert len(seen) == (4 if db.is_sqlite else MAX_PG_THREADS)
