"""The keyword router: what the bot understands when the NLU server is down or too slow.

Degraded mode has to answer the messages that matter most without a model: menu, hotline,
urgent help, language choice, greetings, a human, delete my data, recruiter checks and the
tips topics, in Burmese, Khmer, Bengali, Banglish and English. Keywords are data
(`keywords.yml`); the most specific (longest) keyword found wins. Matching follows the
script, as in the safety net: Latin keywords are whole words, the others substrings of the
text with spaces removed.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import regex
import yaml

from bot.understanding.base import INTENTS, Classification, Entity
from bot.understanding.entities import canonical_licence

KEYWORDS_FILE = Path(__file__).with_name("keywords.yml")
# Confidence reported for a keyword hit: below the dialogue's usual bar for a model's answer
# but high enough to act on; whole-message hits ("menu") are certain.
MATCH_CONFIDENCE = 0.7
_NOT_LETTER = regex.compile(r"[^\p{L}\p{M}\p{N}]+")
_LATIN = regex.compile(r"^[a-z0-9 ]+$")
_LICENCE = regex.compile(
    r"(?<![a-z])(?:r\.?\s?l|licen[cs]e|lisens|লাইসেন্স|လိုင်စင်|អាជ្ញាប័ណ្ណ)"
    r"\s?(?:no\.?|number|নং|নম্বর|နံပါတ်|លេខ)?\s?[-:#.]?\s?(\d{2,6})",
    regex.IGNORECASE,
)


def licence_entities(text: str) -> tuple[Entity, ...]:
    """Licence numbers in normalized text (ASCII digits), canonical as in the Rasa client."""
    return tuple(
        Entity("licence_number", value, m.start(), m.end())
        for m in _LICENCE.finditer(text)
        if (value := canonical_licence(m.group())) is not None
    )


class KeywordRouter:
    def __init__(self, keywords: dict[str, list[str]]) -> None:
        unknown = set(keywords) - set(INTENTS)
        if unknown:
            raise ValueError(f"keywords for unknown intents: {sorted(unknown)}")
        self._keywords = [
            (intent, " ".join(_NOT_LETTER.sub(" ", str(k).lower()).split()))
            for intent, words in keywords.items()
            for k in words
        ]

    @classmethod
    def load(cls, path: Path = KEYWORDS_FILE) -> KeywordRouter:
        return cls(yaml.safe_load(path.read_text(encoding="utf-8")))

    def classify(self, text: str) -> Classification:
        words = _NOT_LETTER.sub(" ", text.lower()).split()
        latin, compact = f" {' '.join(words)} ", "".join(words)
        best: tuple[int, str, str] | None = None
        for intent, keyword in self._keywords:
            if _LATIN.match(keyword):
                found = f" {keyword} " in latin
            else:
                found = keyword.replace(" ", "") in compact
            if found and (best is None or len(keyword) > best[0]):
                best = (len(keyword), intent, keyword)
        entities = licence_entities(text)
        if best is None:
            # A bare licence number ("RL-1234?") is someone checking a recruiter.
            if entities:
                return Classification("check_recruiter", MATCH_CONFIDENCE, entities)
            return Classification("out_of_scope", 0.0, entities)
        _, intent, keyword = best
        whole = keyword.replace(" ", "") == compact
        return Classification(intent, 1.0 if whole else MATCH_CONFIDENCE, entities)


@lru_cache(maxsize=1)
def default_router() -> KeywordRouter:
    return KeywordRouter.load()
