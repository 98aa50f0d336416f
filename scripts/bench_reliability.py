"""Issue 12's figures: what a database hiccup, a platform outage and odd input cost.

Runs the app in this process on a loopback port against the fake platforms, the way the tests
do, and prints one line per scenario:

- sqlite-lock: another connection holds SQLite's write lock for --lock seconds; then N
  messages arrive: how many are answered within --wait seconds;
- pg-terminate: PostgreSQL backends of the app are terminated for --terminate seconds while
  messages arrive: how many acknowledged messages are still unanswered after --wait seconds;
- outage: the platform answers 503 for --outage seconds with the retry backoff scaled by
  --scale (0.05 s instead of 2 s: 15 s stands for 10 minutes): replies failed, and replies
  delivered after a later one to the same person;
- hang: eight users' sends hang (past the HTTP timeout); how long five others wait;
- fuzz: odd bodies (mixed batch, long id, bad timestamp, lone surrogate, deep nesting): status
  codes, and acknowledged messages left unanswered.

    .venv/bin/python scripts/bench_reliability.py [--only sqlite-lock,...] [--lock 35]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("ENVIRONMENT", "test")
os.environ.setdefault("PSEUDONYM_KEY", "bench")
os.environ.setdefault("DATA_KEY", "mNRYSmS0bLfWqGq9Nw4xNwNNfK2VSBBnInJtdXk7JWs=")
os.environ.setdefault("SESSION_SECRET", "bench")
os.environ.setdefault("RASA_URL", "http://127.0.0.1:9")

import httpx
import psycopg
from sqlalchemy import func, select

from bot.app import create_app
from bot.db.migrate import upgrade
from bot.db.models import InboundEvent, OutboxMessage
from bot.db.session import Database
from bot.settings import Settings
from tests.fixtures.bot import APP_SECRET, messenger_body, messenger_text, sign_messenger
from tests.fixtures.fake_platforms import FakePlatforms
from tests.fixtures.servers import serve

PG_DSN = "host=127.0.0.1 user=postgres dbname=test"
APP_NAME = f"bench_reliability_{os.getpid()}"


def sqlite_url() -> str:
    url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    upgrade(url)
    return url


def postgres_url() -> str:
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {APP_NAME} CASCADE")
        conn.execute(f"CREATE SCHEMA {APP_NAME}")
    url = (
        "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        f"?options=-csearch_path%3D{APP_NAME}&application_name={APP_NAME}"
    )
    upgrade(url)
    return url


class Bench:
    """The app, the fake platforms and a client, for one scenario."""

    def __init__(self, url: str, fake: FakePlatforms, fake_url: str, **settings: Any) -> None:
        self.url, self.fake = url, fake
        values = {
            "DATABASE_URL": url,
            "MESSENGER_APP_SECRET": APP_SECRET,
            "MESSENGER_VERIFY_TOKEN": "v",
            "MESSENGER_PAGE_TOKEN": "t",
            "MESSENGER_GRAPH_URL": fake_url,
            "WORKER_POLL_SECONDS": 0.2,
        }
        self.settings = Settings(**(values | settings))
        self.db = Database(url)
        self.client = httpx.Client(timeout=60)

    def post(self, body: dict[str, Any] | bytes) -> int:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"x-hub-signature-256": sign_messenger(raw)}
        try:
            return self.client.post(
                f"{self.base}/webhooks/messenger", content=raw, headers=headers
            ).status_code
        except httpx.HTTPError:
            return 0

    def say(self, user: str, text: str = "hello") -> bool:
        return self.post(messenger_body(messenger_text(user, text))) == 200

    def answered(self, users: list[str]) -> int:
        return sum(1 for u in users if self.fake.messenger(u))

    def count(self, model: type, *where: object) -> int:
        with self.db.sessions() as session:
            return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    def run(self, scenario: Callable[[Bench], str]) -> str:
        self.fake.clear()
        with serve(create_app(self.settings)) as base:
            self.base = base
            try:
                return scenario(self)
            finally:
                self.client.close()
                self.db.dispose()


def wait(predicate: Callable[[], bool], seconds: float) -> float | None:
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.2)
    return None


def sqlite_lock(args: argparse.Namespace) -> Callable[[Bench], str]:
    def scenario(bench: Bench) -> str:
        bench.say("warm-up")
        path = bench.url.removeprefix("sqlite:///")
        conn = sqlite3.connect(path, timeout=60, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        time.sleep(args.lock)
        conn.execute("ROLLBACK")
        conn.close()
        users = [f"after-lock-{i}" for i in range(args.messages)]
        acknowledged = [u for u in users if bench.say(u)]
        took = wait(lambda: bench.answered(acknowledged) == len(acknowledged), args.wait)
        return (
            f"sqlite-lock {args.lock:.0f}s: {len(acknowledged)}/{len(users)} acknowledged after, "
            f"{bench.answered(acknowledged)} answered within {args.wait:.0f}s"
            + (f" (all in {took:.1f}s)" if took is not None else "")
        )

    return scenario


def pg_terminate(args: argparse.Namespace) -> Callable[[Bench], str]:
    def scenario(bench: Bench) -> str:
        acknowledged: list[str] = []
        deadline = time.monotonic() + args.terminate
        with psycopg.connect(PG_DSN, autocommit=True) as admin:
            i = 0
            while time.monotonic() < deadline:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = %s AND pid <> pg_backend_pid()",
                    (APP_NAME,),
                )
                for _ in range(4):
                    user = f"pg-{i}"
                    i += 1
                    if bench.say(user):
                        acknowledged.append(user)
                time.sleep(0.05)
        wait(lambda: bench.answered(acknowledged) == len(acknowledged), args.wait)
        pending = len(acknowledged) - bench.answered(acknowledged)
        return (
            f"pg-terminate {args.terminate:.0f}s: {len(acknowledged)} acknowledged, "
            f"{pending} still unanswered after {args.wait:.0f}s"
        )

    return scenario


def outage(args: argparse.Namespace) -> Callable[[Bench], str]:
    def scenario(bench: Bench) -> str:
        bench.fake.down(args.outage)
        users = [f"outage-{i}" for i in range(30)]
        for text in ("hello", "menu"):
            for user in users:
                bench.say(user, text)
        time.sleep(args.outage)
        wait(
            lambda: (
                bench.count(OutboxMessage, OutboxMessage.status.in_(("pending", "working"))) == 0
                and bench.count(InboundEvent, InboundEvent.status != "done") == 0
            ),
            args.wait,
        )
        total = bench.count(OutboxMessage)
        failed = bench.count(OutboxMessage, OutboxMessage.status == "failed")
        with bench.db.sessions() as session:
            rows = session.execute(
                select(OutboxMessage.user_id, OutboxMessage.status).order_by(OutboxMessage.id)
            ).all()
        overtaken = 0
        seen_failed: set[int] = set()
        for user_id, status in rows:
            if status == "failed":
                seen_failed.add(user_id)
            elif status == "sent" and user_id in seen_failed:
                overtaken += 1
        minutes = args.outage / args.scale / 60
        return (
            f"outage {args.outage:.0f}s at backoff x{args.scale} (= {minutes:.0f} min): "
            f"{failed}/{total} replies failed, {overtaken} delivered after a failed earlier one"
        )

    return scenario


def hang(args: argparse.Namespace) -> Callable[[Bench], str]:
    def scenario(bench: Bench) -> str:
        slow = [f"hang-{i}" for i in range(8)]
        for user in slow:
            bench.fake.hang(user, 30)
            bench.say(user)
        time.sleep(1)  # their sends are in hand, and hanging
        others = [f"other-{i}" for i in range(5)]
        for user in others:
            bench.say(user)
        took = wait(lambda: bench.answered(others) == len(others), args.wait)
        shown = f"{took:.1f}s" if took is not None else f"more than {args.wait:.0f}s"
        return f"hang: with 8 users whose sends hang, 5 other users answered in {shown}"

    return scenario


def fuzz(args: argparse.Namespace) -> Callable[[Bench], str]:
    def scenario(bench: Bench) -> str:
        good = [messenger_text(f"fuzz-good-{i}", "hello") for i in range(5)]
        bad = {"sender": {"id": "fuzz-bad"}, "message": {"text": "no mid"}}
        stamp = messenger_text("fuzz-stamp", "hello")
        stamp["timestamp"] = "yesterday"
        lone = json.dumps(messenger_body(messenger_text("fuzz-lone", "hi X"))).replace(
            "hi X", "hi \\ud800"
        )
        cases: dict[str, tuple[bytes | dict[str, Any], list[str]]] = {
            "mixed batch": (
                messenger_body(*good[:3], bad, *good[3:]),
                [f"fuzz-good-{i}" for i in range(5)],
            ),
            "300-char id": (
                messenger_body(messenger_text("fuzz-long", "hello", mid="m." + "x" * 298)),
                ["fuzz-long"],
            ),
            "text timestamp": (messenger_body(stamp), ["fuzz-stamp"]),
            "lone surrogate": (lone.encode(), ["fuzz-lone"]),
            "nested JSON": (b"[" * 100_000 + b"]" * 100_000, []),
        }
        statuses = {name: bench.post(body) for name, (body, _) in cases.items()}
        expected = [u for name, (_, users) in cases.items() if statuses[name] == 200 for u in users]
        wait(lambda: bench.answered(expected) == len(expected), args.wait)
        lost = len(expected) - bench.answered(expected)
        shown = ", ".join(f"{name}={status}" for name, status in statuses.items())
        good_lost = 5 - bench.answered([f"fuzz-good-{i}" for i in range(5)])
        return f"fuzz: {shown}; acknowledged unanswered: {lost}; good batch items lost: {good_lost}"

    return scenario


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="sqlite-lock,pg-terminate,outage,hang,fuzz")
    parser.add_argument("--lock", type=float, default=35.0)
    parser.add_argument("--terminate", type=float, default=3.0)
    parser.add_argument("--outage", type=float, default=15.0)
    parser.add_argument("--scale", type=float, default=1 / 40)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--wait", type=float, default=60.0)
    args = parser.parse_args()
    fake = FakePlatforms()
    scenarios = {
        "sqlite-lock": (sqlite_url, sqlite_lock, {}),
        "pg-terminate": (postgres_url, pg_terminate, {}),
        "outage": (sqlite_url, outage, {"OUTBOX_BACKOFF_SECONDS": 2.0 * args.scale}),
        "hang": (sqlite_url, hang, {}),
        "fuzz": (postgres_url, fuzz, {}),
    }
    with serve(fake.app()) as fake_url:
        for name in args.only.split(","):
            make_url, make, settings = scenarios[name]
            bench = Bench(make_url(), fake, fake_url, **settings)
            print(bench.run(make(args)), flush=True)


if __name__ == "__main__":
    main()
