"""The web application: webhooks, console, health; the workers run in its lifespan.

`safestep serve` runs both; `serve --no-workers` only the web; `safestep worker` only the
workers (with /healthz and /readyz), so each can be scaled on its own.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.routing import Mount, Router
from starlette.types import Receive, Scope, Send

from bot import console
from bot.channels import build_channels
from bot.channels.base import Channel
from bot.clock import Clock, utcnow
from bot.console import indicators as indicator_page
from bot.db.session import Database
from bot.dialogue import build_dialogue
from bot.dialogue.base import Dialogue
from bot.pipeline import alerts, retention, wakeups
from bot.pipeline.inbound import Handler
from bot.pipeline.outbox import RateLimit, Sender
from bot.pipeline.worker import Backoff, Workers
from bot.settings import Settings, get_settings
from bot.understanding import build_understanding
from bot.understanding.base import Understanding
from bot.web import health, webhooks
from bot.web.intake import Intake

log = logging.getLogger(__name__)


def build_workers(
    settings: Settings,
    db: Database,
    channels: dict[str, Channel],
    understanding: Understanding,
    dialogue: Dialogue,
) -> Workers:
    sender = Sender(
        db,
        channels,
        backoff_seconds=settings.OUTBOX_BACKOFF_SECONDS,
        max_backoff_seconds=settings.OUTBOX_MAX_BACKOFF_SECONDS,
        lease_seconds=settings.LEASE_SECONDS,
        breaker_seconds=settings.BREAKER_SECONDS,
        max_breaker_seconds=settings.BREAKER_MAX_SECONDS,
        rate=RateLimit(per_second=settings.CHANNEL_SENDS_PER_SECOND),
    )
    return Workers(
        Handler(db, understanding, dialogue, channels),
        sender,
        concurrency=settings.WORKER_CONCURRENCY,
        poll_seconds=settings.WORKER_POLL_SECONDS,
        lease_seconds=settings.LEASE_SECONDS,
        max_sends=settings.OUTBOX_MAX_SENDS,
        stall_seconds=settings.WORKER_STALL_SECONDS,
        backoff=Backoff(settings.WORKER_BACKOFF_SECONDS, settings.WORKER_MAX_BACKOFF_SECONDS),
    )


def start_workers(
    workers: Workers,
    db: Database,
    settings: Settings,
    dialogue: Dialogue,
    channels: dict[str, Channel],
    clock: Clock,
) -> None:
    """The message loops, the daily purge, the unanswered-urgent-case watch and the
    cross-process wake-ups."""
    workers.start()
    workers.spawn("retention", lambda: retention.daily(db, settings), watched=False)
    workers.spawn(
        "alerts",
        lambda: alerts.watch(
            db, dialogue, channels, settings, clock=clock, on_queued=workers.outbox_wakeup.notify
        ),
        watched=False,
    )
    topics = {wakeups.INBOUND: workers.inbound_wakeup, wakeups.OUTBOX: workers.outbox_wakeup}
    workers.spawn(
        "wakeups",
        lambda: wakeups.listen(
            db.url,
            topics,
            lambda: workers.supervisor.beat("wakeups"),
            every=settings.WORKER_POLL_SECONDS,
        ),
    )


def _freeze_heap() -> None:
    """Leave what start-up built (flows, lexicons, models, gazetteers) out of the cyclic garbage
    collector's full passes: measured in a process handling turns, a full pass over it took
    190 ms, every request of the process stalled meanwhile; 17 ms once frozen. Only for a
    process that serves one app for its life: frozen objects are never collected.

    Then collect less often: a turn allocates thousands of objects (SQL statements' rows and
    parameters, ORM states), and at the default threshold (700) the young generation was
    collected several times a turn; at 20,000, a worker's CPU a turn fell by 0.3-0.5 ms (4.5-5.1
    to 4.2-4.3 ms, PostgreSQL, 1,500 turns, canned NLU answers). Cycles still go within a
    few hundred turns."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


class _App(FastAPI):
    """FastAPI, but a webhook goes straight to its router, around FastAPI's middleware stack
    (exceptions, body limit, telemetry, exit stack: a webhook needs none of them, and they were
    a tenth of an acknowledgement's CPU, measured with py-spy in a burst of webhooks). An
    exception a webhook does not handle still becomes a 500, by the server. Behind a proxy that
    sets a root path, webhooks take FastAPI's way, where they are mounted too."""

    platform_webhooks: Router | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.platform_webhooks is not None
            and scope["type"] == "http"
            and not scope.get("root_path")
            and scope["path"].startswith("/webhooks/")
        ):
            scope["app"] = self
            await self.platform_webhooks(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(
    settings: Settings | None = None,
    *,
    run_workers: bool = True,
    web: bool = True,
    understanding: Understanding | None = None,
    dialogue: Dialogue | None = None,
    clock: Clock = utcnow,
    freeze_heap: bool = False,
) -> FastAPI:
    """The app; `freeze_heap` for a server process that runs it alone (see `_freeze_heap`)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Database calls run in threads; the default pool (cores + 4) starves webhooks while
        # workers are busy, and a webhook waiting for a thread is a slow acknowledgement.
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=16, thread_name_prefix="safestep")
        )
        db = Database(
            settings.DATABASE_URL,
            pool_size=settings.DB_POOL_SIZE,
            max_overflow=settings.DB_MAX_OVERFLOW,
            # Only a worker process goes without checking connections first: its loops retry,
            # while the console's pages and webhooks should not fail after a restart.
            pre_ping=web,
        )
        # Webhooks store through their own small pool and threads, apart from the workers'
        # and the console's, so an acknowledgement never waits for a connection or a thread.
        # No ping before each transaction: the intake tries again on a dropped connection.
        webhook_db = (
            Database(
                settings.DATABASE_URL,
                pool_size=4,
                max_overflow=0,
                pre_ping=False,
                first_in_line=True,
            )
            if web
            else db
        )
        channels = build_channels(settings)
        nlu = understanding or build_understanding(settings)
        flows = dialogue or build_dialogue(settings)
        workers = build_workers(settings, db, channels, nlu, flows)
        app.state.settings, app.state.db, app.state.channels = settings, db, channels
        app.state.intake = Intake(webhook_db)
        app.state.understanding, app.state.dialogue, app.state.workers = nlu, flows, workers
        if run_workers:
            start_workers(workers, db, settings, flows, channels, clock)
        if freeze_heap:
            _freeze_heap()
        try:
            yield
        finally:
            await workers.stop()
            for channel in channels.values():
                await channel.aclose()
            await nlu.aclose()
            await app.state.intake.aclose()
            if webhook_db is not db:
                webhook_db.dispose()
            db.dispose()

    # No /docs, /redoc or /openapi.json: the API's map is nobody's business outside the code.
    app = _App(title="SafeStep", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(health.router)
    if web:
        mount = Mount("/webhooks", webhooks.router)
        app.router.routes.append(mount)
        app.platform_webhooks = Router(routes=[mount])
        console.install(app, settings)
        app.include_router(indicator_page.router)
    return app
