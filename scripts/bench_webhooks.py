"""Webhook acknowledgement latency, and proof that every message got exactly one reply.

Runs `safestep serve` in its own process on a loopback port against the fake Graph API (served
by this process), sends N signed Messenger messages from N distinct users at a given
concurrency, then waits for the pipeline to drain.

    .venv/bin/python scripts/bench_webhooks.py --messages 1000 --concurrency 20 [--postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("PSEUDONYM_KEY", "bench")
os.environ.setdefault("DATA_KEY", "mNRYSmS0bLfWqGq9Nw4xNwNNfK2VSBBnInJtdXk7JWs=")
os.environ.setdefault("SESSION_SECRET", "bench")

import httpx
import psycopg
from bench_http import Client
from sqlalchemy import func, select

from bot.db.migrate import upgrade
from bot.db.models import InboundEvent, OutboxMessage, User
from bot.db.session import Database
from tests.fixtures.bot import (
    APP_SECRET,
    messenger_body,
    messenger_text,
    settled,
    sign_messenger,
)
from tests.fixtures.fake_platforms import FakePlatforms
from tests.fixtures.servers import free_port, serve, wait_until

TEXTS = ["hello", "I need a hotline", "is RL-1024 licensed?", "tips about fees", "menu"]


PG_DSN = "host=127.0.0.1 user=postgres dbname=test"


def database_url(postgres: bool, schema: str = "bench_webhooks") -> str:
    """A new, empty database: a SQLite file in a fresh temporary directory, or `schema`
    (dropped first) on the local PostgreSQL."""
    if not postgres:
        return f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.execute(f"CREATE SCHEMA {schema}")
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"


def drop_database(url: str) -> None:
    """Remove what `database_url` made: the SQLite file's directory, or the schema."""
    if url.startswith("sqlite:///"):
        shutil.rmtree(Path(url.removeprefix("sqlite:///")).parent, ignore_errors=True)
        return
    schema = url.rsplit("search_path%3D", 1)[1].split("&", 1)[0]
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


async def send_all(url: str, n: int, concurrency: int) -> tuple[list[float], list[int]]:
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    statuses: list[int] = []
    async with Client(url) as client:

        async def one(i: int) -> None:
            raw = json.dumps(
                messenger_body(messenger_text(f"bench-{i}", TEXTS[i % len(TEXTS)]))
            ).encode()
            headers = {
                "x-hub-signature-256": sign_messenger(raw),
                "content-type": "application/json",
            }
            async with gate:
                start = time.perf_counter()
                response = await client.post("/webhooks/messenger", raw, headers)
                latencies.append(time.perf_counter() - start)
                statuses.append(response.status)

        await asyncio.gather(*(one(i) for i in range(n)))
    return latencies, statuses


def app_env(url: str, fake_url: str) -> dict[str, str]:
    """The bot's environment: this database, Messenger pointed at the fake Graph API, and
    this checkout's `bot` first on the path (the venv's editable install may be another)."""
    root = str(Path(__file__).resolve().parent.parent)
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
        "DATABASE_URL": url,
        "MESSENGER_APP_SECRET": APP_SECRET,
        "MESSENGER_PAGE_TOKEN": "bench",
        "MESSENGER_GRAPH_URL": fake_url,
        "RASA_URL": os.environ.get("RASA_URL", "http://127.0.0.1:9"),
        "LOG_LEVEL": "WARNING",
    }


@contextmanager
def app_process(env: dict[str, str], command: Sequence[str] = ("serve",)) -> Iterator[str]:
    """`safestep <command> --port P` on a free port, until the block ends; yields its URL."""
    port = free_port()
    safestep = Path(sys.executable).parent / "safestep"
    process = subprocess.Popen([str(safestep), *command, "--port", str(port)], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _up(url), timeout=60, interval=0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz").status_code == 200
    except httpx.HTTPError:
        return False


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()

    url = database_url(args.postgres)
    upgrade(url)
    fake = FakePlatforms()
    with serve(fake.app()) as fake_url:
        env = app_env(url, fake_url)
        with app_process(env) as app_url:
            started = time.perf_counter()
            latencies, statuses = asyncio.run(send_all(app_url, args.messages, args.concurrency))
            acked = time.perf_counter() - started
            db = Database(url)

            wait_until(lambda: settled(db), timeout=600, interval=0.5)
            total = time.perf_counter() - started
            with db.sessions() as s:
                per_event = dict(
                    s.execute(
                        select(OutboxMessage.inbound_id, func.count()).group_by(
                            OutboxMessage.inbound_id
                        )
                    ).all()
                )
                events = s.scalars(select(InboundEvent.id)).all()
                per_user = dict(
                    s.execute(
                        select(User.address, func.count())
                        .join(OutboxMessage, OutboxMessage.user_id == User.id)
                        .group_by(User.address)
                    ).all()
                )
    received: dict[str, int] = {}
    for r in fake.messenger():
        received[r.body["recipient"]["id"]] = received.get(r.body["recipient"]["id"], 0) + 1
    every_event_answered = len(events) == args.messages and all(per_event.get(e) for e in events)
    exactly_once = received == per_user
    print(f"database: {'postgresql' if args.postgres else 'sqlite'}; nlu: {env['RASA_URL']}")
    print(f"messages: {args.messages} at concurrency {args.concurrency}; statuses: {set(statuses)}")
    print(
        f"ack latency: p50 {percentile(latencies, 50) * 1000:.1f} ms, "
        f"p99 {percentile(latencies, 99) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms; "
        f"all acked in {acked:.1f} s"
    )
    print(f"drained (every reply sent) after {total:.1f} s")
    print(
        f"every message answered: {every_event_answered}; "
        f"each reply delivered exactly once: {exactly_once}"
    )
    print(f"messages per turn: {sorted(set(per_event.values()))}")
    sys.exit(0 if every_event_answered and exactly_once and set(statuses) == {200} else 1)


if __name__ == "__main__":
    main()
