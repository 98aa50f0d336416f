"""Turns per second: SafeStep end to end against the NLU it waits on and a plain Rasa assistant.

Issue 13's yardstick (a measurement, not a test). Per backend (a fresh SQLite file, and/or a
fresh schema on the local PostgreSQL, removed afterwards) it prints three rows on the same
held-out texts (`nlu/tests/heldout.jsonl`):

1. Rasa `/model/parse` alone on SafeStep's model: the best of concurrency 1, 4 and 8 (the
   texts cycled to at least 1000 parses per concurrency, Rasa keeps no cache);
2. a plain Rasa assistant (`bot/understanding/plain_assistant.py`: the same NLU config and
   data, a RulePolicy answering each intent with one response) through Rasa's REST channel,
   at --concurrency, each user's messages in order;
3. SafeStep end to end: signed Messenger webhooks at --concurrency, sent (and their acks
   timed) by a process of their own, into `safestep serve` (a subprocess; `--app-command` to
   run another), NLU, flow, and the reply received by the fake Graph API in this process;
   turns/s = messages / (first POST -> last reply received).

plus webhook ack p50/p99 during row 3 (with --concurrency requests always in flight, a closed
loop, an ack takes about concurrency / the web's own throughput, so this is a burst test; with
`--arrivals R` a second set of messages arrives at R a second whatever the acks take, as people's
messages reach the platforms, and its acks are timed on their own row), replies per second,
and the check that every message was answered exactly once and in order per user (missing /
duplicate / out-of-order counts; the exit status is 1 when any is non-zero or a webhook was not
acknowledged with 200). Users are
seeded with a language, so the run measures ordinary turns, not the language choice.

Every row sends with `bench_http.Client`, a lean HTTP/1.1 client: an httpx sender spent 3.7 ms
of CPU a webhook, five times what the web spent acknowledging it, on the cores it measured.

Both Rasa servers are started once (models trained only when their inputs change, cached under
$SAFESTEP_NLU_HOME) and warmed up; SafeStep gets a few warm-up turns from other users first.

    .venv/bin/python scripts/bench_throughput.py --backend both [--messages 300|1000]
        [--users N] [--concurrency 20] [--arrivals 30] [--app-command run] [--repeat 3]
        [--cpu] [--json]

`--repeat N` measures all three rows N times per backend, one round after another, and shows
each figure's median; a ratio is the median of each round's own ratio (this machine's speed
drifts by a fifth within minutes, so rows measured minutes apart do not compare). `--cpu` adds
the CPU each turn cost each process during row 3's closed loop: SafeStep's web and workers, the
NLU server, PostgreSQL, and this benchmark's fake Graph API, read from /proc.

Baseline: the pipeline of main at 5a84822 (this script's first commits change nothing in it),
`.venv/bin/python scripts/bench_throughput.py --backend both [--messages 1000]`, on the 2 cores
shared with other sessions' Rasa training, test suites and benchmarks (load average 4-7 during
the runs, so every figure is low and noisy; compare runs made back to back):

| turns/s (c = concurrency)          | 300 sqlite | 300 pg     | 1000 sqlite | 1000 pg  |
|------------------------------------|------------|------------|-------------|----------|
| `/model/parse` alone, best c1/4/8  | 108-114    | 89-118     | 119         | 102      |
| plain Rasa assistant, REST, c20    | 81-90      | 43-52      | 93          | 78       |
| SafeStep end to end, c20           | 26-27      | 18-23      | 32          | 22       |
| SafeStep / parse alone             | 0.23-0.25x | 0.20x      | 0.27x       | 0.21x    |
| SafeStep / plain assistant         | 0.30-0.32x | 0.34-0.54x | 0.35x       | 0.28x    |
| webhook ack p50 (ms)               | 36-129     | 93-148     | 47          | 107      |
| webhook ack p99 (ms)               | 617-751    | 332-539    | 727         | 429      |
| replies/s                          | 27-29      | 19-25      | 33          | 23       |
| missing / duplicate / out of order | 0 / 0 / 0  | 0 / 0 / 0  | 0 / 0 / 0   | 0 / 0 / 0 |
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import shlex
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from itertools import pairwise
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_http import Client, Response
from bench_webhooks import app_env, app_process, database_url, drop_database, percentile
from sqlalchemy import func, select

from bot.db.models import Case, CaseMessage, InboundEvent, OutboxMessage, User
from bot.db.session import Database
from bot.services.seed import seed_if_empty
from bot.settings import Settings
from bot.understanding import nlu_env, plain_assistant
from bot.understanding.evaluation import load_examples
from tests.fixtures.bot import messenger_body, messenger_text, settled, sign_messenger
from tests.fixtures.fake_platforms import FakePlatforms
from tests.fixtures.servers import serve, wait_until

HELDOUT = nlu_env.NLU_DIR / "tests" / "heldout.jsonl"
PARSE_CONCURRENCIES = (1, 4, 8)
PARSE_AT_LEAST = 1000  # parses per concurrency: 300 alone take ~2 s, too short to be steady
WARM_UP = 20
SAFESTEP_BIN = str(Path(sys.executable).with_name("safestep"))


@dataclass(frozen=True)
class Message:
    """One user message of the run, in sending order; `mid` is its Messenger id."""

    user: str
    lang: str
    text: str
    mid: str


@dataclass
class Sent:
    """What the sender saw for one request: status (0 on a transport error), latency, and
    for the REST channel how many bot messages came back."""

    status: int
    seconds: float
    answers: int = 0


@dataclass
class Check:
    """Exactly once, in order: counts of what went wrong (all zero on a good run)."""

    missing: int = 0
    duplicate: int = 0
    out_of_order: int = 0
    not_acknowledged: int = 0
    to_staff: int = 0  # not an error: silent while a case is open, staff answer

    @property
    def ok(self) -> bool:
        return not (self.missing or self.duplicate or self.out_of_order or self.not_acknowledged)

    @classmethod
    def total(cls, checks: list[Check]) -> Check:
        """Every count added up over `checks`."""
        return cls(**{f.name: sum(getattr(c, f.name) for c in checks) for f in fields(cls)})


@dataclass
class BackendResult:
    backend: str
    parse_turns_s: dict[int, float] = field(default_factory=dict)
    plain_turns_s: float = 0.0
    plain_unanswered: int = 0
    safestep_turns_s: float = 0.0
    replies_s: float = 0.0
    replies: int = 0
    ack_p50_ms: float = 0.0
    ack_p99_ms: float = 0.0
    ack_max_ms: float = 0.0
    paced_ack_p50_ms: float = 0.0
    paced_ack_p99_ms: float = 0.0
    check: Check = field(default_factory=Check)
    cpu_ms: dict[str, float] = field(default_factory=dict)  # --cpu: CPU a turn, by role
    rounds: list[BackendResult] = field(default_factory=list)  # --repeat: each round's rows

    @property
    def parse_ratio(self) -> float:
        """SafeStep / parse alone; over rounds, the median of each round's own ratio (the
        machine's speed drifts between rounds, not within one)."""
        if self.rounds:
            return statistics.median(r.parse_ratio for r in self.rounds)
        return self.safestep_turns_s / max(self.parse_turns_s.values())

    @property
    def plain_ratio(self) -> float:
        if self.rounds:
            return statistics.median(r.plain_ratio for r in self.rounds)
        return self.safestep_turns_s / self.plain_turns_s


