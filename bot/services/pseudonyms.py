"""Pseudonymous user keys: HMAC-SHA256 over channel and platform id, never the id itself.

The HMAC key has a version per reporting year, so a year's unique users stay countable (one
person, one key, all year) while a closed year's secret can be destroyed: after that nobody,
not even with the database and every environment secret, can link its keys to a person. The
effective key mixes `PSEUDONYM_KEY` (environment) with the version's random secret (stored
encrypted with `DATA_KEY`), so neither a database dump nor the environment alone suffices.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from datetime import date, datetime, timedelta
from typing import Generic, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.db.models import PseudonymKey
from bot.db.session import insert_for
from bot.services import crypto
from bot.settings import get_settings


def user_key(secret: str, channel: str, address: str) -> str:
    return hmac.new(secret.encode(), f"{channel}:{address}".encode(), hashlib.sha256).hexdigest()


def reporting_year(day: date, start: str) -> int:
    """The reporting year `day` falls in, named by the calendar year it starts in.

    `start` is REPORTING_YEAR_START ("YYYY-MM"): every reporting year begins in its month.
    """
    first_month = int(start[5:7])
    return day.year if day.month >= first_month else day.year - 1


def year_closes(version: str, start: str) -> date:
    """The first day after reporting year `version`."""
    return date(int(version) + 1, int(start[5:7]), 1)


def _mixed(master: str, version_secret: str) -> str:
    return hmac.new(master.encode(), version_secret.encode(), hashlib.sha256).hexdigest()


def _version_secret(session: Session, version: str) -> str | None:
    """The version's secret, created on first use (two workers racing create it once)."""
    row = session.get(PseudonymKey, version)
    if row is None:
        session.execute(
            insert_for(session.get_bind().dialect.name)(PseudonymKey)
            .values(
                version=version,
                secret_enc=crypto.encrypt(secrets.token_hex(32)),
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["version"])
        )
        row = session.get_one(PseudonymKey, version)
    return crypto.decrypt(row.secret_enc) if row.secret_enc is not None else None


KEY_CACHE_SECONDS = 60.0
T = TypeVar("T")


class _PerDatabase(Generic[T]):
    """A value per database (engine), kept a minute and only for the `tag` it was found for."""

    _lock = threading.Lock()

    def __init__(self) -> None:
        self._values: WeakKeyDictionary[Engine | Connection, tuple[object, T, float]] = (
            WeakKeyDictionary()
        )

    def get(self, bind: Engine | Connection, tag: object) -> T | None:
        with self._lock:
            cached = self._values.get(bind)
        if cached and cached[0] == tag and cached[2] > time.monotonic():
            return cached[1]
        return None

    def put(self, bind: Engine | Connection, tag: object, value: T) -> T:
        with self._lock:
            self._values[bind] = (tag, value, time.monotonic() + KEY_CACHE_SECONDS)
        return value

    def forget(self, bind: Engine | Connection) -> None:
        with self._lock:
            self._values.pop(bind, None)


# The current year's effective key: every turn needs it, and reading and decrypting it each
# time was a round trip and a decryption per turn. Only the version in use is kept; destroying
# keys clears the entry at once in this process, and a destroyed version is a closed year,
# which no turn (stamped now) asks for.
_keys: _PerDatabase[str] = _PerDatabase()


def _effective_key(session: Session, version: str, master: str) -> str:
    bind = session.get_bind()
    cached = _keys.get(bind, (version, master))
    if cached is not None:
        return cached
    secret = _version_secret(session, version)
    if secret is None:  # only a clock far in the past reaches a destroyed year
        raise RuntimeError(f"pseudonym key {version} was destroyed")
    return _keys.put(bind, (version, master), _mixed(master, secret))


def current_key(session: Session, channel: str, address: str, at: datetime) -> tuple[str, str]:
    """(version, key) for an interaction at `at`."""
    settings = get_settings()
    version = str(reporting_year(at.date(), settings.REPORTING_YEAR_START))
    return version, user_key(
        _effective_key(session, version, settings.PSEUDONYM_KEY), channel, address
    )


# Whether any year other than the current one still has its secret: in a deployment's first
# reporting year none has, and a turn need not look for an earlier answer. No secret is kept:
# only the answer, and a stale "yes" only costs a look.
_earlier: _PerDatabase[bool] = _PerDatabase()


def earlier_years_live(session: Session, version: str) -> bool:
    """Whether a reporting year other than `version` still has its secret (the person may
    have an answer from it to carry over)."""
    bind = session.get_bind()
    cached = _earlier.get(bind, version)
    if cached is not None:
        return cached
    found = session.scalar(
        select(PseudonymKey.version)
        .where(PseudonymKey.secret_enc.is_not(None), PseudonymKey.version != version)
        .limit(1)
    )
    return _earlier.put(bind, version, found is not None)


def live_keys(session: Session, channel: str, address: str) -> list[str]:
    """The person's key under every version whose secret still exists."""
    master = get_settings().PSEUDONYM_KEY
    stored = session.scalars(
        select(PseudonymKey.secret_enc).where(PseudonymKey.secret_enc.is_not(None))
    )
    return [
        user_key(_mixed(master, crypto.decrypt(secret)), channel, address)
        for secret in stored
        if secret is not None
    ]


def destroy_closed_keys(session: Session, today: date, start: str, grace_days: int) -> list[str]:
    """Destroy the secrets of reporting years closed more than `grace_days` ago."""
    destroyed = []
    for row in session.scalars(select(PseudonymKey).where(PseudonymKey.secret_enc.is_not(None))):
        if year_closes(row.version, start) + timedelta(days=grace_days) <= today:
            row.secret_enc, row.destroyed_at = None, utcnow()
            destroyed.append(row.version)
    if destroyed:
        _keys.forget(session.get_bind())
        _earlier.forget(session.get_bind())
    return destroyed
