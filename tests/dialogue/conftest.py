"""The real engine over the real flows and locales, on a migrated SQLite file with starter data."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.db.session import Database
from bot.dialogue import build_dialogue
from bot.dialogue.engine import Engine
from bot.dialogue.i18n import Translator
from bot.services.seed import seed_if_empty
from bot.settings import get_settings
from tests.dialogue.chat import Chat


@pytest.fixture(scope="session")
def engine() -> Engine:
    return build_dialogue(get_settings())


@pytest.fixture(scope="session")
def t(engine: Engine) -> Translator:
    return engine.t


@pytest.fixture
def seeded(sqlite_url: str) -> Iterator[Database]:
    database = Database(sqlite_url)
    with database.session() as session:
        seed_if_empty(session)
    yield database
    database.dispose()


@pytest.fixture
def chat(seeded: Database, engine: Engine) -> Chat:
    return Chat(seeded, engine)
