"""`safestep run`: a local bot on the embedded defaults, in one command.

Migrations, starter data, the NLU server (its environment created and the model trained only
when missing or stale), then the bot. When the NLU server cannot be had (no Python 3.10, a
failed install) the bot still runs and answers from the keyword router, and says so.

The bot runs as separate processes, as in production: the web app (webhooks, console) and
`WORKER_PROCESSES` workers (by default one per core but one on PostgreSQL, one on SQLite). A
webhook then never waits for the workers' CPU or threads, only (on SQLite) for the file's one
writer, and a stored event wakes the workers at once (`bot.pipeline.wakeups`). This process
watches them all, starts again one that dies, and stops them (and the NLU server) on SIGTERM or
Ctrl-C.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import secrets
import signal
import time
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType
from urllib.parse import urlparse

import httpx
import uvicorn

from bot import cores
from bot.app import create_app
from bot.db.migrate import upgrade
from bot.db.session import Database
from bot.pipeline.worker import yield_cpu_to_web
from bot.services.seed import seed_if_empty
from bot.settings import Settings
from bot.understanding import nlu_env

log = logging.getLogger(__name__)


def _nlu_answers(url: str, token: str) -> bool:
    try:
        params = {"token": token} if token else {}
        return httpx.get(f"{url}/status", params=params, timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def _start_nlu(settings: Settings) -> tuple[Settings, nlu_env.NluServer | None, bool]:
    """Reuse an NLU server already answering at RASA_URL, else start one on its port; and
    whether an NLU server now serves from this machine."""
    if _nlu_answers(settings.RASA_URL, settings.RASA_TOKEN):
        log.info("using the NLU server already running at %s", settings.RASA_URL)
        return settings, None, cores.is_local(settings.RASA_URL)
    token = settings.RASA_TOKEN or secrets.token_urlsafe(24)
    port = urlparse(settings.RASA_URL).port or 5005
    log.info("starting the NLU server (the first run installs Rasa and trains: a few minutes)")
    try:
        server = nlu_env.start_server(
            port, token, nice=settings.NLU_NICE, cores=settings.nlu_cores()
        )
    except nlu_env.NluEnvError as exc:
        log.warning("no NLU server (%s): the bot answers from keywords only", exc)
        return settings, None, False
    log.info("NLU server ready at %s", server.url)
    return settings.model_copy(update={"RASA_URL": server.url, "RASA_TOKEN": token}), server, True


def serve_role(settings: Settings, role: str, host: str, port: int) -> None:
    """A child process: the web app without workers, or the workers (health on `port`)."""
    from bot.logs import configure

    configure()
    workers = role.startswith("workers")
    if workers:
        yield_cpu_to_web(settings.WORKER_NICE)
    app = create_app(settings, run_workers=workers, web=not workers, freeze_heap=True)
    uvicorn.run(app, host=host, port=port, log_config=None)


class Bot:
    """The web process and the worker processes (`WORKER_PROCESSES`) of a local bot."""

    def __init__(self, settings: Settings, host: str, port: int) -> None:
        self._roles = {"web": (host, port)} | {
            f"workers-{n}": ("127.0.0.1", nlu_env.free_port())
            for n in range(1, settings.worker_processes() + 1)
        }
        self._settings = settings
        self._context = multiprocessing.get_context("spawn")
        self.processes: dict[str, BaseProcess] = {}

    def start(self, role: str) -> None:
        host, port = self._roles[role]
        process = self._context.Process(
            target=serve_role, args=(self._settings, role, host, port), name=f"safestep-{role}"
        )
        process.start()
        self.processes[role] = process

    def watch(self, stopping: list[bool]) -> None:
        """Until told to stop: start again, after a pause, a process that died."""
        for role in self._roles:
            self.start(role)
        while not stopping:
            wait([p.sentinel for p in self.processes.values()], timeout=0.5)
            for role, process in list(self.processes.items()):
                if not stopping and not process.is_alive():
                    log.error("the %s process ended (exit %s); starting it again", role,
                              process.exitcode)  # fmt: skip
                    time.sleep(1.0)
                    self.start(role)

    def stop(self, grace_seconds: float = 30.0) -> None:
        """SIGTERM to each (uvicorn then lets work in hand finish), SIGKILL after the grace."""
        for process in self.processes.values():
            if process.is_alive():
                process.terminate()
        deadline = time.monotonic() + grace_seconds
        for role, process in self.processes.items():
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                log.error("the %s process did not stop in time; killing it", role)
                process.kill()
                process.join()


def _stop_setting_up(signum: int, _frame: FrameType | None) -> None:
    """SIGTERM while setting up: unwind, so what was started (the NLU server, in its own
    process group) is stopped on the way out instead of left running."""
    raise SystemExit(128 + signum)


def _leave_the_nlu_its_core(settings: Settings) -> None:
    """Beside a local NLU server (started here or already running), keep this process and the
    bot's processes it starts (they inherit it) off that server's core (`bot.cores`)."""
    bot_cores = settings.bot_cores()
    if bot_cores is not None:
        cores.pin(os.getpid(), bot_cores)
        log.info("the bot runs on cores %s, beside the NLU server's", sorted(bot_cores))


def run_everything(settings: Settings, *, host: str, port: int) -> None:
    signal.signal(signal.SIGTERM, _stop_setting_up)
    upgrade(settings.DATABASE_URL)
    database = Database(settings.DATABASE_URL)
    with database.session() as session:
        seed_if_empty(session)
    database.dispose()
    settings, nlu_server, nlu_here = _start_nlu(settings)
    if nlu_here:
        _leave_the_nlu_its_core(settings)
    stopping: list[bool] = []

    def stop(signum: int, _frame: FrameType | None) -> None:
        stopping.append(True)

    # Exit through `finally`, so the bot's processes and the NLU server (in its own process
    # group) stop with this one instead of being orphaned.
    try:
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        bot = Bot(settings, host, port)
        try:
            bot.watch(stopping)
        finally:
            bot.stop()
    finally:
        if nlu_server is not None:
            nlu_server.stop()
