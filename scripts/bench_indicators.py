"""Time the O1.1.3 report over millions of synthetic analytics events (not a test).

    .venv/bin/python scripts/bench_indicators.py --events 1000000 10000000 \
        --backend sqlite postgresql

Each run fills a fresh database (a SQLite file in a temporary directory, or a schema of its
own in PostgreSQL at 127.0.0.1:5432, database `test`, dropped afterwards) with a year of
events in visit-like bursts (one person, one month, a few taps), builds the monthly roll-up
and the indicator's membership and counter tables the way `analytics.record` keeps them (in
bulk: `indicator_counts.rebuild`, what a report does when the counters are stale), and times
the report as of December: the year on a first run, the year again, and December alone.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("PSEUDONYM_KEY", "bench")
os.environ.setdefault("DATA_KEY", "mNRYSmS0bLfWqGq9Nw4xNwNNfK2VSBBnInJtdXk7JWs=")
os.environ.setdefault("SESSION_SECRET", "bench")

import psycopg
from sqlalchemy import text

from bot.db.migrate import upgrade
from bot.db.models import AnalyticsEvent
from bot.db.session import Database
from bot.services import indicator_counts, indicators
from bot.settings import get_settings

PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
COLUMNS = ("user_key", "key_version", "channel", "language", "country", "intent", "flow",
           "step", "resource", "month", "occurred_at")  # fmt: skip
# Weighted like real use: most taps are menus and questions (no resource), tips the most used.
RESOURCES = [None] * 8 + [
    "tips:fees", "tips:documents", "tips:contract", "tips:rights", "tips:job_offer",
    "tips:fees", "tips:rights", "hotline:TH:anti_trafficking", "hotline:TH:labour",
    "hotline:MY:emergency", "hotline:KH:urgent", "escalation:urgent",
    "escalation:talk_to_person", "licence_check:BD:found", "licence_check:BD:not_found",
    "licence_check:MM:suspended", "escalation:misunderstood",
]  # fmt: skip
LANGUAGES = ["my", "km", "bn", "en", None]
COUNTRIES = ["TH", "MY", "MM", "KH", "BD", "SA", None, None]
CHUNK = 200_000


def _events(total: int, seed: int = 7) -> Iterator[list[tuple[object, ...]]]:
    """Rows in chunks: visits of 1-10 events by ~total/15 people over 12 months of 2026."""
    rng = random.Random(seed)
    people = max(total // 15, 1)
    keys = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(people)]
    chunk: list[tuple[object, ...]] = []
    made = 0
    while made < total:
        person = rng.randrange(people)
        month = rng.randint(1, 12)
        at = datetime(2026, month, rng.randint(1, 28), rng.randint(0, 23), tzinfo=UTC)
        channel = "viber" if person % 3 == 0 else "messenger"
        language, country = LANGUAGES[person % 5], COUNTRIES[person % 8]
        for _ in range(min(rng.randint(1, 10), total - made)):
            resource = rng.choice(RESOURCES)
            chunk.append((keys[person], "2026", channel, language, country, None, "bench",
                          "step", resource, f"2026-{month:02d}", at))  # fmt: skip
            made += 1
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


ROLL_UP = """
INSERT INTO analytics_monthly (month, resource, user_key, channel, language, country,
                               interactions)
SELECT month, resource, user_key, channel, COALESCE(language, ''), COALESCE(country, ''),
       COUNT(*)
FROM analytics_events WHERE resource IS NOT NULL
GROUP BY month, resource, user_key, channel, COALESCE(language, ''), COALESCE(country, '')
"""
DEMOGRAPHICS = """
INSERT INTO demographics (user_key, key_version, sex, updated_at)
SELECT user_key, '2026',
       CASE substr(user_key, 1, 1) WHEN '0' THEN 'female' WHEN '1' THEN 'female'
            WHEN '2' THEN 'male' WHEN '3' THEN 'other' ELSE 'not_stated' END,
       CURRENT_TIMESTAMP
