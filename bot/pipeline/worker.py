"""Background loops: handle stored inbound events and drain the outbox.

The database is the queue, so a restart picks up whatever was stored and not finished. The
webhook wakes the loops at once (across processes on PostgreSQL, by NOTIFY); polling covers
anything else.

Every loop survives any exception: it logs, backs off (exponentially, capped) and goes on, so a
locked SQLite file or a PostgreSQL restart delays replies instead of stopping them. A
supervisor restarts a loop that ends anyway, and each loop's heartbeat tells `/readyz` when one
is stuck. Sends run as their own tasks, one at a time per user (the outbox claims nothing for
a user with a message in hand), so a user whose sends hang delays no one else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from bot.pipeline import inbound, outbox
from bot.pipeline.claims import Claim, is_database_outage
from bot.pipeline.inbound import SHARDS, Handler, LostClaim
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


@dataclass
class Backoff:
    """Exponential pauses after consecutive failures, capped."""

    base: float = 0.5
    cap: float = 30.0

    def delay(self, failures: int) -> float:
        return min(self.cap, self.base * 2 ** max(0, failures - 1))


@dataclass
class LoopHealth:
    """What `/readyz` needs to know about one loop."""

    beat: float
    watched: bool = True  # a loop that beats; a daily job does not
    failures: int = 0
    restarts: int = 0
    last_error: str | None = None


@dataclass
class Supervisor:
    """Runs named loops, restarts any that ends, and tells which have stopped beating."""

    stall_seconds: float
    backoff: Backoff = field(default_factory=Backoff)
    clock: Callable[[], float] = time.monotonic
    loops: dict[str, LoopHealth] = field(default_factory=dict)
    _tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    _stopping: bool = False

    def beat(self, name: str) -> None:
        self.loops[name].beat = self.clock()

    def start(
        self, name: str, make: Callable[[], Coroutine[Any, Any, None]], watched: bool = True
    ) -> None:
        self.loops[name] = LoopHealth(beat=self.clock(), watched=watched)
        self._tasks[name] = asyncio.create_task(self._keep(name, make), name=name)

    async def _keep(self, name: str, make: Callable[[], Coroutine[Any, Any, None]]) -> None:
        health = self.loops[name]
        while not self._stopping:
            try:
                await make()
                log.error("loop %s ended; restarting it", name)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a dead loop is never acceptable
                health.last_error = repr(exc)[:300]
                log.exception("loop %s died; restarting it", name)
            health.restarts += 1
            self.beat(name)
            await asyncio.sleep(self.backoff.delay(health.restarts))

    def stalled(self) -> list[str]:
        now = self.clock()
        return sorted(
            n for n, h in self.loops.items() if h.watched and now - h.beat > self.stall_seconds
        )

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Cancel every loop; one that will not end in time is left behind, not waited for."""
        self._stopping = True
        for task in self._tasks.values():
            task.cancel()
        if self._tasks:
            _, stuck = await asyncio.wait(self._tasks.values(), timeout=grace_seconds)
            for task in stuck:
                log.error("loop %s did not stop within %.0fs", task.get_name(), grace_seconds)
        self._tasks.clear()


