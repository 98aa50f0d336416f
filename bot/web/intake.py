"""Storing webhook events with group commit: one transaction for the requests that meet.

Every webhook must commit its events before it answers 200 (a 200 for something not stored
would lose it). Under load most of a request's wait is its own transaction: the write lock,
the commit. Here requests that arrive while a transaction is running wait for the next one
together, so a burst costs a few transactions instead of one per request, and a lone request
is stored at once, as before.

If a shared transaction fails for a reason other than an outage (a value one platform sent
that the database refuses), each request is tried again on its own, so one bad event cannot
make the platform retry its neighbours' events forever.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.db.session import Database
from bot.messages import Inbound
from bot.pipeline import inbound
from bot.pipeline.claims import is_database_outage

log = logging.getLogger(__name__)


class Intake:
    """The webhook's writer: its own database (engine, threads) and one transaction at a time."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._waiting: list[tuple[list[Inbound], asyncio.Future[int]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._engine: AsyncEngine | None = None

    async def store(self, events: list[Inbound]) -> int:
        """Commit `events` (deliveries recorded, the rest stored); how many were new."""
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.append((events, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        # Shielded: a client that hangs up does not cancel the others' transaction.
        return await asyncio.shield(done)

    async def _write(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                counts = await self._store([events for events, _ in batch])
            except Exception as exc:
                if len(batch) > 1 and not is_database_outage(exc):
                    log.warning("a shared webhook transaction failed; storing one by one")
                    await self._one_by_one(batch)
                    continue
                for _, done in batch:
                    _settle(done, exc=exc)
            else:
                for (_, done), count in zip(batch, counts, strict=True):
                    _settle(done, count)

    async def _store(self, requests: list[list[Inbound]]) -> list[int]:
        """`_commit`, tried again at once on a connection the server dropped (a restart):
        that failure makes the pool reconnect, which costs less than a ping before every
        transaction on an acknowledgement's path."""
        try:
            return await self._commit(requests)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            log.warning("the database dropped the webhook's connection; trying again")
            return await self._commit(requests)

    async def _commit(self, requests: list[list[Inbound]]) -> list[int]:
        """One INSERT (in one transaction with any delivery receipts) for several requests'
        events; new rows per request, in order (an event two requests carry counts for the
        first)."""
        kept = [[e for e in events if e.kind != "delivery"] for events in requests]
        everything = [e for events in kept for e in events]
        receipts = [e for events in requests for e in events if e.kind == "delivery"]
        if self.db.is_sqlite or receipts:
            new = await self.db.run(store_with_receipts, self.db, everything, receipts)
        else:
            new = await inbound.store_async(self._async_engine(), everything)
        counts = []
        for events in kept:
            mine = {(e.channel, e.external_id) for e in events} & new
            new -= mine
            counts.append(len(mine))
        return counts

    def _async_engine(self) -> AsyncEngine:
        if self._engine is None:
            # One transaction at a time (see `store`): one connection, and one spare.
            url = make_url(self.db.url).set(drivername="postgresql+psycopg")
            self._engine = create_async_engine(url, pool_size=1, max_overflow=1)
        return self._engine

    async def aclose(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    async def _one_by_one(self, batch: list[tuple[list[Inbound], asyncio.Future[int]]]) -> None:
        for events, done in batch:
            try:
                (count,) = await self._store([events])
            except Exception as exc:
                _settle(done, exc=exc)
            else:
                _settle(done, count)


def _settle(done: asyncio.Future[int], count: int = 0, exc: BaseException | None = None) -> None:
    if done.done():
        return
    if exc is not None:
        done.set_exception(exc)
    else:
        done.set_result(count)


def store_with_receipts(
    db: Database, events: list[Inbound], receipts: list[Inbound]
) -> set[tuple[str, str]]:
    """Delivery receipts and new events in one transaction (on SQLite, every write)."""
    with db.session() as session:
        for receipt in receipts:
            inbound.record_delivery(session, receipt)
        return inbound.store_new(session, events)
