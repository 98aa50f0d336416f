"""`safestep run`: a local bot on the embedded defaults, in one command."""

from __future__ import annotations

import uvicorn

from bot.app import create_app
from bot.db.migrate import upgrade
from bot.settings import Settings


def run_everything(settings: Settings, *, host: str, port: int) -> None:
    upgrade(settings.DATABASE_URL)
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None)
