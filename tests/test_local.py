"""`safestep run`, the README's run command, as a user starts it: a real process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy import func, select

from bot.db.models import Agency, Hotline
from bot.db.session import Database
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


def test_run_migrates_seeds_starts_nlu_and_stops_it(tmp_path: Path) -> None:
    port, nlu_port = free_port(), free_port()
    database = f"sqlite:///{tmp_path / 'local.db'}"
    env = os.environ | {"DATABASE_URL": database, "RASA_URL": f"http://127.0.0.1:{nlu_port}"}
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
    finally:
        process.send_signal(signal.SIGTERM)
        _, errors = process.communicate(timeout=60)
    assert process.returncode == 0, errors[-2000:]
    assert "NLU server ready" in errors
    assert not _answers(f"http://127.0.0.1:{nlu_port}"), "the NLU server stops with the bot"
