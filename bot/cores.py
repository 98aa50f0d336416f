"""A core of its own for a local NLU server, the others for the bot's processes (`NLU_OWN_CORE`).

The NLU server parses one message at a time (TensorFlow capped to one thread, see
`nlu_env.SERVING_THREADS`), and on a small machine its pace is the bot's. Sharing every core
with the web and worker processes, it was preempted mid-parse and its caches were refilled by
theirs: on 2 cores under load it spent 7.4-8.8 ms of CPU a parse against 6-7 alone, and waited
3.6-4.0 ms a turn in the run queue while a quarter of the machine stood idle. With the last core
its own and the bot's processes on the others, `scripts/bench_throughput.py` ran 11-28% more
turns a second in A/B rounds (issue 13's note has the figures); alone, the server parses no
slower on one core (its two busy threads take turns there). PostgreSQL, not started by the
bot, still runs where the system puts it.
"""

from __future__ import annotations

import logging
import os
from urllib.parse import urlparse

log = logging.getLogger(__name__)

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def available() -> frozenset[int]:
    """The cores this process may run on (none known off Linux)."""
    if not hasattr(os, "sched_getaffinity"):
        return frozenset()
    return frozenset(os.sched_getaffinity(0))


def split(cores: frozenset[int]) -> tuple[frozenset[int], frozenset[int]] | None:
    """(the NLU server's core, the bot's cores), or None when there are not two to share."""
    if len(cores) < 2:
        return None
    last = max(cores)
    return frozenset({last}), cores - {last}


def is_local(url: str) -> bool:
    """Whether a server at `url` runs on this machine (and so on its cores)."""
    return urlparse(url).hostname in LOOPBACK


def pin(pid: int, cores: frozenset[int]) -> None:
    """Run process `pid` on `cores` only: each of its threads, and (inherited) each thread or
    process it starts later. Not permitted, or gone: it runs where it did, with a warning."""
    try:
        tasks = [int(task) for task in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        tasks = [pid]
    for task in tasks:
        try:
            os.sched_setaffinity(task, cores)
        except OSError as exc:
            log.warning("could not keep process %s on cores %s: %s", pid, sorted(cores), exc)
            return