def median_of(rounds: list[BackendResult]) -> BackendResult:
    """One result from several rounds: each figure the median of the rounds', the checks
    added up (every round must be clean)."""
    if len(rounds) == 1:
        return rounds[0]

    def mid(value: Callable[[BackendResult], float]) -> float:
        return statistics.median(value(r) for r in rounds)

    return BackendResult(
        rounds[0].backend,
        parse_turns_s={c: mid(lambda r, c=c: r.parse_turns_s[c]) for c in rounds[0].parse_turns_s},
        plain_turns_s=mid(lambda r: r.plain_turns_s),
        plain_unanswered=sum(r.plain_unanswered for r in rounds),
        safestep_turns_s=mid(lambda r: r.safestep_turns_s),
        replies_s=mid(lambda r: r.replies_s),
        replies=round(mid(lambda r: r.replies)),
        ack_p50_ms=mid(lambda r: r.ack_p50_ms),
        ack_p99_ms=mid(lambda r: r.ack_p99_ms),
        ack_max_ms=max(r.ack_max_ms for r in rounds),
        paced_ack_p50_ms=mid(lambda r: r.paced_ack_p50_ms),
        paced_ack_p99_ms=mid(lambda r: r.paced_ack_p99_ms),
        check=Check.total([r.check for r in rounds]),
        cpu_ms={k: mid(lambda r, k=k: r.cpu_ms.get(k, 0.0)) for k in rounds[0].cpu_ms},
        rounds=rounds,
    )


