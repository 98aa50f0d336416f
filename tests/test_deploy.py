"""The deployment as shipped, run outside Docker (there is no engine here).

The image's build steps (`uv sync --frozen --no-dev --no-editable` from the repository's files)
make a fresh virtual environment; the source copy is then deleted, and from an empty folder the
compose services' commands migrate a database, serve, and answer a signed Messenger message.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from dotenv import dotenv_values
from packaging.markers import Marker
from packaging.utils import canonicalize_name

from bot.dialogue.i18n import read_locale
from bot.settings import ROOT, Settings
from bot.understanding.nlu_env import SERVING_THREADS
from tests.fixtures.bot import (
    APP_SECRET,
    messenger_body,
    messenger_text,
    reply_text,
    sign_messenger,
)
from tests.fixtures.fake_platforms import FakePlatforms
from tests.fixtures.servers import free_port, wait_until

BOT_SERVICES = ("migrate", "web", "worker")
DEV_TOOLS = ("pytest", "ruff", "mypy", "playwright", "uv")
SECRETS = {
    "PSEUDONYM_KEY": "deploy-test-pseudonym-key",
    "DATA_KEY": "mNRYSmS0bLfWqGq9Nw4xNwNNfK2VSBBnInJtdXk7JWs=",
    "SESSION_SECRET": "deploy-test-session-secret",
}


def _compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def _stage(name: str) -> tuple[dict[str, str], list[str]]:
    """One Dockerfile stage's ENV values and RUN commands (line continuations joined)."""
    env: dict[str, str] = {}
    runs: list[str] = []
    stage = ""
    for line in (ROOT / "Dockerfile").read_text().replace("\\\n", " ").splitlines():
        if line.startswith("FROM "):
            stage = line.split()[-1]
        elif stage == name and line.startswith("ENV "):
            env.update(pair.split("=", 1) for pair in line.split()[1:])
        elif stage == name and line.startswith("RUN "):
            runs.append(line.removeprefix("RUN "))
    return env, runs


def _image_env() -> dict[str, str]:
    """The bot image's ENV (ENVIRONMENT=production among them), PATH aside."""
    env = _stage("bot")[0]
    env.pop("PATH", None)
    return env


def _repository_files(destination: Path) -> None:
    """What a fresh clone holds: the tracked (and new, not ignored) files, nothing else."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


@pytest.fixture(scope="module")
def image_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The image's virtual environment, built the Dockerfile's way from a copy of the repo."""
    base = tmp_path_factory.mktemp("image")
    source, venv = base / "src", base / "venv"
    _repository_files(source)
    build_env, runs = _stage("build")
    env = {
        **os.environ,
        **build_env,
        "UV_PYTHON": sys.executable,
        "UV_PROJECT_ENVIRONMENT": str(venv),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",  # this uv
    }
    syncs = [shlex.split(run) for run in runs if "uv sync" in run]
    assert len(syncs) == 2, runs  # dependencies, then the project as a wheel
    for command in syncs:
        args = [arg for arg in command if not arg.startswith("--mount=")]
        subprocess.run(args, cwd=source, env=env, check=True, capture_output=True)
    shutil.rmtree(source)  # the installed bot may not lean on the source tree
    return venv


