"""The supervisor, claim tokens on inbound events, readiness and per-user order, each on its own."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.channels import build_channels
from bot.clock import utcnow
from bot.db.models import ChannelBreaker, InboundEvent, OutboxMessage, User
from bot.db.session import Database
from bot.dialogue import build_dialogue
from bot.messages import Inbound, Reply
from bot.pipeline import inbound, outbox, wakeups
from bot.pipeline.inbound import Handler, LostClaim
from bot.pipeline.outbox import RateLimit
from bot.pipeline.worker import Supervisor, Wakeup
from bot.understanding import build_understanding
from bot.web.intake import Intake
from tests.fixtures.bot import (
    BotFactory,
    messenger_body,
    messenger_text,
    reply_text,
    viber_text,
)
from tests.fixtures.servers import wait_until


async def test_the_supervisor_restarts_a_loop_that_dies_and_reports_one_that_stops() -> None:
    supervisor = Supervisor(stall_seconds=0.3)
    supervisor.backoff.base = 0.01
    runs: list[int] = []
    again = asyncio.Event()

    async def flaky() -> None:
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("a bug")
        again.set()
        while True:
            supervisor.beat("flaky")
            await asyncio.sleep(0.05)

    async def stuck() -> None:
        await asyncio.sleep(3600)  # never beats again

    supervisor.start("flaky", flaky)
    supervisor.start("stuck", stuck)
    await asyncio.wait_for(again.wait(), 5)
    await asyncio.sleep(0.5)
    assert supervisor.loops["flaky"].restarts == 1
    assert "RuntimeError" in (supervisor.loops["flaky"].last_error or "")
    assert supervisor.stalled() == ["stuck"]
    await supervisor.stop()


async def test_an_inbound_event_taken_over_is_not_answered_twice(make_bot: BotFactory) -> None:
    with make_bot(run_workers=False) as bot:
        item = messenger_text("taken-over", "hello")
        assert bot.post_messenger(messenger_body(item)).status_code == 200
        settings = bot.settings
        handler = Handler(
            bot.db,
            build_understanding(settings),
            build_dialogue(settings),
            build_channels(settings),
        )
        stalled = inbound.claim(bot.db, 0.2)
        time.sleep(0.4)
        taken_over = inbound.claim(bot.db, 30)
        assert stalled is not None and taken_over is not None
        event = handler.load(taken_over)
        assert isinstance(event, Inbound)
        written = handler.apply(taken_over, event, None)
        with pytest.raises(LostClaim):
            handler.apply(stalled, event, None)
        handler.fail(stalled, "late")  # a late failure report changes nothing either
        with bot.db.sessions() as session:
            rows = session.scalar(select(func.count()).select_from(OutboxMessage))
            row = session.scalars(select(InboundEvent)).one()
        assert written >= 1 and rows == written
        assert row.status == "done" and row.error is None
        await handler.understanding.aclose()
        for channel in handler.channels.values():
            await channel.aclose()


def test_readyz_is_not_ready_when_work_waits_too_long(make_bot: BotFactory) -> None:
    with make_bot(READY_MAX_BACKLOG_SECONDS=5) as bot:
        assert bot.client.get(f"{bot.url}/readyz").json()["work"]["stuck"] is False
        with bot.db.session() as session:  # held for an hour by a worker that died
            session.add(
                InboundEvent(
                    channel="messenger",
                    external_id="held",
                    kind="text",
                    status="working",
                    lease_until=utcnow() + timedelta(hours=1),
                    received_at=utcnow() - timedelta(seconds=60),
                    attempts=1,
                )
            )
        ready = bot.client.get(f"{bot.url}/readyz")
        assert ready.status_code == 503
        work = ready.json()["work"]
        assert work["stuck"] is True and work["oldest_inbound_seconds"] >= 60
    with make_bot(run_workers=False, READY_MAX_BACKLOG_SECONDS=5) as web_only:
        # Reported, but a web-only process stays ready: webhooks must keep being stored.
        work = web_only.client.get(f"{web_only.url}/readyz").json()["work"]
        assert work["stuck"] is True


def test_a_reply_that_fails_for_good_takes_the_later_ones_along_then_retry_sends_in_order(
    make_bot: BotFactory,
) -> None:
    with make_bot() as bot:
        bot.platforms.fail_next("/me/messages", 400, {"error": {"code": 100}}, times=1)
        channels = build_channels(bot.settings)
        with bot.db.session() as session:
            user = User(channel="messenger", address="in-order")
            session.add(user)
            session.flush()
            replies = [Reply("first"), Reply("second"), Reply("third")]
            outbox.enqueue(session, user, replies, channels["messenger"])

        def failed() -> int:
            with bot.db.sessions() as session:
                return (
                    session.scalar(
                        select(func.count())
                        .select_from(OutboxMessage)
                        .where(OutboxMessage.status == "failed")
                    )
                    or 0
                )

        wait_until(lambda: failed() == 3)
        time.sleep(0.5)
        # Only the refused first reply reached the platform: nothing overtook it.
        assert [reply_text(r.body) for r in bot.platforms.messenger("in-order")] == ["first"]
        with bot.db.session() as session:
            assert outbox.retry_failed(session) == 3
        wait_until(lambda: len(bot.platforms.messenger("in-order")) == 4)
        texts = [reply_text(r.body) for r in bot.platforms.messenger("in-order")]
        assert texts == ["first", "first", "second", "third"]


@pytest.mark.postgres
async def test_a_notify_in_one_process_wakes_the_listeners_of_another(
    postgres_available: None,
) -> None:
    from tests.fixtures.database import _fresh_postgres

    db = Database(_fresh_postgres())
    woken = Wakeup()
    event = woken.new()
    listener = asyncio.create_task(
        wakeups.listen(db.url, {wakeups.INBOUND: woken}, lambda: None, every=0.2)
    )
    try:
        await asyncio.sleep(0.5)  # listening
        with db.session() as session:
            wakeups.notify(session, wakeups.INBOUND)
        await asyncio.wait_for(event.wait(), 5)
    finally:
        listener.cancel()
        db.dispose()


@pytest.mark.postgres
async def test_events_a_webhook_stores_without_a_transaction_wake_the_listeners(
    postgres_available: None,
) -> None:
    """The webhook's INSERT commits on its own on PostgreSQL; its NOTIFY must still go out
    (the poll is an hour away), and a redelivery, storing nothing, sends none."""
    from tests.fixtures.database import _fresh_postgres

    db = Database(_fresh_postgres())
    woken = Wakeup()
    event = woken.new()
    listener = asyncio.create_task(
        wakeups.listen(db.url, {wakeups.INBOUND: woken}, lambda: None, every=3600)
    )
    message = Inbound(channel="messenger", external_id="w1", kind="text", sender="s", text="hi")
    intake = Intake(db)
    try:
        await asyncio.sleep(0.5)  # listening
        assert await intake.store([message]) == 1
        await asyncio.wait_for(event.wait(), 5)
        event.clear()
        assert await intake.store([message]) == 0
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(event.wait(), 1)
    finally:
        listener.cancel()
        await intake.aclose()
        db.dispose()


async def test_a_commit_on_a_sqlite_file_wakes_the_listeners_of_another_process(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'wake.db'}"
    directory = wakeups.local_directory(url)
    assert directory is not None and len(str(directory)) < 60  # a socket path's bound is ~100
    db = Database(url)
    woken = Wakeup()
    event = woken.new()
    # The poll is an hour away: only the wake-up can end the wait.
    listener = asyncio.create_task(
        wakeups.listen(url, {wakeups.INBOUND: woken}, lambda: None, every=3600)
    )
    try:
        await asyncio.to_thread(
            wait_until, lambda: directory.exists() and list(directory.iterdir()), 5
        )
        with pytest.raises(RuntimeError), db.session() as session:
            wakeups.notify(session, wakeups.INBOUND)
            raise RuntimeError("rolled back: nothing was stored")
        await asyncio.sleep(0.3)
        assert not event.is_set()
        notifier = (
            "import sys\n"
            "from bot.db.session import Database\n"
            "from bot.pipeline import wakeups\n"
            "db = Database(sys.argv[1])\n"
            "with db.session() as session:\n"
            "    wakeups.notify(session, wakeups.INBOUND)\n"
        )
        subprocess.run([sys.executable, "-c", notifier, url], check=True, timeout=60)
        await asyncio.wait_for(event.wait(), 5)
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
        db.dispose()
    assert not list(directory.iterdir()), "a listener that stops removes its socket"


def test_a_wake_up_to_a_process_that_is_gone_removes_its_socket(tmp_path: Path) -> None:
    directory = tmp_path / "wake"
    directory.mkdir()
    gone = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    gone.bind(str(directory / "4242-dead"))
    gone.close()  # the process died without cleaning up
    wakeups.poke(directory, [wakeups.INBOUND, wakeups.OUTBOX])
    assert not list(directory.iterdir())
    wakeups.poke(tmp_path / "nobody-listens", [wakeups.INBOUND])  # no directory: no error


async def test_the_rate_limit_spaces_sends_per_channel() -> None:
    rate = RateLimit(per_second=20)
    start = time.monotonic()
    await asyncio.gather(*(rate.wait("messenger") for _ in range(11)), rate.wait("viber"))
    # Ten gaps of 50 ms on Messenger; Viber has its own budget.
    assert 0.45 <= time.monotonic() - start < 1.5


def test_a_viber_auth_failure_opens_the_viber_breaker(make_bot: BotFactory) -> None:
    with make_bot(BREAKER_SECONDS=30.0) as bot:
        bot.platforms.fail_next("/send_message", 200, {"status": 2, "status_message": "bad token"})
        assert bot.post_viber(viber_text("viber-breaker", "hello")).status_code == 200

        def breaker() -> str | None:
            with bot.db.sessions() as session:
                row = session.get(ChannelBreaker, "viber")
                return row.error if row else None

        assert "bad token" in wait_until(breaker)
        with bot.db.sessions() as session:
            statuses = session.scalars(select(OutboxMessage.status)).all()
        assert statuses and set(statuses) == {"pending"}  # kept, not failed


def test_a_worker_only_process_yields_the_cpu_to_the_web() -> None:
    """`safestep worker` (and the workers of `safestep run`) run WORKER_NICE lower, so a busy
    machine acknowledges webhooks first."""
    code = (
        "import os; from bot.pipeline.worker import yield_cpu_to_web; "
        "before = os.nice(0); yield_cpu_to_web(3); print(os.nice(0) - before)"
    )
    lowered = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert lowered.stdout.strip() == "3", lowered.stderr
