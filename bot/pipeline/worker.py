"""Background loops: handle stored inbound events and drain the outbox.

The database is the queue, so a restart picks up whatever was stored and not finished. The
webhook wakes the loops at once (across processes on PostgreSQL, by NOTIFY); polling covers
anything else.

Few, big transactions: a loop claims a batch of rows in one; a turn (event marked done,
dialogue, outbox rows, analytics) is one, and it also claims the turn's first reply, which
is sent right after the commit; sends are recorded together. SQLite has one writer, and
every transaction is a wait for it, for the webhook as much as for the workers.

Every loop survives any exception: it logs, backs off (exponentially, capped) and goes on, so a
locked SQLite file or a PostgreSQL restart delays replies instead of stopping them. A
supervisor restarts a loop that ends anyway, and each loop's heartbeat tells `/readyz` when one
is stuck. Turns and sends run as their own tasks, one at a time per user (the claims take
nothing for a user with an event or a message in hand), so a user whose sends hang delays no
one else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from bot.pipeline import inbound, outbox
from bot.pipeline.claims import Claim, is_database_outage
from bot.pipeline.inbound import Handler, LostClaim
from bot.pipeline.outbox import Sender

log = logging.getLogger(__name__)


def yield_cpu_to_web(nice: int) -> None:
    """Lower this (worker-only) process's CPU priority by `nice`: a busy machine then serves
    webhook acknowledgements first, and the turns they queue wait a little instead."""
    if nice:
        try:
            os.nice(nice)
        except OSError as exc:  # not permitted here: equal priority, as before
            log.warning("could not lower the workers' CPU priority: %s", exc)


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
    """One claiming loop for inbound events and one for the outbox, per process.

    Each claims a batch per transaction and runs every claimed item as its own task: turns
    (NLU, then one transaction) up to `concurrency` at once, sends up to `max_sends`. A turn
    claims its first reply in its own commit and sends it straight away.
    """

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
        batch: int = 32,
    ) -> None:
        self.handler = handler
        self.sender = sender
        self.concurrency = concurrency
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds
        self.max_sends = max_sends
        self.batch = batch
        self.backoff = backoff or Backoff()
        self.supervisor = Supervisor(stall_seconds=stall_seconds, backoff=self.backoff)
        self.inbound_wakeup = Wakeup()
        self.outbox_wakeup = Wakeup()
        self._turns: set[asyncio.Task[None]] = set()
        self._sends: set[asyncio.Task[None]] = set()
        self.running = False

    def start(self) -> None:
        self.running = True
        self.spawn("inbound", lambda: self._inbound_loop("inbound"))
        self.spawn("outbox", lambda: self._outbox_loop("outbox"))

    def spawn(
        self, name: str, make: Callable[[], Coroutine[Any, Any, None]], watched: bool = True
    ) -> None:
        """Run another long-lived job (retention, wake-up listener) under the supervisor."""
        self.supervisor.start(name, make, watched)

    async def stop(self, grace_seconds: float = 15.0) -> None:
        """Stop claiming; let turns and sends in flight finish (a cut send might go out twice)."""
        self.running = False
        await self.supervisor.stop()
        for tasks in (self._turns, self._sends):
            if tasks:
                await asyncio.wait(tasks, timeout=grace_seconds)
        # Turns finishing just now may have started sends.
        if self._sends:
            await asyncio.wait(self._sends, timeout=grace_seconds)
        for tasks in (self._turns, self._sends):
            for task in list(tasks):
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

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

    async def _inbound_loop(self, name: str) -> None:
        await self._forever(name, self._inbound_step, self.inbound_wakeup.new())

    async def _inbound_step(self) -> bool:
        """Claim as many events as there are free turn slots; False when none was claimable
        (the loop then sleeps until a turn ends, a webhook stores an event, or the poll)."""
        free = self.concurrency - len(self._turns)
        if self._turns and free < max(1, self.concurrency // 4):
            # Claim in batches, not one event per finished turn: each claim is a query.
            await asyncio.wait(self._turns, return_when=asyncio.FIRST_COMPLETED)
            return True
        db = self.handler.db
        claimed = await db.run(inbound.claim_many, db, self.lease_seconds, free)
        for item in claimed:
            task = asyncio.create_task(self._turn(item))
            self._turns.add(task)
            task.add_done_callback(self._turn_done)
        return bool(claimed)

    def _turn_done(self, task: asyncio.Task[None]) -> None:
        self._turns.discard(task)
        # The user's next event (held back while this one was in hand) may be claimable now.
        self.inbound_wakeup.notify()

    async def _turn(self, claimed: inbound.Claimed) -> None:
        """Understand, apply in one transaction, then send the first reply at once."""
        handler, claim = self.handler, claimed.claim
        try:
            event = claimed.event
            if event is None:
                return
            parse = await handler.understand(event)
            turned = await handler.db.run(handler.turn, claim, event, parse, self.lease_seconds)
            if turned.first is None:
                if turned.written:
                    self.outbox_wakeup.notify()
            else:
                # The outbox loop is woken after the send only if something waits behind it.
                self._start_send(
                    self.sender.deliver_claimed(turned.first), alone=turned.written == 1
                )
        except LostClaim:
            log.warning("inbound event %s: lease lost to another worker; dropped", claim.id)
        except Exception as exc:
            outage = is_database_outage(exc)
            if not outage:
                log.exception("handling inbound event %s failed", claim.id)
            else:
                log.warning("inbound event %s: database unavailable (%r)", claim.id, exc)
            await self._give_back(claim, repr(exc), counts=not outage)

    async def _give_back(self, claim: Claim, error: str, *, counts: bool) -> None:
        """Return the event for another try.

        While the database is unreachable, keep trying (backing off) for as long as the lease
        would hold the event anyway: a database that is back in seconds must not leave the
        person waiting for the whole lease. Past that, or on any other error, the lease runs
        out and another try takes the event.
        """
        deadline = time.monotonic() + self.lease_seconds
        failures = 0
        while True:
            try:
                await self.handler.db.run(partial(self.handler.fail, claim, error, counts=counts))
                return
            except Exception as exc:
                failures += 1
                pause = self.backoff.delay(failures)
                if not is_database_outage(exc) or time.monotonic() + pause >= deadline:
                    log.warning("could not give inbound event %s back; its lease will expire",
                                claim.id)  # fmt: skip
                    return
                await asyncio.sleep(pause)

    async def _outbox_loop(self, name: str) -> None:
        await self._forever(name, self._outbox_step, self.outbox_wakeup.new())

    async def _outbox_step(self) -> bool:
        free = self.max_sends - len(self._sends)
        if free <= 0:
            await asyncio.wait(self._sends, return_when=asyncio.FIRST_COMPLETED)
            return True
        db = self.sender.db
        claimed = await db.run(outbox.claim_many, db, self.lease_seconds, min(free, self.batch))
        for item in claimed:
            self._start_send(self.sender.deliver_claimed(item))
        return bool(claimed)

    def _start_send(self, delivery: Coroutine[Any, Any, bool], *, alone: bool = False) -> None:
        task = asyncio.create_task(self._send(delivery, alone))
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    async def _send(self, delivery: Coroutine[Any, Any, bool], alone: bool) -> None:
        """Deliver; `alone`: no later reply of this turn waits for this one."""
        sent = False
        try:
            sent = await delivery
        except Exception:
            # A bug or a database outage, not a platform answer: the lease runs out and the
            # message is tried again.
            log.exception("delivering an outbox message failed")
        if not (sent and alone):
            # The next message to this user may have been waiting for this one.
            self.outbox_wakeup.notify()
