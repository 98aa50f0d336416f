"""`safestep flows check` on the real flows, and on a fixture broken in every way it must catch."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from bot.cli.flows import app
from bot.dialogue.check import check
from bot.dialogue.flows import FLOWS
from bot.dialogue.i18n import LOCALES, Translator


def test_real_flows_and_locales_pass() -> None:
    assert check() == []
    result = CliRunner().invoke(app, [])
    assert result.exit_code == 0, result.output


def _edit(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


@pytest.fixture
def broken(tmp_path: Path) -> tuple[Path, Path]:
    flows, locales = tmp_path / "flows", tmp_path / "locales"
    shutil.copytree(FLOWS, flows)
    shutil.copytree(LOCALES, locales)

    def flow_changes(data: dict) -> None:
        steps = data["steps"]
        steps["menu"]["choices"].append({"title": "choice.menu", "goto": "nowhere"})
        steps["documents"]["choices"][0]["intents"] = ["not_an_intent"]
        steps["orphan"] = {"say": ["tips.menu"]}

    _edit(flows / "tips.yml", flow_changes)
    _edit(locales / "km.yml", lambda d: d["km"]["tips"].pop("fees"))
    _edit(
        locales / "bn.yml",
        lambda d: d["bn"]["menu"].update(agency="এজেন্সি যাচাই করে দেখুন এখনই দয়া করে"),
    )
    _edit(locales / "en.yml", lambda d: d["en"]["tips"].update(rights="Too long. " * 250))
    return flows, locales


def test_broken_fixture_fails_with_a_clear_list(broken: tuple[Path, Path]) -> None:
    problems = check(*broken)
    expected = [
        "step tips.menu: unknown step tips.nowhere",
        "step tips.documents: unknown intent not_an_intent",
        "step tips.orphan: unreachable",
        "locale km: missing key tips.fees",
        "locale bn: quick-reply title menu.agency is",
        "locale en: step tips.rights message tips.rights is about 2500 characters",
    ]
    for fragment in expected:
        assert any(p.startswith(fragment) for p in problems), (fragment, problems)
    result = CliRunner().invoke(app, ["--flows", str(broken[0]), "--locales", str(broken[1])])
    assert result.exit_code == 1
    assert "locale km: missing key tips.fees" in result.output


def test_unknown_route_intent_and_missing_role(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS, flows)

    def change(data: dict) -> None:
        data["routes"]["buy_ticket"] = "menu.main"
        del data["roles"]["urgent"]

    _edit(flows / "system.yml", change)
    problems = check(flows, LOCALES)
    assert "route: unknown intent buy_ticket" in problems
    assert "system.yml: role urgent is not mapped to a step" in problems


@pytest.fixture
def partial_locales(tmp_path: Path, t: Translator) -> Iterator[Path]:
    (tmp_path / "en.yml").write_text("en:\n  greet: Hello %{name}\n  only_en: English only\n")
    (tmp_path / "km.yml").write_text("km:\n  greet: សួស្តី %{name}\n")
    yield tmp_path
    Translator()  # python-i18n's store is process-wide: put the real locales back


def test_missing_translation_falls_back_to_english_with_a_warning(
    partial_locales: Path, caplog: pytest.LogCaptureFixture
) -> None:
    t = Translator(partial_locales)
    assert t("greet", "km", name="Dara") == "សួស្តី Dara"
    with caplog.at_level(logging.WARNING, logger="bot.dialogue.i18n"):
        assert t("only_en", "km") == "English only"
    assert "missing translation only_en for km" in caplog.text
