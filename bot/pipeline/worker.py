"""Background loops: handle stored inbound events and drain the outbox.

The database is the queue, so a restart picks up whatever was stored and not finished. The
webhook wakes the loops at once; polling covers events stored by another process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.pipeline import inbound, outbox
from bot.pipeline.inbound import SHARDS, Handler
from bot.pipeline.outbox import Sender

log = logging.getLogger(__name__)


class Wakeup:
    """Lets any number of loops sleep until poked or until the poll interval passes."""

    def __init__(self) -> None:
        self._events: list[asyncio.Event] = []

    def new(self) -> asyncio.Event:
        event = asyncio.Event()
        self._events.append(event)
        return event

    def notify(self) -> None:
        for event in self._events:
            event.set()


async def _sleep(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)
    event.clear()


class Workers:
    def __init__(
        self,
        handler: Handler,
        sender: Sender,
        *,
        concurrency: int,
        poll_seconds: float,
        lease_seconds: float,
    ) -> None:
        self.handler = handler
        self.sender = sender
        self.concurrency = concurrency
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds
        self.inbound_wakeup = Wakeup()
        self.outbox_wakeup = Wakeup()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        for i in range(self.concurrency):
            shards = list(range(i, SHARDS, self.concurrency))
            self._spawn(self._inbound_loop(shards))
            self._spawn(self._outbox_loop())

    def spawn(self, coro: asyncio.Future[None] | object) -> None:
        """Run another periodic job (retention, reports) alongside the loops."""
        self._spawn(coro)

    def _spawn(self, coro) -> None:  # type: ignore[no-untyped-def]
        self._tasks.append(asyncio.create_task(coro))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def _inbound_loop(self, shards: list[int]) -> None:
        wake = self.inbound_wakeup.new()
        db = self.handler.db
        while True:
            event_id = await asyncio.to_thread(inbound.claim, db, shards, self.lease_seconds)
            if event_id is None:
                await _sleep(wake, self.poll_seconds)
                continue
            try:
                event = await asyncio.to_thread(self.handler.load, event_id)
                if event is None:
                    continue
                parse = await self.handler.understand(event)
                if await asyncio.to_thread(self.handler.apply, event_id, event, parse):
                    self.outbox_wakeup.notify()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("handling inbound event %s failed", event_id)
                await asyncio.to_thread(self.handler.fail, event_id, repr(exc))

    async def _outbox_loop(self) -> None:
        wake = self.outbox_wakeup.new()
        db = self.sender.db
        while True:
            message_id = await asyncio.to_thread(outbox.claim, db, self.lease_seconds)
            if message_id is None:
                await _sleep(wake, self.poll_seconds)
                continue
            try:
                await self.sender.deliver(message_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                # A bug, not a platform answer: the lease runs out and the message is retried.
                log.exception("delivering outbox message %s failed", message_id)
            # The next message to this user may have been waiting for this one.
            self.outbox_wakeup.notify()
