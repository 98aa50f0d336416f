"""Wake-ups that cross processes: PostgreSQL NOTIFY when work is stored, LISTEN in workers.

A web process stores an event and notifies; every worker process listening wakes its loops at
once instead of at its next poll. On SQLite (one process) the in-process wake-up is enough.
Notifications are sent inside the storing transaction, so they arrive only after its commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Protocol

import psycopg
from sqlalchemy import make_url, text
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
INBOUND, OUTBOX = "safestep_inbound", "safestep_outbox"


class Notifiable(Protocol):
    def notify(self) -> None: ...


def notify(session: Session, topic: str) -> None:
    """Tell other processes (on PostgreSQL) that `topic` has new work once this commits."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:topic, '')"), {"topic": topic})


def conninfo(url: str) -> str:
    """The libpq URI for a SQLAlchemy PostgreSQL URL (search_path options included)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def listen(
    url: str, wakeups: Mapping[str, Notifiable], beat: Callable[[], None], every: float
) -> None:
    """Wake the matching loops on each notification; returns (or raises) on a lost connection,
    and the supervisor starts it again."""
    async with await psycopg.AsyncConnection.connect(conninfo(url), autocommit=True) as conn:
        for topic in wakeups:
            await conn.execute(f"LISTEN {topic}")
        log.info("listening for wake-ups on %s", ", ".join(wakeups))
        while True:
            beat()
            async for note in conn.notifies(timeout=every):
                wakeups[note.channel].notify()
                beat()
