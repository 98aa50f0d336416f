"""The urgent-help safety net: curated phrases that flag a message whatever the classifier says.

Missing a victim is the worst error the bot can make, so this detector is deliberately
simple, deterministic and biased towards recall; it is also the floor when the NLU server is
down. A false alarm is not harmless either (a silent handover, hotline time), so it fires only
on a situation the writer is in: not on a question about the topic ("what is trafficking",
"is it legal to keep my passport before I leave"), not on a negated phrase ("they don't beat
me"), and topic words ("trafficking") only when the writer speaks of themselves. A question
does not hide danger the writer tells of themselves ("they beat me what is the number").

Phrase lists are data, one file per language in `urgent_phrases/`, grouped into signals that
name the ILO indicator they show. Each phrase is matched the way its script is written:

- Burmese and Khmer (no spaces between words): substring of the text with all spaces removed;
- Bengali: the same, but only starting at a word start, so short words do not fire inside
  longer ones (মারে "beats" inside আমারে "to me");
- Latin (English, Banglish): whole-word sequence on lower-cased letters, and for phrases of
  10+ characters a fuzzy partial match that tolerates a typo or two, unless the phrase holds
  a negation or a number, where one letter flips the meaning ("cant go home" is not "can go
  home", "beton paini" is not "beton paisi", 17 hours is not 7).

`all_of` rules fire when one alternative from every group is present ("passport" and "took"),
unless one of the rule's `unless` words is there ("should I keep a *copy* of my passport").
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import regex
import yaml
from rapidfuzz import fuzz

from bot.vocabulary import Indicator, Risk

PHRASES_DIR = Path(__file__).with_name("urgent_phrases")
FUZZY_MIN_LENGTH = 10
FUZZY_MIN_SCORE = 90.0

_LATIN = regex.compile(r"^[a-z0-9' ]+$")
# Words whose one-letter typo changes what a phrase means: no fuzzy matching for phrases with
# them (English and Banglish negations; digits are checked apart).
_POLARITY_WORDS = frozenset(
    {"not", "no", "never", "nobody", "cant", "cannot", "can't", "dont", "don't", "wont"}
    | {"won't", "didnt", "didn't", "doesnt", "doesn't", "isnt", "isn't", "wasnt", "wasn't"}
    | {"na", "nai", "ni", "nei", "paini", "paisi"}
)
_BENGALI = regex.compile(r"[\u0980-\u09FF]")
_NOT_LETTER = regex.compile(r"[^\p{L}\p{M}\p{N}']+")


@dataclass(frozen=True)
class _Text:
    """A message prepared once for every matching strategy."""

    latin: str  # " word word " lower-cased Latin words, padded for whole-word search
    compact: str  # all whitespace removed
    word_starts: frozenset[int]  # indices in `compact` where a word starts
    word_at: dict[int, str]  # the word starting at each of those indices

    @classmethod
    def of(cls, text: str) -> _Text:
        words = _NOT_LETTER.sub(" ", text.lower()).split()
        word_at, position = {}, 0
        for word in words:
            word_at[position] = word
            position += len(word)
        latin_words = [w for w in words if regex.fullmatch(r"[a-z0-9']+", w)]
        return cls(f" {' '.join(latin_words)} ", "".join(words), frozenset(word_at), word_at)


def _words(phrase: str) -> str:
    return " ".join(_NOT_LETTER.sub(" ", phrase.lower()).split())


@dataclass(frozen=True)
class _Phrase:
    """A phrase of the data, prepared at load for the way its script is matched."""

    text: str  # as written: the trigger an alarm reports
    words: str  # lower-cased words, one space apart
    latin: bool
    compact: str  # Burmese, Khmer, Bengali: the words with no spaces
    word_start: bool  # Bengali: only at the start of a word
    fuzzy: bool  # long enough, and no negation or number a typo could flip

    @classmethod
    def of(cls, phrase: str) -> _Phrase:
        words = _words(phrase)
        compact = words.replace(" ", "")
        return cls(
            text=phrase,
            words=words,
            latin=bool(_LATIN.match(words)),
            compact=compact,
            word_start=bool(_BENGALI.search(compact)),
            fuzzy=len(words) >= FUZZY_MIN_LENGTH
            and not _POLARITY_WORDS.intersection(words.split())
            and not any(c.isdigit() for c in words),
        )


def _phrases(strings: Iterable[object]) -> tuple[_Phrase, ...]:
    return tuple(_Phrase.of(str(s)) for s in strings)


@dataclass(frozen=True)
class _Negations:
    """Words that cancel a phrase right before it (not, မ, មិន) or right after it (না)."""

    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()

    def cancel(self, text: _Text, start: int, end: int, latin: bool) -> bool:
        """Whether the occurrence [start, end) is negated (in `latin` or `compact`)."""
        if latin:
            before = text.latin[:start].split()[-2:]
            after = text.latin[end:].split()[:1]
            return any(" ".join(before[i:]) in self.before for i in range(len(before))) or bool(
                after and after[0] in self.after
            )
        head = text.compact[:start]
        return any(regex.search(f"(?:{n})$", head) for n in self.before) or (
            text.word_at.get(end) in self.after
        )


def _occurrences(needle: str, haystack: str) -> Iterator[int]:
    start = haystack.find(needle)
    while start != -1:
        yield start
        start = haystack.find(needle, start + 1)


def _matches(
    phrase: _Phrase,
    text: _Text,
    *,
    prefix: bool,
    fuzzy: bool,
    negations: _Negations = _Negations(),
) -> bool:
    """Whether `phrase` occurs in `text`, at least once not negated."""
    if phrase.latin:
        needle = f" {phrase.words}" if prefix else f" {phrase.words} "
        for start in _occurrences(needle, text.latin) if phrase.words in text.latin else ():
            end = start + len(needle)
            if not negations.cancel(text, start, end - (not prefix), latin=True):
                return True
        # partial_ratio aligns the shorter string inside the longer: a text shorter than the
        # phrase ("help" against "help me now") must not count as containing it.
        return (
            fuzzy
            and phrase.fuzzy
            and len(text.latin.strip()) >= len(phrase.words)
            and fuzz.partial_ratio(phrase.words, text.latin) >= FUZZY_MIN_SCORE
        )
    needle = phrase.compact
    return needle in text.compact and any(
        (not phrase.word_start or start in text.word_starts)
        and not negations.cancel(text, start, start + len(needle), latin=False)
        for start in _occurrences(needle, text.compact)
    )


@dataclass(frozen=True)
class Rule:
    groups: tuple[tuple[_Phrase, ...], ...]
    unless: tuple[_Phrase, ...] = ()

    def fires(self, text: _Text, negations: _Negations = _Negations()) -> bool:
        def present(alt: _Phrase) -> bool:
            return _matches(alt, text, prefix=True, fuzzy=False, negations=negations)

        return all(any(present(a) for a in group) for group in self.groups) and not any(
            _matches(word, text, prefix=True, fuzzy=False) for word in self.unless
        )

    def __str__(self) -> str:
        return " + ".join(group[0].text for group in self.groups)


@dataclass(frozen=True)
class Signal:
    """Phrases and rules that show one indicator (`None`: a plain cry for help), and the risk
    they mean (`concern` for a sign without danger now, such as documents kept)."""

    indicator: Indicator | None
    phrases: tuple[_Phrase, ...] = ()
    all_of: tuple[Rule, ...] = ()
    first_person: bool = False
    risk: Risk = Risk.URGENT


@dataclass(frozen=True)
class Lexicon:
    """One language's signals, with the words that make a phrase not count."""

    signals: tuple[Signal, ...]
    informational: tuple[_Phrase, ...] = ()
    first_person: tuple[_Phrase, ...] = ()
    negations: _Negations = _Negations()

    @classmethod
    def from_data(cls, data: dict) -> Lexicon:
        def strings(key: str, source: dict | None = None) -> tuple[str, ...]:
            return tuple(str(s) for s in (source if source is not None else data).get(key, []))

        def phrases(key: str, source: dict | None = None) -> tuple[_Phrase, ...]:
            return _phrases(strings(key, source))

        signals = tuple(
            Signal(
                indicator=Indicator(raw["indicator"]) if raw.get("indicator") else None,
                phrases=phrases("phrases", raw),
                all_of=tuple(
                    Rule(
                        groups=tuple(_phrases(group) for group in rule["groups"]),
                        unless=phrases("unless", rule),
                    )
                    for rule in raw.get("all_of", [])
                ),
                first_person=bool(raw.get("first_person", False)),
                risk=Risk(raw.get("risk", Risk.URGENT)),
            )
            for raw in data.get("signals", [])
        )
        return cls(
            signals,
            informational=phrases("informational"),
            first_person=phrases("first_person"),
            negations=_Negations(strings("negations_before"), strings("negations_after")),
        )

    def speaks_of_self(self, text: _Text) -> bool:
        return any(_matches(w, text, prefix=False, fuzzy=False) for w in self.first_person)

    def fired(self, text: _Text, asks: bool = False) -> Iterator[tuple[str, Signal]]:
        """(trigger, signal) for every signal that fires on `text`.

        In a message that `asks` about the topic only danger the writer tells of their own
        situation still fires ("they beat me what is the police number"), never a topic word
        or a concern ("what is trafficking", "is it legal to keep my passport").
        """
        for signal in self.signals:
            if signal.first_person and not self.speaks_of_self(text):
                continue
            if asks and (
                signal.first_person
                or signal.risk is not Risk.URGENT
                or not self.speaks_of_self(text)
            ):
                continue
            trigger = next(
                (
                    p.text
                    for p in signal.phrases
                    if _matches(p, text, prefix=False, fuzzy=True, negations=self.negations)
                ),
                None,
            ) or next((str(r) for r in signal.all_of if r.fires(text, self.negations)), None)
            if trigger:
                yield trigger, signal


