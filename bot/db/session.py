"""Engines and sessions. SQLite gets WAL and a busy timeout so the web app and workers share it.

SQLite has one writer at a time. Writers that wait in SQLite's busy handler poll with growing
sleeps (1, 2, 5 … 100 ms): under load that costs more than the writes themselves, and a process
whose threads hand the lock to each other starves another process's writer (a webhook waiting
behind the workers). So every unit of work first takes this process's writer lock, then a lock
file shared by the processes (`<database>.writer`), polled at a fine grain; SQLite's own busy
handler is left only for writers outside `Database.session`.
"""

from __future__ import annotations

import asyncio
import contextvars
import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, CursorResult, Engine, Result, create_engine, event, make_url
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")

# Threads a PostgreSQL `Database` runs its calls on, at most (see `Database.__init__`).
MAX_PG_THREADS = 3


def make_engine(
    url: str, pool_size: int = 5, max_overflow: int = 5, *, pre_ping: bool = True
) -> Engine:
    if url.startswith("sqlite"):
        parsed = make_url(url)
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        busy = _busy_seconds(url)
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
        url,
        pool_pre_ping=pre_ping,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=10,
    )


class Database:
    """An engine and its session factory; one per process (or per role: the webhook has its own)."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 5,
        max_overflow: int = 5,
        pre_ping: bool = True,
        first_in_line: bool = False,
    ) -> None:
        """`pre_ping=False` saves a round trip a transaction where a failure costs only a retry
        (a worker's loop): a connection that died with the server fails once, and that
        failure makes the pool reconnect all of them. `first_in_line`: on a SQLite file, this
        database's writers go before any other's that have not started waiting (webhooks)."""
        self.url = url
        self.engine = make_engine(url, pool_size, max_overflow, pre_ping=pre_ping)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Reentrant: a nested unit of work in the same thread waits in SQLite, as it always did.
        self._writer = threading.RLock() if self.is_sqlite else None
        self._busy_seconds = _busy_seconds(url) if self.is_sqlite else 0.0
        self._file_lock = _lock_path(url) if self.is_sqlite else None
        self._file_fd: int | None = None
        self._first_in_line = first_in_line
        self._gate_fd: int | None = None
        self._depth = 0
        # Its own threads: database calls of one role (webhook, workers) never queue behind
        # another's in the event loop's shared default executor. On SQLite a few (they take
        # turns at the writer lock anyway). On PostgreSQL no more than the pooled connections
        # (threads that outnumber the pool open connections and close them again as they
        # return: a backend started and stopped each time, 26 in a 300-turn run), and no more
        # than three: every round trip hands the GIL over, and five threads doing so cost the
        # workers and the server more CPU than they saved in waiting (1000 turns: 85-89 turns/s
        # with five, 88-93 with three, 92-93 with two; PostgreSQL 2.05-2.08 ms of CPU a turn
        # with five, 1.84-1.96 with two or three).
        self._threads = 4 if self.is_sqlite else min(pool_size, MAX_PG_THREADS)
        self._executor: ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed on success, rolled back on error."""
        with self._write_turn(), self.sessions() as session, session.begin():
            yield session

    @contextmanager
    def autocommit(self) -> Iterator[Connection]:
        """Statements that each stand alone (a claim, a send's record): on PostgreSQL each one
        commits by itself, one round trip instead of BEGIN, the statement and COMMIT, each a
        wait and a wake-up for the server's process; on SQLite, one transaction under the
        writer lock (statements there are calls, not round trips)."""
        if self._writer is not None:
            with self._write_turn(), self.engine.begin() as connection:
                yield connection
            return
        with self.engine.connect() as connection:
            yield connection.execution_options(isolation_level="AUTOCOMMIT")

    @contextmanager
    def _write_turn(self) -> Iterator[None]:
        """On SQLite, this process's one writer at a time; waiting as long as SQLite would."""
        if self._writer is None:
            yield
            return
        deadline = time.monotonic() + self._busy_seconds
        if not self._writer.acquire(timeout=self._busy_seconds):
            raise _locked()
        try:
            outer = self._depth == 0
            if outer:
                self._lock_file(deadline)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if outer and self._file_fd is not None:
                    fcntl.flock(self._file_fd, fcntl.LOCK_UN)
        finally:
            self._writer.release()

    def _lock_file(self, deadline: float) -> None:
        """Take the lock file shared with other processes (the caller holds `_writer`).

        Taking turns by polling favours a process whose threads hand the lock to each other
        (the workers, with a turn in every thread) over one that polls (the web): measured on
        a file shared by a busy worker, some webhooks waited 0.2-0.4 s. So a writer first in
        line holds a gate (`<database>.writer-gate`) while it waits, and every other writer
        passes the gate before it starts waiting: the web is next once the transaction in
        hand ends.
        """
        if self._file_lock is None:
            return
        if self._file_fd is None:
            self._file_fd = os.open(self._file_lock, os.O_RDWR | os.O_CREAT, 0o600)
            self._gate_fd = os.open(f"{self._file_lock}-gate", os.O_RDWR | os.O_CREAT, 0o600)
        assert self._gate_fd is not None
        if not self._first_in_line:
            # Waits while a writer first in line waits (each only until its own deadline).
            fcntl.flock(self._gate_fd, fcntl.LOCK_SH)
            fcntl.flock(self._gate_fd, fcntl.LOCK_UN)
            self._poll_file_lock(deadline)
            return
        fcntl.flock(self._gate_fd, fcntl.LOCK_EX)  # other first-in-line writers: one at a time
        try:
            self._poll_file_lock(deadline)
        finally:
            fcntl.flock(self._gate_fd, fcntl.LOCK_UN)

    def _poll_file_lock(self, deadline: float) -> None:
        assert self._file_fd is not None
        pause = 0.0002
        while True:
            try:
                fcntl.flock(self._file_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise _locked() from None
                time.sleep(pause)
                pause = min(pause * 2, 0.002)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking database work on this database's own threads."""
        call = partial(contextvars.copy_context().run, fn, *args)
        return await asyncio.get_running_loop().run_in_executor(self._pool(), call)

    def _pool(self) -> ThreadPoolExecutor:
        with self._executor_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self._threads, thread_name_prefix="db")
            return self._executor

    def dispose(self) -> None:
        with self._executor_lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
        self.engine.dispose()
        if self._writer is not None:
            with self._writer:
                for fd in (self._file_fd, self._gate_fd):
                    if fd is not None:
                        os.close(fd)
                self._file_fd = self._gate_fd = None


def _locked() -> OperationalError:
    """The same error a locked file gives: callers treat it as an outage, not a bug."""
    return OperationalError("BEGIN", {}, Exception("database is locked (writer busy)"))


def sqlite_file(url: str) -> str | None:
    """The file of a SQLite database, which other processes can share; None for any other
    database, and for an in-memory one."""
    if not url.startswith("sqlite"):
        return None
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


def _lock_path(url: str) -> str | None:
    """The lock file beside a SQLite database file; None for an in-memory database."""
    database = sqlite_file(url)
    return None if database is None else f"{database}.writer"


def _busy_seconds(url: str) -> float:
    """How long a SQLite writer waits for the lock: `?timeout=` in the URL, else 30 s."""
    return float(str(make_url(url).query.get("timeout", 30)))


def insert_for(dialect: str) -> Any:
    """INSERT with ON CONFLICT for a backend (`engine.dialect.name`): both spell it alike."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE touched (`Session.execute` is typed wider than its result)."""
    return cast(CursorResult[Any], result).rowcount
