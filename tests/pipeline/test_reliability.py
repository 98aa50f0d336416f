"""Issue 12's done-when tests: database hiccups, slow users, outages, bad input, stalled workers.

Each goes through the signed webhook to the fake platforms, with the real app and database.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import psycopg
import pytest
from sqlalchemy import func, make_url, select
from typer.testing import CliRunner

from bot.app import create_app
from bot.channels import build_channels
from bot.cli import app as cli
from bot.db.models import ChannelBreaker, InboundEvent, OutboxMessage, User
from bot.messages import Reply
from bot.pipeline import outbox
from bot.pipeline.outbox import Sender
from tests.fixtures.bot import (
    BotFactory,
    RunningBot,
    messenger_body,
    messenger_text,
    sign_messenger,
)
from tests.fixtures.database import PG_DSN
from tests.fixtures.servers import serve, wait_until


def post_all(bot: RunningBot, users: list[str], text: str = "hello") -> list[str]:
    """One message per user; returns the users whose message was acknowledged."""
    acknowledged = []
    for user in users:
        try:
            response = bot.post_messenger(messenger_body(messenger_text(user, text)))
        except httpx.TimeoutException:  # waited on a lock longer than the client would
            continue
        if response.status_code == 200:
            acknowledged.append(user)
    return acknowledged


def answered(bot: RunningBot, users: list[str], timeout: float) -> None:
    """Every one of `users` got at least one reply within `timeout` seconds."""
    wait_until(lambda: all(bot.platforms.messenger(u) for u in users), timeout=timeout)


def count(bot: RunningBot, model: type, *where: object) -> int:
    with bot.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


@contextmanager
def sqlite_write_lock(url: str, seconds: float) -> Iterator[threading.Thread]:
    """Another connection holds the database's write lock for `seconds`."""
    path = make_url(url).database
    held = threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(path, timeout=60, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        held.set()
        time.sleep(seconds)
        conn.execute("ROLLBACK")
        conn.close()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    held.wait(10)
    yield thread
    thread.join()


def _sqlite_lock_then_everything_answered(
    make_bot: BotFactory, url: str, lock_seconds: float
) -> None:
    with make_bot(DATABASE_URL=url, WORKER_MAX_BACKOFF_SECONDS=1.0) as bot:
        answered(bot, post_all(bot, ["before-1", "before-2"]), timeout=20)
        acknowledged: list[str] = []
        with sqlite_write_lock(url, lock_seconds):
            # Posted while locked: some wait it out, some get 503 (and Meta retries those).
            time.sleep(0.5)
            acknowledged += post_all(bot, ["during-1"])
        acknowledged += post_all(bot, [f"after-{i}" for i in range(5)])
        assert len(acknowledged) >= 5
        answered(bot, acknowledged, timeout=30)


ONLY_SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@ONLY_SQLITE
def test_a_sqlite_lock_longer_than_the_busy_timeout_stops_nothing(
    make_bot: BotFactory, database_url: str
) -> None:
    """The 35 s lock below, scaled: a 1 s busy timeout and a 3 s lock take the same path
    (every worker's database call fails with "database is locked")."""
    _sqlite_lock_then_everything_answered(make_bot, f"{database_url}?timeout=1", 3)


@pytest.mark.slow
@ONLY_SQLITE
def test_a_35_second_sqlite_lock_stops_nothing(make_bot: BotFactory, database_url: str) -> None:
    _sqlite_lock_then_everything_answered(make_bot, database_url, 35)


ONLY_POSTGRES = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


@ONLY_POSTGRES
def test_terminated_postgres_backends_stop_nothing(make_bot: BotFactory) -> None:
    # Only this run's connections: they carry the schema's name as application_name.
    from tests.fixtures.database import SCHEMA

    with make_bot(WORKER_MAX_BACKOFF_SECONDS=1.0) as bot:
        acknowledged = post_all(bot, ["pg-before"])
        deadline = time.monotonic() + 3
        i = 0
        with psycopg.connect(PG_DSN, autocommit=True) as admin:
            while time.monotonic() < deadline:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = %s AND pid <> pg_backend_pid()",
                    (SCHEMA,),
                )
                acknowledged += post_all(bot, [f"pg-during-{i}"])
                i += 1
                time.sleep(0.1)
        acknowledged += post_all(bot, [f"pg-after-{i}" for i in range(5)])
        assert len(acknowledged) >= 6
        answered(bot, acknowledged, timeout=30)


