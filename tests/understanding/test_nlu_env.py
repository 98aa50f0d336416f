"""The NLU environment manager: Python 3.10 discovery and content-hash caching."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.understanding import nlu_env


def test_python310_is_found_even_when_the_path_shim_fails() -> None:
    python = nlu_env.find_python310()
    out = subprocess.run(
        [python, "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "(3, 10)"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy = tmp_path / "nlu"
    shutil.copytree(nlu_env.NLU_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(nlu_env, "NLU_DIR", copy)
    monkeypatch.setattr(nlu_env, "LOCK_FILE", copy / "requirements.lock")
    monkeypatch.setenv("SAFESTEP_NLU_HOME", str(tmp_path / "home"))
    return copy


def test_model_and_venv_are_keyed_by_content(project: Path, tmp_path: Path) -> None:
    before, venv = nlu_env.model_path(), nlu_env.venv_dir()
    assert before.parent == tmp_path / "home" / "models"
    assert venv.parent == tmp_path / "home"
    (project / "tests" / "heldout.jsonl").write_text("")  # not part of the model
    assert nlu_env.model_path() == before
    data = project / "data" / "nlu" / "en.yml"
    data.write_text(data.read_text() + "    - hi there friend\n")
    assert nlu_env.model_path() != before
    changed = nlu_env.model_path()
    component = project / "components" / "segment.py"
    component.write_text(component.read_text() + "\n")
    assert nlu_env.model_path() != changed
    assert nlu_env.model_path(project / "config.stock.yml") != nlu_env.model_path()
    (project / "requirements.lock").write_text("rasa==3.6.21\n")
    assert nlu_env.venv_dir() != venv


def test_the_nlu_server_can_yield_the_cpu_to_the_web() -> None:
    """`NLU_NICE`: the server's process ends up that much lower in priority."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        before = os.getpriority(os.PRIO_PROCESS, child.pid)
        nlu_env.lower_priority(child.pid, 5)
        assert os.getpriority(os.PRIO_PROCESS, child.pid) == min(19, before + 5)
        nlu_env.lower_priority(child.pid, 0)
        assert os.getpriority(os.PRIO_PROCESS, child.pid) == min(19, before + 5)
    finally:
        child.kill()
        child.wait()


def test_the_nlu_server_runs_tensorflow_one_thread_wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """Serving caps TensorFlow's thread pools (one parse no longer spreads over every core),
    unless the operator sizes them; training keeps them as wide as the machine."""
    for name in nlu_env.SERVING_THREADS:
        monkeypatch.delenv(name, raising=False)
    assert nlu_env.serving_env()["TF_INTRA_OP_PARALLELISM_THREADS"] == "1"
    assert nlu_env.serving_env()["TF_INTER_OP_PARALLELISM_THREADS"] == "1"
    assert "TF_INTRA_OP_PARALLELISM_THREADS" not in nlu_env.rasa_env()
    monkeypatch.setenv("TF_INTRA_OP_PARALLELISM_THREADS", "2")
    assert nlu_env.serving_env()["TF_INTRA_OP_PARALLELISM_THREADS"] == "2"
