"""`bot.cores`: the NLU server's core and the bot's, kept apart on a machine of two or more."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from bot import cores
from bot.settings import Settings


def test_the_nlu_server_gets_the_last_core_and_the_bot_the_others() -> None:
    assert cores.split(frozenset({0, 1})) == ({1}, {0})
    assert cores.split(frozenset({0, 2, 5})) == ({5}, {0, 2})
    assert cores.split(frozenset({3})) is None, "one core: nothing to keep apart"
    assert cores.split(frozenset()) is None


def test_the_split_follows_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cores, "available", lambda: frozenset({0, 1, 2}))
    kept_apart = Settings(NLU_OWN_CORE=True)
    assert (kept_apart.nlu_cores(), kept_apart.bot_cores()) == ({2}, {0, 1})
    shared = Settings(NLU_OWN_CORE=False)
    assert (shared.nlu_cores(), shared.bot_cores()) == (None, None)


def test_only_a_server_on_this_machine_shares_its_cores() -> None:
    assert cores.is_local("http://127.0.0.1:5005")
    assert cores.is_local("http://localhost:5005")
    assert cores.is_local("http://[::1]:5005")
    assert not cores.is_local("http://rasa:5005")
    assert not cores.is_local("https://nlu.example.org")


@pytest.mark.skipif(len(cores.available()) < 2, reason="needs two cores to pin to one")
def test_a_pinned_process_and_the_threads_it_starts_later_run_on_its_cores() -> None:
    one = frozenset({max(cores.available())})
    later_thread = (
        "import os, threading, time; time.sleep(1.0); seen = []; "
        "t = threading.Thread(target=lambda: seen.append(sorted(os.sched_getaffinity(0)))); "
        "t.start(); t.join(); print(seen[0], sorted(os.sched_getaffinity(0)))"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", later_thread], stdout=subprocess.PIPE, text=True
    )
    try:
        time.sleep(0.2)
        cores.pin(child.pid, one)
        assert os.sched_getaffinity(child.pid) == one
        out, _ = child.communicate(timeout=30)
    finally:
        child.kill()
    assert out.split("] ")[0] + "]" == str(sorted(one)), out
    assert os.sched_getaffinity(0) != one, "the caller keeps its own cores"


def test_pinning_a_process_that_is_gone_only_warns(caplog: pytest.LogCaptureFixture) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    cores.pin(child.pid, frozenset({0}))
    assert "could not keep process" in caplog.text
