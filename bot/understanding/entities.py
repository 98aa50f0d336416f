"""Canonical entity values shared by the Rasa client and the keyword router, and the
deterministic extraction the dialogue uses when the classifier found none.

- `country`: ISO 3166-1 alpha-2, upper case (the Rasa model maps names in all four languages
  to codes with synonyms; `find_country` reads names, spellings, demonyms and cities from
  `countries.yml`; anything else is dropped rather than guessed).
- `licence_number`: "RL-<digits>" when the recruiting-licence prefix RL was written (Bangladesh
  style: "RL-1234", "rl 1234", "R.L.1234", "আরএল ১২৩৪"), otherwise the bare ASCII digits
  ("লাইসেন্স ১২৩৪" -> "1234"). Registries store numbers in the same two forms.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import regex
import yaml
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from bot.understanding.base import Entity, Parse
from bot.understanding.normalize import ascii_digits

COUNTRIES_FILE = Path(__file__).with_name("countries.yml")

_RL = regex.compile(r"(?<![a-z])r\.?\s?l(?![a-z])|আর\s?এল", regex.IGNORECASE)
_ISO = regex.compile(r"^[A-Z]{2}$")
# A licence number inside a sentence: an optional prefix of Latin letters (RL, OEA, PRA) or the
# Bengali "আরএল", then three to seven digits of any script (made ASCII first).
_LICENCE_IN_TEXT = regex.compile(
    r"(?<![\p{L}\p{M}\d])(?:(?:[a-z]{1,4}|r\.l\.?|আর\s?এল)[\s\-./#:]{0,3})?\d{3,7}(?!\d)",
    regex.IGNORECASE,
)
_LATIN = regex.compile(r"^[\p{Latin}\s.'\-]+$")
_BENGALI = regex.compile(r"^[\p{Bengali}\s]+$")
# Bengali case endings typed straight after a name ("কুয়েতে" in Kuwait, "সৌদির" Saudi's).
_BENGALI_SUFFIX = r"(?:ে|এ|র|ের|তে|য়|য়ে|কে)?"
_WORD_START, _WORD_END = r"(?<![\p{L}\p{M}])", r"(?![\p{L}\p{M}])"
_NOT_WORD = regex.compile(r"[\p{P}\p{S}\s]+")
_SPACE = regex.compile(r"\s+")
Language = Literal["en", "my", "km", "bn"]


def canonical_licence(raw: str) -> str | None:
    digits = "".join(regex.findall(r"\d", ascii_digits(raw)))
    if not digits:
        return None
    return f"RL-{digits}" if _RL.search(raw) else digits


def canonical_country(raw: str) -> str | None:
    value = raw.strip().upper()
    return value if _ISO.match(value) else None


def find_licence(text: str) -> str | None:
    """The first licence number written in a sentence, in any digit script, canonical."""
    match = _LICENCE_IN_TEXT.search(ascii_digits(unicodedata.normalize("NFC", text)))
    return canonical_licence(match.group()) if match else None


# The prefixes licence lists use (BMET's RL, Myanmar's OEA, Cambodia's PRA): "help 999" is no
# licence number, however it is shaped.
_LICENCE_ONLY = regex.compile(
    r"(?:(?:r\.?\s?l\.?|আর\s?এল|oea|pra)[\s\-./#:]{0,3})?\d{3,7}", regex.IGNORECASE
)


def is_licence_only(text: str) -> bool:
    """The message is a licence number and nothing else ("OEA-၁၀၁", "RL 1024")."""
    cleaned = ascii_digits(unicodedata.normalize("NFC", text)).strip(" .,!?")
    return _LICENCE_ONLY.fullmatch(cleaned) is not None


class CountryNames(BaseModel):
    """`countries.yml`: per ISO code, the names people type in each language."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    origins: tuple[str, ...]
    countries: dict[str, dict[Language, tuple[str, ...]]]

    @field_validator("countries")
    @classmethod
    def _codes_and_names(
        cls, countries: dict[str, dict[Language, tuple[str, ...]]]
    ) -> dict[str, dict[Language, tuple[str, ...]]]:
        owner: dict[str, str] = {}
        for code, languages in countries.items():
            if not _ISO.match(code):
                raise ValueError(f"{code!r} is not an upper-case ISO 3166-1 alpha-2 code")
            for names in languages.values():
                for name in names:
                    key = _key(name)
                    if not key:
                        raise ValueError(f"{code}: an empty name")
                    if owner.setdefault(key, code) != code:
                        raise ValueError(f"{name!r} names both {owner[key]} and {code}")
        return countries

    @model_validator(mode="after")
    def _origins_known(self) -> CountryNames:
        unknown = set(self.origins) - set(self.countries)
        if unknown:
            raise ValueError(f"origins without names: {sorted(unknown)}")
        return self


@dataclass(frozen=True)
class _Name:
    code: str
    pattern: regex.Pattern[str]
    core: str  # the name without its spaces: in any text it matches, with the spaces taken out


class CountryFinder:
    """Finds the country a message names; pure, built once from `CountryNames`."""

    def __init__(self, data: CountryNames) -> None:
        self.origins = frozenset(data.origins)
        self.codes = frozenset(data.countries)
        unique = {
            _key(name): code
            for code, languages in data.countries.items()
            for names in languages.values()
            for name in names
        }
        # Longest names first, so "south korea" is read before "korea".
        self._names = [
            _Name(code, phrase_pattern(name), _SPACE.sub("", name))
            for name, code in sorted(unique.items(), key=_longest)
        ]

    def find(self, text: str) -> str | None:
        folded = unicodedata.normalize("NFC", text).casefold().strip()
        whole = _NOT_WORD.sub("", folded).upper()
        if whole in self.codes:
            return whole
        # A substring test first: a regex search per name was 70-160 µs a message.
        compact = _SPACE.sub("", folded)
        found: list[tuple[bool, int, str]] = []
        for name in self._names:
            match = name.core in compact and name.pattern.search(folded)
            if match:
                found.append((name.code in self.origins, match.start(), name.code))
        return min(found)[2] if found else None


def _key(name: str) -> str:
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def _longest(item: tuple[str, str]) -> tuple[int, str]:
    return (-len(item[0]), item[0])


def phrase_pattern(name: str) -> regex.Pattern[str]:
    """A typed phrase as people write it: whole Latin words, Bengali words with case endings,
    Burmese and Khmer anywhere."""
    escaped = regex.escape(name).replace(r"\ ", r"\s*")
    if _LATIN.match(name):
        return regex.compile(_WORD_START + escaped + _WORD_END)
    if _BENGALI.match(name):
        return regex.compile(_WORD_START + escaped + _BENGALI_SUFFIX + _WORD_END)
    return regex.compile(escaped)  # Burmese, Khmer: words are not separated by spaces


@lru_cache(maxsize=1)
def country_finder(path: Path = COUNTRIES_FILE) -> CountryFinder:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return CountryFinder(CountryNames.model_validate(data))


def find_country(text: str) -> str | None:
    return country_finder().find(text)


def with_found_entities(parse: Parse) -> tuple[Entity, ...]:
    """The classifier's entities, plus a country and a licence number read from the text
    when it found none (written inside a sentence, in any script)."""
    entities = list(parse.entities)
    found = {"country": find_country, "licence_number": find_licence}
    for name, finder in found.items():
        if parse.entity(name) is None and (value := finder(parse.normalized)) is not None:
            entities.append(Entity(name, value))
    return tuple(entities)