def _run(venv: Path, args: list[str], cwd: Path, env: dict[str, str]) -> str:
    assert args[0] == "safestep", args
    done = subprocess.run(
        [str(venv / "bin" / "safestep"), *args[1:]],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, f"{' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


@pytest.fixture
def empty_folder(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "empty"
    folder.mkdir()
    yield folder
    assert list(folder.iterdir()) == [], "the installed bot wrote into its working folder"


def _bot_env(venv: Path, tmp_path: Path, **settings: str) -> dict[str, str]:
    """The container's environment: the image's ENV, then compose's settings; nothing else."""
    return {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        **_image_env(),
        **SECRETS,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db' / 'safestep.db'}",
        **settings,
    }


def test_image_environment_carries_no_dev_tools(image_venv: Path) -> None:
    site = next((image_venv / "lib").glob("python3*/site-packages"))
    installed = {p.name.split("-")[0].lower() for p in site.glob("*.dist-info")}
    assert "safestep" in installed
    assert installed.isdisjoint(DEV_TOOLS), installed & set(DEV_TOOLS)
    # Installed, not editable: the package and its shipped folders are in site-packages.
    for shipped in ("migrations/env.py", "flows/system.yml", "locales/en.yml", "data/hotlines.csv"):
        assert (site / "bot" / "_shipped" / shipped).is_file(), shipped
    for packaged in ("console/templates/base.html", "console/static/console.css"):
        assert (site / "bot" / packaged).is_file(), packaged


def test_compose_commands_run_in_the_installed_cli(image_venv: Path, empty_folder: Path) -> None:
    env = _bot_env(image_venv, empty_folder.parent)
    services = _compose()["services"]
    for name in BOT_SERVICES:
        command = services[name]["command"]
        _run(image_venv, [*command, "--help"], empty_folder, env)
    assert services["migrate"]["command"] == ["safestep", "db", "upgrade"]
    assert "--no-workers" in services["web"]["command"]
    for name in ("web", "worker"):
        needs = services[name]["depends_on"]["migrate"]
        assert needs == {"condition": "service_completed_successfully"}


def test_installed_wheel_migrates_serves_and_replies(
    image_venv: Path,
    empty_folder: Path,
    platforms: tuple[FakePlatforms, str],
    rasa_server: str,
) -> None:
    fake, fake_url = platforms
    fake.clear()
    env = _bot_env(
        image_venv,
        empty_folder.parent,
        MESSENGER_APP_SECRET=APP_SECRET,
        MESSENGER_VERIFY_TOKEN="deploy-verify",
        MESSENGER_PAGE_TOKEN="deploy-page-token",
        MESSENGER_GRAPH_URL=fake_url,
        RASA_URL=rasa_server,
    )
    _run(image_venv, _compose()["services"]["migrate"]["command"], empty_folder, env)
    _run(image_venv, ["safestep", "flows", "check"], empty_folder, env)
    port = free_port()
    server = subprocess.Popen(
        [str(image_venv / "bin" / "safestep"), "serve", "--port", str(port)],
        cwd=empty_folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _ready(url, server), timeout=60, interval=0.2)
        item = messenger_text("deploy-user", "hello")
        raw = json.dumps(messenger_body(item)).encode()
        answer = httpx.post(
            f"{url}/webhooks/messenger",
            content=raw,
            headers={
                "content-type": "application/json",
                "x-hub-signature-256": sign_messenger(raw),
            },
        )
        assert answer.status_code == 200
        replies = wait_until(lambda: fake.messenger("deploy-user"), timeout=30)
        assert replies[0].query["access_token"] == "deploy-page-token"
        assert reply_text(replies[0].body) == read_locale(ROOT / "locales", "en")["start.hello"]
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    # uvicorn re-raises SIGTERM once it has shut down cleanly.
    assert server.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output, output


def _ready(url: str, server: subprocess.Popen[str]) -> bool:
    if server.poll() is not None:
        raise AssertionError(f"safestep serve exited: {server.communicate()[0]}")
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        time.sleep(0.1)
        return False


def test_env_example_keeps_the_image_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    """compose's `env_file: .env` turns each line into a variable over the image's ENV."""
    values = dotenv_values(ROOT / ".env.example")
    assert "ENVIRONMENT" not in values
    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)
    for name, value in {**_image_env(), **values}.items():
        monkeypatch.setenv(name, value or "")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.is_production
    defaults = Settings.model_construct()
    for name, value in values.items():
        if name in Settings.model_fields and not value:  # empty means "the default"
            assert getattr(settings, name) == getattr(defaults, name), name
    assert settings.DATABASE_URL.startswith("sqlite:///")


def _compose_variables() -> set[str]:
    return set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", (ROOT / "compose.yaml").read_text()))


def test_env_example_documents_every_setting() -> None:
    lines = (ROOT / ".env.example").read_text().splitlines()
    documented = {
        line.split("=", 1)[0].lstrip("# ").strip()
        for line in lines
        if re.match(r"^#? ?[A-Z][A-Z0-9_]+=", line)
    }
    fields = set(Settings.model_fields)
    assert fields - documented == set(), "settings missing from .env.example"
    assert documented - fields - _compose_variables() == set(), ".env.example names unknown"
    assert _compose_variables() - documented - fields == set(), "compose needs undocumented"
    for i, line in enumerate(lines):
        if re.match(r"^[A-Z][A-Z0-9_]+=", line):
            assert lines[i - 1].startswith("#"), f"{line} has no comment above it"


def _pins(lines: str) -> dict[str, str]:
    """`name==version` lines (markers evaluated here, comments dropped) as {name: version}."""
    pins: dict[str, str] = {}
    for line in lines.splitlines():
        requirement, _, marker = line.partition(";")
        if "==" not in requirement or requirement.lstrip().startswith("#"):
            continue
        if marker.strip() and not Marker(marker.strip()).evaluate():
            continue
        name, version = requirement.split("==")
        pins[canonicalize_name(name.strip())] = version.strip()
    return pins


def test_both_lock_files_pin_the_same_versions() -> None:
    """requirements.lock (scripts/setup.sh) and uv.lock (the image) agree: see scripts/lock."""
    uv = str(Path(sys.executable).with_name("uv"))
    exported = subprocess.run(
        [uv, "export", "--frozen", "--extra", "dev", "--no-hashes", "--no-emit-project"],
        cwd=ROOT,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert _pins((ROOT / "requirements.lock").read_text()) == _pins(exported)


def test_nlu_image_serves_as_safestep_starts_the_server() -> None:
    """The NLU image's server gets the same TensorFlow thread caps as `safestep run`'s."""
    env, _ = _stage("nlu")
    assert {name: env.get(name) for name in SERVING_THREADS} == SERVING_THREADS