class Workers:
    def __init__(
        self,
        handler: Handler,
        sender: Sender,
        *,
        concurrency: int,
        poll_seconds: float,
        lease_seconds: float,
        max_sends: int = 64,
        stall_seconds: float = 120.0,
        backoff: Backoff | None = None,
    ) -> None:
        self.handler = handler
        self.sender = sender
        self.concurrency = concurrency
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds
        self.max_sends = max_sends
        self.backoff = backoff or Backoff()
        self.supervisor = Supervisor(stall_seconds=stall_seconds, backoff=self.backoff)
        self.inbound_wakeup = Wakeup()
        self.outbox_wakeup = Wakeup()
        self._sends: set[asyncio.Task[None]] = set()
        self.running = False

    def start(self) -> None:
        self.running = True
        for i in range(self.concurrency):
            self.spawn(f"inbound-{i}", partial(self._inbound_loop, f"inbound-{i}", self._shards(i)))
        self.spawn("outbox", lambda: self._outbox_loop("outbox"))

    def _shards(self, i: int) -> list[int]:
        return list(range(i, SHARDS, self.concurrency))

    def spawn(
        self, name: str, make: Callable[[], Coroutine[Any, Any, None]], watched: bool = True
    ) -> None:
        """Run another long-lived job (retention, wake-up listener) under the supervisor."""
        self.supervisor.start(name, make, watched)

    async def stop(self, grace_seconds: float = 15.0) -> None:
        """Stop claiming; let sends in flight finish (a cut send might go out twice)."""
        self.running = False
        await self.supervisor.stop()
        if self._sends:
            await asyncio.wait(self._sends, timeout=grace_seconds)
        for task in list(self._sends):
            task.cancel()
        await asyncio.gather(*self._sends, return_exceptions=True)

    async def _forever(
        self, name: str, step: Callable[[], Awaitable[bool]], wake: asyncio.Event
    ) -> None:
        """Call `step` (True: it found work) until cancelled, surviving whatever it raises."""
        health = self.supervisor.loops[name]
        while True:
            self.supervisor.beat(name)
            try:
                busy = await step()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                health.failures += 1
                health.last_error = repr(exc)[:300]
                delay = self.backoff.delay(health.failures)
                log.error("%s: %r; retrying in %.1fs", name, exc, delay, exc_info=True)
                await asyncio.sleep(delay)
                continue
            health.failures = 0
            if not busy:
                await _sleep(wake, self.poll_seconds)

    async def _inbound_loop(self, name: str, shards: list[int]) -> None:
        await self._forever(name, lambda: self._inbound_step(shards), self.inbound_wakeup.new())

    async def _inbound_step(self, shards: list[int]) -> bool:
        handler = self.handler
        claim = await asyncio.to_thread(inbound.claim, handler.db, shards, self.lease_seconds)
        if claim is None:
            return False
        try:
            event = await asyncio.to_thread(handler.load, claim)
            if event is None:
                return True
            parse = await handler.understand(event)
            if await asyncio.to_thread(handler.apply, claim, event, parse):
                self.outbox_wakeup.notify()
        except LostClaim:
            log.warning("inbound event %s: lease lost to another worker; dropped", claim.id)
        except Exception as exc:
            outage = is_database_outage(exc)
            if not outage:
                log.exception("handling inbound event %s failed", claim.id)
            await self._give_back(claim, repr(exc), counts=not outage)
            if outage:
                raise  # the loop backs off
        return True

    async def _give_back(self, claim: Claim, error: str, *, counts: bool) -> None:
        """Return the event for another try; if even that fails, its lease runs out instead."""
        try:
            await asyncio.to_thread(self.handler.fail, claim, error, counts=counts)
        except Exception:
            log.warning("could not give inbound event %s back; its lease will expire", claim.id)

    async def _outbox_loop(self, name: str) -> None:
        await self._forever(name, self._outbox_step, self.outbox_wakeup.new())

    async def _outbox_step(self) -> bool:
        if len(self._sends) >= self.max_sends:
            await asyncio.wait(self._sends, return_when=asyncio.FIRST_COMPLETED)
            return True
        claim = await asyncio.to_thread(outbox.claim, self.sender.db, self.lease_seconds)
        if claim is None:
            return False
        task = asyncio.create_task(self._send(claim))
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)
        return True

    async def _send(self, claim: Claim) -> None:
        try:
            await self.sender.deliver(claim)
        except Exception:
            # A bug or a database outage, not a platform answer: the lease runs out and the
            # message is tried again.
            log.exception("delivering outbox message %s failed", claim.id)
        # The next message to this user may have been waiting for this one.
        self.outbox_wakeup.notify()
