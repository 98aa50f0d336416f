"""The translator round trip: locales ⇄ PO files (Poedit, Weblate), and which strings a
native speaker has reviewed.

One PO file per language; each entry's `msgctxt` is the locale key, `msgid` the English text,
`msgstr` the translation, and the reference (`#:`) the locale file that holds it, so split
locales (`locales/<lang>.yml` and `locales/<area>/<lang>.yml`) come back to the same file.

Reviewed flags live in `locales/reviewed.yml`: per language, each reviewed key with a short
hash of its English text and translation. A change to either makes the string unreviewed
again, so a stale review is never trusted. In PO terms: reviewed ⇔ not `fuzzy`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polib
import yaml

from bot.dialogue.i18n import FALLBACK, LOCALES, locale_files
from bot.understanding.base import LANGUAGES

REVIEWED_FILE = "reviewed.yml"


@dataclass(frozen=True)
class ImportResult:
    changed: int
    reviewed: int
    files: tuple[str, ...]


def review_hash(english: str, translation: str) -> str:
    return hashlib.sha256(f"{english}\x00{translation}".encode()).hexdigest()[:12]


def read_reviewed(directory: Path = LOCALES) -> dict[str, dict[str, str]]:
    path = directory / REVIEWED_FILE
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    return {lang: dict((data or {}).get(lang) or {}) for lang in LANGUAGES}


def write_reviewed(directory: Path, reviewed: dict[str, dict[str, str]]) -> None:
    header = "# Reviewed strings per language: key -> hash of (English, translation). Written by\n"
    header += (
        "# `safestep locales import`; a changed text no longer matches and shows as unreviewed.\n"
    )
    body = yaml.safe_dump(
        {lang: dict(sorted(keys.items())) for lang, keys in reviewed.items() if keys},
        allow_unicode=True,
        sort_keys=False,
    )
    (directory / REVIEWED_FILE).write_text(header + body, encoding="utf-8")


def by_file(directory: Path, language: str) -> dict[str, dict[str, str]]:
    """Each locale file of one language (path relative to `directory`) → its flat texts."""
    return {
        path.relative_to(directory).as_posix(): _flatten(_language_root(path, language))
        for path in locale_files(directory, language)
    }


def unreviewed(directory: Path = LOCALES) -> dict[str, int]:
    """How many strings of each language no native speaker has marked as reviewed."""
    reviewed = read_reviewed(directory)
    english = _merged(by_file(directory, FALLBACK))
    counts = {}
    for lang in LANGUAGES:
        texts = _merged(by_file(directory, lang))
        counts[lang] = sum(
            1
            for key, text in texts.items()
            if reviewed[lang].get(key) != review_hash(english.get(key, ""), text)
        )
    return counts


def export_po(directory: Path, out: Path) -> list[Path]:
    """Write `<lang>.po` for every language into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    reviewed = read_reviewed(directory)
    english_files = by_file(directory, FALLBACK)
    english = _merged(english_files)
    english_home = {key: path for path, texts in english_files.items() for key in texts}
    written: list[Path] = []
    for lang in LANGUAGES:
        po = polib.POFile(wrapwidth=0)
        po.metadata = {
            "Project-Id-Version": "SafeStep",
            "Language": lang,
            "MIME-Version": "1.0",
            "Content-Type": "text/plain; charset=UTF-8",
            "Content-Transfer-Encoding": "8bit",
        }
        homes = {}
        for path, texts in by_file(directory, lang).items():
            homes.update(dict.fromkeys(texts, path))
        texts = _merged(by_file(directory, lang))
        for key in sorted(set(english) | set(texts)):
            source, text = english.get(key, ""), texts.get(key, "")
            entry = polib.POEntry(
                msgctxt=key,
                msgid=source or key,
                msgstr=text,
                occurrences=[(homes.get(key) or _home_for(english_home.get(key), lang), "")],
            )
            if reviewed[lang].get(key) != review_hash(source, text):
                entry.flags.append("fuzzy")
            po.append(entry)
        po_path = out / f"{lang}.po"
        po.save(str(po_path))
        written.append(po_path)
    return written


def import_po(directory: Path, source: Path) -> ImportResult:
    """Read `<lang>.po` files back: translations into their locale files, flags into
    `reviewed.yml`. Only files whose texts changed are rewritten."""
    reviewed = read_reviewed(directory)
    english = _merged(by_file(directory, FALLBACK))
    changed, count, touched = 0, 0, []
    for lang in LANGUAGES:
        path = source / f"{lang}.po"
        if not path.exists():
            continue
        updates: dict[str, dict[str, str]] = {}
        current = by_file(directory, lang)
        merged = _merged(current)
        for entry in polib.pofile(str(path)):
            key, text = entry.msgctxt, entry.msgstr
            if not key or not text:
                continue
            if merged.get(key) != text:
                home = entry.occurrences[0][0] if entry.occurrences else f"{lang}.yml"
                updates.setdefault(home, {})[key] = text
                changed += 1
            if entry.fuzzy:
                reviewed[lang].pop(key, None)
            else:
                reviewed[lang][key] = review_hash(english.get(key, ""), text)
                count += 1
        for home, values in updates.items():
            _write_values(directory / home, lang, values)
            touched.append(home)
    write_reviewed(directory, reviewed)
    return ImportResult(changed, count, tuple(touched))


def _home_for(english_path: str | None, lang: str) -> str:
    """The file a missing translation belongs in: the English file's twin."""
    if not english_path:
        return f"{lang}.yml"
    return english_path.removesuffix(f"{FALLBACK}.yml") + f"{lang}.yml"


def _language_root(path: Path, language: str) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return data.get(language) or {}


def _flatten(node: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in node.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            flat.update(_flatten(value, name))
        else:
            flat[name] = str(value)
    return flat


def _merged(files: dict[str, dict[str, str]]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for texts in files.values():
        merged.update(texts)
    return merged


def _write_values(path: Path, language: str, values: dict[str, str]) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    data = data or {}
    root = data.setdefault(language, {})
    for key, text in values.items():
        node = root
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = text
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=10_000),
        encoding="utf-8",
    )


class _Dumper(yaml.SafeDumper):
    """Multi-line texts as literal blocks (`|-`), as translators and reviewers expect."""


def _literal(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _literal)
