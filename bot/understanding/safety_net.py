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

import re
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


def _all_phrases(signal: Signal) -> Iterator[_Phrase]:
    yield from signal.phrases
    for rule in signal.all_of:
        for group in rule.groups:
            yield from group


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
class _Screen:
    """Whether any of some phrases could match a text, in one C-level search per script form.

    A phrase matches only where its words (Latin) or its compact form (other scripts) occur
    in the text as a substring, or, for a fuzzy Latin phrase, in a Latin text at least as
    long as it. So a text that fails the screen cannot match any of the phrases, and the
    phrase-by-phrase matching (negations, word starts, fuzziness) is left for the few that
    pass: checking thousands of phrases one by one was most of the net's cost.
    """

    latin: re.Pattern[str] | None
    compact: re.Pattern[str] | None
    fuzzy_from: int | None  # the shortest fuzzy phrase's length, if fuzziness may apply

    @classmethod
    def of(cls, phrases: Iterable[_Phrase], *, fuzzy: bool = False) -> _Screen:
        phrases = tuple(phrases)
        latin = sorted({p.words for p in phrases if p.latin}, key=len)
        compact = sorted({p.compact for p in phrases if not p.latin}, key=len)
        lengths = [len(p.words) for p in phrases if fuzzy and p.latin and p.fuzzy]
        return cls(_alternation(latin), _alternation(compact), min(lengths, default=None))

    def passes(self, text: _Text) -> bool:
        return bool(
            (self.latin is not None and self.latin.search(text.latin))
            or (self.compact is not None and self.compact.search(text.compact))
            or (self.fuzzy_from is not None and len(text.latin.strip()) >= self.fuzzy_from)
        )


def _alternation(needles: list[str]) -> re.Pattern[str] | None:
    """A pattern that finds any of `needles` as a plain substring (None for no needles)."""
    return re.compile("|".join(map(re.escape, needles))) if needles else None


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
            and fuzz.partial_ratio(phrase.words, text.latin, score_cutoff=FUZZY_MIN_SCORE)
            >= FUZZY_MIN_SCORE
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
    screens: tuple[_Screen, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "screens", tuple(_Screen.of(g) for g in self.groups))

    def fires(self, text: _Text, negations: _Negations = _Negations()) -> bool:
        def present(alt: _Phrase) -> bool:
            return _matches(alt, text, prefix=True, fuzzy=False, negations=negations)

        if not all(screen.passes(text) for screen in self.screens):
            return False
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
    screen: _Screen = field(init=False, repr=False, compare=False)
    phrase_screen: _Screen = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        alternatives = [a for rule in self.all_of for group in rule.groups for a in group]
        phrases = _Screen.of(self.phrases, fuzzy=True)
        object.__setattr__(self, "phrase_screen", phrases)
        object.__setattr__(self, "screen", _Screen.of([*self.phrases, *alternatives], fuzzy=True))


@dataclass(frozen=True)
class Lexicon:
    """One language's signals, with the words that make a phrase not count."""

    signals: tuple[Signal, ...]
    informational: tuple[_Phrase, ...] = ()
    first_person: tuple[_Phrase, ...] = ()
    negations: _Negations = _Negations()
    screens: dict[str, _Screen] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        every = [p for signal in self.signals for p in _all_phrases(signal)]
        object.__setattr__(
            self,
            "screens",
            {
                "signals": _Screen.of(every, fuzzy=True),
                "informational": _Screen.of(self.informational),
                "first_person": _Screen.of(self.first_person),
            },
        )

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
        return self.screens["first_person"].passes(text) and any(
            _matches(w, text, prefix=False, fuzzy=False) for w in self.first_person
        )

    def asks(self, text: _Text) -> bool:
        """Whether `text` has one of this language's cues of a question about the topic."""
        return self.screens["informational"].passes(text) and any(
            _matches(cue, text, prefix=False, fuzzy=False) for cue in self.informational
        )

    def fired(self, text: _Text, asks: bool = False) -> Iterator[tuple[str, Signal]]:
        """(trigger, signal) for every signal that fires on `text`.

        In a message that `asks` about the topic only danger the writer tells of their own
        situation still fires ("they beat me what is the police number"), never a topic word
        or a concern ("what is trafficking", "is it legal to keep my passport").
        """
        if not self.screens["signals"].passes(text):
            return
        for signal in self.signals:
            if not signal.screen.passes(text):
                continue
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
                    for p in (signal.phrases if signal.phrase_screen.passes(text) else ())
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
        return any(lexicon.asks(prepared) for lexicon in self.lexicons)

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