# ---- the messages -------------------------------------------------------------------------


def plan(messages: int, users: int, tag: str, seed: int = 13) -> list[Message]:
    """`messages` held-out texts from `users` people, round robin, each person writing in one
    language (a shuffled mix of en, my incl. Zawgyi, km, bn). Without "delete my data": erasing
    a person deletes their stored replies, which the reply check compares against. `tag` makes
    user ids and mids unique to this run (the plain assistant keeps its trackers)."""
    examples = [e for e in load_examples(HELDOUT) if e.intent != "delete_my_data"]
    random.Random(seed).shuffle(examples)
    by_lang: dict[str, list[str]] = defaultdict(list)
    for example in examples:
        by_lang[example.lang or "en"].append(example.text)
    langs = [examples[u % len(examples)].lang or "en" for u in range(users)]
    used: Counter[str] = Counter()
    out = []
    for i in range(messages):
        u = i % users
        texts = by_lang[langs[u]]
        out.append(
            Message(f"{tag}-{u}", langs[u], texts[used[langs[u]] % len(texts)], f"m.{tag}.{i}")
        )
        used[langs[u]] += 1
    return out


def per_user(messages: list[Message]) -> dict[str, list[Message]]:
    grouped: dict[str, list[Message]] = defaultdict(list)
    for message in messages:
        grouped[message.user].append(message)
    return grouped


async def drive(
    url: str,
    messages: list[Message],
    concurrency: int,
    send: Callable[[Client, Message], Awaitable[Sent]],
) -> tuple[list[Sent], float]:
    """Send everything to `url` at `concurrency` requests in flight, each user's messages one
    after the other (a person waits for the ack before the next message); results and seconds
    taken."""
    gate = asyncio.Semaphore(concurrency)
    results: list[Sent] = []
    async with Client(url) as client:

        async def one_user(mine: list[Message]) -> None:
            for message in mine:
                async with gate:
                    results.append(await send(client, message))

        started = time.monotonic()
        await asyncio.gather(*(one_user(mine) for mine in per_user(messages).values()))
        return results, time.monotonic() - started


async def timed(request: Awaitable[Response]) -> tuple[Response, float]:
    started = time.monotonic()
    response = await request
    return response, time.monotonic() - started


# ---- rows 1 and 2: the Rasa servers -------------------------------------------------------


async def parse_rate(url: str, texts: list[str], concurrency: int) -> float:
    """Parses per second of `texts` through `/model/parse` at `concurrency` (keep-alive)."""
    pending = iter(texts)
    async with Client(url) as client:

        async def parse(text: str) -> None:
            response = await client.post_json("/model/parse", {"text": text})
            if response.status != 200:
                raise RuntimeError(f"/model/parse answered {response.status}")

        async def loop() -> None:
            for text in pending:
                await parse(text)

        for text in texts[:WARM_UP]:
            await parse(text)
        started = time.monotonic()
        await asyncio.gather(*(loop() for _ in range(concurrency)))
        return len(texts) / (time.monotonic() - started)


async def rest_turn(client: Client, message: Message) -> Sent:
    body = {"sender": message.user, "message": message.text}
    response, seconds = await timed(client.post_json("/webhooks/rest/webhook", body))
    answers = len(response.json()) if response.status == 200 else 0
    return Sent(response.status, seconds, answers)


