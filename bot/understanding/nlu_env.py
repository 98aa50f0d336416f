"""The Rasa NLU environment, managed from the bot side without importing rasa.

Rasa 3.6 needs Python 3.10 and old pinned libraries, so it lives in its own virtualenv under
`$SAFESTEP_NLU_HOME` (default `~/.cache/safestep`), outside the repository so fresh clones
and CI runs reuse it:

- `nlu-venv-<hash of nlu/requirements.lock>/`: the environment, rebuilt when the lock changes;
- `models/nlu-<hash>.tar.gz`: trained models, keyed by a content hash of the Rasa project
  (config, training data, custom components, lock), so training happens only on change.

A lock file serializes installs and trainings between processes (tests, CLI, app).
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bot.cores import pin
from bot.settings import ROOT

log = logging.getLogger(__name__)

NLU_DIR = ROOT / "nlu"
LOCK_FILE = NLU_DIR / "requirements.lock"
PROJECT_PARTS = ("config.yml", "data", "components")


class NluEnvError(RuntimeError):
    """The NLU environment could not be created, trained or started."""


def home() -> Path:
    return Path(os.environ.get("SAFESTEP_NLU_HOME") or Path.home() / ".cache" / "safestep")


def _digest(paths: list[Path], base: Path) -> str:
    sha = hashlib.sha256()
    for path in paths:
        sha.update(str(path.relative_to(base)).encode())
        sha.update(b"\0")
        sha.update(path.read_bytes())
        sha.update(b"\0")
    return sha.hexdigest()[:16]


def lock_hash() -> str:
    return _digest([LOCK_FILE], NLU_DIR)


def project_hash(config: Path | None = None) -> str:
    """Hash of everything a trained model depends on (a different config gives another model)."""
    files: list[Path] = [(config or NLU_DIR / "config.yml").resolve(), LOCK_FILE]
    for part in PROJECT_PARTS[1:]:
        files += sorted(
            p
            for p in (NLU_DIR / part).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
        )
    return _digest(files, NLU_DIR)


def venv_dir() -> Path:
    return home() / f"nlu-venv-{lock_hash()}"


def _python_version_ok(python: str) -> bool:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and out.stdout.strip() == "3.10"


def _pyenv_candidates() -> list[str]:
    roots = [str(Path.home() / ".pyenv")]
    if shutil.which("pyenv"):
        out = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=False)
        if out.returncode == 0 and out.stdout.strip():
            roots.insert(0, out.stdout.strip())
    found: list[str] = []
    for root in roots:
        found += sorted(glob.glob(f"{root}/versions/3.10.*/bin/python3.10"), reverse=True)
    return found


def _uv_python() -> str:
    """uv's Python 3.10, installed by uv if it has none yet ("" without uv)."""
    if not shutil.which("uv"):
        return ""
    found = subprocess.run(
        ["uv", "python", "find", "3.10"], capture_output=True, text=True, check=False
    )
    if found.returncode != 0:
        subprocess.run(["uv", "python", "install", "3.10"], capture_output=True, check=False)
        found = subprocess.run(
            ["uv", "python", "find", "3.10"], capture_output=True, text=True, check=False
        )
    return found.stdout.strip() if found.returncode == 0 else ""


def find_python310() -> str:
    """A working Python 3.10: $SAFESTEP_PYTHON310, PATH, pyenv's versions, then uv."""
    candidates = [os.environ.get("SAFESTEP_PYTHON310", "")]
    candidates.append(shutil.which("python3.10") or "")  # a pyenv shim may exist yet fail
    candidates += _pyenv_candidates()
    for candidate in candidates:
        if candidate and _python_version_ok(candidate):
            return candidate
    candidate = _uv_python()
    if candidate and _python_version_ok(candidate):
        return candidate
    raise NluEnvError(
        "Python 3.10 not found (needed by Rasa 3.6): install it (pyenv install 3.10, "
        "or `uv python install 3.10`) or set SAFESTEP_PYTHON310"
    )


@contextmanager
def _exclusive(name: str) -> Iterator[None]:
    home().mkdir(parents=True, exist_ok=True)
    with open(home() / f".{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(cmd: list[str], what: str, **kwargs: Any) -> None:
    log.info("%s: %s", what, " ".join(cmd))
    result = subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)
    if result.returncode != 0:
        tail = (result.stdout + result.stderr)[-3000:]
        raise NluEnvError(f"{what} failed ({result.returncode}):\n{tail}")


def rasa_env() -> dict[str, str]:
    """Environment for rasa subprocesses: telemetry off, custom components importable, and
    Rasa's training cache kept beside the models instead of in the repository."""
    env = dict(os.environ)
    env.update(
        RASA_TELEMETRY_ENABLED="false",
        RASA_CACHE_DIRECTORY=str(home() / "rasa-cache"),
        PYTHONPATH=str(NLU_DIR),
        TF_CPP_MIN_LOG_LEVEL="2",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
        PYTHONWARNINGS="ignore",
    )
    return env