FROM analytics_events GROUP BY user_key HAVING substr(user_key, 2, 1) < '8'
"""


def _fill_sqlite(path: str, total: int) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    insert = (
        f"INSERT INTO analytics_events ({', '.join(COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(COLUMNS))})"
    )
    for chunk in _events(total):
        conn.execute("BEGIN")
        conn.executemany(insert, [(*r[:10], r[10].isoformat(sep=" ")) for r in chunk])
        conn.execute("COMMIT")
    conn.close()


def _fill_postgres(schema: str, total: int) -> None:
    with psycopg.connect(PG_DSN, options=f"-csearch_path={schema}") as conn:
        with (
            conn.cursor() as cur,
            cur.copy(f"COPY analytics_events ({', '.join(COLUMNS)}) FROM STDIN") as copy,
        ):
            for chunk in _events(total):
                for row in chunk:
                    copy.write_row(row)
        conn.commit()


def _time(label: str, work) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    work()
    seconds = time.perf_counter() - started
    print(f"  {label}: {seconds:.2f} s", flush=True)
    return seconds


def bench(backend: str, total: int) -> None:
    print(f"{backend}, {total:,} events", flush=True)
    schema = f"bench_indicators_{os.getpid()}"
    with tempfile.TemporaryDirectory() as tmp:
        if backend == "sqlite":
            path = str(Path(tmp) / "bench.db")
            url = f"sqlite:///{path}"
        else:
            with psycopg.connect(PG_DSN, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
                conn.execute(f"CREATE SCHEMA {schema}")
            url = (
                "postgresql+psycopg://postgres@127.0.0.1:5432/test"
                f"?options=-csearch_path%3D{schema}"
            )
        try:
            upgrade(url)
            db = Database(url)
            indexes = list(AnalyticsEvent.__table__.indexes)
            for index in indexes:  # bulk load first, index once
                index.drop(db.engine)
            if backend == "sqlite":
                _time("fill events (executemany)", lambda: _fill_sqlite(path, total))
            else:
                _time("fill events (COPY)", lambda: _fill_postgres(schema, total))

            def finish() -> None:
                with db.session() as session:
                    session.execute(text(ROLL_UP))
                    session.execute(text(DEMOGRAPHICS))
                for index in indexes:
                    index.create(db.engine)
                with db.engine.connect() as conn:
                    conn.execute(text("ANALYZE"))
                    conn.commit()

            _time("roll-up, demographics, indexes, ANALYZE", finish)
            settings = get_settings()

            def count() -> None:
                config = indicators.load_config(settings.INDICATORS_FILE)
                with db.session() as session:
                    indicator_counts.rebuild(session, config, settings.REPORTING_YEAR_START)
                with db.engine.connect() as conn:
                    conn.execute(text("ANALYZE"))
                    conn.commit()

            _time("indicator members and counters (bulk), ANALYZE", count)
            with db.sessions() as session:
                for table in ("analytics_monthly", "indicator_members", "indicator_counts"):
                    rows = session.scalar(text(f"SELECT COUNT(*) FROM {table}"))
                    print(f"  {table} rows: {rows:,}", flush=True)
            december = datetime(2026, 12, 20, tzinfo=UTC)  # the current month of the runs
            runs = (
                ("report 2026-01..2026-12, first run", "2026-01"),
                ("report 2026-01..2026-12 again", "2026-01"),
                ("report 2026-12 alone", "2026-12"),
            )
            for label, first in runs:
                with db.session() as session:
                    _time(
                        label,
                        lambda f=first, s=session: indicators.report(
                            s, f, "2026-12", settings, now=december
                        ),
                    )
            db.dispose()
        finally:
            if backend == "postgresql":
                with psycopg.connect(PG_DSN, autocommit=True) as conn:
                    conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000])
    parser.add_argument(
        "--backend", nargs="+", choices=("sqlite", "postgresql"), default=["sqlite", "postgresql"]
    )
    args = parser.parse_args()
    for total in args.events:
        for backend in args.backend:
            bench(backend, total)


if __name__ == "__main__":
    main()