async def plain_rate(url: str, messages: list[Message], concurrency: int) -> tuple[float, int]:
    """Turns per second of the plain assistant, and how many turns got no answer."""
    warm = [Message(f"warm-{i}", m.lang, m.text, "") for i, m in enumerate(messages[:WARM_UP])]
    await drive(url, warm, 4, rest_turn)
    results, seconds = await drive(url, messages, concurrency, rest_turn)
    return len(messages) / seconds, sum(1 for r in results if r.answers == 0)


# ---- row 3: SafeStep end to end -----------------------------------------------------------


def prepare_database(url: str, env: dict[str, str], messages: list[Message]) -> None:
    """Migrate with the CLI, load the starter directory, and create every user with their
    language already chosen (as after the first turn)."""
    subprocess.run([SAFESTEP_BIN, "db", "upgrade"], env=env, check=True, capture_output=True)
    db = Database(url)
    try:
        with db.session() as session:
            seed_if_empty(session)
            languages = {m.user: m.lang for m in messages}
            session.add_all(
                User(channel="messenger", address=user, language=lang)
                for user, lang in languages.items()
            )
    finally:
        db.dispose()


async def webhook_turn(client: Client, message: Message) -> Sent:
    raw = json.dumps(
        messenger_body(messenger_text(message.user, message.text, mid=message.mid))
    ).encode()
    headers = {"x-hub-signature-256": sign_messenger(raw), "content-type": "application/json"}
    response, seconds = await timed(client.post("/webhooks/messenger", raw, headers))
    return Sent(response.status, seconds)


def drained(db: Database, users: set[str], fake: FakePlatforms, seen: list[int]) -> bool:
    """The pipeline settled and the fake's count of replies stable over two polls (a reply in
    flight is counted before we stop)."""
    count = sum(1 for r in fake.messenger() if r.body["recipient"]["id"] in users)
    stable = bool(seen) and seen[-1] == count
    seen.append(count)
    return stable and settled(db)


def check_replies(db: Database, messages: list[Message], fake: FakePlatforms) -> Check:
    """Compare what the fake platform received with the stored replies of each message.

    missing: a message with no handled event, or none of whose replies reached the platform,
    unless the person's open case took it (the bot stays silent while staff have the chat:
    such messages, at most the case's incoming lines, count as `to_staff`);
    duplicate: a platform request beyond one per stored reply (a reply sent twice);
    out-of-order: a reply received before one of an earlier message (or earlier in its turn).
    """
    check = Check()
    with db.sessions() as session:
        events = dict(
            session.execute(
                select(InboundEvent.external_id, InboundEvent.id).where(
                    InboundEvent.channel == "messenger", InboundEvent.status == "done"
                )
            ).all()
        )
        rows = session.execute(
            select(OutboxMessage.id, OutboxMessage.inbound_id, OutboxMessage.external_id)
            .where(OutboxMessage.external_id.is_not(None))
            .order_by(OutboxMessage.id)
        ).all()
        case_lines = dict(
            session.execute(
                select(User.address, func.count())
                .join(Case, Case.user_id == User.id)
                .join(CaseMessage, CaseMessage.case_id == Case.id)
                .where(CaseMessage.direction == "in")
                .group_by(User.address)
            ).all()
        )
    turn_of = {events[m.mid]: i for i, m in enumerate(messages) if m.mid in events}
    stored = {row.external_id: row for row in rows}
    for user, mine in per_user(messages).items():
        received = [r.answer_id for r in fake.messenger(user)]
        matched = [stored[a] for a in received if a in stored]
        check.duplicate += len(received) - len({row.id for row in matched})
        order = [(turn_of.get(row.inbound_id, -1), row.id) for row in matched]
        check.out_of_order += sum(1 for a, b in pairwise(order) if b < a)
        answered = {row.inbound_id for row in matched}
        silent = sum(1 for m in mine if events.get(m.mid) not in answered)
        staff = min(silent, case_lines.get(user, 0))
        check.to_staff += staff
        check.missing += silent - staff
    return check


