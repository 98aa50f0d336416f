"""The daily retention run beside the message loops (the same as `safestep purge`).

With several worker processes on PostgreSQL, an advisory lock lets one of them run it at a time.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text

from bot.db.session import Database
from bot.services.privacy import purge
from bot.settings import Settings

log = logging.getLogger(__name__)
DAY_SECONDS = 24 * 60 * 60
# pg_try_advisory_xact_lock key: any fixed number no other job uses ("SSPURGE" in ASCII).
PURGE_LOCK = 0x5353505552474500


def purge_once(db: Database, settings: Settings) -> bool:
    """Purge unless another process is purging right now; True when this one did."""
    with db.session() as session:
        if db.engine.dialect.name == "postgresql":
            locked = session.execute(
                text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": PURGE_LOCK}
            ).scalar_one()
            if not locked:
                log.info("retention is running in another process; skipped here")
                return False
        purge(session, settings)
        return True


async def daily(db: Database, settings: Settings, every: float = DAY_SECONDS) -> None:
    """Purge at start-up, then once a day; a failed run is logged and tried the next day."""
    while True:
        try:
            await asyncio.to_thread(purge_once, db, settings)
        except Exception:
            log.exception("retention run failed")
        await asyncio.sleep(every)
