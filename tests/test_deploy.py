"""What can be checked of the deployment files without a Docker engine."""

from __future__ import annotations

import re
import shlex

import yaml
from typer.testing import CliRunner

from bot.cli import app
from bot.settings import ROOT, Settings


def _safestep_commands(shell: str) -> list[list[str]]:
    """The `safestep …` invocations inside a shell command line."""
    return [
        shlex.split(part)[1:]
        for part in re.split(r"&&|;", shell.replace("exec ", ""))
        if part.strip().startswith("safestep")
    ]


def _assert_cli_accepts(args: list[str]) -> None:
    result = CliRunner().invoke(app, [*args, "--help"])
    assert result.exit_code == 0, f"safestep {' '.join(args)}: {result.output}"


def test_compose_commands_exist_in_the_cli() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    command = compose["services"]["bot"]["command"]
    invocations = _safestep_commands(command[-1])
    assert [args[:2] for args in invocations] == [["db", "upgrade"], ["serve", "--host"]]
    for args in invocations:
        _assert_cli_accepts([a for a in args if not a.startswith("-") and not a[0].isdigit()][:2])


def test_dockerfile_copies_files_that_exist_and_runs_real_commands() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for line in dockerfile.splitlines():
        if line.startswith("COPY"):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"
    cmd = re.search(r'FROM python:3.11-slim AS bot.*?CMD \["sh", "-c", "(.*?)"\]', dockerfile, re.S)
    assert cmd is not None
    for args in _safestep_commands(cmd.group(1)):
        _assert_cli_accepts(args[:1] if args[0] == "serve" else args[:2])


def test_env_example_documents_every_setting() -> None:
    lines = (ROOT / ".env.example").read_text().splitlines()
    documented = {
        line.split("=", 1)[0].lstrip("# ").strip()
        for line in lines
        if re.match(r"^#? ?[A-Z][A-Z0-9_]+=", line)
    }
    fields = set(Settings.model_fields)
    assert fields - documented == set(), "settings missing from .env.example"
    assert documented - fields == set(), ".env.example names unknown settings"
    for i, line in enumerate(lines):
        if re.match(r"^[A-Z][A-Z0-9_]+=", line):
            assert lines[i - 1].startswith("#"), f"{line} has no comment above it"
