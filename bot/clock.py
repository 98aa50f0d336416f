"""One place for "now", so every timestamp is aware UTC.

Jobs that act on elapsed time take a `Clock` (default `utcnow`), so tests can move time on.
"""

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)