@ONLY_POSTGRES
def test_a_worker_process_heals_after_its_connections_die(make_bot: BotFactory) -> None:
    """A worker-only process does not check a connection before each transaction (a round
    trip saved a turn): connections killed under it cost one failed try, not a stop."""
    from tests.fixtures.database import SCHEMA

    with make_bot(run_workers=False, WORKER_MAX_BACKOFF_SECONDS=1.0) as bot:
        workers = create_app(bot.settings, web=False)
        with serve(workers):
            answered(bot, post_all(bot, ["split-before"]), timeout=30)
            with psycopg.connect(PG_DSN, autocommit=True) as admin:
                killed = admin.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = %s AND pid <> pg_backend_pid()",
                    (SCHEMA,),
                ).fetchone()
            assert killed is not None and killed[0] > 0
            after = post_all(bot, [f"split-after-{i}" for i in range(5)])
            assert len(after) == 5  # the web tries again on a dropped connection: no 503
            answered(bot, after, timeout=30)


def test_a_hanging_user_delays_nobody_else(make_bot: BotFactory) -> None:
    with make_bot(HTTP_TIMEOUT_SECONDS=15) as bot:
        slow = [f"slow-{i}" for i in range(8)]
        for user in slow:
            bot.platforms.hang(user, 12)
        post_all(bot, slow)
        # All eight sends are in hand (and hanging) before anyone else writes.
        wait_until(
            lambda: count(bot, OutboxMessage, OutboxMessage.status == "working") >= 8, timeout=10
        )
        start = time.monotonic()
        others = post_all(bot, [f"quick-{i}" for i in range(5)])
        answered(bot, others, timeout=20)
        assert time.monotonic() - start < 3


def test_a_platform_outage_loses_nothing_and_keeps_order(make_bot: BotFactory) -> None:
    """A 10-minute outage at the production backoff (2 s), scaled by 1/40: 15 s at 0.05 s.

    Before, eight attempts (~13 s here, ~254 s in production) and the reply was failed for good,
    and the next reply to that person went out without it.
    """
    with make_bot(OUTBOX_BACKOFF_SECONDS=0.05, OUTBOX_MAX_BACKOFF_SECONDS=0.5) as bot:
        bot.platforms.down(15)
        users = [f"outage-{i}" for i in range(6)]
        post_all(bot, users, "hello")
        post_all(bot, users, "menu")
        time.sleep(15)
        wait_until(
            lambda: (
                count(bot, OutboxMessage, OutboxMessage.status.in_(("pending", "working"))) == 0
                and count(bot, InboundEvent, InboundEvent.status != "done") == 0
            ),
            timeout=30,
        )
        assert count(bot, OutboxMessage, OutboxMessage.status != "sent") == 0
        with bot.db.sessions() as session:
            sent = session.execute(
                select(
                    OutboxMessage.user_id, OutboxMessage.inbound_id, OutboxMessage.sent_at
                ).order_by(OutboxMessage.id)
            ).all()
        # Per user, replies went out in the order their messages came in.
        for user_id in {row.user_id for row in sent}:
            mine = [row for row in sent if row.user_id == user_id]
            assert [r.sent_at for r in mine] == sorted(r.sent_at for r in mine)


