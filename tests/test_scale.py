"""Two web and two worker processes on one PostgreSQL database, one worker killed mid-run.

Real `safestep serve --no-workers` and `safestep worker` subprocesses; the fake Graph API runs
in this process. Every message gets exactly one stored answer, delivered in order per user.

Delivery is at least once: a worker killed after the platform accepted a reply but before its
commit recorded it cannot know, and neither Messenger nor Viber takes an idempotency key, so
the reply goes out again once its lease ends. Losing it instead would leave a person without
an answer. The test allows exactly that repeat and nothing else.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from bot.db.models import InboundEvent, OutboxMessage, User
from bot.db.session import Database
from tests.fixtures.bot import (
    APP_SECRET,
    messenger_body,
    messenger_text,
    settled,
    sign_messenger,
)
from tests.fixtures.database import _fresh_postgres
from tests.fixtures.fake_platforms import FakePlatforms
from tests.fixtures.servers import free_port, wait_until

SAFESTEP = str(Path(sys.executable).with_name("safestep"))
pytestmark = pytest.mark.postgres


def _start(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [SAFESTEP, *args, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(up, timeout=60, interval=0.2)
    return process, url


@pytest.fixture
def cluster(
    postgres_available: None, platforms: tuple[FakePlatforms, str]
) -> Iterator[tuple[list[str], list[subprocess.Popen[bytes]], Database, FakePlatforms]]:
    fake, fake_url = platforms
    fake.clear()
    url = _fresh_postgres()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "MESSENGER_APP_SECRET": APP_SECRET,
        "MESSENGER_VERIFY_TOKEN": "v",
        "MESSENGER_PAGE_TOKEN": "test-page-token",
        "MESSENGER_GRAPH_URL": fake_url,
        "LEASE_SECONDS": "3",
        "WORKER_POLL_SECONDS": "0.5",
        "OUTBOX_BACKOFF_SECONDS": "0.1",
        "DB_POOL_SIZE": "2",
        "DB_MAX_OVERFLOW": "2",
    }
    processes: list[subprocess.Popen[bytes]] = []
    try:
        webs = []
        for _ in range(2):
            process, web = _start(["serve", "--no-workers"], env)
            processes.append(process)
            webs.append(web)
        workers = [_start(["worker"], env)[0] for _ in range(2)]
        processes += workers
        db = Database(url)
        yield webs, workers, db, fake
        db.dispose()
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def test_two_webs_two_workers_one_killed_every_message_answered_once_in_order(
    cluster: tuple[list[str], list[subprocess.Popen[bytes]], Database, FakePlatforms],
) -> None:
    webs, workers, db, fake = cluster
    users = [f"scale-{i}" for i in range(8)]
    texts = ["hello", "menu", "hotline", "fees"]
    killed_at = 0.0
    with httpx.Client(timeout=30) as client:
        for round_number, text in enumerate(texts):
            for n, user in enumerate(users):
                raw = messenger_body(messenger_text(user, text))
                body = httpx.Request("POST", "/", json=raw).content
                answer = client.post(
                    f"{webs[(n + round_number) % 2]}/webhooks/messenger",
                    content=body,
                    headers={
                        "x-hub-signature-256": sign_messenger(body),
                        "content-type": "application/json",
                    },
                )
                assert answer.status_code == 200
            if round_number == 1:
                os.killpg(workers[0].pid, signal.SIGKILL)  # mid-run, work in hand
                killed_at = time.monotonic()

    wait_until(lambda: settled(db), timeout=90, interval=0.5)
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(InboundEvent)) == len(users) * len(
            texts
        )
        rows = session.execute(
            select(User.address, OutboxMessage.inbound_id, OutboxMessage.external_id)
            .join(User, User.id == OutboxMessage.user_id)
            .order_by(OutboxMessage.id)
        ).all()
    for user in users:
        mine = [row for row in rows if row.address == user]
        # Every message answered, each answer after the one before.
        inbound_ids = [row.inbound_id for row in mine]
        assert len(set(inbound_ids)) == len(texts)
        assert inbound_ids == sorted(inbound_ids)
        stored = [row.external_id for row in mine]
        received = fake.messenger(user)
        repeats = [r for r in received if r.answer_id not in stored]
        assert len(repeats) <= 1  # a user's replies go out one at a time
        for repeat in repeats:
            # Only a reply in flight when the worker died goes out twice: the same message,
            # its recorded copy right after it.
            assert repeat.at < killed_at + 1.0
            later = received[received.index(repeat) + 1 :]
            assert later and later[0].answer_id in stored
            assert later[0].body["message"] == repeat.body["message"]
        # The platform got each stored reply one time, in the stored order.
        assert [r.answer_id for r in received if r not in repeats] == stored
