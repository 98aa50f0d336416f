"""Wake-ups that cross processes, so a stored event is handled at once, not at the next poll.

On PostgreSQL the storing transaction sends NOTIFY (delivered only after its commit) and every
worker process LISTENs. On a SQLite file, whose web and worker processes share one machine,
each listening process binds a Unix datagram socket in a directory named after the database
file, and a commit that stored work sends its topic to every socket there. A wake-up that is
lost (a full socket buffer, a process starting) costs only the wait until the next poll.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import secrets
import socket
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Protocol

import psycopg
from sqlalchemy import event, make_url, text
from sqlalchemy.orm import Session

from bot.db.session import sqlite_file

log = logging.getLogger(__name__)
INBOUND, OUTBOX = "safestep_inbound", "safestep_outbox"
_PENDING = "wakeups.pending"  # session.info: the topics to announce when the session commits


class Notifiable(Protocol):
    def notify(self) -> None: ...


_NOTIFY = text("SELECT pg_notify(:topic, '')")


def notify(session: Session, topic: str) -> None:
    """Tell the other processes that `topic` has new work, once this transaction commits."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(_NOTIFY, {"topic": topic})
        return
    directory = local_directory(str(bind.engine.url))
    if directory is None:
        return  # an in-memory database has one process: the in-process wake-up is enough
    pending: set[str] | None = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = set()
        event.listen(
            session,
            "after_commit",
            lambda s: poke(directory, s.info.pop(_PENDING, ())),
            once=True,
        )
    pending.add(topic)


def local_directory(url: str) -> Path | None:
    """Where the processes sharing a SQLite file listen; None for an in-memory database.

    Under the temporary directory, named by a hash of the file's path: a socket's path must
    stay within about 100 bytes, however deep the database lies.
    """
    database = sqlite_file(url)
    if database is None:
        return None
    tag = hashlib.sha256(os.path.abspath(database).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"safestep-wake-{tag}"


def poke(directory: Path, topics: Iterable[str]) -> None:
    """Send each topic to every listener in `directory`; remove sockets nobody reads."""
    topics = list(topics)
    try:
        listeners = list(directory.iterdir())
    except FileNotFoundError:
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        for path in listeners:
            for topic in topics:
                try:
                    sock.sendto(topic.encode(), str(path))
                except (ConnectionRefusedError, FileNotFoundError):
                    path.unlink(missing_ok=True)  # its process is gone
                    break
                except BlockingIOError:
                    break  # its buffer is full of wake-ups already
                except OSError as exc:
                    log.debug("wake-up to %s not sent: %s", path, exc)
                    break


def conninfo(url: str) -> str:
    """The libpq URI for a SQLAlchemy PostgreSQL URL (search_path options included)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def listen(
    url: str, wakeups: Mapping[str, Notifiable], beat: Callable[[], None], every: float
) -> None:
    """Wake the matching loops on each wake-up; returns (or raises) when the channel is lost,
    and the supervisor starts it again."""
    if url.startswith("postgresql"):
        await _listen_postgres(url, wakeups, beat, every)
    else:
        await _listen_local(local_directory(url), wakeups, beat, every)


async def _listen_postgres(
    url: str, wakeups: Mapping[str, Notifiable], beat: Callable[[], None], every: float
) -> None:
    async with await psycopg.AsyncConnection.connect(conninfo(url), autocommit=True) as conn:
        for topic in wakeups:
            await conn.execute(f"LISTEN {topic}")
        log.info("listening for wake-ups on %s", ", ".join(wakeups))
        while True:
            beat()
            async for note in conn.notifies(timeout=every):
                wakeups[note.channel].notify()
                beat()


class _Woken(asyncio.DatagramProtocol):
    def __init__(self, wakeups: Mapping[str, Notifiable]) -> None:
        self.wakeups = wakeups

    def datagram_received(self, data: bytes, addr: object) -> None:
        target = self.wakeups.get(data.decode(errors="replace"))
        if target is not None:
            target.notify()


async def _listen_local(
    directory: Path | None,
    wakeups: Mapping[str, Notifiable],
    beat: Callable[[], None],
    every: float,
) -> None:
    """Listen on a socket in `directory` (None: nothing to listen to, but still a loop that
    beats)."""
    transport, path = None, None
    if directory is not None:
        directory.mkdir(mode=0o700, exist_ok=True)
        path = directory / f"{os.getpid()}-{secrets.token_hex(4)}"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(path))
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: _Woken(wakeups), sock=sock)
    try:
        while True:
            beat()
            await asyncio.sleep(every)
    finally:
        if transport is not None:
            transport.close()
        if path is not None:
            path.unlink(missing_ok=True)