def test_outbox_retry_sends_failed_replies_again(
    make_bot: BotFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    with make_bot() as bot:
        refusal = {"error": {"message": "param", "code": 100}}
        bot.platforms.fail_next("/me/messages", 400, refusal, times=50)
        post_all(bot, ["retry-1"])
        wait_until(lambda: count(bot, OutboxMessage, OutboxMessage.status == "failed"), timeout=20)
        wait_until(
            lambda: count(bot, OutboxMessage, OutboxMessage.status.in_(("pending", "working"))) == 0
        )
        failed = count(bot, OutboxMessage, OutboxMessage.status == "failed")
        bot.platforms.clear()
        monkeypatch.setenv("DATABASE_URL", bot.settings.DATABASE_URL)
        from bot.settings import get_settings

        get_settings.cache_clear()
        try:
            result = CliRunner().invoke(
                cli, ["outbox", "retry", "--failed", "--since", "2020-01-01"]
            )
        finally:
            get_settings.cache_clear()
        assert result.exit_code == 0, result.output
        assert f"{failed} failed" in result.output
        wait_until(lambda: count(bot, OutboxMessage, OutboxMessage.status == "sent") == failed)
        assert len(bot.platforms.messenger("retry-1")) == failed


def test_an_invalid_token_opens_the_channel_breaker_and_keeps_replies(
    make_bot: BotFactory,
) -> None:
    with make_bot(BREAKER_SECONDS=1.0) as bot:
        invalid = {"error": {"message": "Invalid OAuth access token.", "code": 190}}
        # Every send in flight is refused, as with a revoked token.
        bot.platforms.fail_next("/me/messages", 400, invalid, times=3)
        post_all(bot, ["breaker-1", "breaker-2", "breaker-3"])
        wait_until(lambda: count(bot, ChannelBreaker) == 1, timeout=10)
        ready = bot.client.get(f"{bot.url}/readyz").json()
        assert "Invalid OAuth" in ready["work"]["open_breakers"]["messenger"]
        assert count(bot, OutboxMessage, OutboxMessage.status == "failed") == 0
        answered(bot, ["breaker-1", "breaker-2", "breaker-3"], timeout=15)
        wait_until(lambda: count(bot, ChannelBreaker) == 0)
        assert count(bot, OutboxMessage, OutboxMessage.status == "failed") == 0


def test_a_mixed_batch_stores_and_answers_the_good_items(bot: RunningBot) -> None:
    good = [messenger_text(f"mixed-{i}", "hello") for i in range(5)]
    no_mid = {"sender": {"id": "mixed-bad"}, "message": {"text": "no mid"}}
    odd_sender = {"sender": {"id": {"nested": 1}}, "message": {"mid": "m.bad", "text": "x"}}
    response = bot.post_messenger(messenger_body(good[0], no_mid, good[1], odd_sender, *good[2:]))
    assert response.status_code == 200
    assert count(bot, InboundEvent) == 5
    answered(bot, [f"mixed-{i}" for i in range(5)], timeout=20)


def test_a_300_character_id_is_stored_and_answered_once(bot: RunningBot) -> None:
    mid = "m." + "x" * 298
    body = messenger_body(messenger_text("long-id", "hello", mid=mid))
    assert bot.post_messenger(body).status_code == 200
    assert bot.post_messenger(body).status_code == 200  # redelivered: stored once
    answered(bot, ["long-id"], timeout=20)
    assert count(bot, InboundEvent) == 1


def test_odd_fields_are_answered_and_odd_json_is_refused(bot: RunningBot) -> None:
    stamp = messenger_text("odd-stamp", "hello")
    stamp["timestamp"] = "yesterday"
    assert bot.post_messenger(messenger_body(stamp)).status_code == 200
    raw = json.dumps(messenger_body(messenger_text("lone-surrogate", "hi X"))).replace(
        "hi X", "hi \\ud800"
    )
    lone = bot.client.post(
        f"{bot.url}/webhooks/messenger",
        content=raw.encode(),
        headers={"x-hub-signature-256": sign_messenger(raw.encode())},
    )
    assert lone.status_code == 200
    answered(bot, ["odd-stamp", "lone-surrogate"], timeout=20)
    for odd in (b"[" * 100_000 + b"]" * 100_000, b'{"object": "page", "entry": "x"}', b"\xff\xfe"):
        response = bot.client.post(
            f"{bot.url}/webhooks/messenger",
            content=odd,
            headers={"x-hub-signature-256": sign_messenger(odd)},
        )
        assert response.status_code == 400, odd[:20]


async def test_a_stalled_worker_whose_lease_expired_does_not_send_twice(
    make_bot: BotFactory,
) -> None:
    with make_bot(run_workers=False) as bot:
        channels = build_channels(bot.settings)
        with bot.db.session() as session:
            user = User(channel="messenger", address="stalled")
            session.add(user)
            session.flush()
            outbox.enqueue(session, user, [Reply("one reply")], channels["messenger"])

        def sender() -> Sender:
            return Sender(bot.db, channels, backoff_seconds=0.05, lease_seconds=0.3)

        stalled = outbox.claim(bot.db, 0.3)
        time.sleep(0.5)  # the first worker stalls past its lease
        taken_over = outbox.claim(bot.db, 30)
        assert stalled is not None and taken_over is not None
        await sender().deliver(taken_over)
        await sender().deliver(stalled)  # the stalled worker wakes up
        assert len(bot.platforms.messenger("stalled")) == 1
        assert count(bot, OutboxMessage, OutboxMessage.status == "sent") == 1
        for channel in channels.values():
            await channel.aclose()
