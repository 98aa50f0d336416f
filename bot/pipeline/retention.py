"""The daily retention run beside the message loops (the same as `safestep purge`)."""

from __future__ import annotations

import asyncio
import logging

from bot.db.session import Database
from bot.services.privacy import purge
from bot.settings import Settings

log = logging.getLogger(__name__)
DAY_SECONDS = 24 * 60 * 60


def _purge_once(db: Database, settings: Settings) -> None:
    with db.session() as session:
        purge(session, settings)


async def daily(db: Database, settings: Settings, every: float = DAY_SECONDS) -> None:
    """Purge at start-up, then once a day; a failed run is logged and tried the next day."""
    while True:
        try:
            await asyncio.to_thread(_purge_once, db, settings)
        except Exception:
            log.exception("retention run failed")
        await asyncio.sleep(every)