# TensorFlow's thread pools for `rasa run`, unless the environment sets them. By default each
# is as wide as the machine, and one parse spreads over every core: on the 2-core host that
# cost 7.0-8.5 ms of CPU a parse against 5.9-6.7 with one thread each, and parsed no faster
# alone (131-159 a second against 146-165); capped, the server leaves the bot a core.
SERVING_THREADS = {"TF_INTER_OP_PARALLELISM_THREADS": "1", "TF_INTRA_OP_PARALLELISM_THREADS": "1"}


def serving_env() -> dict[str, str]:
    """`rasa_env` for the NLU server: TensorFlow's thread pools capped (`SERVING_THREADS`)
    where the environment does not size them itself."""
    return SERVING_THREADS | rasa_env()


def ensure_env() -> Path:
    """The NLU virtualenv, created and installed from the lock if missing; returns its rasa."""
    venv = venv_dir()
    rasa = venv / "bin" / "rasa"
    with _exclusive("env"):
        if (venv / ".complete").exists() and rasa.exists():
            return rasa
        if venv.exists():
            shutil.rmtree(venv)
        _run([find_python310(), "-m", "venv", str(venv)], "create the NLU venv")
        pip = str(venv / "bin" / "pip")
        _run([pip, "install", "--quiet", "--upgrade", "pip"], "upgrade pip")
        _run([pip, "install", "--quiet", "-r", str(LOCK_FILE)], "install nlu/requirements.lock")
        (venv / ".complete").write_text(lock_hash())
    return rasa


def model_path(config: Path | None = None) -> Path:
    return home() / "models" / f"nlu-{project_hash(config)}.tar.gz"


def ensure_model(config: Path | None = None, force: bool = False) -> Path:
    """A model trained on the current project; trains only when missing, stale or forced."""
    config = config or NLU_DIR / "config.yml"
    args = ["nlu", "--config", str(config), "--nlu", str(NLU_DIR / "data")]
    return train(model_path(config), args, cwd=NLU_DIR, force=force)


def train(target: Path, args: list[str], cwd: Path, force: bool = False) -> Path:
    """`rasa train <args>` into `target`, unless it exists; under the training lock, so two
    processes never train at once and a second one finds the first one's model. A model
    already there is returned without waiting behind another model's training."""
    if target.exists() and not force:
        return target
    rasa = ensure_env()
    with _exclusive("train"):
        if target.exists() and not force:
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as out:
            _run(
                [str(rasa), "train", *args, "--out", out, "--fixed-model-name", "model"],
                f"train {target.name}",
                cwd=cwd,
                env=rasa_env(),
            )
            os.replace(Path(out) / "model.tar.gz", target)
    return target


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(
    url: str, token: str, timeout: float, process: subprocess.Popen | None = None
) -> None:
    """Block until `GET /status` answers with a loaded model, or raise NluEnvError."""
    deadline = time.monotonic() + timeout
    params = {"token": token} if token else {}
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise NluEnvError(f"rasa exited with {process.returncode} while starting")
        try:
            answer = httpx.get(f"{url}/status", params=params, timeout=2.0, trust_env=False)
            if answer.status_code == 200 and answer.json().get("model_file"):
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.5)
    raise NluEnvError(f"the NLU server at {url} was not ready within {timeout:.0f}s")


@dataclass
class NluServer:
    """A running `rasa run` bound to 127.0.0.1; stop it with `stop()`."""

    process: subprocess.Popen
    url: str
    token: str
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def lower_priority(pid: int, nice: int) -> None:
    """Make process `pid` `nice` lower in CPU priority than it is (not below the lowest)."""
    if not nice:
        return
    try:
        os.setpriority(os.PRIO_PROCESS, pid, min(19, os.getpriority(os.PRIO_PROCESS, pid) + nice))
    except OSError as exc:  # not permitted here: equal priority
        log.warning("could not lower the NLU server's CPU priority: %s", exc)


def start_server(
    port: int,
    token: str,
    model: Path | None = None,
    ready_timeout: float = 180.0,
    extra_args: Sequence[str] = (),
    nice: int = 0,
    cores: frozenset[int] | None = None,
) -> NluServer:
    """Start the NLU server (training first if needed) and wait until it answers;
    `extra_args` go to `rasa run` (e.g. `--credentials` for a chat channel); `nice` lowers
    its CPU priority by that much; `cores`: the only ones it runs on (`bot.cores`)."""
    rasa = ensure_env()
    model = model or ensure_model()
    logs = home() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"rasa-{port}.log"
    cmd = [str(rasa), "run", "--enable-api", "-i", "127.0.0.1", "-p", str(port), "-m", str(model)]
    if token:
        cmd += ["--auth-token", token]
    cmd += extra_args
    with open(log_path, "w") as log_file:
        process = subprocess.Popen(
            cmd,
            cwd=NLU_DIR,
            env=serving_env(),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = NluServer(process, f"http://127.0.0.1:{port}", token, log_path)
    lower_priority(process.pid, nice)
    if cores:
        pin(process.pid, cores)
    try:
        wait_ready(server.url, token, ready_timeout, process)
    except NluEnvError as exc:
        server.stop()
        raise NluEnvError(f"{exc}; see {log_path}") from exc
    except BaseException:  # stopped while waiting (SIGTERM, Ctrl-C): leave no server behind
        server.stop()
        raise
    return server