async def safestep_run(
    app_url: str,
    messages: list[Message],
    fake: FakePlatforms,
    db: Database,
    send: Callable[[str, list[Message], float], tuple[list[Sent], float]],
    pace: float,
) -> tuple[list[Sent], float, int]:
    """Row 3: acks, seconds from the first POST to the last reply received, reply count;
    `send` (`send_webhooks` at concurrency `pace`, or `send_paced` at `pace` a second)."""
    users = {m.user for m in messages}
    fake.clear()
    # The sender is a process of its own: sharing this one with the fake Graph API, it would
    # time the replies' arrival into the acknowledgements.
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        sending = pool.submit(send, app_url, messages, pace)
        results, started = await asyncio.wrap_future(sending)
    seen: list[int] = []
    await asyncio.to_thread(
        wait_until, lambda: drained(db, users, fake, seen), timeout=900, interval=0.5
    )
    times = [r.at for r in fake.messenger() if r.body["recipient"]["id"] in users]
    return results, (max(times) if times else time.monotonic()) - started, len(times)


def send_webhooks(
    app_url: str, messages: list[Message], concurrency: float
) -> tuple[list[Sent], float]:
    """Row 3's load, in the sender's process: the acks, and when (monotonic, the same clock
    in every process) the first request went out."""
    started = time.monotonic()
    results, _ = asyncio.run(drive(app_url, messages, int(concurrency), webhook_turn))
    return results, started


def send_paced(app_url: str, messages: list[Message], rate: float) -> tuple[list[Sent], float]:
    """Open loop: message i leaves at i / `rate` seconds, whatever the acks take (as Meta
    delivers what people write), a person's next message only after their last one's ack."""

    async def paced() -> list[Sent]:
        results: list[Sent] = []
        last: dict[str, asyncio.Task[None]] = {}
        async with Client(app_url) as c:
            start = time.monotonic()

            async def one(i: int, message: Message, before: asyncio.Task[None] | None) -> None:
                await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
                if before is not None:
                    await before
                results.append(await webhook_turn(c, message))

            for i, message in enumerate(messages):
                last[message.user] = asyncio.create_task(one(i, message, last.get(message.user)))
            await asyncio.gather(*last.values())
        return results

    started = time.monotonic()
    return asyncio.run(paced()), started


def warm_safestep(app_url: str, fake: FakePlatforms, db: Database, n: int = 5) -> None:
    """A few turns from other people first: the app's first turns load flows and connect."""
    warm = [Message(f"warm-{i}", "en", "hello", f"m.warm.{os.getpid()}.{i}") for i in range(n)]
    asyncio.run(drive(app_url, warm, n, webhook_turn))
    wait_until(lambda: all(fake.messenger(m.user) for m in warm), timeout=120, interval=0.2)


# ---- one backend --------------------------------------------------------------------------


def run_backend(
    backend: str, args: argparse.Namespace, nlu_url: str, plain_url: str, round_: int = 0
) -> BackendResult:
    """The three rows for one backend, the Rasa rows measured next to it in time."""
    tag = f"{backend}{os.getpid()}r{round_}"
    messages = plan(args.messages, args.users or args.messages, tag)
    result = BackendResult(backend)
    texts = [messages[i % len(messages)].text for i in range(max(len(messages), PARSE_AT_LEAST))]
    for concurrency in PARSE_CONCURRENCIES:
        result.parse_turns_s[concurrency] = asyncio.run(parse_rate(nlu_url, texts, concurrency))
    result.plain_turns_s, result.plain_unanswered = asyncio.run(
        plain_rate(plain_url, messages, args.concurrency)
    )
    safestep_row(result, messages, args, nlu_url)
    return result


