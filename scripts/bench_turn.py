"""CPU a turn, alone: the worker's transaction for one message, without the HTTP around it.

End to end (`bench_throughput.py`) this 2-core machine's own speed drifts by a fifth within
minutes, so a change worth 5% of a turn does not show there. This measures what such a change
moves: `Handler.turn` (settle, sender, dialogue, effects, outbox) over `--messages` stored
events from as many people, with the real flows and the held-out texts parsed by the real NLU
server (parsed once, before timing), on a fresh database; the first `--warm-up` turns are not
counted. It prints the CPU a turn of this process (`time.process_time`) and, on PostgreSQL, of
the server's backends serving it (from /proc), and the wall time a turn.

    .venv/bin/python scripts/bench_turn.py --backend postgres [--messages 1200] [--rounds 3]

To compare two commits, run it in a `git worktree` of each in turn, alternating, with
`PYTHONPATH=.` (the venv's editable install points at one checkout).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_webhooks import PG_DSN, database_url, drop_database

from bot.channels import build_channels
from bot.db.migrate import upgrade
from bot.db.models import User
from bot.db.session import Database
from bot.dialogue import build_dialogue
from bot.messages import Inbound
from bot.pipeline import inbound
from bot.pipeline.inbound import Handler
from bot.services.seed import seed_if_empty
from bot.settings import Settings
from bot.understanding import build_understanding, nlu_env
from bot.understanding.base import Parse
from bot.understanding.evaluation import load_examples

HELDOUT = nlu_env.NLU_DIR / "tests" / "heldout.jsonl"
SCHEMA = "bench_turn"


async def _parsed(settings: Settings) -> list[tuple[str, str, Parse]]:
    """(language, text, parse) of every held-out line but "delete my data" (it erases)."""
    understanding = build_understanding(settings)
    try:
        return [
            (e.lang or "en", e.text, await understanding.parse(e.text))
            for e in load_examples(HELDOUT)
            if e.intent != "delete_my_data"
        ]
    finally:
        await understanding.aclose()


def _backend_seconds() -> float:
    """CPU seconds so far of the PostgreSQL backends of this benchmark's connections."""
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        pids = [
            row[0]
            for row in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (SCHEMA,)
            )
        ]
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def one_round(
    postgres: bool, parsed: list[tuple[str, str, Parse]], messages: int, warm_up: int
) -> dict[str, float]:
    url = database_url(postgres, SCHEMA)
    if postgres:
        url += f"&application_name={SCHEMA}"
    upgrade(url)
    settings = Settings(DATABASE_URL=url)
    db = Database(url, pre_ping=False)  # as a worker's
    try:
        said = [parsed[i % len(parsed)] for i in range(messages)]
        with db.session() as session:
            seed_if_empty(session)
            session.add_all(
                User(channel="messenger", address=f"p{i}", language=lang)
                for i, (lang, _, _) in enumerate(said)
            )
        now = int(time.time() * 1000)
        events = [
            Inbound("messenger", f"m{i}", "text", f"p{i}", text=text, timestamp_ms=now)
            for i, (_, text, _) in enumerate(said)
        ]
        with db.session() as session:
            inbound.store_new(session, events)
        parses = {f"p{i}": parse for i, (_, _, parse) in enumerate(said)}
        handler = Handler(db, None, build_dialogue(settings), build_channels(settings))  # type: ignore[arg-type]
        done, started = 0, (0.0, 0.0, 0.0)
        while batch := inbound.claim_many(db, 60, 8):
            for claimed in batch:
                if done == warm_up:
                    server = _backend_seconds() if postgres else 0.0
                    started = (time.process_time(), server, time.perf_counter())
                assert claimed.event is not None
                handler.turn(claimed.claim, claimed.event, parses[claimed.event.sender], 30)
                done += 1
        server = _backend_seconds() if postgres else 0.0
        ended = (time.process_time(), server, time.perf_counter())
        counted = done - warm_up
        spent = [1000 * (e - s) / counted for e, s in zip(ended, started, strict=True)]
        client, backends, wall = spent
        return {"turns": counted, "client_ms": client, "server_ms": backends, "wall_ms": wall}
    finally:
        db.dispose()
        drop_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="postgres")
    parser.add_argument("--messages", type=int, default=1200)
    parser.add_argument("--warm-up", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for name in ("MESSENGER_APP_SECRET", "MESSENGER_PAGE_TOKEN", "MESSENGER_VERIFY_TOKEN"):
        os.environ.setdefault(name, "bench")  # the channel's rules (cuts, windows) apply
    nlu = nlu_env.start_server(nlu_env.free_port(), token="", model=nlu_env.ensure_model())
    try:
        parsed = asyncio.run(_parsed(Settings(RASA_URL=nlu.url, RASA_TOKEN="")))
    finally:
        nlu.stop()
    random.Random(5).shuffle(parsed)
    for _ in range(args.rounds):
        result = one_round(args.backend == "postgres", parsed, args.messages, args.warm_up)
        print(json.dumps({k: round(v, 3) for k, v in result.items()}), flush=True)


if __name__ == "__main__":
    main()