@dataclass(frozen=True)
class Alarm:
    """Why the safety net fired: the first trigger, every indicator it saw, the highest risk."""

    trigger: str
    indicators: tuple[Indicator, ...] = field(default_factory=tuple)
    risk: Risk = Risk.URGENT


@dataclass(frozen=True)
class SafetyNet:
    lexicons: tuple[Lexicon, ...]

    @classmethod
    def load(cls, directory: Path = PHRASES_DIR) -> SafetyNet:
        lexicons = tuple(
            Lexicon.from_data(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
            for path in sorted(directory.glob("*.yml"))
        )
        if not any(s.phrases for lexicon in lexicons for s in lexicon.signals):
            raise ValueError(f"no urgent phrases found in {directory}")
        return cls(lexicons)

    def informational(self, text: str) -> bool:
        """Whether `text` asks about the topic rather than telling a situation."""
        prepared = _Text.of(text)
        return any(
            _matches(cue, prepared, prefix=False, fuzzy=False)
            for lexicon in self.lexicons
            for cue in lexicon.informational
        )

    def alarm(self, text: str) -> Alarm | None:
        """What fires on normalized `text` (None for nothing, or for a question about it)."""
        prepared = _Text.of(text)
        asks = self.informational(text)
        fired = [hit for lexicon in self.lexicons for hit in lexicon.fired(prepared, asks)]
        if not fired:
            return None
        indicators = dict.fromkeys(s.indicator for _, s in fired if s.indicator is not None)
        urgent = any(s.risk is Risk.URGENT for _, s in fired)
        return Alarm(fired[0][0], tuple(indicators), Risk.URGENT if urgent else Risk.CONCERN)

    def match(self, text: str) -> str | None:
        """The first phrase (or rule) that fires on normalized `text`, else None."""
        found = self.alarm(text)
        return found.trigger if found else None

    def is_urgent(self, text: str) -> bool:
        found = self.alarm(text)
        return found is not None and found.risk is Risk.URGENT


@lru_cache(maxsize=1)
def default_safety_net() -> SafetyNet:
    return SafetyNet.load()