def safestep_row(
    result: BackendResult, messages: list[Message], args: argparse.Namespace, nlu_url: str
) -> None:
    """Row 3 on a new database of `result.backend`, dropped afterwards."""
    url = database_url(result.backend == "postgres", schema=f"bench_throughput_{os.getpid()}")
    fake = FakePlatforms()
    try:
        with serve(fake.app()) as fake_url:
            env = {**app_env(url, fake_url), "RASA_URL": nlu_url, "RASA_TOKEN": ""}
            paced = plan(len(messages), len(messages), f"p{os.getpid()}") if args.arrivals else []
            prepare_database(url, env, messages + paced)
            db = Database(url)
            try:
                with app_process(env, shlex.split(args.app_command)) as app_url:
                    warm_safestep(app_url, fake, db)
                    before = cpu_by_role(app_url, args.nlu_pid) if args.cpu else {}
                    sent, seconds, replies = asyncio.run(
                        safestep_run(app_url, messages, fake, db, send_webhooks, args.concurrency)
                    )
                    if args.cpu:
                        after = cpu_by_role(app_url, args.nlu_pid)
                        result.cpu_ms = {
                            role: (after[role] - before.get(role, 0.0)) / len(messages) * 1000
                            for role in after
                        }
                    result.check = check_replies(db, messages, fake)
                    if paced:
                        acks, _, _ = asyncio.run(
                            safestep_run(app_url, paced, fake, db, send_paced, args.arrivals)
                        )
                        again = check_replies(db, paced, fake)
                        result.check.missing += again.missing
                        result.check.duplicate += again.duplicate
                        result.check.out_of_order += again.out_of_order
                        result.check.not_acknowledged += sum(1 for a in acks if a.status != 200)
                        result.paced_ack_p50_ms = percentile([a.seconds for a in acks], 50) * 1000
                        result.paced_ack_p99_ms = percentile([a.seconds for a in acks], 99) * 1000
            finally:
                db.dispose()
    finally:
        drop_database(url)
    latencies = [s.seconds for s in sent]
    result.check.not_acknowledged += sum(1 for s in sent if s.status != 200)
    result.safestep_turns_s = len(messages) / seconds
    result.replies, result.replies_s = replies, replies / seconds
    result.ack_p50_ms = percentile(latencies, 50) * 1000
    result.ack_p99_ms = percentile(latencies, 99) * 1000
    result.ack_max_ms = max(latencies) * 1000


# ---- CPU a turn (--cpu) --------------------------------------------------------------------

TICKS = os.sysconf("SC_CLK_TCK")


