"""The web application: webhooks, console, health; the workers run in its lifespan."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI

from bot import console
from bot.channels import build_channels
from bot.clock import Clock, utcnow
from bot.console import indicators as indicator_page
from bot.db.session import Database
from bot.dialogue import build_dialogue
from bot.dialogue.base import Dialogue
from bot.pipeline import alerts, retention
from bot.pipeline.inbound import Handler
from bot.pipeline.outbox import Sender
from bot.pipeline.worker import Workers
from bot.settings import Settings, get_settings
from bot.understanding import build_understanding
from bot.understanding.base import Understanding
from bot.web import health, webhooks

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None,
    *,
    run_workers: bool = True,
    understanding: Understanding | None = None,
    dialogue: Dialogue | None = None,
    clock: Clock = utcnow,
) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Database calls run in threads; the default pool (cores + 4) starves webhooks while
        # workers are busy, and a webhook waiting for a thread is a slow acknowledgement.
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=16, thread_name_prefix="safestep")
        )
        db = Database(settings.DATABASE_URL)
        channels = build_channels(settings)
        nlu = understanding or build_understanding(settings)
        flows = dialogue or build_dialogue(settings)
        workers = Workers(
            Handler(db, nlu, flows, channels),
            Sender(
                db,
                channels,
                max_attempts=settings.OUTBOX_MAX_ATTEMPTS,
                backoff_seconds=settings.OUTBOX_BACKOFF_SECONDS,
            ),
            concurrency=settings.WORKER_CONCURRENCY,
            poll_seconds=settings.WORKER_POLL_SECONDS,
            lease_seconds=settings.LEASE_SECONDS,
        )
        app.state.settings, app.state.db, app.state.channels = settings, db, channels
        app.state.understanding, app.state.dialogue, app.state.workers = nlu, flows, workers
        if run_workers:
            workers.start()
            workers.spawn(retention.daily(db, settings))
            workers.spawn(
                alerts.watch(
                    db, flows, channels, settings,
                    clock=clock, on_queued=workers.outbox_wakeup.notify,
                )
            )  # fmt: skip
        try:
            yield
        finally:
            await workers.stop()
            for channel in channels.values():
                await channel.aclose()
            await nlu.aclose()
            db.dispose()

    app = FastAPI(title="SafeStep", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.include_router(webhooks.router)
    app.include_router(health.router)
    console.install(app, settings)
    app.include_router(indicator_page.router)
    return app
