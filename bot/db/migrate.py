"""Alembic from code: the CLI, the app's `run` and the tests all upgrade the same way.

The configuration is built here rather than read from alembic.ini (which stays for developers'
`alembic revision`), so an installed wheel needs nothing but its shipped migrations folder.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from bot.settings import ROOT


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.set_main_option("path_separator", "os")
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)
