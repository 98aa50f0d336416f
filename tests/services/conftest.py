from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from bot.db.session import Database
from bot.services.seed import seed_if_empty


@pytest.fixture
def seeded_session(sqlite_url: str) -> Iterator[Session]:
    """A session on a migrated SQLite file holding the starter data."""
    database = Database(sqlite_url)
    with database.session() as session:
        seed_if_empty(session)
        yield session
    database.dispose()


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    """A unit of work on an empty migrated database (SQLite and PostgreSQL)."""
    database = Database(database_url)
    with database.session() as session:
        yield session
    database.dispose()
