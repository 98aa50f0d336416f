"""Localized text through python-i18n, over `locales/{lang}.yml` and `locales/*/{lang}.yml`.

Each area of the bot (corridors, distress, handover...) may keep its texts in a folder of its
own, `locales/<area>/<lang>.yml`, with the same layout (root key = locale); keys merge.

A missing key never leaves a user without an answer: it falls back to English and logs a
warning (`safestep flows check` catches it before a deployment).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import i18n
import yaml
from i18n import resource_loader, translations

from bot.settings import ROOT
from bot.understanding.base import LANGUAGES

log = logging.getLogger(__name__)

LOCALES = ROOT / "locales"
FALLBACK = "en"


def locale_files(directory: Path, language: str) -> list[Path]:
    """The files that hold one language's texts: the main file, then each area's."""
    main = directory / f"{language}.yml"
    return ([main] if main.exists() else []) + sorted(directory.glob(f"*/{language}.yml"))


def read_locale(directory: Path, language: str) -> dict[str, str]:
    """One language's texts as flat dotted keys (python-i18n's own layout: root key = locale)."""
    flat: dict[str, str] = {}
    for path in locale_files(directory, language):
        flat.update(_read_file(path, language))
    return flat


def _read_file(path: Path, locale: str) -> dict[str, str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    flat: dict[str, str] = {}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(f"{prefix}.{key}" if prefix else str(key), value)
        else:
            flat[prefix] = str(node)

    walk("", data.get(locale, {}))
    return flat


class Translator:
    """Loads every locale eagerly (python-i18n's store is process-wide; we own these locales)."""

    def __init__(self, directory: Path = LOCALES, languages: tuple[str, ...] = LANGUAGES) -> None:
        self.languages = languages
        i18n.set("filename_format", "{locale}.{format}")
        i18n.set("file_format", "yml")
        i18n.set("fallback", FALLBACK)
        i18n.set("enable_memoization", True)
        i18n.set("load_path", [str(directory)])
        for language in languages:
            translations.container.pop(language, None)
            for path in locale_files(directory, language):
                resource_loader.load_translation_file(path.name, str(path.parent), language)

    def has(self, key: str, language: str) -> bool:
        return translations.has(key, language)

    def __call__(self, key: str, language: str, **values: Any) -> str:
        if language not in self.languages:
            language = FALLBACK
        if not translations.has(key, language):
            log.warning("missing translation %s for %s; using %s", key, language, FALLBACK)
            language = FALLBACK
        return i18n.t(key, locale=language, **{k: str(v) for k, v in values.items()})

    def values(self, key: str) -> dict[str, str]:
        """The key in every language that has it (keyword lists, country names)."""
        return {
            language: translations.get(key, language)
            for language in self.languages
            if translations.has(key, language)
        }
