"""Engines and sessions. SQLite gets WAL and a busy timeout so the web app and workers share it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, Result, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, pool_size: int = 5, max_overflow: int = 5) -> Engine:
    if url.startswith("sqlite"):
        parsed = make_url(url)
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        # How long a writer waits for the lock: `?timeout=` in the URL, else 30 s.
        busy = float(str(parsed.query.get("timeout", 30)))
        engine = create_engine(
            parsed.difference_update_query(["timeout"]),
            connect_args={"timeout": busy, "check_same_thread": False},
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(conn, _record) -> None:  # type: ignore[no-untyped-def]
            conn.isolation_level = None  # we issue BEGIN ourselves, below
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            # Deleted rows are zeroed, not left in free pages (erased text must not linger).
            cur.execute("PRAGMA secure_delete=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn) -> None:  # type: ignore[no-untyped-def]
            # Take the write lock up front: a deferred transaction that upgrades later fails
            # with "database is locked" instead of waiting for the busy timeout.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(
        url, pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow, pool_timeout=10
    )


class Database:
    """An engine and its session factory; one per process."""

    def __init__(self, url: str, *, pool_size: int = 5, max_overflow: int = 5) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size, max_overflow)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed on success, rolled back on error."""
        with self.sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE touched (`Session.execute` is typed wider than its result)."""
    return cast(CursorResult[Any], result).rowcount
