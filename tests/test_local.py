"""`safestep run`, the README's run command, as a user starts it: a real process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import func, select

from bot import cores
from bot.db.models import Agency, Hotline
from bot.db.session import Database
from bot.settings import Settings
from tests.fixtures.bot import APP_SECRET, messenger_body, messenger_text, sign_messenger
from tests.fixtures.fake_platforms import FakePlatforms
from tests.fixtures.servers import free_port, wait_until


def _ready(url: str) -> dict | None:
    try:
        answer = httpx.get(f"{url}/readyz", timeout=2.0)
    except httpx.HTTPError:
        return None
    return answer.json() if answer.status_code == 200 else None


def _answers(url: str) -> bool:
    try:
        httpx.get(f"{url}/status", timeout=1.0)
        return True
    except httpx.HTTPError:
        return False


def _children(parent: int) -> dict[int, int]:
    """The processes `safestep run` started with multiprocessing: pid -> nice value."""
    listed = subprocess.run(
        ["ps", "-ww", "--ppid", str(parent), "-o", "pid=,ni=,args="], capture_output=True, text=True
    )
    found = [line.split() for line in listed.stdout.splitlines() if "spawn_main" in line]
    return {int(pid): int(nice) for pid, nice, *_ in found}


def _cores_of(pid: int) -> set[frozenset[int]]:
    """The cores each thread of process `pid` may run on."""
    return {frozenset(os.sched_getaffinity(int(t))) for t in os.listdir(f"/proc/{pid}/task")}


def test_run_migrates_seeds_starts_nlu_and_stops_it(
    tmp_path: Path, platforms: tuple[FakePlatforms, str]
) -> None:
    fake, fake_url = platforms
    port, nlu_port = free_port(), free_port()
    database = f"sqlite:///{tmp_path / 'local.db'}"
    env = os.environ | {
        "DATABASE_URL": database,
        "RASA_URL": f"http://127.0.0.1:{nlu_port}",
        "MESSENGER_APP_SECRET": APP_SECRET,
        "MESSENGER_PAGE_TOKEN": "local-page-token",
        "MESSENGER_GRAPH_URL": fake_url,
        # Idle workers would look for work only after a minute: a stored message must wake
        # them across processes at once, and two worker processes answer it once.
        "WORKER_POLL_SECONDS": "60",
        "WORKER_PROCESSES": "2",
    }
    command = [str(Path(sys.executable).parent / "safestep"), "run", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        ready = wait_until(lambda: process.poll() is None and _ready(url), timeout=300)
        assert (ready["ready"], ready["database"], ready["nlu"]) == (True, True, True)
        assert ready["work"]["stuck"] is False
        store = Database(database)
        with store.sessions() as session:
            assert session.scalar(select(func.count(Hotline.id))) > 0
            assert session.scalar(select(func.count(Agency.id)).where(Agency.is_sample)) > 0
        store.dispose()
        children = _children(process.pid)
        assert sorted(children.values()) == [0, 5, 5], children  # the web, two workers niced
        # The NLU server has the last core to itself, the bot's processes the others.
        nlu, bot = cores.split(cores.available()) or (cores.available(), cores.available())
        assert _cores_of(_nlu_server(nlu_port) or 0) == {nlu}
        for child in [process.pid, *children]:
            assert _cores_of(child) == {bot}, child
        body = json.dumps(messenger_body(messenger_text("local-user", "hello"))).encode()
        headers = {"x-hub-signature-256": sign_messenger(body)}
        posted = httpx.post(f"{url}/webhooks/messenger", content=body, headers=headers)
        assert posted.status_code == 200
        wait_until(lambda: fake.messenger("local-user"), timeout=20)
        time.sleep(1.5)  # a second worker answering too would have done so by now
        sent = [json.dumps(r.body, sort_keys=True) for r in fake.messenger("local-user")]
        assert len(sent) == len(set(sent))
    finally:
        process.send_signal(signal.SIGTERM)
        _, errors = process.communicate(timeout=60)
    assert process.returncode == 0, errors[-2000:]
    assert "NLU server ready" in errors
    assert not _answers(f"http://127.0.0.1:{nlu_port}"), "the NLU server stops with the bot"


def test_stopped_while_the_nlu_server_starts_run_leaves_nothing_running(tmp_path: Path) -> None:
    """SIGTERM before the bot is up (the NLU server loading its model) must not orphan it."""
    nlu_port = free_port()
    env = os.environ | {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'early.db'}",
        "RASA_URL": f"http://127.0.0.1:{nlu_port}",
    }
    command = [str(Path(sys.executable).parent / "safestep"), "run", "--port", str(free_port())]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        rasa = wait_until(lambda: _nlu_server(nlu_port), timeout=120, interval=0.1)
        assert not _answers(f"http://127.0.0.1:{nlu_port}"), "still loading: the window we test"
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
    wait_until(lambda: not Path(f"/proc/{rasa}").exists() or _zombie(rasa), timeout=30)


def _nlu_server(port: int) -> int | None:
    """The pid of a `rasa run` on `port`, once there is one."""
    listed = subprocess.run(["ps", "-ww", "-eo", "pid=,args="], capture_output=True, text=True)
    for line in listed.stdout.splitlines():
        pid, _, args = line.strip().partition(" ")
        if "rasa run" in args and f"-p {port}" in args:
            return int(pid)
    return None


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_run_starts_a_worker_per_core_but_one_on_postgresql_and_one_on_sqlite() -> None:
    pg = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    cores = os.cpu_count() or 1
    assert Settings(DATABASE_URL=pg).worker_processes() == max(1, min(cores - 1, 4))
    assert Settings(DATABASE_URL="sqlite:///var/x.db").worker_processes() == 1
    assert Settings(DATABASE_URL="sqlite:///var/x.db", WORKER_PROCESSES=3).worker_processes() == 3
