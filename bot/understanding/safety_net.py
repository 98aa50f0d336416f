"""The urgent-help safety net: curated phrases that flag a message whatever the classifier says.

Missing a victim is the worst error the bot can make, so this detector is deliberately
simple, deterministic and biased towards recall. Phrase lists are data, one file per language
in `urgent_phrases/`. Each phrase is matched the way its script is written:

- Burmese and Khmer (no spaces between words): substring of the text with all spaces removed;
- Bengali: the same, but only starting at a word start, so short words do not fire inside
  longer ones (মারে "beats" inside আমারে "to me");
- Latin (English, Banglish): whole-word sequence on lower-cased letters, and for phrases of
  10+ characters a fuzzy partial match that tolerates a typo or two.

`all_of` rules fire when one alternative from every group is present ("passport" and "took"),
unless one of the rule's `unless` words is there ("should I keep a *copy* of my passport").
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import regex
import yaml
from rapidfuzz import fuzz

PHRASES_DIR = Path(__file__).with_name("urgent_phrases")
FUZZY_MIN_LENGTH = 10
FUZZY_MIN_SCORE = 90.0

_LATIN = regex.compile(r"^[a-z0-9' ]+$")
_BENGALI = regex.compile(r"[\u0980-\u09FF]")
_NOT_LETTER = regex.compile(r"[^\p{L}\p{M}\p{N}']+")


@dataclass(frozen=True)
class _Text:
    """A message prepared once for every matching strategy."""

    latin: str  # " word word " lower-cased Latin words, padded for whole-word search
    compact: str  # all whitespace removed
    word_starts: frozenset[int]  # indices in `compact` where a word starts

    @classmethod
    def of(cls, text: str) -> _Text:
        words = _NOT_LETTER.sub(" ", text.lower()).split()
        starts, compact, position = set(), [], 0
        for word in words:
            starts.add(position)
            compact.append(word)
            position += len(word)
        latin_words = [w for w in words if regex.fullmatch(r"[a-z0-9']+", w)]
        return cls(f" {' '.join(latin_words)} ", "".join(compact), frozenset(starts))


def _compact(phrase: str) -> str:
    return "".join(_NOT_LETTER.sub(" ", phrase.lower()).split())


def _matches(phrase: str, text: _Text, *, prefix: bool, fuzzy: bool) -> bool:
    norm = " ".join(_NOT_LETTER.sub(" ", phrase.lower()).split())
    if _LATIN.match(norm):
        needle = f" {norm}" if prefix else f" {norm} "
        if needle in text.latin:
            return True
        # partial_ratio aligns the shorter string inside the longer: a text shorter than the
        # phrase ("help" against "help me now") must not count as containing it.
        return (
            fuzzy
            and len(norm) >= FUZZY_MIN_LENGTH
            and len(text.latin.strip()) >= len(norm)
            and fuzz.partial_ratio(norm, text.latin) >= FUZZY_MIN_SCORE
        )
    needle = _compact(phrase)
    if not _BENGALI.search(needle):
        return needle in text.compact
    start = text.compact.find(needle)
    while start != -1:
        if start in text.word_starts:
            return True
        start = text.compact.find(needle, start + 1)
    return False


@dataclass(frozen=True)
class Rule:
    groups: tuple[tuple[str, ...], ...]
    unless: tuple[str, ...] = ()

    def fires(self, text: _Text) -> bool:
        def present(alt: str) -> bool:
            return _matches(alt, text, prefix=True, fuzzy=False)

        return all(any(present(a) for a in group) for group in self.groups) and not any(
            present(word) for word in self.unless
        )

    def __str__(self) -> str:
        return " + ".join(group[0] for group in self.groups)


@dataclass(frozen=True)
class SafetyNet:
    phrases: tuple[str, ...]
    all_of: tuple[Rule, ...]

    @classmethod
    def load(cls, directory: Path = PHRASES_DIR) -> SafetyNet:
        phrases: list[str] = []
        rules: list[Rule] = []
        for path in sorted(directory.glob("*.yml")):
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            phrases += [str(p) for p in data.get("phrases", [])]
            rules += [
                Rule(
                    groups=tuple(tuple(str(a) for a in group) for group in rule["groups"]),
                    unless=tuple(str(w) for w in rule.get("unless", [])),
                )
                for rule in data.get("all_of", [])
            ]
        if not phrases:
            raise ValueError(f"no urgent phrases found in {directory}")
        return cls(tuple(phrases), tuple(rules))

    def match(self, text: str) -> str | None:
        """The first phrase (or rule) that fires on normalized `text`, else None."""
        prepared = _Text.of(text)
        for phrase in self.phrases:
            if _matches(phrase, prepared, prefix=False, fuzzy=True):
                return phrase
        return next((str(rule) for rule in self.all_of if rule.fires(prepared)), None)

    def is_urgent(self, text: str) -> bool:
        return self.match(text) is not None


@lru_cache(maxsize=1)
def default_safety_net() -> SafetyNet:
    return SafetyNet.load()