def _processes() -> dict[int, tuple[int, float, int, str]]:
    """Every process: pid -> (parent pid, CPU seconds so far, nice, command name)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                raw = stat.read()
        except OSError:  # ended meanwhile
            continue
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        cpu = (int(fields[11]) + int(fields[12])) / TICKS
        found[int(entry)] = (int(fields[1]), cpu, int(fields[16]), name)
    return found


def process_tree(processes: dict[int, tuple[int, float, int, str]], root: int) -> set[int]:
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, (parent, *_) in processes.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    return tree & set(processes)


def cpu_by_role(app_url: str, nlu_pid: int) -> dict[str, float]:
    """CPU seconds used so far by SafeStep's web and worker processes (the app's process tree;
    workers are the ones it lowered in priority), the NLU server, PostgreSQL's processes, and
    this benchmark's own process (the fake Graph API; not the sender, whose process start-up
    would count)."""
    processes = _processes()
    flag = f"--port\0{app_url.rsplit(':', 1)[1]}\0".encode()
    app = next(
        pid for pid in processes if flag in Path(f"/proc/{pid}/cmdline").read_bytes() + b"\0"
    )
    nice = processes[app][2]
    roles: dict[str, float] = defaultdict(float)
    for pid in process_tree(processes, app):
        roles["workers" if processes[pid][2] > nice else "web"] += processes[pid][1]
    roles["NLU"] = sum(processes[pid][1] for pid in process_tree(processes, nlu_pid))
    roles["PostgreSQL"] = sum(cpu for _, cpu, _, name in processes.values() if name == "postgres")
    mine = os.times()
    roles["benchmark"] = mine.user + mine.system
    return dict(roles)


# ---- output -------------------------------------------------------------------------------


def table(results: list[BackendResult], args: argparse.Namespace) -> str:
    names = [r.backend for r in results]
    head = f"| {'turns/s':<70} | " + " | ".join(f"{n:>12}" for n in names) + " |"
    lines = [
        f"{args.messages} messages from {args.users or args.messages} users at concurrency "
        f"{args.concurrency}; load average before: {args.load_before}",
        "",
        head,
        "|" + "-" * 72 + "|" + "|".join("-" * 14 for _ in names) + "|",
    ]

    def row(label: str, cell: Callable[[BackendResult], str]) -> None:
        lines.append(f"| {label:<70} | " + " | ".join(f"{cell(r):>12}" for r in results) + " |")

    def best(r: BackendResult) -> str:
        concurrency, rate = max(r.parse_turns_s.items(), key=lambda kv: kv[1])
        return f"{rate:.1f} (c{concurrency})"

    row("Rasa /model/parse alone on the same texts (best of concurrency 1/4/8)", best)
    row(
        "a plain Rasa assistant (same NLU, RulePolicy, REST channel)",
        lambda r: f"{r.plain_turns_s:.1f}",
    )
    row(
        "SafeStep end to end (webhook -> NLU -> flow -> reply at fake Graph)",
        lambda r: f"{r.safestep_turns_s:.1f}",
    )
    row("  SafeStep / parse alone", lambda r: f"{r.parse_ratio:.2f}x")
    row("  SafeStep / plain assistant", lambda r: f"{r.plain_ratio:.2f}x")
    row("webhook ack p50 / p99 (ms)", lambda r: f"{r.ack_p50_ms:.0f} / {r.ack_p99_ms:.0f}")
    if args.arrivals:
        row(
            f"  the same, arriving at {args.arrivals:g}/s (open loop, a second set)",
            lambda r: f"{r.paced_ack_p50_ms:.0f} / {r.paced_ack_p99_ms:.0f}",
        )
    if args.cpu:
        for role in ("web", "workers", "NLU", "PostgreSQL", "benchmark"):
            row(f"CPU a turn (ms), {role}", lambda r, role=role: f"{r.cpu_ms.get(role, 0):.2f}")
    row("replies per second (replies)", lambda r: f"{r.replies_s:.1f} ({r.replies})")
    row(
        "missing / duplicate / out of order / not acked",
        lambda r: (
            f"{r.check.missing}/{r.check.duplicate}/{r.check.out_of_order}/{r.check.not_acknowledged}"
        ),
    )
    row(
        "messages taken by an open case (staff answer; not an error)",
        lambda r: str(r.check.to_staff),
    )
    lines.append("")
    for r in results:
        rates = ", ".join(f"c{c} {v:.1f}" for c, v in r.parse_turns_s.items())
        lines.append(f"{r.backend}: parse {rates}; plain unanswered {r.plain_unanswered}")
        for i, x in enumerate(r.rounds, 1):
            lines.append(
                f"  round {i}: parse {max(x.parse_turns_s.values()):.1f}, plain "
                f"{x.plain_turns_s:.1f}, SafeStep {x.safestep_turns_s:.1f} "
                f"({x.parse_ratio:.2f}x, {x.plain_ratio:.2f}x), ack p99 {x.ack_p99_ms:.0f} ms"
            )
    lines.append(f"load average after: {args.load_after}")
    return "\n".join(lines)


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--users", type=int, default=0, help="default: one per message")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--app-command", default="serve", help="safestep subcommand for row 3")
    parser.add_argument(
        "--arrivals",
        type=float,
        default=0.0,
        help="also send a second set at this many messages a second (open loop) and time acks",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rounds per backend, each measuring all three rows; the table shows medians",
    )
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="also measure CPU a turn by process during row 3's closed loop (Linux /proc)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    # Stopped from outside, still stop the Rasa servers (their own process groups).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    # At the priority and on the core `safestep run` gives it (NLU_NICE, NLU_OWN_CORE); alone
    # on the machine (row 1), the same as any other.
    settings = Settings()
    nlu = nlu_env.start_server(
        nlu_env.free_port(),
        token="",
        model=nlu_env.ensure_model(),
        nice=settings.NLU_NICE,
        cores=settings.nlu_cores(),
    )
    args.nlu_pid = nlu.process.pid
    try:
        plain = plain_assistant.start_server(nlu_env.free_port())
        try:
            args.load_before = load_average()
            results = [
                median_of([run_backend(b, args, nlu.url, plain.url, i) for i in range(args.repeat)])
                for b in backends
            ]
            args.load_after = load_average()
        finally:
            plain.stop()
    finally:
        nlu.stop()
    if args.json:
        print(json.dumps({"args": vars(args), "results": [asdict(r) for r in results]}, indent=2))
    else:
        print(table(results, args))
    sys.exit(0 if all(r.check.ok for r in results) else 1)


if __name__ == "__main__":
    main()
