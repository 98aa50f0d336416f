"""The translator round trip: locales → PO → locales loses nothing, split locales included,
and reviewed flags follow the PO `fuzzy` flag."""

from __future__ import annotations

import shutil
from pathlib import Path

import polib
import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.dialogue.i18n import LOCALES, read_locale
from bot.dialogue.translations import by_file, export_po, import_po, unreviewed
from bot.understanding.base import LANGUAGES


@pytest.fixture
def locales(tmp_path: Path) -> Path:
    copy = tmp_path / "locales"
    shutil.copytree(LOCALES, copy)
    return copy


def _snapshot(directory: Path) -> dict[str, dict[str, dict[str, str]]]:
    return {lang: by_file(directory, lang) for lang in LANGUAGES}


def test_export_then_import_changes_nothing(locales: Path, tmp_path: Path) -> None:
    before = _snapshot(locales)
    files = {p: p.read_bytes() for p in locales.rglob("*.yml")}
    export_po(locales, tmp_path / "po")
    result = import_po(locales, tmp_path / "po")
    assert result.changed == 0 and result.reviewed == 0
    assert _snapshot(locales) == before
    assert all(p.read_bytes() == data for p, data in files.items())
    assert any("corridors" in path for path in before["km"])  # the split files took part


def test_a_reviewed_edit_comes_back_to_its_own_file(locales: Path, tmp_path: Path) -> None:
    before = _snapshot(locales)
    export_po(locales, tmp_path / "po")
    po = polib.pofile(str(tmp_path / "po" / "km.po"))
    edited = po.find("corridor.kh_th.title", by="msgctxt")
    confirmed = po.find("agency.ask", by="msgctxt")
    assert edited and confirmed and edited.occurrences[0][0] == "corridors/km.yml"
    edited.msgstr = "កម្ពុជា → ថៃ"
    for entry in (edited, confirmed):
        entry.flags.remove("fuzzy")
    po.save()

    result = import_po(locales, tmp_path / "po")
    assert (result.changed, result.reviewed, result.files) == (1, 2, ("corridors/km.yml",))
    after = _snapshot(locales)
    assert after["km"]["corridors/km.yml"]["corridor.kh_th.title"] == "កម្ពុជា → ថៃ"
    # Everything else, multi-line texts included, is exactly as it was.
    after["km"]["corridors/km.yml"]["corridor.kh_th.title"] = before["km"]["corridors/km.yml"][
        "corridor.kh_th.title"
    ]
    assert after == before
    assert read_locale(locales, "km")["corridor.kh_th.text"].count("\n") >= 3

    counts = unreviewed(locales)
    assert counts["km"] == unreviewed(LOCALES)["km"] - 2
    again = polib.pofile(str(export_po(locales, tmp_path / "po2")[2]))
    assert not again.find("agency.ask", by="msgctxt").fuzzy
    assert again.find("agency.ask_again", by="msgctxt").fuzzy


def test_a_changed_english_text_unreviews_the_translation(locales: Path, tmp_path: Path) -> None:
    export_po(locales, tmp_path / "po")
    po = polib.pofile(str(tmp_path / "po" / "bn.po"))
    entry = po.find("agency.ask", by="msgctxt")
    entry.flags.remove("fuzzy")
    po.save()
    import_po(locales, tmp_path / "po")
    reviewed = unreviewed(locales)["bn"]
    english = locales / "en.yml"
    english.write_text(
        english.read_text(encoding="utf-8").replace(
            "Please send the agency's licence number or its name.",
            "Please send the agency's licence number or name.",
        ),
        encoding="utf-8",
    )
    assert unreviewed(locales)["bn"] == reviewed + 1


def test_the_command_line(locales: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "po"
    exported = runner.invoke(
        app, ["locales", "export", "--format", "po", str(out), "--locales", str(locales)]
    )
    assert exported.exit_code == 0, exported.output
    assert sorted(p.name for p in out.iterdir()) == ["bn.po", "en.po", "km.po", "my.po"]
    imported = runner.invoke(app, ["locales", "import", str(out), "--locales", str(locales)])
    assert imported.exit_code == 0 and "0 text(s) changed" in imported.output
    checked = runner.invoke(app, ["flows", "check", "--locales", str(locales)])
    assert checked.exit_code == 0 and "unreviewed strings: en" in checked.output
    assert runner.invoke(app, ["locales", "export", "--format", "xliff", str(out)]).exit_code != 0
